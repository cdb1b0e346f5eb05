"""Settings come from the environment (README "Configuration"), read in a fresh process for each case.

A fresh interpreter per environment keeps the suite's own settings untouched: no module reloading.
"""

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings

SECRET = "s" * 50
ENCRYPTION_KEY = "dGVzdC1vbmx5LXdlYmhvb2stc2VjcmV0LWtleS0wMzI="  # a Fernet key: 32 bytes, base64
READ_SETTINGS = """
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "hellojohn_project.settings"
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG, "SECRET_KEY": settings.SECRET_KEY, "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]), "HOST": db.get("HOST"), "PORT": db.get("PORT"),
    "OPTIONS": db.get("OPTIONS", {}), "CONN_MAX_AGE": db.get("CONN_MAX_AGE"),
    "CONN_HEALTH_CHECKS": db.get("CONN_HEALTH_CHECKS"),
    "DISABLE_SERVER_SIDE_CURSORS": db.get("DISABLE_SERVER_SIDE_CURSORS", False),
    "HJ_PUBLIC_URL": settings.HJ_PUBLIC_URL,
    "HJ_MAX_BODY_BYTES": settings.HJ_MAX_BODY_BYTES, "PASSWORD_HASHERS": settings.PASSWORD_HASHERS,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE, "SESSION_COOKIE_NAME": settings.SESSION_COOKIE_NAME,
    "CSRF_COOKIE_NAME": settings.CSRF_COOKIE_NAME, "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS, "CACHE": settings.CACHES["default"]["BACKEND"],
}))
"""


def python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HJ_ENCRYPTION_KEY": ENCRYPTION_KEY, **env}
    return subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=clean_env, capture_output=True,
                          text=True, timeout=120, check=False)


