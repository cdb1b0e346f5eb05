"""Section 5: gunicorn (one worker per core) on PostgreSQL, driven by locust over real HTTP on
127.0.0.1, then a check that every session revoked during the run refuses its tokens.

The server runs the production settings module (DEBUG off), with only what plain HTTP on loopback
needs (ALLOWED_HOSTS, no SSL redirect) and raised rate limits: twenty clients from one address
would otherwise be throttled, which is the limiter working, not the service being slow.
"""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password

from bench.fixtures import PASSWORD, make_tenant
from sessions_app.models import Session
from tenants_app.models import User

RAISED_RATE = "1000000/min"
RATE_VARIABLES = ("HJ_RATE_SIGN_IN_PER_IP", "HJ_RATE_SIGN_IN_PER_EMAIL", "HJ_RATE_REFRESH_PER_IP",
                  "HJ_RATE_REFRESH_PER_KEY")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(port: int) -> dict[str, str]:
    # DATABASE_URL is inherited: the same throwaway cluster the in-process benchmarks used.
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hellojohn_project.settings",
        "DJANGO_SECRET_KEY": "bench-load-secret-key-not-for-production-0123456789",
        "HJ_ENCRYPTION_KEY": "YmVuY2gtb25seS13ZWJob29rLXNlY3JldC1rZXktMzI=",
        "DJANGO_DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "false",
        "HJ_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        **{name: RAISED_RATE for name in RATE_VARIABLES},
    }


def _wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited before answering; see bench/results/gunicorn.log")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as reply:  # noqa: S310 - loopback only
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def _call(base: str, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method,  # noqa: S310 - loopback only
                                     headers={**headers, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _check_revocations(base: str, tenant_id: str, publishable_key: str, revoked: list[dict[str, str]]) -> dict:
    """Every revoked session: its access token and its refresh token are refused, and the row says so."""
    lost = []
    for record in revoked:
        me = _call(base, "GET", "/v1/auth/me",
                   {"Authorization": f"Bearer {record['access_token']}", "X-Tenant-ID": tenant_id})
        refresh = _call(base, "POST", "/v1/auth/token/refresh",
                        {"Authorization": f"Bearer {publishable_key}", "X-Tenant-ID": tenant_id},
                        {"refresh_token": record["refresh_token"]})
        refused = (me[0] == 401 and me[1]["error"]["code"] == "session_revoked"
                   and refresh[0] == 401 and refresh[1]["error"]["code"] == "session_revoked")
        if not refused:
            lost.append({"session_id": record["session_id"], "me": me[0], "refresh": refresh[0]})
    ids = [record["session_id"] for record in revoked]
    unrevoked_rows = Session.objects.filter(pk__in=ids, revoked_at__isnull=True).count()
    return {"revoked_sessions_checked": len(revoked), "tokens_still_accepted": len(lost),
            "rows_not_revoked": unrevoked_rows, "examples": lost[:5]}


def _summary(stats_csv: Path) -> dict[str, Any]:
    rows = list(csv.DictReader(stats_csv.open()))

    def row_summary(row: dict[str, str]) -> dict[str, Any]:
        return {
            "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "requests_per_second": round(float(row["Requests/s"]), 1),
            "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"]),
        }

    return {
        "total": row_summary(next(r for r in rows if r["Name"] == "Aggregated")),
        "by_endpoint": {f"{r['Type']} {r['Name']}": row_summary(r) for r in rows if r["Name"] != "Aggregated"},
    }


def run(*, users: int, seconds: int, workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    tenant = make_tenant("Bench load")
    # One end user per client, so "sign out other devices" never ends another client's session.
    password_hash = make_password(PASSWORD)
    emails = [f"load{n}@example.com" for n in range(users)]
    User.objects.bulk_create([User(tenant=tenant.tenant, email=email, password=password_hash) for email in emails])
    config_path, revoked_path = workdir / "load-config.json", workdir / "load-revoked.json"
    config_path.write_text(json.dumps({
        "tenant_id": tenant.tenant.id, "publishable_key": tenant.publishable_key, "emails": emails,
        "password": PASSWORD, "revoked_path": str(revoked_path),
    }))
    workers = os.cpu_count() or 1
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    with (workdir / "gunicorn.log").open("w") as server_log:
        server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            [str(bin_dir / "gunicorn"), "hellojohn_project.wsgi:application", "--workers", str(workers),
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
            env=_server_env(port), stdout=server_log, stderr=server_log,
        )
        try:
            _wait_until_up(base, server)
            locust = subprocess.run(  # noqa: S603 - our own venv's locust, fixed arguments
                [str(bin_dir / "locust"), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
                 # Clients join five a second: twenty Argon2 sign-ins at the same instant would measure
                 # a thundering herd, not the service.
                 "--users", str(users), "--spawn-rate", "5", "--run-time", f"{seconds}s",
                 "--host", base, "--csv", str(workdir / "load"), "--only-summary", "--loglevel", "WARNING",
                 "--stop-timeout", "10"],
                env={**os.environ, "HJ_BENCH_LOAD_CONFIG": str(config_path)},
                stdout=subprocess.DEVNULL, stderr=(workdir / "locust.log").open("w"), check=False,
            )
            revoked = json.loads(revoked_path.read_text()) if revoked_path.exists() else []
            check = _check_revocations(base, tenant.tenant.id, tenant.publishable_key, revoked)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    summary = _summary(workdir / "load_stats.csv")
    return {"workers": workers, "clients": users, "seconds": seconds, "locust_exit_code": locust.returncode,
            "rate_limits_raised_to": RAISED_RATE, **summary, "revocation_check": check}
