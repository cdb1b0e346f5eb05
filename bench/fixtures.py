"""Rows the benchmarks run against. Rule-carrying rows (tenants with keys, sessions with tokens)
are made through the services; sessions in bulk through the test factories and bulk_create."""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from sessions_app.device import DeviceInfo
from sessions_app.models import DeviceType, Session
from sessions_app.services import IssuedSession, create_user, issue_access_token, start_session
from tenants_app.models import Tenant, User
from tenants_app.services import create_tenant
from tests.factories import SessionFactory, UserFactory

PASSWORD = "correct horse battery staple"  # noqa: S105 - the benchmark users' password
DESKTOP = DeviceInfo(user_agent="Mozilla/5.0 (Macintosh) Chrome/120.0.0.0 Safari/537.36", ip_address="8.8.8.8",
                     country="US", device_type=DeviceType.DESKTOP, browser="Chrome 120", os="macOS 10.15")


@dataclass(frozen=True)
class BenchTenant:
    tenant: Tenant
    secret_key: str
    publishable_key: str


def make_tenant(name: str) -> BenchTenant:
    created = create_tenant(name=name)
    return BenchTenant(created.tenant, created.secret_key.plaintext, created.publishable_key.plaintext)


def signed_in_user(tenant: BenchTenant, email: str) -> tuple[User, IssuedSession]:
    """A user with a real password (production Argon2) and one session with its tokens."""
    user = create_user(tenant=tenant.tenant, email=email, password=PASSWORD)
    user.tenant = tenant.tenant
    return user, start_session(user=user, device=DESKTOP)


def user_with_sessions(tenant: BenchTenant, count: int) -> tuple[User, str]:
    """A user with `count` active sessions (one a minute apart) and an access token for the newest."""
    user = UserFactory(tenant=tenant.tenant, password=make_password(None))
    now = timezone.now()
    rows = [
        SessionFactory.build(user=user, tenant=tenant.tenant, created_at=now - timedelta(minutes=i),
                             last_active_at=now - timedelta(minutes=i))
        for i in range(count)
    ]
    Session.objects.bulk_create(rows, batch_size=2000)
    token = issue_access_token(session=rows[0], ttl_seconds=900, now=now)
    return user, token.token


def fill_sessions_table(*, tenant: Tenant, total: int, users: int) -> int:
    """PostgreSQL: `total` sessions over `users` other users, in two INSERT … SELECT statements.

    A mix like a real table's: about 70% active, 20% revoked, 10% expired, activity spread over
    30 days. Returns the table's row count after.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tenants_app_user (id, tenant_id, email, name, password, status, created_at)
            SELECT 'usr_FILL' || lpad(g::text, 22, '0'), %s, 'filler' || g || '@example.com', '', '!',
                   'active', now() - interval '60 days'
            FROM generate_series(1, %s) AS g
            """,
            [tenant.pk, users],
        )
        cursor.execute(
            """
            INSERT INTO sessions_app_session (id, tenant_id, user_id, user_agent, ip_address, country,
                device_type, browser, os, created_at, last_active_at, expires_at, revoked_at, revoked_reason, flags)
            SELECT 'ses_FILL' || lpad(g::text, 22, '0'), %s, 'usr_FILL' || lpad((1 + g %% %s)::text, 22, '0'),
                   'Mozilla/5.0 (Windows NT 10.0) Chrome/120.0.0.0', '203.0.113.7', 'DE', 'desktop',
                   'Chrome 120', 'Windows 10', t - interval '1 hour', t,
                   CASE WHEN g %% 10 = 0 THEN LEAST(t + interval '1 hour', now() - interval '1 second')
                        ELSE t + interval '30 days' END,
                   CASE WHEN g %% 5 = 1 THEN t ELSE NULL END,
                   CASE WHEN g %% 5 = 1 THEN 'revoked_by_user' ELSE NULL END, '{}'::jsonb
            FROM (SELECT g, now() - (g %% 43200) * interval '1 minute' AS t
                  FROM generate_series(1, %s) AS g) AS rows
            """,
            [tenant.pk, users, total],
        )
        # Fresh statistics and visibility map, as autovacuum would leave them on a live table.
        cursor.execute("VACUUM ANALYZE sessions_app_session")
        cursor.execute("VACUUM ANALYZE tenants_app_user")
        cursor.execute("SELECT count(*) FROM sessions_app_session")
        return cursor.fetchone()[0]
