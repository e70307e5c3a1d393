"""E-mail settings come from the environment: the console under DEBUG (`make run`), SMTP otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SCRIPT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"
)


def _settings(**env) -> list[str]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "kpitree.settings",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "localhost",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_console_backend_when_debugging():
    assert _settings(DJANGO_DEBUG="true")[0] == "django.core.mail.backends.console.EmailBackend"


def test_smtp_from_the_environment_in_production():
    assert _settings(DJANGO_DEBUG="false", EMAIL_HOST="mail.example.com", EMAIL_PORT="587", EMAIL_USE_TLS="true") == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        "587",
        "True",
    ]
