"""`purge_sessions` and `purge_events` refuse a retention they cannot compute, with a message, deleting nothing."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.event_model import Event
from sessions_app.models import Session


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["purge_sessions", "purge_events"])
@pytest.mark.parametrize(("args", "message"), [
    (["--days", "-1"], "--days must be from 0 to 36500."),
    (["--days", "1000000"], "--days must be from 0 to 36500."),  # a datetime cannot go back that far
    (["--batch-size", "0"], "--batch-size must be at least 1."),
])
def test_a_retention_out_of_range_is_refused_and_deletes_nothing(command: str, args: list[str], message: str,
                                                                 user, sign_in) -> None:
    sign_in()
    sessions, events = Session.objects.count(), Event.objects.count()
    with pytest.raises(CommandError) as refused:
        call_command(command, *args)
    assert str(refused.value) == message
    assert (Session.objects.count(), Event.objects.count()) == (sessions, events) != (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["purge_sessions", "purge_events"])
def test_a_century_of_retention_is_accepted(command: str, capsys: pytest.CaptureFixture) -> None:
    call_command(command, "--days", "36500", "--dry-run")
    assert "Would delete 0" in capsys.readouterr().out
