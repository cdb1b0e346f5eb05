"""Output serializers render exactly the fields they declare: the declared fields are the OpenAPI
schema, the direct to_representation is what clients receive."""

import pytest
from django.utils import timezone

from sessions_app.api.serializers import IssuedSessionOut, SessionOut, SessionWithCurrentOut, UserOut
from sessions_app.device import DeviceInfo
from sessions_app.services import start_session
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def context(**extra):
    return {"now": timezone.now(), "idle_timeout": None, **extra}


def test_user_renders_its_declared_fields():
    user = UserFactory()
    assert list(UserOut(user).data) == list(UserOut().fields)


def test_session_renders_its_declared_fields_with_current_only_for_end_users():
    session = SessionFactory()
    assert list(SessionOut(session, context=context()).data) == list(SessionOut().fields)
    as_user = SessionOut(session, context=context(current_session_id=session.id)).data
    assert list(as_user) == list(SessionWithCurrentOut().fields)
    assert as_user["current"] is True and as_user["status"] == "active"


def test_issued_session_renders_its_declared_fields():
    issued = start_session(user=UserFactory(), device=DeviceInfo())
    data = IssuedSessionOut(issued, context=context()).data
    assert list(data) == list(IssuedSessionOut().fields)
    assert data["created_at"].endswith("Z") and data["access_token_expires_at"].endswith("Z")
