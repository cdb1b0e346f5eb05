"""Production settings (issue 7): with DJANGO_DEBUG=false and the production variables, Django's
deployment check reports nothing, and the running app sends HSTS, secure cookies and no debug page.

Settings are read once at start-up, so each case runs in a fresh interpreter with its own
environment, the way a deployment starts.
"""

import base64
import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
# Variables of the test run that must not leak into a "production" process.
_DROPPED = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "ALLOWED_HOSTS",
            "DJANGO_SECURE_SSL_REDIRECT", "HJ_BEHIND_TLS_PROXY", "HJ_PUBLIC_URL", "REDIS_URL",
            "HJ_ENCRYPTION_KEY"}


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _DROPPED}
    env.update({
        "DJANGO_SETTINGS_MODULE": "hellojohn_project.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "HJ_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "sessions.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://sessions.example.com",
        "HJ_PUBLIC_URL": "https://sessions.example.com",
        "HJ_BEHIND_TLS_PROXY": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    })
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_check_deploy_reports_nothing(tmp_path: Path, collected_static: str) -> None:
    """The README's production recipe: migrate, collectstatic, then the check (database cache)."""
    env = production_env(tmp_path, DJANGO_STATIC_ROOT=collected_static)
    assert run(["manage.py", "migrate", "-v0"], env).returncode == 0
    result = run(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_about_a_per_process_cache(tmp_path: Path, collected_static: str) -> None:
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="tests.production_locmem_settings",
                         DJANGO_STATIC_ROOT=collected_static)
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "hj.W001" in output and "LocMemCache" in output
    assert output.count("(hj.") == 1  # nothing else: static files are collected


def test_check_deploy_says_that_collectstatic_has_not_run(tmp_path: Path) -> None:
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "hj.W002" in output and "collectstatic" in output
    assert "hj.W001" not in output  # the default cache (the database's) is shared


UNCOLLECTED_PROBE = textwrap.dedent("""
    import json
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.test import Client
    from tenants_app.services import create_tenant
    create_tenant(name="Acme", slug="acme")
    client = Client(HTTP_HOST="sessions.example.com", HTTP_X_FORWARDED_PROTO="https", raise_request_exception=False)
    answers = {}
    for path in ["/nope", "/t/acme/sign-in", "/t/nobody/sign-in", "/admin/login/", "/v1/nope"]:
        r = client.get(path)
        answers[path] = {"status": r.status_code, "body": r.content.decode()}
    print(json.dumps(answers))
""")


def test_without_collectstatic_pages_still_answer(tmp_path: Path) -> None:
    """Production before collectstatic: every page and the 404 page render, unhashed static URLs."""
    result = run(["-c", UNCOLLECTED_PROBE], production_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert {path: answer["status"] for path, answer in answers.items()} == {
        "/nope": 404, "/t/acme/sign-in": 200, "/t/nobody/sign-in": 404, "/admin/login/": 200, "/v1/nope": 404}
    assert 'href="/static/web/site.css"' in answers["/t/acme/sign-in"]["body"]
    assert "static file web/site.css is not collected" in result.stderr  # logged, so operators see why


def test_check_deploy_does_catch_a_debug_deployment(tmp_path: Path) -> None:
    """The check above can fail: the same command flags DEBUG and the relaxed security it implies."""
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 production_env(tmp_path, DJANGO_DEBUG="true"))
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG must not be True in deployment


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = run(["manage.py", "check"], production_env(tmp_path, DJANGO_SECRET_KEY=""))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


SETTINGS_PROBE = textwrap.dedent("""
    import json
    import django
    django.setup()
    from django.conf import settings as s
    print(json.dumps({name: getattr(s, name) for name in [
        "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_NAME", "CSRF_COOKIE_SECURE", "CSRF_COOKIE_NAME", "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS", "ALLOWED_HOSTS"]}))
""")


def test_production_security_settings(tmp_path: Path) -> None:
    result = run(["-c", SETTINGS_PROBE], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_NAME": "__Host-sessionid",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_NAME": "__Host-csrftoken",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
        "ALLOWED_HOSTS": ["sessions.example.com"],
    }


