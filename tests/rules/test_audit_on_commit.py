"""No audit line for a change that did not commit (issue 12, 13).

Real commits and rollbacks (`transaction=True`), on SQLite and PostgreSQL: a revocation, a
password change and a sign-in whose transaction rolls back leave no line, and the same calls that
commit leave theirs. A process that dies between a commit and its line still loses that line: see
sessions_app/audit.py.
"""

import logging

import pytest
from django.db import transaction

from sessions_app import services
from sessions_app.actors import SYSTEM, Actor
from sessions_app.device import DeviceInfo
from sessions_app.models import RevocationReason, Session
from tenants_app.models import User
from tests.conftest import TenantKeys
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE = DeviceInfo(user_agent="", ip_address="203.0.113.5", country=None, device_type="desktop", browser="",
                    os="")


class RolledBack(Exception):
    pass


def audit_events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "hellojohn.audit"]


@pytest.fixture
def alice(tenant: TenantKeys) -> User:
    user = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    user.tenant = tenant.tenant
    return user


def test_a_revocation_that_rolls_back_writes_no_line(alice: User, caplog: pytest.LogCaptureFixture) -> None:
    session = services.start_session(user=alice, device=DEVICE).session
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="hellojohn.audit"):
        with pytest.raises(RolledBack), transaction.atomic():
            assert services.revoke_session(session=session, actor=SYSTEM, reason=RevocationReason.SESSION_LIMIT)
            raise RolledBack()
        assert audit_events(caplog) == []
        assert Session.objects.get(pk=session.pk).revoked_at is None

        services.revoke_session(session=session, actor=SYSTEM, reason=RevocationReason.SESSION_LIMIT)
        assert audit_events(caplog) == ["session.revoked"]


def test_a_password_change_and_a_sign_in_that_roll_back_write_no_line(
    alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    services.start_session(user=alice, device=DEVICE)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="hellojohn.audit"):
        with pytest.raises(RolledBack), transaction.atomic():
            services.update_user(user=alice, actor=Actor.for_user(alice.id), password="a brand new passphrase")
            services.start_session(user=User.objects.select_related("tenant").get(pk=alice.pk), device=DEVICE)
            raise RolledBack()
        assert audit_events(caplog) == []
        assert Session.objects.filter(user=alice).count() == 1
        assert Session.objects.get(user=alice).revoked_at is None

        alice.refresh_from_db()
        services.update_user(user=alice, actor=Actor.for_user(alice.id), status=User.Status.DISABLED)
        assert audit_events(caplog) == ["user.disabled", "session.revoked"]
