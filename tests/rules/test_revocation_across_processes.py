"""Revocation reaches every process before the revoking call returns (issue 14), on PostgreSQL.

Four gunicorn instances (one of them gthread) serve the test's own database. For each revocation
path, a credential is warmed in every instance (so each answers it from memory), revoked through one
instance's API or through the rules as the admin and the commands call them, and the old credential
is sent at once to all four: it must never be accepted. Then 5,000 sessions revoked in one call;
then the listeners' connections terminated while revoking; then a new password, a revoked secret
key, a config change and a management command; and statement counts that PostgreSQL itself reports
(index scans of the tables a check reads) prove the warm checks query nothing. The admin and the
page revoke through the same rules as `rules_revoke` (services.revoke_sessions), which wait in the
revoking transaction's commit whatever the face.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from hellojohn_project import change_feed
from sessions_app import services
from sessions_app.actors import SYSTEM
from sessions_app.device import DeviceInfo
from sessions_app.models import RevocationReason, Session
from sessions_app.services.signing_keys import active_signing_key, withdraw_signing_key
from sessions_app.tokens import encode_access_token
from tenants_app import services as tenant_services
from tenants_app.ids import new_id
from tenants_app.models import Tenant, User
from tests.live_app import PROJECT, gunicorn, production_env, request

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = int(os.environ.get("HJ_TEST_REVOCATION_ROUNDS", "100"))
INSTANCES = 4


@pytest.fixture(scope="module")
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite answers every check from the database: nothing to propagate")


@pytest.fixture
def instances(postgres: None, transactional_db: None) -> Iterator[list[str]]:
    settings_ = connection.settings_dict
    url = (f"postgres://{settings_['USER']}@{settings_['HOST']}:{settings_['PORT']}/{settings_['NAME']}")
    # The issuer of the tokens this process mints is the instances' too.
    # A longer lease than the default: on a loaded machine a 1 s lease can lapse between two reads, and
    # the statement counts below would then see a (correct) fallback to the database.
    env = production_env(url, HJ_PUBLIC_URL=settings.HJ_PUBLIC_URL, HJ_CACHE_LEASE="5")
    with ExitStack() as stack:
        bases = [stack.enter_context(gunicorn(env, workers=1, threads=4 if i == 0 else 1)) for i in range(INSTANCES)]
        yield bases


def me(base: str, token: str) -> int:
    tenant_id = jwt.decode(token, options={"verify_signature": False})["tenant_id"]
    return request("GET", f"{base}/v1/auth/me", headers={"Authorization": f"Bearer {token}",
                                                         "X-Tenant-ID": tenant_id})[0]


def on_all(bases: list[str], token: str) -> list[int]:
    with ThreadPoolExecutor(len(bases)) as pool:
        return list(pool.map(lambda base: me(base, token), bases))


def api(base: str, method: str, path: str, key: str, tenant_id: str, payload: Any = None) -> int:
    body = json.dumps(payload).encode() if payload is not None else None
    return request(method, f"{base}{path}", body, {"Authorization": f"Bearer {key}", "X-Tenant-ID": tenant_id,
                                                  "Content-Type": "application/json"})[0]


def new_tenant() -> Any:
    return tenant_services.create_tenant(name="Acme")


def new_session(tenant: Tenant, user: User | None = None) -> tuple[Session, str]:
    user = user or User.objects.create(tenant=tenant, email=f"u{time.monotonic_ns()}@example.com", password="!")
    issued = services.start_session(user=user, device=DeviceInfo())
    return issued.session, issued.access_token.token


def warm(bases: list[str], token: str) -> None:
    for _ in range(2):
        statuses = on_all(bases, token)
        if statuses != [200] * len(bases):
            tenant_id = jwt.decode(token, options={"verify_signature": False})["tenant_id"]
            answer = request("GET", f"{bases[0]}/v1/auth/me",
                             headers={"Authorization": f"Bearer {token}", "X-Tenant-ID": tenant_id})
            raise AssertionError(f"{statuses}: {answer[2][:300]!r}")


def wait_for_leases(bases: list[str], token: str) -> None:
    # Each instance's listener starts with its first check; wait until all hold a lease (their rows are fresh).
    on_all(bases, token)
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT count(*) FROM hellojohn_listener WHERE read_at > clock_timestamp() - interval '1 s'")
            if cursor.fetchone()[0] >= len(bases):
                return
            assert time.monotonic() < deadline, "the instances' listeners never read the log"
            time.sleep(0.05)


PATHS = ["api_delete_session", "api_disable_user", "api_sign_out_all", "rules_revoke", "tenant_disabled",
         "signing_key_withdrawn"]


def test_every_revocation_path_reaches_every_instance_before_it_returns(instances: list[str]) -> None:
    bases = instances
    created = new_tenant()
    tenant, secret = created.tenant, created.secret_key.plaintext
    _, token = new_session(tenant)
    wait_for_leases(bases, token)
    accepted: list[tuple[str, int, list[int]]] = []
    latencies: list[float] = []
    for path in PATHS:
        rounds = ROUNDS if path not in ("tenant_disabled", "signing_key_withdrawn") else max(10, ROUNDS // 5)
        for n in range(rounds):
            via = bases[n % len(bases)]
            if path == "tenant_disabled" or (path == "signing_key_withdrawn" and n == 0):
                created = new_tenant()
                tenant, secret = created.tenant, created.secret_key.plaintext
            session, token = new_session(tenant)
            try:
                warm(bases, token)
            except AssertionError as exc:
                raise AssertionError(f"{path} round {n}: {exc}") from exc
            started = time.perf_counter()
            if path == "api_delete_session":
                assert api(via, "DELETE", f"/v1/sessions/{session.id}", secret, tenant.id) == 204
            elif path == "api_disable_user":
                assert api(via, "PATCH", f"/v1/users/{session.user_id}", secret, tenant.id,
                           {"status": "disabled"}) == 200
            elif path == "api_sign_out_all":
                assert api(via, "DELETE", f"/v1/sessions?user_id={session.user_id}", secret, tenant.id) == 200
            elif path == "rules_revoke":
                services.revoke_sessions(session_ids=[session.id], actor=SYSTEM,
                                         reason=RevocationReason.REVOKED_BY_ADMIN)
            elif path == "tenant_disabled":
                tenant_services.update_tenant(tenant=tenant, changes={"status": Tenant.Status.DISABLED})
            elif path == "signing_key_withdrawn":
                withdraw_signing_key(key_id=jwt.get_unverified_header(token)["kid"])
            # Revocation to refusal everywhere: the revoking call itself, as every instance refuses once it returns.
            latencies.append(time.perf_counter() - started)
            statuses = on_all(bases, token)
            if statuses != [401] * len(bases):
                accepted.append((path, n, statuses))
    latencies.sort()
    print(f"revoking call incl. the wait, {len(latencies)} calls: p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    assert accepted == []


def test_a_bulk_revocation_of_5000_sessions_reaches_every_instance(instances: list[str]) -> None:
    bases = instances
    created = new_tenant()
    tenant = created.tenant
    tenant_services.update_tenant_config(tenant=tenant, changes={"max_sessions_per_user": 100})
    users = [User.objects.create(tenant=tenant, email=f"bulk{i}@example.com", password="!") for i in range(50)]
    now = timezone.now()
    sessions = Session.objects.bulk_create(
        Session(id=new_id("ses"), tenant=tenant, user=users[i % 50], created_at=now, last_active_at=now,
                expires_at=now + timedelta(days=1)) for i in range(5000))
    key = active_signing_key(now=now)
    tokens = [encode_access_token(session=s, key=key, ttl_seconds=900, now=now).token for s in sessions]
    sample = tokens[::25]  # 200 of them warmed in every instance
    wait_for_leases(bases, sample[0])
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: warm(bases, t), sample))
    revoked = services.revoke_sessions(session_ids=Session.objects.filter(tenant=tenant).values_list("pk", flat=True),
                                       actor=SYSTEM, reason=RevocationReason.REVOKED_BY_ADMIN)
    assert len(revoked) == 5000
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda t: on_all(bases, t), sample))
    assert [s for s in statuses if s != [401] * len(bases)] == []


def scans() -> int:
    """Index and sequential scans PostgreSQL has counted on the tables an access check reads."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT coalesce(sum(coalesce(idx_scan, 0) + seq_scan), 0) FROM pg_stat_user_tables "
                       "WHERE relname IN ('sessions_app_session', 'tenants_app_user', 'tenants_app_tenant', "
                       "'tenants_app_tenantconfig', 'sessions_app_signingkey')")
        return int(cursor.fetchone()[0])