def test_without_a_tls_proxy_forwarded_proto_is_not_believed(tmp_path: Path) -> None:
    result = run(["-c", SETTINGS_PROBE], production_env(tmp_path, HJ_BEHIND_TLS_PROXY="false"))
    assert json.loads(result.stdout)["SECURE_PROXY_SSL_HEADER"] is None


APP_PROBE = textwrap.dedent("""
    import json
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.test import Client, override_settings
    from tenants_app.services import create_tenant
    # Production serves hashed static names from collectstatic's manifest (minutes to build here);
    # the page itself, its headers and cookies are what this probe looks at.
    override_settings(STORAGES={**django.conf.settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
    create_tenant(name="Acme", slug="acme")
    proxy = Client(HTTP_HOST="sessions.example.com", HTTP_X_FORWARDED_PROTO="https")
    plain = Client(HTTP_HOST="sessions.example.com")
    answers = {}
    for name, client, path in [("http", plain, "/v1/sessions"), ("api_404", proxy, "/v1/nope"),
                               ("page_404", proxy, "/nope"), ("sign_in", proxy, "/t/acme/sign-in"),
                               ("bad_host", Client(HTTP_HOST="evil.example", HTTP_X_FORWARDED_PROTO="https"),
                                "/v1/sessions")]:
        r = client.get(path)
        answers[name] = {"status": r.status_code, "headers": dict(r.headers), "body": r.content.decode()[:4000],
                         "cookies": {k: dict(v) for k, v in r.cookies.items()}}
    print(json.dumps(answers))
""")


@pytest.fixture(scope="module")
def production_answers(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp_path = tmp_path_factory.mktemp("production")
    result = run(["-c", APP_PROBE], production_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_plain_http_is_redirected_to_https(production_answers: dict) -> None:
    answer = production_answers["http"]
    assert answer["status"] == 301
    assert answer["headers"]["Location"] == "https://sessions.example.com/v1/sessions"


def test_https_answers_carry_hsts(production_answers: dict) -> None:
    for name in ("api_404", "sign_in"):
        headers = production_answers[name]["headers"]
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_no_debug_pages(production_answers: dict) -> None:
    api = production_answers["api_404"]
    assert api["status"] == 404 and json.loads(api["body"])["error"]["code"] == "not_found"
    for name in ("api_404", "page_404", "bad_host"):
        body = production_answers[name]["body"]
        assert "Traceback" not in body and "URLconf" not in body and "DEBUG = True" not in body
    bad_host = production_answers["bad_host"]
    assert bad_host["status"] == 400 and json.loads(bad_host["body"])["error"]["code"] == "invalid_request"


def test_pages_have_a_content_security_policy_and_secure_cookies(production_answers: dict) -> None:
    page = production_answers["sign_in"]
    assert page["status"] == 200
    assert "default-src 'self'" in page["headers"]["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page["headers"]["Content-Security-Policy"]
    assert page["headers"]["X-Frame-Options"] == "DENY"
    for cookie in page["cookies"].values():
        assert cookie["secure"] is True and cookie["httponly"] is True


REDIS_PROBE = textwrap.dedent("""
    import json
    import django
    django.setup()
    from django.core.cache import caches
    cache = caches["default"]
    client = cache._cache  # builds the client (imports the redis package) without connecting
    print(json.dumps({"backend": type(cache).__module__ + "." + type(cache).__name__,
                      "servers": cache._servers, "client": type(client).__name__}))
""")


def test_redis_url_shares_rate_limit_counters_across_processes(tmp_path: Path) -> None:
    result = run(["-c", REDIS_PROBE], production_env(tmp_path, REDIS_URL="redis://cache.internal:6379/0"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"backend": "django.core.cache.backends.redis.RedisCache",
                                         "servers": ["redis://cache.internal:6379/0"], "client": "RedisCacheClient"}


def test_check_refuses_a_missing_metrics_directory(tmp_path: Path) -> None:
    env = production_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "missing"))
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "hj.E003" in result.stdout + result.stderr
    (tmp_path / "missing").mkdir()
    assert run(["manage.py", "check"], env).returncode == 0
