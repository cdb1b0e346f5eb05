"""The access-token check's precompiled session lookup answers exactly what the ORM would."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from sessions_app.models import Session
from sessions_app.selectors import session_for_access_check
from tenants_app.models import TenantConfig
from tests.factories import SessionFactory, TenantFactory, UserFactory

FIELDS = [field.attname for field in Session._meta.concrete_fields]


def _orm(session_id: str) -> Session:
    return Session.objects.select_related("user", "tenant", "tenant__config").get(pk=session_id)


def _same_rows(found: Session, expected: Session) -> None:
    assert [getattr(found, name) for name in FIELDS] == [getattr(expected, name) for name in FIELDS]
    for name in ("user", "tenant"):
        related, reference = getattr(found, name), getattr(expected, name)
        columns = [field.attname for field in type(reference)._meta.concrete_fields]
        assert [getattr(related, c) for c in columns] == [getattr(reference, c) for c in columns]


def test_it_loads_the_session_with_its_user_tenant_and_config_in_one_query(
    db: None, django_assert_num_queries: Any
) -> None:
    session = SessionFactory(revoked_at=timezone.now(), revoked_reason="signed_out", ip_address="2001:db8::1")
    TenantConfig.objects.filter(tenant=session.tenant).update(idle_timeout=3600)
    with django_assert_num_queries(1):
        found = session_for_access_check(session.pk)
        # Everything the check reads afterwards was loaded by that one query.
        assert found is not None
        assert found.user.status == "active" and found.tenant.config.idle_timeout == 3600
    _same_rows(found, _orm(session.pk))
    # Values come back converted as the ORM converts them: aware datetimes, an address as text.
    assert found.expires_at.tzinfo is not None and found.revoked_at.tzinfo is not None
    assert found.ip_address == "2001:db8::1"
    assert found._state.adding is False and found._state.db == "default"


def test_a_tenant_without_config_has_none(db: None) -> None:
    user = UserFactory(tenant=TenantFactory(config=None))
    session = SessionFactory(user=user)
    found = session_for_access_check(session.pk)
    assert found is not None and getattr(found.tenant, "config", None) is None


@pytest.mark.parametrize("session_id", ["ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "", "' OR 1=1 --", "ses_" + "x" * 300])
def test_an_unknown_id_finds_nothing(db: None, session_id: str) -> None:
    SessionFactory()
    assert session_for_access_check(session_id) is None


def test_each_call_sees_the_row_as_it_is_now(db: None) -> None:
    session = SessionFactory()
    assert session_for_access_check(session.pk).revoked_at is None
    later = timezone.now() + timedelta(seconds=1)
    Session.objects.filter(pk=session.pk).update(revoked_at=later, revoked_reason="revoked_by_user")
    assert session_for_access_check(session.pk).revoked_at == later


@pytest.mark.django_db(transaction=True)
def test_another_thread_compiles_its_own_and_finds_the_same() -> None:
    session = SessionFactory()
    expected = session_for_access_check(session.pk)
    found: list[Session | None] = []

    def look_up() -> None:
        from django.db import connection

        try:
            found.append(session_for_access_check(session.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=look_up)
    thread.start()
    thread.join()
    assert found[0] is not None
    _same_rows(found[0], expected)
