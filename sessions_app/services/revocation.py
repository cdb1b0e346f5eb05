"""Revocation: the one way a session ends early.

Callers name what to end (a session, a user's sessions but perhaps one, or sessions by id) and who
asks; the rules decide the query and, unless the caller's own rule is the reason (a password change,
the session limit), the reason: a user ending the session they are using signs out, ending another
of theirs is `revoked_by_user`, a tenant's backend or an operator is `revoked_by_admin`
(docs/api.md §12, "Revocation reasons"). `_revoke` is the only code that writes `revoked_at`.
"""

from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.core.exceptions import EmptyResultSet
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hellojohn_project import metrics
from sessions_app import events
from sessions_app.actors import Actor
from sessions_app.exceptions import SessionNotFound
from sessions_app.models import RevocationReason, Session, active_q
from sessions_app.orm_internals import update_returning_instances
from sessions_app.selectors import idle_timeout_of
from tenants_app.models import User
from tenants_app.selectors import config_of


def _reason(actor: Actor, *, ends_current: bool) -> RevocationReason:
    if actor.type in ("api_key", "operator"):
        return RevocationReason.REVOKED_BY_ADMIN
    if actor.type == "user":
        return RevocationReason.SIGNED_OUT if ends_current else RevocationReason.REVOKED_BY_USER
    raise ValueError("the service revokes only for a reason of its own: name it")


def revoke_session(*, session: Session, actor: Actor, current: Session | None = None,
                   reason: RevocationReason | None = None, now: datetime | None = None) -> list[str]:
    """Ends `session` unless already ended; answers [its id] if this call ended it, else [].

    `current` is the session the actor is using, if any: a user ending it signs out.
    """
    if actor.type == "user" and session.user_id != actor.id:
        raise SessionNotFound()  # a user only ever ends their own sessions
    reason = reason or _reason(actor, ends_current=current is not None and current.pk == session.pk)
    return _revoke(Session.objects.filter(pk=session.pk), reason=reason, actor=actor, now=now)


def revoke_user_sessions(*, user: User, actor: Actor, keep: Session | None = None,
                         reason: RevocationReason | None = None, now: datetime | None = None) -> list[str]:
    """Every active session of `user` but `keep` (the actor's current one, say); answers the ids ended."""
    if actor.type == "user" and user.id != actor.id:
        raise SessionNotFound()
    now = now or timezone.now()
    sessions = Session.objects.filter(active_q(now=now, idle_timeout=idle_timeout_of(config_of(user.tenant))),
                                      user=user)
    if keep is not None:
        sessions = sessions.exclude(pk=keep.pk)
    return _revoke(sessions, reason=reason or _reason(actor, ends_current=False), actor=actor, now=now)


def revoke_sessions(*, session_ids: Iterable[str], actor: Actor, reason: RevocationReason | None = None,
                    now: datetime | None = None) -> list[str]:
    """The sessions with these ids (a list, or a queryset's `values_list("pk", flat=True)`, which runs as
    a subquery: the admin's "select all" never loads the ids); answers the ids this call ended."""
    sessions = Session.objects.filter(pk__in=session_ids)
    if actor.type == "user":
        sessions = sessions.filter(user_id=actor.id)
    return _revoke(sessions, reason=reason or _reason(actor, ends_current=False), actor=actor, now=now)


def _revoke(sessions: QuerySet[Session], *, reason: RevocationReason, actor: Actor,
            now: datetime | None) -> list[str]:
    """Revokes every still-unrevoked session in `sessions`, in one UPDATE; answers their ids.

    Revoking a revoked session changes nothing, and an empty set revokes nothing. Racing calls never
    revoke or count the same session twice. Each revoked session gets its session.revoked event in
    the same transaction, all in one INSERT (docs/api.md, "Events"); the audit lines follow the
    events once they commit.
    """
    sessions = sessions.filter(revoked_at__isnull=True)
    if sessions.query.is_empty():
        return []
    now = now or timezone.now()
    # No savepoint: the revocation and its events stand or fall with the caller's transaction.
    with transaction.atomic(savepoint=False):
        try:
            revoked = update_returning_instances(
                sessions, {"revoked_at": now, "revoked_reason": reason, "revoked_by": actor.operator},
            )
        except EmptyResultSet:  # a filter that can match nothing, such as `pk__in=[]`
            return []
        events.record_many(events.sessions_revoked(sessions=revoked, reason=reason, actor=actor, now=now))
        # Counted once committed, like the audit lines.
        transaction.on_commit(partial(metrics.REVOCATIONS.labels(reason=reason).inc, len(revoked)))
    return [session.id for session in revoked]
