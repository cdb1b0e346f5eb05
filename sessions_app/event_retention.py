"""Retention of the event log: events older than HJ_EVENT_RETENTION_DAYS are deleted (`purge_events`).

Events are never updated, so age is their only criterion. Deletion runs in batches along the log
(seq order), each batch in its own short transaction, so a purge of millions of rows can run while
the service is writing new events at the other end of the log. Webhook deliveries keep their own
copy of the envelope and are not touched.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from sessions_app.event_model import Event


@dataclass(frozen=True)
class EventPurgeResult:
    events: int
    cutoff: datetime
    dry_run: bool


def purgeable_events(*, cutoff: datetime) -> QuerySet[Event]:
    """Events created before `cutoff` (indexed by event_created)."""
    return Event.objects.filter(created_at__lt=cutoff)


def purge_events(*, cutoff: datetime, batch_size: int = 5000, dry_run: bool = False,
                 progress: Callable[[int], None] | None = None) -> EventPurgeResult:
    """Deletes events created before `cutoff`, `batch_size` per transaction; a dry run only counts.

    `progress` is called with the number of events handled after each batch."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    candidates = purgeable_events(cutoff=cutoff).order_by("seq")
    total, last_seq = 0, 0
    while True:
        with transaction.atomic():
            seqs = list(candidates.filter(seq__gt=last_seq).values_list("seq", flat=True)[:batch_size])
            if not seqs:
                break
            if not dry_run:
                Event.objects.filter(seq__in=seqs).delete()
        total += len(seqs)
        last_seq = seqs[-1]
        if progress is not None:
            progress(len(seqs))
    return EventPurgeResult(events=total, cutoff=cutoff, dry_run=dry_run)
