"""Webhook delivery throughput: one real `db_worker` process draining queued deliveries to a local
receiver process, and the lag from the change's commit to the receiver reading the request.

    python -m bench.webhooks                       # SQLite (a fresh file), 10,000 deliveries
    .venv/bin/python -m tests.pgcluster -- .venv/bin/python -m bench.webhooks
    python -m bench.webhooks --deliveries 1000     # quicker

Two runs, each with a fresh worker:
- drain: N events committed in one transaction (a revoke-all of N sessions) fan out to N deliveries,
  then the worker starts: deliveries per second over the drain, and commit-to-receipt lag (p50 and p99,
  which here mostly measure the position in the queue);
- steady: with the worker idle and polling (`--interval 0.1`), 200 single-event transactions 20 ms
  apart: commit-to-receipt lag of a change arriving while nothing else is queued.
"""

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("HJ_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")

PROJECT = Path(__file__).resolve().parent.parent

# A receiver in its own process: answers 204 and appends "<webhook-id> <unix time>" per request.
RECEIVER = r"""
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
out = open(sys.argv[1], "a", buffering=1)
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        out.write(f"{self.headers['webhook-id']} {time.time()}\n")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _received(log: Path) -> dict[str, float]:
    if not log.exists():
        return {}
    pairs = (line.split() for line in log.read_text().splitlines() if line.strip())
    return {event_id: float(at) for event_id, at in pairs}


def _wait_for(log: Path, count: int, timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = _received(log)
        if len(got) >= count:
            return got
        time.sleep(0.2)
    raise RuntimeError(f"only {len(_received(log))} of {count} deliveries arrived in {timeout} s")


def _worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay",
                             "--no-reload", "--verbosity", "0"], cwd=PROJECT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _events(tenant: Any, count: int) -> list[Any]:
    from django.utils import timezone

    from sessions_app.event_model import Event
    from tenants_app.ids import new_id

    now = timezone.now()
    return [Event(public_id=new_id("evt"), tenant=tenant, type="session.revoked", actor_type="system",
                  data={"session": {"id": new_id("ses")}, "reason": "revoked_by_admin"}, created_at=now)
            for _ in range(count)]


def _commit(tenant: Any, count: int) -> tuple[list[str], float]:
    """Writes `count` events and their deliveries in one transaction; answers their ids and the commit time."""
    from django.db import transaction

    from sessions_app.events import record_many

    with transaction.atomic():
        events = record_many(_events(tenant, count))
    return [e.public_id for e in events], time.time()


def run(*, deliveries: int, steady: int = 200) -> dict[str, Any]:
    from django.db import connection

    from sessions_app.webhook_models import WebhookDelivery
    from sessions_app.webhooks import services
    from tenants_app.services import create_tenant

    # 10,000 audit lines on stderr would measure the terminal, not the worker.
    logging.getLogger("hellojohn.audit").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="hj-webhooks-"))
    log = workdir / "received.txt"
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(log)],  # noqa: S603 - our own script
                                stdout=subprocess.PIPE, text=True)
    env = {**os.environ}
    results: dict[str, Any] = {"database": connection.vendor, "deliveries": deliveries,
                               "load_average_at_start": round(os.getloadavg()[0], 1)}
    try:
        port = int(receiver.stdout.readline())
        tenant = create_tenant(name="Bench webhooks", slug=f"bench-webhooks-{int(time.time())}").tenant
        services.create_endpoint(tenant=tenant, url=f"http://127.0.0.1:{port}/hook", events=["*"])

        ids, committed = _commit(tenant, deliveries)
        connection.close()  # the worker process must see the committed rows (and SQLite's lock must be free)
        worker = _worker(env)
        try:
            got = _wait_for(log, deliveries, timeout=max(120, deliveries / 20))
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        lags = [got[i] - committed for i in ids]
        first, last = min(got.values()), max(got.values())
        results["drain"] = {
            "seconds": round(last - committed, 2),
            "deliveries_per_second": round(deliveries / (last - first), 1) if last > first else None,
            "lag_p50_ms": round(_percentile(lags, 0.5) * 1000, 1),
            "lag_p99_ms": round(_percentile(lags, 0.99) * 1000, 1),
            "succeeded": WebhookDelivery.objects.filter(status="succeeded").count(),
        }

        log.write_text("")  # the receiver appends (O_APPEND): it goes on writing from the start
        worker = _worker(env)
        try:
            time.sleep(2)  # let it start and go idle
            commits: dict[str, float] = {}
            for _ in range(steady):
                [event_id], at = _commit(tenant, 1)
                commits[event_id] = at
                time.sleep(0.02)
            got = _wait_for(log, steady, timeout=120)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        lags = [got[i] - at for i, at in commits.items()]
        results["steady"] = {
            "events": steady,
            "lag_p50_ms": round(_percentile(lags, 0.5) * 1000, 1),
            "lag_p99_ms": round(_percentile(lags, 0.99) * 1000, 1),
            "lag_mean_ms": round(statistics.mean(lags) * 1000, 1),
        }
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    results["load_average_at_end"] = round(os.getloadavg()[0], 1)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks")
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--steady", type=int, default=200)
    args = parser.parse_args(argv)
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='hj-bench-')}/bench.sqlite3"
    else:
        from bench.run import _create_postgres_database

        _create_postgres_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(run(deliveries=args.deliveries, steady=args.steady), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
