"""Production settings: the development secret key is refused; `check --deploy` is clean.

Both run `manage.py` in a subprocess, because settings are read once per process."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# 60 characters, many distinct ones: what check --deploy asks of a real key
PRODUCTION_KEY = "x7$kq2!vRz9#mW4pLh8&nB3tYc6^dF1sGj5*eA0uQo2iXw-Tp7Ky3Vb9Nm4Hs8L"


def run(code_or_args: list[str], **env: str) -> subprocess.CompletedProcess:
    # A production process: none of the development and test switches (make test exports
    # DJANGO_ALLOW_ASYNC_UNSAFE for the browser tests; check --deploy rightly refuses it).
    dropped = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.pop("LOYALTY_TESTING", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_the_development_secret_key():
    result = run(["-c", "import loyalty.settings"], DEBUG="0", ALLOWED_HOSTS="loyalty.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_production_refuses_the_development_secret_key_given_explicitly():
    from loyalty.settings import DEVELOPMENT_SECRET_KEY

    result = run(["-c", "import loyalty.settings"], DEBUG="0", SECRET_KEY=DEVELOPMENT_SECRET_KEY)
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr


def test_production_starts_with_a_real_secret_key():
    result = run(
        ["-c", "import loyalty.settings as s; print(s.DEBUG, s.ALLOWED_HOSTS)"],
        DEBUG="0",
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="loyalty.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['loyalty.example.com']"


PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": PRODUCTION_KEY,
    "ALLOWED_HOSTS": "loyalty.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://loyalty.example.com",
}


def test_security_checks_are_clean_with_production_settings():
    result = run(
        ["manage.py", "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"], **PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_with_production_settings():
    """Every check, not only security: a warning from any app (the API schema too) fails this."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
