"""The ORM helpers that lean on Django internals: a tripwire on Django's version, and UPDATE … RETURNING
on querysets that can match nothing."""

import django
import pytest
from django.utils import timezone

from sessions_app.models import Session
from sessions_app.orm_internals import REVIEWED_FOR_DJANGO, update_returning
from tests.factories import SessionFactory


def test_the_module_was_read_against_this_django() -> None:
    running = django.VERSION[:2]
    assert running == REVIEWED_FOR_DJANGO, (
        f"Django is {running[0]}.{running[1]}: re-read sessions_app/orm_internals.py against Django "
        f"{running[0]}.{running[1]} (the internals its docstring lists), then set REVIEWED_FOR_DJANGO."
    )


@pytest.mark.django_db
@pytest.mark.parametrize("empty", [
    lambda: Session.objects.filter(pk__in=[]),
    lambda: Session.objects.none(),
    lambda: Session.objects.filter(pk__in=[]).order_by("-created_at"),
], ids=["pk__in=[]", "none()", "ordered"])
def test_an_empty_queryset_updates_nothing_and_answers_no_rows(empty) -> None:  # type: ignore[no-untyped-def]
    session = SessionFactory()
    now = timezone.now()
    assert empty().update(revoked_at=now, revoked_reason="signed_out") == 0  # what Django's own update() answers
    assert update_returning(empty(), {"revoked_at": now, "revoked_reason": "signed_out"}, returning=("id",)) == []
    session.refresh_from_db()
    assert session.revoked_at is None


@pytest.mark.django_db
def test_it_answers_exactly_the_rows_it_changed() -> None:
    first, second, untouched = SessionFactory(), SessionFactory(), SessionFactory()
    now = timezone.now()
    rows = update_returning(Session.objects.filter(pk__in=[first.pk, second.pk], revoked_at__isnull=True),
                            {"revoked_at": now, "revoked_reason": "signed_out"}, returning=("id",))
    assert sorted(rows) == sorted([(first.pk,), (second.pk,)])
    again = update_returning(Session.objects.filter(pk__in=[first.pk, second.pk], revoked_at__isnull=True),
                             {"revoked_at": now, "revoked_reason": "signed_out"}, returning=("id",))
    assert again == []
    assert set(Session.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)) == {first.pk, second.pk}
    untouched.refresh_from_db()
    assert untouched.revoked_at is None
