"""Event retention: `purge_events` deletes exactly the events older than HJ_EVENT_RETENTION_DAYS."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sessions_app import events
from sessions_app.actors import SYSTEM
from sessions_app.event_model import Event, EventType
from sessions_app.event_retention import purge_events
from tenants_app.models import User

pytestmark = pytest.mark.django_db


def _events_aged(user: User, *days: int) -> list[Event]:
    now = timezone.now()
    return events.record_many([events.user_changed(type=EventType.USER_UPDATED, user=user, actor=SYSTEM,
                                                   now=now - timedelta(days=d)) for d in days])


def test_purge_deletes_only_events_older_than_the_cutoff(user: User) -> None:
    _events_aged(user, 100, 95, 91, 89, 1, 0)
    sizes: list[int] = []
    result = purge_events(cutoff=timezone.now() - timedelta(days=90), batch_size=2, progress=sizes.append)
    assert (result.events, result.dry_run, sizes) == (3, False, [2, 1])
    ages = sorted((timezone.now() - e.created_at).days for e in Event.objects.all())
    assert ages == [0, 1, 89]


def test_command_uses_the_setting_and_dry_run_deletes_nothing(user: User, settings: object) -> None:
    _events_aged(user, 40, 20, 5)
    settings.HJ_EVENT_RETENTION_DAYS = 30
    out = io.StringIO()
    call_command("purge_events", "--dry-run", stdout=out, stderr=io.StringIO())
    assert out.getvalue().startswith("Would delete 1 events created before ")
    assert Event.objects.count() == 3
    out = io.StringIO()
    call_command("purge_events", stdout=out, stderr=io.StringIO())
    assert "Deleted 1 events" in out.getvalue() and "(30 days of retention)" in out.getvalue()
    assert Event.objects.count() == 2
    call_command("purge_events", "--days", "10", stdout=io.StringIO(), stderr=io.StringIO())
    assert Event.objects.count() == 1


@pytest.mark.parametrize("args", [["--days", "-1"], ["--batch-size", "0"]])
def test_command_refuses_bad_arguments(args: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("purge_events", *args, stdout=io.StringIO(), stderr=io.StringIO())
