"""How the operator console behaves on a big sessions table: time and queries per admin page.

    .venv/bin/python -m tests.pgcluster -- .venv/bin/python -m bench.admin_scale [SESSIONS]

Fills a fresh database (PostgreSQL through tests.pgcluster, or the DATABASE_URL given) with
SESSIONS sessions (default 200,000) over 20 tenants and 20,000 users, then requests each admin
page as a superuser through Django's test client and prints the median time, the number of
queries and the slowest query's plan. Not part of the suite: it takes a minute or two.
"""

import os
import random
import statistics
import sys
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from sessions_app.models import DeviceType, RevocationReason, Session  # noqa: E402
from tenants_app.models import TenantConfig, User  # noqa: E402
from tenants_app.services import create_tenant  # noqa: E402

COUNTRIES = ["US"] * 40 + ["GB"] * 12 + ["DE"] * 10 + ["FR"] * 8 + ["JP"] * 6 + ["BR"] * 6 + ["IN"] * 8 + [None] * 9
DEVICES = [DeviceType.DESKTOP] * 55 + [DeviceType.MOBILE] * 38 + [DeviceType.TABLET] * 6 + [DeviceType.BOT]
REASONS = list(RevocationReason)


def fill(sessions: int) -> tuple[str, str]:
    rng = random.Random(6)  # noqa: S311 (seeded fake data for a measurement, not a secret)
    tenants = [create_tenant(name=f"Scale {n}", slug=f"scale-{n}").tenant for n in range(20)]
    TenantConfig.objects.filter(tenant__in=tenants[::2]).update(idle_timeout=7 * 86400)
    password = make_password("unused")
    users = User.objects.bulk_create(
        [User(tenant=tenants[n % 20], email=f"user{n}@scale.example", password=password) for n in range(20_000)],
        batch_size=5000,
    )
    now = timezone.now()
    batch: list[Session] = []
    for _ in range(sessions):
        user = users[rng.randrange(len(users))]
        created = now - timedelta(seconds=rng.randrange(60 * 86400))
        last_active = min(now, created + timedelta(seconds=rng.randrange(20 * 86400)))
        revoked = rng.random() < 0.3
        batch.append(Session(
            tenant_id=user.tenant_id, user=user, created_at=created, last_active_at=last_active,
            expires_at=created + timedelta(days=30), device_type=rng.choice(DEVICES), country=rng.choice(COUNTRIES),
            ip_address=f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            browser="Chrome 120", os="macOS 10.15", user_agent="Mozilla/5.0",
            revoked_at=min(now, last_active + timedelta(minutes=5)) if revoked else None,
            revoked_reason=rng.choice(REASONS) if revoked else None,
        ))
        if len(batch) == 10_000:
            Session.objects.bulk_create(batch)
            batch = []
    Session.objects.bulk_create(batch)
    probe = Session.objects.order_by("created_at").first()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return tenants[3].pk, probe.ip_address


def measure(client: Client, url: str, runs: int = 5) -> tuple[float, int, str]:
    timings, plan = [], ""
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    slowest = max(captured.captured_queries, key=lambda query: float(query["time"]))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + slowest["sql"])
            plan = " | ".join(row[0].strip() for row in cursor.fetchall()[:6])
    return statistics.median(timings) * 1000, len(captured.captured_queries), f"{slowest['time']}s: {plan}"


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    # A throwaway database next to the configured one (test_<name>), migrated, as the suite makes it.
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    started = time.perf_counter()
    tenant_id, ip = fill(sessions)
    print(f"{connection.vendor}: {Session.objects.count():,} sessions filled in {time.perf_counter() - started:.0f}s")
    from django.contrib.auth.models import User as Operator

    client = Client()
    client.force_login(Operator.objects.create_superuser("scale", "scale@ops.example", "unused"))
    base = "/admin/sessions_app/session/"
    pages = [
        "/admin/", f"/admin/?tenant={tenant_id}", base, f"{base}?p=50", f"{base}?status=active",
        f"{base}?status=expired", f"{base}?status=revoked", f"{base}?tenant__id__exact={tenant_id}",
        f"{base}?tenant__id__exact={tenant_id}&status=active", f"{base}?device_type__exact=bot",
        f"{base}?country=JP", f"{base}?country=unknown", f"{base}?revoked_reason__exact=revoked_by_admin",
        f"{base}?q={ip}", f"{base}?q=user123@scale.example", "/admin/tenants_app/tenant/",
        "/admin/tenants_app/user/?q=user123@scale.example",
    ]
    for url in pages:
        median_ms, queries, slowest = measure(client, url)
        print(f"{median_ms:8.1f} ms  {queries:2d} queries  {url}\n      slowest {slowest}")


if __name__ == "__main__":
    main()
