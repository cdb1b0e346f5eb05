"""How `purge_sessions` behaves on a big table while the service is serving.

    .venv/bin/python -m tests.pgcluster -- .venv/bin/python -m bench.retention_scale [SESSIONS]

Fills a fresh test database with SESSIONS sessions (default 50,000; half ended 90 days ago, half
live) with two refresh tokens each, then purges with the default batch size while another thread
keeps refreshing live sessions. Prints the purge's time per batch (each batch is one transaction)
and the refreshes' latency and failures during it. Not part of the suite: it takes a minute or so.
"""

import os
import statistics
import sys
import threading
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from sessions_app.device import describe_device  # noqa: E402
from sessions_app.models import RefreshToken, Session  # noqa: E402
from sessions_app.services import purge_sessions, refresh_session, retention_cutoff, start_session  # noqa: E402
from tenants_app.services import create_tenant  # noqa: E402
from tests.factories import UserFactory  # noqa: E402


def fill(total: int) -> tuple:
    tenant = create_tenant(name="Big", slug="big").tenant
    users = [UserFactory(tenant=tenant) for _ in range(50)]
    now = timezone.now()
    rows = []
    for n in range(total):
        created = now - timedelta(days=90 if n % 2 == 0 else 1)
        rows.append(Session(tenant=tenant, user=users[n % 50], created_at=created, last_active_at=created,
                            expires_at=created + timedelta(days=30)))
    Session.objects.bulk_create(rows, batch_size=5000)
    RefreshToken.objects.bulk_create(
        [RefreshToken(session=s, token_hash=f"{s.id}{k}".ljust(64, "0")[:64], created_at=s.created_at,
                      expires_at=s.expires_at) for s in rows for k in range(2)], batch_size=5000)
    device = describe_device(user_agent="scale", ip_address="203.0.113.1")
    live = [start_session(user=users[k], device=device).refresh_token for k in range(10)]
    return tenant, live


def serve(tenant: object, tokens: list[str], stop: threading.Event, latencies: list[float],
          failures: list[str]) -> None:
    try:
        while not stop.is_set():
            for k, token in enumerate(tokens):
                started = time.perf_counter()
                try:
                    tokens[k] = refresh_session(tenant=tenant, refresh_token=token).refresh_token
                except Exception as exc:  # every failure, whatever its kind, is what this measures
                    failures.append(repr(exc))
                latencies.append(time.perf_counter() - started)
    finally:
        connections.close_all()


def main(total: int) -> None:
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        tenant, live = fill(total)
        print(f"{connection.vendor}: {Session.objects.count()} sessions, {RefreshToken.objects.count()} refresh tokens")
        stop, latencies, failures = threading.Event(), [], []
        server = threading.Thread(target=serve, args=(tenant, live, stop, latencies, failures))
        server.start()
        batches: list[float] = []
        mark = [time.perf_counter()]

        def progress(_: int) -> None:
            now = time.perf_counter()
            batches.append(now - mark[0])
            mark[0] = now

        started = time.perf_counter()
        result = purge_sessions(cutoff=retention_cutoff(days=30), progress=progress)
        elapsed = time.perf_counter() - started
        stop.set()
        server.join()
        print(f"purged {result.sessions} sessions and {result.refresh_tokens} refresh tokens in {elapsed:.1f} s: "
              f"{len(batches)} batches, median {statistics.median(batches) * 1000:.0f} ms, "
              f"max {max(batches) * 1000:.0f} ms per batch")
        print(f"meanwhile {len(latencies)} refreshes: median {statistics.median(latencies) * 1000:.1f} ms, "
              f"max {max(latencies) * 1000:.1f} ms, {len(failures)} failed {failures[:3]}")
    finally:
        connections.close_all()
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
