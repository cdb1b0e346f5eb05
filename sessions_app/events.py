"""Event rules: the one place events are written, in the transaction of the change they record.

Services build events with the functions below and write them with `record` / `record_many`, as the
last statements of their transaction (docs/api.md, "Events"):

- one multi-row INSERT per call, whatever the number of events (revoke-all of 10,000 sessions is one
  UPDATE and one INSERT): the rows travel as one JSON parameter, so neither SQLite's bound-parameter
  limit nor Django's bulk_create batching splits it;
- on PostgreSQL, `pg_advisory_xact_lock` right before the INSERT, so that seq order is commit order
  (the argument is in `sessions_app/event_model.py`);
- then the webhook outbox (`webhooks.enqueue_for(events=…)`), in the same transaction;
- the audit line of each event is written only once the transaction has committed.
"""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from hellojohn_project import change_feed
from sessions_app import audit, webhooks
from sessions_app.actors import Actor
from sessions_app.event_model import EVENT_LOG_LOCK, Event, EventType, new_event_id
from sessions_app.flags import flag_dicts
from sessions_app.models import Session
from sessions_app.renderings import session_dict, user_dict
from tenants_app.models import User

_COLUMNS = ("public_id", "tenant_id", "type", "actor_type", "actor_id", "user_id", "session_id", "data",
            "created_at")


# --- Building -----------------------------------------------------------------------------------


# Events are built with positional values, in this column order: Model.__init__ with keywords and
# defaults costs several times more, which a revoke-all of 10,000 sessions pays 10,000 times.
_POSITIONAL = ("seq", "public_id", "tenant_id", "type", "actor_type", "actor_id", "user_id", "session_id", "data",
               "created_at")
if tuple(f.attname for f in Event._meta.concrete_fields) != _POSITIONAL:
    raise ImproperlyConfigured("sessions_app.events: Event's columns changed; update _POSITIONAL")


def _event(*, type: str, tenant_id: str, actor: Actor, now: datetime, data: dict[str, Any],
           user_id: str | None, session_id: str | None = None) -> Event:
    return Event(None, new_event_id(), tenant_id, str(type), actor.type, actor.id, user_id, session_id, data, now)


def session_created(*, session: Session, actor: Actor, now: datetime) -> Event:
    """A sign-in or a sign-up made `session`."""
    return _event(type=EventType.SESSION_CREATED, tenant_id=session.tenant_id, actor=actor, now=now,
                  user_id=session.user_id, session_id=session.id,
                  data={"session": session_dict(session, now=now, idle_timeout=None)})


def session_flagged(*, session: Session, actor: Actor, now: datetime) -> Event:
    """A new session that risk rules flagged (docs/api.md, "Risk flags"): written right after its session.created."""
    return _event(type=EventType.SESSION_FLAGGED, tenant_id=session.tenant_id, actor=actor, now=now,
                  user_id=session.user_id, session_id=session.id,
                  data={"session": session_dict(session, now=now, idle_timeout=None),
                        "flags": flag_dicts(session.flags)})


def sessions_revoked(*, sessions: Iterable[Session], reason: str, actor: Actor, now: datetime) -> list[Event]:
    """One session.revoked per session, also when one call revoked many."""
    return [
        _event(type=EventType.SESSION_REVOKED, tenant_id=session.tenant_id, actor=actor, now=now,
               user_id=session.user_id, session_id=session.id,
               data={"session": session_dict(session, now=now, idle_timeout=None), "reason": str(reason)})
        for session in sessions
    ]


def user_changed(*, type: EventType, user: User, actor: Actor, now: datetime) -> Event:
    """user.created, user.updated, user.disabled or user.password_changed; `data` is the user as it is now."""
    return _event(type=type, tenant_id=user.tenant_id, actor=actor, now=now, user_id=user.id,
                  data={"user": user_dict(user)})


# --- Writing ------------------------------------------------------------------------------------


def record(*events: Event) -> list[Event]:
    return record_many(events)


def record_many(events: Sequence[Event], *, using: str = DEFAULT_DB_ALIAS) -> list[Event]:
    """Writes `events` in one INSERT inside the caller's transaction; answers them with their seq set.

    Call it as late in the transaction as the change allows: on PostgreSQL every event-writing
    transaction waits for this one from here until its commit.
    """
    events = list(events)
    if not events:
        return events
    # Without a transaction of the caller's, the lock would end with its own statement.
    with transaction.atomic(using=using, savepoint=False):
        _insert(events, using=using)
        _fan_out(events)
    transaction.on_commit(partial(audit.events_committed, events=events), using=using)
    if any(str(event.type) in _STOPPING for event in events):
        # The revoking call returns only once every process has seen the change (docs/api.md,
        # "Revocation is immediate"); a sign-in or a sign-up stops nothing and does not wait.
        change_feed.after_change(using=using)
    return events


_STOPPING = {EventType.SESSION_REVOKED, EventType.USER_UPDATED, EventType.USER_DISABLED,
             EventType.USER_PASSWORD_CHANGED}


def _insert(events: list[Event], *, using: str) -> None:
    connection = connections[using]
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(Event._meta.get_field(name).column) for name in _COLUMNS)
    returning = f"{connection.ops.quote_name('seq')}, {connection.ops.quote_name('public_id')}"
    rows = [
        [e.public_id, e.tenant_id, str(e.type), str(e.actor_type), e.actor_id, e.user_id, e.session_id, e.data,
         connection.ops.adapt_datetimefield_value(e.created_at) if connection.vendor == "sqlite"
         else e.created_at.isoformat()]
        for e in events
    ]
    payload = json.dumps(rows, separators=(",", ":"))
    # Only quoted identifiers of the model are formatted in; the rows are the one bound parameter.
    if connection.vendor == "postgresql":
        values = ", ".join([*(f"r->>{i}" for i in range(7)), "r->7", "(r->>8)::timestamptz"])
        sql = (f"INSERT INTO {table} ({columns}) SELECT {values} "  # noqa: S608
               f"FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS e(r, n) ORDER BY n RETURNING {returning}")
    else:
        values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(9))
        sql = f"INSERT INTO {table} ({columns}) SELECT {values} FROM json_each(%s) ORDER BY key RETURNING {returning}"  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Held until this transaction ends: see sessions_app/event_model.py.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_LOG_LOCK])
        cursor.execute(sql, [payload])
        seqs = dict((public_id, seq) for seq, public_id in cursor.fetchall())
    for event in events:
        event.seq = seqs[event.public_id]
        event._state.adding, event._state.db = False, using


def _fan_out(events: list[Event]) -> None:
    """The webhook outbox: deliveries are written in the same transaction as their events."""
    webhooks.enqueue_for(events=events)
