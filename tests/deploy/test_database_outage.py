"""A database outage answers 503 `service_unavailable` with Retry-After (issue 12, finding 10).

docs/api.md section 5. Real failures: the app points at a port where no database listens, and
gunicorn runs against a PostgreSQL cluster of the test's own that is stopped mid-test and started
again; nothing is written during the outage and the service recovers by itself.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_app import PROJECT, free_port, gunicorn, post_json, production_env, request, set_up_database
from tests.pgcluster import as_postgres, find_pg_bin

PASSWORD = "correct horse battery staple"

NO_DATABASE_PROBE = textwrap.dedent("""
    import json
    import django
    django.setup()
    from django.test import Client
    client = Client(raise_request_exception=False, HTTP_X_TENANT_ID="tnt_01HZY8K3ZC6W7Q9V2R4T6Y8B0D",
                    HTTP_AUTHORIZATION="Bearer pk_live_x")
    from django.conf import settings
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32  # an operator's: loading it needs the database
    body = {"email": "a@example.com", "password": "x"}
    calls = {
        "api sign-in": lambda: client.post("/v1/auth/sign-in", body, content_type="application/json"),
        "api sessions": lambda: client.get("/v1/sessions"),
        "page": lambda: client.get("/t/acme/sign-in"),
        "page sign-in": lambda: client.post("/t/acme/sign-in", body),
        "admin": lambda: client.get("/admin/tenants_app/tenant/"),
    }
    answers = {}
    for name, call in calls.items():
        r = call()
        answers[name] = {"status": r.status_code, "headers": dict(r.headers), "body": r.content.decode()}
    print(json.dumps(answers))
""")


def assert_api_unavailable(status: int, headers: dict[str, str], body: dict) -> None:
    assert status == 503, body
    assert headers["Retry-After"] == "30"
    assert body["error"]["code"] == "service_unavailable"
    assert body["error"]["status"] == 503
    assert body["error"]["request_id"].startswith("req_")
    assert headers["X-Request-ID"] == body["error"]["request_id"]


def assert_page_unavailable(status: int, headers: dict[str, str], body: str) -> None:
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert headers["Content-Type"].startswith("text/html")
    assert "Temporarily unavailable" in body and "Traceback" not in body


@pytest.mark.parametrize("debug", ["false", "true"])
def test_no_database_listening_answers_503(tmp_path: Path, debug: str) -> None:
    env = production_env(f"postgres://postgres@127.0.0.1:{free_port()}/hellojohn", DJANGO_DEBUG=debug,
                         ALLOWED_HOSTS="testserver")
    result = subprocess.run([sys.executable, "-c", NO_DATABASE_PROBE], cwd=PROJECT, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("api sign-in", "api sessions"):
        answer = answers[name]
        assert_api_unavailable(answer["status"], answer["headers"], json.loads(answer["body"]))
    for name in ("page", "page sign-in", "admin"):
        answer = answers[name]
        assert_page_unavailable(answer["status"], answer["headers"], answer["body"])


@dataclass
class Cluster:
    pg_bin: Path
    data: Path
    options: str
    log: Path
    url: str

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(as_postgres([str(self.pg_bin / "pg_ctl"), "-D", str(self.data), *args]), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self.pg_ctl("-l", str(self.log), "-o", self.options, "-w", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.pg_ctl("-l", str(self.log), "-o", self.options, "-m", "fast", "-w", "restart")

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test's own, so that stopping it disturbs no other test."""
    pg_bin = find_pg_bin()
    if pg_bin is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("PostgreSQL (pg_ctl) is required under CI=true")
        pytest.skip("no pg_ctl on this machine")
    import psycopg

    workdir = Path(tempfile.mkdtemp(prefix="hj-outage-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    port = free_port()
    found = Cluster(pg_bin, workdir / "data",
                    f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off",
                    workdir / "server.log", f"postgres://postgres@127.0.0.1:{port}/hellojohn")
    subprocess.run(as_postgres([str(pg_bin / "initdb"), "-D", str(found.data), "-U", "postgres", "-A", "trust",
                                "--no-sync", "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)
    try:
        found.start()
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE hellojohn")
        yield found
    finally:
        subprocess.run(as_postgres([str(pg_bin / "pg_ctl"), "-D", str(found.data), "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def test_postgresql_stopped_mid_test_answers_503_then_recovers(cluster: Cluster) -> None:
    env = production_env(cluster.url)
    keys = set_up_database(env)
    device = {"Authorization": f"Bearer {keys['publishable_key']}", "X-Tenant-ID": keys["tenant_id"]}
    backend = {"Authorization": f"Bearer {keys['secret_key']}", "X-Tenant-ID": keys["tenant_id"]}
    credentials = {"email": "alice@example.com", "password": PASSWORD}
    with gunicorn(env, workers=2) as base:
        status, _, body = post_json(f"{base}/v1/auth/sign-in", credentials, device)
        assert status == 200, body
        assert request("GET", f"{base}/v1/sessions", headers=backend)[0] == 200

        cluster.stop()
        for _ in range(3):  # every worker, whatever connection it kept, answers the same
            assert_api_unavailable(*post_json(f"{base}/v1/auth/sign-in", credentials, device))
            status, headers, raw = request("GET", f"{base}/v1/sessions", headers=backend)
            assert_api_unavailable(status, headers, json.loads(raw))
            status, headers, raw = request("GET", f"{base}/t/acme/sign-in")
            assert_page_unavailable(status, headers, raw.decode())

        cluster.start()
        status, _, body = post_json(f"{base}/v1/auth/sign-in", credentials, device)
        assert status == 200, body
    # Two sign-ins answered 200, two sessions exist: the outage wrote nothing and lost nothing.
    assert cluster.query("SELECT count(*) FROM sessions_app_session") == [(2,)]
