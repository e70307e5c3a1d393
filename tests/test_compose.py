"""docker-compose.yml and the Dockerfile: the services, their health and no secret in the files.

No Docker engine runs the tests, so the files are checked as data: the structure compose
needs, and — by resolving compose's ${VAR:-default} / ${VAR:?error} itself — that the
environment it gives the containers is one the settings accept.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
DJANGO_SERVICES = ("web", "worker", "beat")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|KEY", re.IGNORECASE)
REQUIRED_REFERENCE = re.compile(r"^\$\{(\w+):\?[^}]+\}$")
REFERENCE = re.compile(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} (unset or empty counts as missing)."""

    def resolve(match: re.Match) -> str:
        name, operator, argument = match.groups()
        if env.get(name):
            return env[name]
        if operator == ":?":
            raise LookupError(f"{name}: {argument}")
        return argument or ""

    return REFERENCE.sub(resolve, value)


def test_five_services(compose):
    started = {name for name, service in compose["services"].items() if not service.get("profiles")}
    assert started == {"web", "worker", "beat", "db", "redis"}
    assert compose["services"]["db"]["image"] == "postgres:15"
    assert compose["services"]["redis"]["image"] == "redis:7"
    for name in DJANGO_SERVICES:
        assert compose["services"][name]["build"] == "."


def test_the_mail_catcher_is_optional(compose):
    mailpit = compose["services"]["mailpit"]
    assert mailpit["profiles"] == ["mail"]
    assert mailpit["image"].startswith("axllent/mailpit:")
    assert compose["services"]["web"]["environment"]["EMAIL_HOST"] == "${EMAIL_HOST:-localhost}"


def test_commands(compose):
    services = compose["services"]
    web = " ".join(services["web"]["command"])
    assert "migrate --noinput" in web
    assert web.index("migrate") < web.index("gunicorn kpitree.wsgi")
    assert services["worker"]["command"][:4] == ["celery", "-A", "kpitree", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "kpitree", "beat"]


def test_healthchecks(compose):
    services = compose["services"]
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    web = services["web"]["healthcheck"]["test"]
    assert web[:3] == ["CMD", "python", "-c"]
    assert "urllib.request" in web[3]
    assert "/accounts/login/" in web[3]
    compile(web[3], "healthcheck", "exec")  # the probe is valid Python


@pytest.mark.parametrize("service", DJANGO_SERVICES)
def test_django_services_wait_for_healthy_db_and_redis(compose, service):
    depends_on = compose["services"][service]["depends_on"]
    assert depends_on["db"] == {"condition": "service_healthy"}
    assert depends_on["redis"] == {"condition": "service_healthy"}


@pytest.mark.parametrize("service", DJANGO_SERVICES)
def test_production_environment(compose, service):
    env = compose["services"][service]["environment"]
    assert env["DJANGO_DEBUG"] == "false"
    assert env["DJANGO_SECRET_KEY"] == "${DJANGO_SECRET_KEY:?set DJANGO_SECRET_KEY}"
    assert env["DJANGO_ALLOWED_HOSTS"] == "${DJANGO_ALLOWED_HOSTS:-localhost}"
    # Plain http by default for local use; a TLS deployment switches both on.
    assert env["DJANGO_SECURE_SSL_REDIRECT"] == "${DJANGO_SECURE_SSL_REDIRECT:-false}"
    assert env["DJANGO_SECURE_COOKIES"] == "${DJANGO_SECURE_COOKIES:-false}"
    assert interpolate(env["DATABASE_URL"], {"POSTGRES_PASSWORD": "pw"}).startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://redis:6379/")


def test_every_variable_given_to_django_is_read_by_the_settings(compose):
    settings = (BASE_DIR / "kpitree" / "settings.py").read_text()
    for service in DJANGO_SERVICES:
        for name in compose["services"][service]["environment"]:
            assert f'"{name}"' in settings, f"{service}: settings.py never reads {name}"


def test_no_secret_is_hard_coded(compose):
    for service_name, service in compose["services"].items():
        for name, value in (service.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(name):
                assert REQUIRED_REFERENCE.match(value), f"{service_name}.{name} must be ${{{name}:?…}}, not {value!r}"
            credentials = re.match(r"^\w+://[^/:@]*:([^@]*)@", value)
            if credentials:
                password = credentials.group(1)
                assert REQUIRED_REFERENCE.match(password), f"{service_name}.{name} has a literal password"


def test_start_up_refuses_to_run_without_the_secrets(compose):
    env = compose["services"]["web"]["environment"]
    with pytest.raises(LookupError, match="set DJANGO_SECRET_KEY"):
        interpolate(env["DJANGO_SECRET_KEY"], {})
    with pytest.raises(LookupError, match="POSTGRES_PASSWORD"):
        interpolate(env["DATABASE_URL"], {})


def test_settings_accept_the_compose_environment(compose, tmp_path):
    outside = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "POSTGRES_PASSWORD": secrets.token_hex(16)}
    env = {name: interpolate(str(value), outside) for name, value in compose["services"]["web"]["environment"].items()}
    env |= {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "kpitree.settings",
    }
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.ALLOWED_HOSTS, s.DATABASES['default']['HOST'], s.CELERY_TASK_ALWAYS_EAGER, s.SECURE_SSL_REDIRECT)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "['localhost']", "db", "False", "False"]


def test_dockerfile():
    # One line per instruction: join the backslash continuations.
    dockerfile = re.sub(r"\\\n\s*", " ", (BASE_DIR / "Dockerfile").read_text())
    instructions = [line.strip() for line in dockerfile.splitlines() if line.strip() and not line.startswith("#")]
    froms = [line for line in instructions if line.startswith("FROM ")]
    assert froms[-1] == "FROM python:3.11-slim"
    assert any(line.startswith("FROM node:") and line.endswith(" AS assets") for line in froms)
    assert "npm ci" in dockerfile
    assert "COPY --from=assets /src/node_modules/htmx.org/dist node_modules/htmx.org/dist" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    assert "pybabel compile --use-fuzzy -d locale -D django -l ja" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert instructions[-1].startswith('CMD ["gunicorn", "kpitree.wsgi"')
    # The secret key is given at run time; ENV or ARG would keep it in the image's layers.
    assert not re.search(r"^(ENV|ARG)\b.*(SECRET|PASSWORD)", dockerfile, re.MULTILINE)
