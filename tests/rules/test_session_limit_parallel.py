"""Parallel sign-ins under the session limit answer only live sessions and evict the oldest (issue 12, 5).

30 sign-ins of one user at once, each in its own thread on its own connection, on SQLite (a file
database, see tests/concurrent.py) and PostgreSQL. Sign-ins queue on the user's row; a sign-in
that waited must still come out the newest session, never one its own transaction revoked.
"""

import itertools
from typing import Any

import pytest

from sessions_app.models import RevocationReason, Session
from tenants_app.models import TenantConfig
from tests.concurrent import in_parallel, threads_db  # noqa: F401 (a fixture)
from tests.conftest import DESKTOP_CHROME, TenantKeys, client_with
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.usefixtures("threads_db")

LIMIT, RUSH = 3, 30


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    settings.HJ_RATE_LIMITS = {scope: "100000/min" for scope in settings.HJ_RATE_LIMITS}


def sign_in(keys: TenantKeys) -> tuple[int, dict[str, Any]]:
    client = client_with(keys.publishable_key, keys.id, HTTP_USER_AGENT=DESKTOP_CHROME)
    response = client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD},
                           format="json")
    return response.status_code, response.json()


def test_parallel_sign_ins_never_answer_a_session_their_own_transaction_revoked(tenant: TenantKeys) -> None:
    TenantConfig.objects.update_or_create(tenant=tenant.tenant, defaults={"max_sessions_per_user": LIMIT})
    user = UserFactory(tenant=tenant.tenant, email="alice@example.com")

    answers = in_parallel([lambda: sign_in(tenant)] * RUSH)

    assert [status for status, _ in answers] == [200] * RUSH, answers
    sessions = {s.pk: s for s in Session.objects.filter(user=user)}
    assert len(sessions) == RUSH
    # No answer carries a session that was revoked the moment it was made (by its own sign-in).
    born_dead = [sid for sid, s in sessions.items() if s.revoked_at is not None and s.revoked_at <= s.created_at]
    assert born_dead == [], f"{len(born_dead)} of {RUSH} answers handed out a revoked session"
    for _, body in answers:
        assert body["session"]["id"] in sessions
    # Exactly the newest LIMIT are left, and each eviction took sessions older than the evictor's.
    by_age = sorted(sessions.values(), key=lambda s: (s.created_at, s.pk))
    assert [s.pk for s in by_age if s.revoked_at is None] == [s.pk for s in by_age[-LIMIT:]]
    revoked = [s for s in by_age if s.revoked_at is not None]
    assert {s.revoked_reason for s in revoked} == {RevocationReason.SESSION_LIMIT}
    # Oldest first: a session is never evicted before one created earlier than it.
    for older, younger in itertools.pairwise(revoked):
        assert older.revoked_at <= younger.revoked_at, (older.pk, younger.pk)
