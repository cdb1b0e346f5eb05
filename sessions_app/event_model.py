"""The event log: one row per change of a session or a user, in commit order (docs/api.md, "Events").

`seq` is the log position. A reader that follows the log ("everything after seq X", the webhook
worker and the per-process session cache) must never miss a committed event, so seq order has to
equal commit order:

- On PostgreSQL a sequence hands out values at INSERT time, not at COMMIT, so transaction A may take
  seq 5, transaction B seq 6, and B commit first; a reader that saw 6 and remembered "after 6" would
  never see 5. Therefore every transaction that writes events takes one transaction-level advisory
  lock (`pg_advisory_xact_lock(EVENT_LOG_LOCK)`) immediately before its event INSERT, and the lock is
  held until COMMIT or ROLLBACK. Seqs are then only allocated by the one transaction holding the lock,
  and the next transaction can allocate only after that one has ended: when seq N is visible, every
  seq below N is either visible too or was rolled back and will never appear. The INSERT is the last
  statement of its transaction (`sessions_app.events.record_many`), so the lock is held for the
  commit only, not for the change's own work.
- SQLite allows one writer at a time and the event INSERT follows the change's first write in the
  same transaction, so seqs are allocated and committed in the same order without a lock.

`user_id` and `session_id` are plain columns, not foreign keys, so the history outlives retention's
purge of sessions and users. Events are never updated; retention deletes old ones (purge_events).
"""

from django.db import models
from django.db.models import Q

from tenants_app.ids import ID_LENGTH, new_id
from tenants_app.models import Tenant

# Any constant unique to this lock; readers of the log never take it.
EVENT_LOG_LOCK = 0x48_4A_45_56_54  # "HJEVT"


def new_event_id() -> str:
    return new_id("evt")


class EventType(models.TextChoices):
    SESSION_CREATED = "session.created"
    SESSION_REVOKED = "session.revoked"
    SESSION_FLAGGED = "session.flagged"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DISABLED = "user.disabled"
    USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 (an event name, not a password)


class ActorType(models.TextChoices):
    USER = "user"
    API_KEY = "api_key"
    OPERATOR = "operator"
    SYSTEM = "system"


class Event(models.Model):
    """One change, as listed by GET /v1/events and delivered to webhooks. Never updated."""

    seq = models.BigAutoField(primary_key=True)
    # The public `evt_…` id ("id" in every answer). Django reserves the field name `id` for a primary key.
    public_id = models.CharField(max_length=ID_LENGTH, unique=True, default=new_event_id, editable=False)
    # Indexed by event_tenant_seq below, which leads with it.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="events", db_index=False)
    # Not limited to EventType in the schema, so a new type (session.flagged, webhook.test) needs no migration.
    type = models.CharField(max_length=64)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    # A user or API key id, an operator's username; null for the system.
    actor_id = models.CharField(max_length=150, null=True, blank=True)  # noqa: DJ001
    # The subjects, kept as plain ids (see the module docstring); null when the event has none.
    user_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True)  # noqa: DJ001
    session_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True)  # noqa: DJ001
    data = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-seq"]
        indexes = [
            # The tenant's log newest first (GET /v1/events), also filtered by type.
            models.Index(fields=["tenant", "-seq"], name="event_tenant_seq"),
            models.Index(fields=["tenant", "type", "-seq"], name="event_tenant_type_seq"),
            # One user's or one session's history (the filters, the admin's history).
            models.Index(fields=["user_id", "-seq"], name="event_user_seq", condition=Q(user_id__isnull=False)),
            models.Index(
                fields=["session_id", "-seq"], name="event_session_seq", condition=Q(session_id__isnull=False)
            ),
            # Retention.
            models.Index(fields=["created_at"], name="event_created"),
        ]

    def __str__(self) -> str:
        return self.public_id