def settings_under(env: dict[str, str]) -> dict[str, Any]:
    result = python(READ_SETTINGS, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HJ_ENCRYPTION_KEY": ENCRYPTION_KEY, **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=clean_env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_secret_key_is_required_outside_debug() -> None:
    result = python(READ_SETTINGS, {})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off." in result.stderr


def test_encryption_key_is_required_outside_debug_and_derived_in_debug() -> None:
    """Webhook signing secrets are encrypted at rest: production refuses to start without its key."""
    code = "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'hellojohn_project.settings'; " \
           "from django.conf import settings; print(len(settings.HJ_ENCRYPTION_KEYS))"
    refused = python(code, {"DJANGO_SECRET_KEY": SECRET, "HJ_ENCRYPTION_KEY": ""})
    assert refused.returncode != 0
    assert "HJ_ENCRYPTION_KEY is required when DJANGO_DEBUG is off." in refused.stderr
    derived = python(code, {"DJANGO_DEBUG": "true", "HJ_ENCRYPTION_KEY": ""})
    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.strip() == "1"
    listed = python(code, {"DJANGO_SECRET_KEY": SECRET, "HJ_ENCRYPTION_KEY": f"{ENCRYPTION_KEY},{ENCRYPTION_KEY}"})
    assert listed.stdout.strip() == "2"


def test_production_defaults() -> None:
    values = settings_under({"DJANGO_SECRET_KEY": SECRET})
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == SECRET
    assert values["ALLOWED_HOSTS"] == []
    # The embedded default: a SQLite file in the project folder, set up for concurrent writers.
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["NAME"] == str(settings.BASE_DIR / "db.sqlite3")
    assert values["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in values["OPTIONS"]["init_command"]
    assert values["OPTIONS"]["timeout"] > 0
    assert values["HJ_PUBLIC_URL"] == "http://127.0.0.1:8000"
    assert values["HJ_MAX_BODY_BYTES"] == 64 * 1024
    assert values["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert values["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    # Shared by every process (issue 12): the database's cache table, created by `migrate`.
    assert values["CACHE"] == "django.core.cache.backends.db.DatabaseCache"


def test_debug_runs_without_a_secret_and_relaxes_transport_security() -> None:
    values = settings_under({"DJANGO_DEBUG": "true"})
    assert values["DEBUG"] is True
    assert values["SECRET_KEY"]
    assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SESSION_COOKIE_NAME"] == "sessionid"  # __Host- cookies need HTTPS
    assert values["SECURE_SSL_REDIRECT"] is False


def test_environment_overrides() -> None:
    values = settings_under({
        "DJANGO_SECRET_KEY": SECRET,
        "DATABASE_URL": "postgres://hj:pw@db.internal:6543/sessions",
        "ALLOWED_HOSTS": "sessions.example.com,api.example.com",
        "HJ_PUBLIC_URL": "https://sessions.example.com/",
        "HJ_MAX_BODY_BYTES": "1024",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "DATABASE_CONN_MAX_AGE": "0",
    })
    assert values["ENGINE"] == "hellojohn_project.postgresql"
    assert (values["NAME"], values["HOST"], values["PORT"]) == ("sessions", "db.internal", 6543)
    assert values["CONN_MAX_AGE"] == 0
    assert values["CONN_HEALTH_CHECKS"] is True
    assert values["ALLOWED_HOSTS"] == ["sessions.example.com", "api.example.com"]
    assert values["HJ_PUBLIC_URL"] == "https://sessions.example.com"  # no trailing slash in `iss`
    assert values["HJ_MAX_BODY_BYTES"] == 1024
    assert values["CACHE"] == "django.core.cache.backends.redis.RedisCache"


READ_ENGINES = """
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "hellojohn_project.settings"
import django
django.setup()
from django.db import connections
from hellojohn_project.postgresql.base import DatabaseWrapper
print(json.dumps({alias: [connections[alias].settings_dict["ENGINE"], connections[alias].vendor,
                          isinstance(connections[alias], DatabaseWrapper)] for alias in connections}))
"""


def test_postgres_urls_use_the_backend_whose_health_check_sends_nothing() -> None:
    result = python(READ_ENGINES, {"DJANGO_SECRET_KEY": SECRET, "DATABASE_URL": "postgres://hj@db.internal/sessions",
                                   "DATABASE_REPLICA_URL": "postgresql://hj@replica.internal/sessions"})
    assert result.returncode == 0, result.stderr
    expected = ["hellojohn_project.postgresql", "postgresql", True]
    assert json.loads(result.stdout) == {"default": expected, "replica": expected}


@pytest.mark.parametrize("env", [
    {"DJANGO_DEBUG": "true"},
    {"DJANGO_SECRET_KEY": SECRET, "ALLOWED_HOSTS": "sessions.example.com"},
])
def test_manage_check_is_clean(env: dict[str, str]) -> None:
    result = manage("check", env=env)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_reports_nothing_in_production(collected_static: str) -> None:
    # After collectstatic, as the README's recipe runs it.
    env = {"DJANGO_SECRET_KEY": "k3y-" + "a1B2c3D4e5" * 6, "ALLOWED_HOSTS": "sessions.example.com",
           "DJANGO_STATIC_ROOT": collected_static}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_pgbouncer_pooling_disables_server_side_cursors_and_prepared_statements() -> None:
    url = "postgres://hj:pw@pgbouncer.internal:6432/hellojohn"
    plain = settings_under({"DJANGO_SECRET_KEY": SECRET, "DATABASE_URL": url})
    assert plain["DISABLE_SERVER_SIDE_CURSORS"] is False
    # Direct: psycopg prepares the hot paths' server-bound statements (hellojohn_project/postgresql/base.py).
    assert plain["OPTIONS"]["prepare_threshold"] == 5
    pooled = settings_under({"DJANGO_SECRET_KEY": SECRET, "DATABASE_URL": url, "DATABASE_POOLER": "pgbouncer"})
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert pooled["OPTIONS"]["prepare_threshold"] is None
    assert pooled["CONN_MAX_AGE"] == 60 and pooled["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(("pooler", "url", "message"), [
    ("pgpool", "postgres://hj@db/hellojohn", "DATABASE_POOLER is empty or `pgbouncer`."),
    ("pgbouncer", "sqlite:///x.sqlite3", "DATABASE_POOLER=pgbouncer needs a postgres:// DATABASE_URL."),
])
def test_a_wrong_pooler_setting_is_refused(pooler: str, url: str, message: str) -> None:
    result = python(READ_SETTINGS, {"DJANGO_SECRET_KEY": SECRET, "DATABASE_URL": url, "DATABASE_POOLER": pooler})
    assert result.returncode != 0
    assert message in result.stderr
