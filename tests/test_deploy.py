"""Production settings pass Django's deployment checks, and bad configuration fails loudly.

Each case runs in a fresh interpreter with a clean environment: settings are read once at
import time, and the test process itself runs with DJANGO_DEBUG=true (pyproject.toml).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """The environment the container gets: debug off, a real secret key, one host.

    An override of None removes the variable.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "kpitree.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # 67 characters
        "DJANGO_ALLOWED_HOSTS": "kpi.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout, output
    assert not re.search(r"\(\w+(\.\w+)*\.W\d+\)", output), output


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS"),
        ({"AXES_ADDRESS_FAILURE_LIMIT": "3"}, "AXES_ADDRESS_FAILURE_LIMIT"),
        ({"SESSION_IDLE_TIMEOUT_MINUTES": "0"}, "SESSION_IDLE_TIMEOUT_MINUTES"),
        ({"API_TOKEN_TTL_HOURS": "0"}, "API_TOKEN_TTL_HOURS"),
        ({"DJANGO_ADMIN_URL": "/admin"}, "DJANGO_ADMIN_URL"),
    ],
    ids=[
        "debug-maybe",
        "mysql",
        "no-secret-key",
        "empty-secret-key",
        "redis-http",
        "no-allowed-hosts",
        "address-limit-below-pair-limit",
        "no-idle-timeout",
        "no-token-lifetime",
        "admin-url",
    ],
)
@pytest.mark.parametrize(
    "command",
    [["-c", "import django; django.setup()"], ["manage.py", "check"]],
    ids=["setup", "check"],
)
def test_bad_configuration_stops_start_up_naming_the_variable(tmp_path, overrides, variable, command):
    result = run(command, production_env(tmp_path, **overrides))
    assert result.returncode != 0, result.stdout + result.stderr
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.strip().splitlines()[-1], result.stderr


def test_migrations_match_the_models(tmp_path):
    result = run(["manage.py", "makemigrations", "--check", "--dry-run"], production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_the_admin_moves_to_the_configured_url(tmp_path):
    show = "from django.urls import reverse; print(reverse('admin:index'))"
    moved = run(["manage.py", "shell", "-c", show], production_env(tmp_path, DJANGO_ADMIN_URL="backoffice-7q2/"))
    assert moved.stdout.strip().splitlines()[-1] == "/backoffice-7q2/", moved.stderr
    assert (
        run(["manage.py", "shell", "-c", show], production_env(tmp_path)).stdout.strip().splitlines()[-1] == "/admin/"
    )


def test_the_api_input_module_imports_first(tmp_path):
    """DRF's pagination check may import goals.api_input before anything else imported
    rest_framework.views; that import must not loop back into the half-loaded module."""
    code = "import django; django.setup(); import goals.api_input"
    result = run(["-c", code], {**production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "kpitree.settings"})
    assert result.returncode == 0, result.stdout + result.stderr
