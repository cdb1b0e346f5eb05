"""The real worker (`manage.py db_worker`) in its own process: it delivers what a transaction enqueued,
and when it is killed with SIGKILL in the middle of a delivery, the delivery arrives later through
another worker once the lease has passed (at least once; docs/api.md, "Guarantees").

The processes share a SQLite file of their own: the suite's test database is not visible to them.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SETUP = """
import json
from django.db import transaction
from django.utils import timezone
from sessions_app.event_model import Event
from sessions_app.webhooks import services
from tenants_app.ids import new_id
from tenants_app.services import create_tenant
tenant = create_tenant(name="Acme", slug="acme").tenant
created = services.create_endpoint(tenant=tenant, url="{url}", events=["*"])
with transaction.atomic():
    event = Event.objects.create(public_id=new_id("evt"), tenant=tenant, type="session.revoked",
                                 actor_type="system", data={{"reason": "revoked_by_admin"}}, created_at=timezone.now())
    services.enqueue_for([event])
print(json.dumps({{"event_id": event.public_id, "secret": created.signing_secret}}))
"""
STATE = """
import json
from sessions_app.webhook_models import WebhookDelivery
print(json.dumps([{"status": d.status, "attempts": len(d.attempts)} for d in WebhookDelivery.objects.all()]))
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        "HJ_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "HJ_WEBHOOK_LEASE_SECONDS": "3",
        "LOG_LEVEL": "WARNING",
    }
    manage(["migrate", "--verbosity", "0"], environment)
    return environment


def manage(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay",
                             "--no-reload", "--verbosity", "0"], cwd=settings.BASE_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_worker_process_delivers_an_enqueued_event(env, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    setup = json.loads(manage(["shell", "-c", SETUP.format(url=f"http://127.0.0.1:{httpserver.port}/hook")], env))
    worker = start_worker(env)
    try:
        wait_for(lambda: len(httpserver.log) == 1)
        request = httpserver.log[0][0]
        assert request.headers["webhook-id"] == setup["event_id"]
        wait_for(lambda: json.loads(manage(["shell", "-c", STATE], env)) == [{"status": "succeeded", "attempts": 1}])
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def test_a_worker_killed_mid_delivery_leaves_it_to_be_delivered_later(env, httpserver: HTTPServer):
    arrived, release = threading.Event(), threading.Event()
    received: list[str] = []

    def handler(request: Request) -> Response:
        received.append(request.headers["webhook-id"])
        if len(received) == 1:
            arrived.set()
            release.wait(timeout=30)  # hold the first delivery while its worker is killed
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(handler)
    setup = json.loads(manage(["shell", "-c", SETUP.format(url=f"http://127.0.0.1:{httpserver.port}/hook")], env))
    first = start_worker(env)
    try:
        assert arrived.wait(timeout=30), "the first worker never delivered"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL
    finally:
        release.set()
    # The killed worker recorded nothing: the delivery is still pending, under its lease.
    assert json.loads(manage(["shell", "-c", STATE], env)) == [{"status": "pending", "attempts": 0}]

    second = start_worker(env)
    try:
        wait_for(lambda: len(received) == 2)
        wait_for(lambda: json.loads(manage(["shell", "-c", STATE], env)) == [{"status": "succeeded", "attempts": 1}])
    finally:
        second.terminate()
        second.wait(timeout=10)
    # At least once: the same event twice, with the same webhook-id for the receiver to de-duplicate on.
    assert received == [setup["event_id"], setup["event_id"]]