def settled_scans() -> int:
    # A backend reports its counts when idle, at most once a second (PGSTAT_MIN_INTERVAL); one that
    # goes idle within that second reports 10 s later (PGSTAT_IDLE_INTERVAL). Through PgBouncer this
    # test's own earlier statements ran on server connections it shares, which report on their own time.
    time.sleep(11 if os.environ.get("DATABASE_POOLER") else 1.5)
    return scans()


def test_warm_checks_over_http_make_no_query_and_listener_faults_fail_closed(instances: list[str]) -> None:
    bases = instances
    created = new_tenant()
    _, token = new_session(created.tenant)
    wait_for_leases(bases, token)
    warm(bases, token)
    before = settled_scans()
    for _ in range(50):
        assert on_all(bases, token) == [200] * len(bases)
    assert settled_scans() - before == 0

    # The listeners' connections terminated while revoking: nothing revoked is accepted, the checks
    # query meanwhile, and once the listeners are back, warm checks query nothing again.
    accepted = []
    sessions = [new_session(created.tenant) for _ in range(20)]
    for _, t in sessions:
        warm(bases, t)
    for i, (session, t) in enumerate(sessions):
        if i % 4 == 0:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = %s", [change_feed.APPLICATION_NAME])
        services.revoke_sessions(session_ids=[session.id], actor=SYSTEM, reason=RevocationReason.REVOKED_BY_ADMIN)
        statuses = on_all(bases, t)
        if statuses != [401] * len(bases):
            accepted.append((i, statuses))
    assert accepted == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                       [change_feed.APPLICATION_NAME])
    before = settled_scans()
    assert on_all(bases, token) == [200] * len(bases)  # no lease yet, or an emptied cache: the database answers
    assert settled_scans() - before >= 1
    wait_for_leases(bases, token)
    warm(bases, token)
    before = settled_scans()
    for _ in range(50):
        assert on_all(bases, token) == [200] * len(bases)
    assert settled_scans() - before == 0


