"""Output serializers build their fields once per class, yet each instance renders with its own context."""

from django.utils import timezone

from sessions_app.api.serializers import IssuedSessionOut, SessionOut, SessionWithCurrentOut, UserOut
from tests.factories import SessionFactory


def test_instances_never_share_fields_or_context(db: None) -> None:
    first, second = SessionFactory(), SessionFactory()
    context = {"now": timezone.now(), "idle_timeout": None}
    as_first = SessionOut([first, second], many=True, context={**context, "current_session_id": first.pk})
    as_second = SessionOut([first, second], many=True, context={**context, "current_session_id": second.pk})
    # Built alternately, rendered afterwards: a field bound to the wrong parent would mix them up.
    assert [row["current"] for row in as_first.data] == [True, False]
    assert [row["current"] for row in as_second.data] == [False, True]
    one, other = SessionOut(first, context=context), SessionOut(first, context=context)
    assert one.fields["status"] is not other.fields["status"]
    assert one.fields["status"].parent is one and other.fields["status"].parent is other


def test_each_class_keeps_its_own_fields(db: None) -> None:
    session = SessionFactory()
    context = {"now": timezone.now(), "idle_timeout": None}
    assert set(SessionOut(session, context=context).fields) < set(SessionWithCurrentOut(session).fields)
    assert "access_token" in IssuedSessionOut().fields and "access_token" not in SessionOut().fields
    assert set(UserOut(session.user).data) == {"id", "tenant_id", "email", "name", "status", "created_at",
                                               "last_sign_in_at"}
