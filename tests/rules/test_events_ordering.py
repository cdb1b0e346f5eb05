"""The event log's seq order is its commit order on PostgreSQL (sessions_app/event_model.py).

Two real transactions on their own connections: the first writes an event and holds its transaction
open; the second, writing an event meanwhile, waits at the event-log lock until the first has
committed, and so gets the higher seq. Without the lock the second would take seq N+1 and commit
while N was still invisible, and a reader that had seen N+1 would never look for N.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from sessions_app import events
from sessions_app.actors import SYSTEM
from sessions_app.event_model import EVENT_LOG_LOCK, Event, EventType
from tenants_app.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers: there is no second writer to order")


def _event(user: User) -> Event:
    return events.user_changed(type=EventType.USER_UPDATED, user=user, actor=SYSTEM, now=timezone.now())


def test_the_later_committing_transaction_gets_the_higher_seq(user: User) -> None:
    first_inserted, release_first = threading.Event(), threading.Event()
    seqs: dict[str, int] = {}
    commits: list[str] = []
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                # Marked at the commit itself: the revoking call then waits for the listeners (change_feed).
                transaction.on_commit(lambda: commits.append("first"))
                [event] = events.record(_event(user))
                seqs["first"] = event.seq
                first_inserted.set()
                release_first.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_inserted.wait(timeout=30)
            with transaction.atomic():
                # Marked at the commit itself: the revoking call then waits for the listeners (change_feed).
                transaction.on_commit(lambda: commits.append("second"))
                [event] = events.record(_event(user))
                seqs["second"] = event.seq
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_inserted.wait(timeout=30)
    time.sleep(0.5)
    # The second transaction is waiting for the lock, not done: it has no seq yet.
    assert "second" not in seqs and commits == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                       "AND ((classid::bigint << 32) | objid::bigint) = %s", [EVENT_LOG_LOCK])
        assert cursor.fetchone()[0] == 1  # held by the first, and only by it
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        assert cursor.fetchone()[0] == 1  # the second waits for it
    release_first.set()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert commits == ["first", "second"]
    assert seqs["second"] > seqs["first"]
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == [seqs["first"], seqs["second"]]


def test_the_lock_is_held_to_the_end_of_the_transaction_only(user: User) -> None:
    with transaction.atomic():
        events.record(_event(user))
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            assert cursor.fetchone()[0] == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        assert cursor.fetchone()[0] == 0


def test_outside_a_transaction_the_insert_gets_its_own(user: User) -> None:
    """record() called in autocommit opens a transaction, so the lock still covers the INSERT."""
    [event] = events.record(_event(user))
    assert Event.objects.get(public_id=event.public_id).seq == event.seq
