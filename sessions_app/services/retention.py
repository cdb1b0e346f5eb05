"""Retention: sessions that ended long ago are deleted, with their refresh-token records.

A session is purgeable once it was revoked, or passed its absolute expiry, more than
HJ_SESSION_RETENTION_DAYS ago. Both are final: nothing un-revokes a session or moves expires_at.
Sessions that only went idle are left until their absolute expiry has aged too, because idle expiry
is not final: a tenant that lengthens or drops its idle_timeout makes them active again.

Deletion runs in batches, each in its own short transaction over a LIMITed, primary-key-ordered
id select, so a purge of millions of rows never holds locks for long and can run while the service
is serving (a refresh racing the deletion of its long-dead session only ever fails, as it would have).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from sessions_app import audit
from sessions_app.models import RefreshToken, Session
from sessions_app.services.sign_in_failures import purge_failures


@dataclass(frozen=True)
class PurgeResult:
    sessions: int
    refresh_tokens: int
    cutoff: datetime
    dry_run: bool


def retention_cutoff(*, days: int, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def purgeable_sessions(*, cutoff: datetime) -> QuerySet[Session]:
    """Sessions revoked or past their absolute expiry before `cutoff` (both columns are indexed)."""
    return Session.objects.filter(Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff))


def purge_sessions(*, cutoff: datetime, batch_size: int = 1000, dry_run: bool = False,
                   progress: Callable[[int], None] | None = None) -> PurgeResult:
    """Deletes purgeable sessions and their refresh tokens, `batch_size` sessions per transaction.

    `progress` is called with the number of sessions handled after each batch. A dry run walks the
    same batches and counts, deleting nothing.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    candidates = purgeable_sessions(cutoff=cutoff).order_by("pk")
    sessions = refresh_tokens = 0
    last_pk = ""
    while True:
        with transaction.atomic():
            # Keyset over the primary key: each batch starts after the last, so no batch rescans
            # rows a previous one handled (a dry run deletes nothing and would loop otherwise).
            ids = list(candidates.filter(pk__gt=last_pk).values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            if dry_run:
                batch_sessions = len(ids)
                batch_tokens = RefreshToken.objects.filter(session_id__in=ids).count()
            else:
                # Re-checked at delete time: only rows still purgeable go. The ORM's delete takes the
                # refresh tokens along (CASCADE) and clears their links to each other (replaced_by).
                _, deleted = purgeable_sessions(cutoff=cutoff).filter(pk__in=ids).delete()
                batch_sessions = deleted.get(Session._meta.label, 0)
                batch_tokens = deleted.get(RefreshToken._meta.label, 0)
        sessions += batch_sessions
        refresh_tokens += batch_tokens
        last_pk = ids[-1]
        if progress is not None:
            progress(len(ids))
    if not dry_run:
        purge_failures()  # the after_failures rule's records age out with the same run
        audit.sessions_purged(sessions=sessions, refresh_tokens=refresh_tokens, cutoff=cutoff)
    return PurgeResult(sessions=sessions, refresh_tokens=refresh_tokens, cutoff=cutoff, dry_run=dry_run)