def verify(base: str, secret: str, tenant_id: str, token: str) -> tuple[int, Any]:
    status, _, body = request("POST", f"{base}/v1/sessions/verify", json.dumps({"token": token}).encode(),
                              {"Authorization": f"Bearer {secret}", "X-Tenant-ID": tenant_id,
                               "Content-Type": "application/json"})
    answer = json.loads(body)
    return status, (answer.get("valid"), answer.get("reason")) if status == 200 else answer["error"]["code"]


def verify_on_all(bases: list[str], secret: str, tenant_id: str, token: str) -> list[tuple[int, Any]]:
    with ThreadPoolExecutor(len(bases)) as pool:
        return list(pool.map(lambda base: verify(base, secret, tenant_id, token), bases))


CHANGES = ["api_new_password", "api_key_revoked", "config_idle_timeout", "command_withdraw_signing_key"]


def test_keys_config_passwords_and_commands_reach_every_instance_before_they_return(instances: list[str]) -> None:
    """The other changes that must stop a credential: a user's new password, a revoked secret key (for
    verify), a tenant config under which a remembered session is idle, and a management command run in
    a process of its own."""
    bases = instances
    rounds = max(5, ROUNDS // 10)
    command_env = production_env(
        f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
        f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}", HJ_PUBLIC_URL=settings.HJ_PUBLIC_URL)
    refused: list[tuple[str, int, list]] = []
    for change in CHANGES:
        for n in range(rounds if change != "command_withdraw_signing_key" else 3):
            via = bases[n % len(bases)]
            created = new_tenant()
            tenant, secret = created.tenant, created.secret_key.plaintext
            session, token = new_session(tenant)
            if change == "api_new_password":
                warm(bases, token)
                assert api(via, "PATCH", f"/v1/users/{session.user_id}", secret, tenant.id,
                           {"password": "another long passphrase 0123"}) == 200
                after = on_all(bases, token)
                expected: list = [401] * len(bases)
            elif change == "api_key_revoked":
                extra = tenant_services.issue_api_key(tenant=tenant, kind="secret")
                assert verify_on_all(bases, extra.plaintext, tenant.id, token) == [(200, (True, None))] * len(bases)
                assert tenant_services.revoke_api_key(api_key=extra.api_key)
                after = [status for status, _ in verify_on_all(bases, extra.plaintext, tenant.id, token)]
                expected = [401] * len(bases)
            elif change == "config_idle_timeout":
                # Unused for ten minutes; verifying records no activity, so each instance remembers it so.
                Session.objects.filter(pk=session.pk).update(last_active_at=timezone.now() - timedelta(minutes=10))
                assert verify_on_all(bases, secret, tenant.id, token) == [(200, (True, None))] * len(bases)
                assert verify_on_all(bases, secret, tenant.id, token) == [(200, (True, None))] * len(bases)
                assert api(via, "PATCH", "/v1/admin/config", secret, tenant.id, {"idle_timeout": 300}) == 200
                after = verify_on_all(bases, secret, tenant.id, token)
                expected = [(200, (False, "session_expired"))] * len(bases)
            else:
                warm(bases, token)
                kid = jwt.get_unverified_header(token)["kid"]
                result = subprocess.run([sys.executable, "manage.py", "withdraw_signing_key", kid], cwd=PROJECT,
                                        env=command_env, capture_output=True, text=True, timeout=120, check=False)
                assert result.returncode == 0, result.stderr[-2000:]
                after = on_all(bases, token)
                expected = [401] * len(bases)
            if after != expected:
                refused.append((change, n, after))
    assert refused == []
