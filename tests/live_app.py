"""The app as production runs it, for tests that need several processes: gunicorn workers with
DJANGO_DEBUG=false on a database of the test's own, and a demo tenant made by the services.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT = Path(__file__).resolve().parent.parent
_DROPPED = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "ALLOWED_HOSTS",
            "DJANGO_SECURE_SSL_REDIRECT", "HJ_BEHIND_TLS_PROXY", "HJ_PUBLIC_URL", "REDIS_URL",
            "DATABASE_POOLER", "HJ_METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "DATABASE_REPLICA_URL",
            "HJ_LISTENER_DATABASE_URL"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(database_url: str, **overrides: str) -> dict[str, str]:
    """Debug off, plain HTTP on loopback (no TLS proxy in front), the given database."""
    env = {name: value for name, value in os.environ.items() if name not in _DROPPED}
    env.update({
        "DJANGO_SETTINGS_MODULE": "hellojohn_project.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "HJ_PUBLIC_URL": "http://127.0.0.1",
        "DATABASE_URL": database_url,
    })
    if database_url.startswith("postgres") and os.environ.get("DATABASE_POOLER"):
        env["DATABASE_POOLER"] = os.environ["DATABASE_POOLER"]  # a database of the run's server, through its pooler
        direct, given = urlsplit(os.environ.get("HJ_LISTENER_DATABASE_URL", "")), urlsplit(database_url)
        run = urlsplit(os.environ.get("DATABASE_URL", ""))
        if direct.hostname and (given.hostname, given.port) == (run.hostname, run.port):
            # The change feed's listener needs a session of its own: straight to the run's server, same database.
            env["HJ_LISTENER_DATABASE_URL"] = direct._replace(path=given.path).geturl()
    env.update(overrides)
    return env


SETUP = textwrap.dedent("""
    import json
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from sessions_app.services import create_user
    from tenants_app.services import create_tenant
    created = create_tenant(name="Acme", slug="acme")
    create_user(tenant=created.tenant, email="alice@example.com", password="correct horse battery staple")
    print(json.dumps({"tenant_id": created.tenant.id, "publishable_key": created.publishable_key.plaintext,
                      "secret_key": created.secret_key.plaintext}))
""")


def set_up_database(env: dict[str, str]) -> dict[str, str]:
    """Migrates the database and creates tenant `acme` with alice@example.com; answers its ids and keys."""
    result = subprocess.run([sys.executable, "-c", SETUP], cwd=PROJECT, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int = 1, *, shipped_config: bool = False,
             port: int | None = None) -> Iterator[str]:
    """Runs gunicorn with `workers` processes of `threads` threads on a free loopback port; yields its URL.

    With `shipped_config`, deploy/gunicorn.conf.py is its configuration (the flags still override it)."""
    port = port or free_port()
    config = ["-c", str(PROJECT / "deploy" / "gunicorn.conf.py")] if shipped_config else []
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *config, "-w", str(workers), "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--timeout", "60", "hellojohn_project.wsgi"],
        cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, _tail(log)
            try:
                if request("GET", f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, _tail(log)
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _tail(log: Any) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-4000:]


def request(method: str, url: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; answers status, headers and body, for error statuses too."""
    call = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(call, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def post_json(url: str, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    status, answer_headers, body = request("POST", url, json.dumps(payload).encode(),
                                           {"Content-Type": "application/json", **headers})
    return status, answer_headers, json.loads(body) if body else None
