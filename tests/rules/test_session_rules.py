"""The session rules called directly: what counts as active, the revocation API, using a session."""

from datetime import timedelta
from itertools import product

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app import services
from sessions_app.actors import SYSTEM, Actor
from sessions_app.exceptions import RefreshTokenInvalid, SessionExpired, SessionNotFound, SessionRevoked
from sessions_app.models import CredentialKind, RevocationReason, Session, SessionStatus, idle_cutoff, status_q
from sessions_app.selectors import session_status, status_q_across_tenants
from sessions_app.services.credentials import issue_refresh_token
from tenants_app.models import TenantConfig
from tests.factories import SessionFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_status_at_and_status_q_say_the_same_thing() -> None:
    """The one definition of "active", in Python and in SQL, agrees on every edge."""
    now = timezone.now()
    user = UserFactory()
    offsets = [timedelta(seconds=-1), timedelta(0), timedelta(seconds=1)]
    edge = idle_cutoff(now, 600)  # last active exactly at the cutoff, just after it, or long before
    for revoked, expires, active in product([False, True], offsets, [edge, edge + timedelta(seconds=1),
                                                                      now - timedelta(days=1)]):
        SessionFactory(user=user, created_at=now - timedelta(days=2), last_active_at=active,
                       expires_at=now + expires, revoked_at=now if revoked else None,
                       revoked_reason=RevocationReason.SIGNED_OUT if revoked else None)
    sessions = list(Session.objects.filter(user=user))
    for idle_timeout in (None, 60, 600):
        for status in SessionStatus:
            in_sql = set(Session.objects.filter(status_q(status, now=now, idle_timeout=idle_timeout), user=user)
                         .values_list("pk", flat=True))
            in_python = {s.pk for s in sessions if s.status_at(now, idle_timeout) == status}
            assert in_sql == in_python, (status, idle_timeout)


def test_an_empty_set_revokes_nothing_in_no_statement() -> None:
    SessionFactory()
    with CaptureQueriesContext(connection) as queries:
        assert services.revoke_sessions(session_ids=[], actor=SYSTEM, reason=RevocationReason.SESSION_LIMIT) == []
    assert len(queries) == 0
    assert not Session.objects.filter(revoked_at__isnull=False).exists()


def test_the_rules_decide_the_reason_from_the_actor() -> None:
    user = UserFactory()
    current, other, third = (SessionFactory(user=user) for _ in range(3))
    me = Actor.for_user(user.id)
    assert services.revoke_session(session=other, actor=me, current=current) == [other.id]
    assert services.revoke_session(session=current, actor=me, current=current) == [current.id]
    assert services.revoke_session(session=current, actor=me, current=current) == []  # already ended
    operator = get_user_model().objects.create_user("root")
    assert services.revoke_session(session=third, actor=Actor.for_operator(operator)) == [third.id]
    reasons = dict(Session.objects.values_list("pk", "revoked_reason"))
    assert reasons == {other.id: "revoked_by_user", current.id: "signed_out", third.id: "revoked_by_admin"}
    assert Session.objects.get(pk=third.pk).revoked_by == operator
    assert Session.objects.get(pk=other.pk).revoked_by is None


def test_a_backend_revoking_all_of_a_users_sessions_is_an_admin_revocation() -> None:
    user = UserFactory()
    kept, *ended = (SessionFactory(user=user) for _ in range(3))
    revoked = services.revoke_user_sessions(user=user, actor=Actor.for_api_key("key_x"), keep=kept)
    assert sorted(revoked) == sorted(s.id for s in ended)
    assert set(Session.objects.filter(revoked_at__isnull=False).values_list("revoked_reason", flat=True)) == {
        "revoked_by_admin"}
    assert Session.objects.get(pk=kept.pk).revoked_at is None


def test_the_service_must_name_its_reason() -> None:
    session = SessionFactory()
    with pytest.raises(ValueError):
        services.revoke_session(session=session, actor=SYSTEM)
    assert Session.objects.get(pk=session.pk).revoked_at is None


def test_a_user_cannot_end_someone_elses_session() -> None:
    session, stranger = SessionFactory(), UserFactory()
    with pytest.raises(SessionNotFound):
        services.revoke_session(session=session, actor=Actor.for_user(stranger.id))
    assert services.revoke_sessions(session_ids=[session.id], actor=Actor.for_user(stranger.id)) == []
    assert Session.objects.get(pk=session.pk).revoked_at is None


def test_actor_labels_and_records() -> None:
    assert Actor.for_user("usr_1").label == "user:usr_1"
    assert Actor.for_api_key("key_1").label == "api_key:key_1"
    assert SYSTEM.label == "system" and SYSTEM.as_record() == {"type": "system", "id": None}
    operator = get_user_model()(username="alice")
    assert Actor.for_operator(operator).as_record() == {"type": "operator", "id": "alice"}


def test_using_a_session_by_page_token() -> None:
    session = SessionFactory(last_active_at=timezone.now() - timedelta(hours=1))
    _, token = issue_refresh_token(session=session, now=timezone.now(), kind=CredentialKind.PAGE)
    used = services.use_session(page_token=token, tenant=session.tenant)
    assert used.session.pk == session.pk
    assert Session.objects.get(pk=session.pk).last_active_at == used.now  # activity recorded
    with pytest.raises(RefreshTokenInvalid):
        services.use_session(page_token=token + "x", tenant=session.tenant)
    services.revoke_session(session=session, actor=Actor.for_user(session.user_id), current=session)
    with pytest.raises(SessionRevoked) as refused:
        services.use_session(page_token=token, tenant=session.tenant)
    assert refused.value.session.revoked_reason == RevocationReason.SIGNED_OUT


def test_asking_about_a_session_records_no_activity() -> None:
    stale = timezone.now() - timedelta(hours=1)
    session = SessionFactory(last_active_at=stale)
    _, token = issue_refresh_token(session=session, now=timezone.now(), kind=CredentialKind.PAGE)
    services.use_session(page_token=token, tenant=session.tenant, record_activity=False)
    assert Session.objects.get(pk=session.pk).last_active_at == stale
    session.user.status = "disabled"
    session.user.save()
    with pytest.raises(SessionExpired):
        services.use_session(page_token=token, tenant=session.tenant)


def test_status_across_tenants_applies_each_tenants_idle_timeout() -> None:
    now = timezone.now()
    strict, lax, bare = TenantFactory(), TenantFactory(), TenantFactory(config=None)
    TenantConfig.objects.filter(tenant=strict).update(idle_timeout=600)
    TenantConfig.objects.filter(tenant=lax).update(idle_timeout=None)
    an_hour_ago = now - timedelta(hours=1)
    for tenant in (strict, lax, bare):
        SessionFactory(user=UserFactory(tenant=tenant), last_active_at=an_hour_ago)
        SessionFactory(user=UserFactory(tenant=tenant), revoked_at=now, revoked_reason=RevocationReason.SIGNED_OUT)
    sessions = list(Session.objects.select_related("tenant__config"))
    for tenant_ids in (None, [strict.id], [lax.id, bare.id], [strict.id, lax.id, bare.id]):
        for status in SessionStatus:
            in_sql = set(Session.objects.filter(status_q_across_tenants(status, now=now, tenant_ids=tenant_ids))
                         .values_list("pk", flat=True))
            expected = {s.pk for s in sessions if session_status(s, now=now) == status
                        and (tenant_ids is None or s.tenant_id in tenant_ids)}
            assert in_sql == expected, (status, tenant_ids)
