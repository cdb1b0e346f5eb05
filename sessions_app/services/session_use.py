"""Using a session: the one check every request with a session credential passes, and its activity write.

API authentication (an access token), the sessions page (its cookie's refresh token) and
`POST /v1/sessions/verify` all call `use_session`; what each gets back is the session with its user,
tenant and config, or a domain error that says why not.

On PostgreSQL a check answers from memory while the process holds the change feed's lease
(hellojohn_project/change_feed.py, docs/api.md "Revocation is immediate"): the verified token, and
the session with its user, tenant and config, stay in bounded caches that the change log
invalidates. Memory only ever says "usable": a remembered session found revoked, expired or idle
(its remembered last_active_at may be older than the database's) is looked up again, so idle and
absolute expiry stay exactly the database's. Without the lease (and always on SQLite) the check
queries, through the same path.
"""

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from hellojohn_project import change_feed, metrics
from sessions_app import audit
from sessions_app.actors import SYSTEM
from sessions_app.exceptions import RefreshTokenInvalid, SessionExpired, SessionRevoked
from sessions_app.models import CredentialKind, RevocationReason, Session, SessionStatus
from sessions_app.selectors import refresh_token_for, session_for_access_check, session_status
from sessions_app.services.revocation import revoke_session
from sessions_app.tokens import InvalidAccessToken, decode_access_token
from tenants_app.models import Tenant, User


@dataclass(frozen=True)
class SessionInUse:
    """A session that may be used, and the moment that was decided (the clock of the request)."""

    session: Session
    now: datetime


def use_session(*, access_token: str | None = None, page_token: str | None = None, tenant: Tenant | None = None,
                then: Callable[[Session], None] | None = None, record_activity: bool = True,
                now: datetime | None = None) -> SessionInUse:
    """The session behind one credential, checked usable, its activity recorded.

    Exactly one of `access_token` (a JWT) or `page_token` (the page cookie's refresh token, looked up
    within `tenant`) is given. With an access token, `tenant` (if given) is the only tenant whose
    tokens count. Raises, in this order: `ExpiredAccessToken` / `InvalidAccessToken` (bad token, or it
    names no session of an active tenant) or `RefreshTokenInvalid` (no such unretired page token);
    then `SessionRevoked` / `SessionExpired` (a disabled user's sessions are expired), which carry
    the session. `then(session)` is the caller's own check, run before the activity is recorded.
    Verification records no activity (`record_activity=False`): asking about a token is not using it.

    Each check is counted in ACCESS_CHECKS by outcome and by where its session was read: `memory`,
    `database`, or `token` for a refusal of the token itself (bad, expired, or naming no session of an
    active tenant).
    """
    now = now or timezone.now()
    source = "token"
    try:
        remembered: Session | None = None
        if access_token is not None:
            session, remembered, from_memory = _session_for_access_token(access_token, tenant, now=now)
            source = "memory" if from_memory else "database"
        else:
            source = "database"
            session = _session_for_page_token(page_token, tenant)
        ensure_active(session, now=now)
        if then is not None:
            then(session)
        if record_activity and remembered is not None:
            if not touch(session, now=now):
                # Another process wrote a newer time than memory knows: read it again next time, so
                # that idle expiry stays the database's.
                _sessions.discard(session.id)
            elif remembered.last_active_at < session.last_active_at:
                remembered.last_active_at = session.last_active_at  # so the next request writes nothing
        elif record_activity:
            touch(session, now=now)
    except Exception as exc:
        metrics.ACCESS_CHECKS.labels(outcome=metrics.outcome_of(exc), source=source).inc()
        raise
    metrics.ACCESS_CHECKS.labels(outcome="accepted", source=source).inc()
    return SessionInUse(session=session, now=now)


# Sessions (with user, tenant, config) by id, as loaded; a request gets a copy of the session and
# user (the rules may change those objects in place), the tenant and config are shared, read-only.
_sessions = change_feed.Cache("sessions")


def _usable(session: Session, now: datetime) -> bool:
    return (session_status(session, now=now) == SessionStatus.ACTIVE and session.user.status == User.Status.ACTIVE
            and session.tenant.status == Tenant.Status.ACTIVE)


def _copy(session: Session) -> Session:
    user = copy.copy(session.user)
    fresh = copy.copy(session)
    fresh._state = copy.copy(session._state)
    fresh._state.fields_cache = {**session._state.fields_cache, "user": user}
    return fresh


def _session_for_access_token(token: str, tenant: Tenant | None, *,
                              now: datetime) -> tuple[Session, Session | None, bool]:
    """The token's session, the remembered instance it was copied from (None: not remembered), and
    whether it came from memory (no query)."""
    lease = change_feed.lease_held()
    claims = decode_access_token(token, tenant_id=tenant.id if tenant is not None else None, remembered=lease)
    remembered = _sessions.get(claims["session_id"]) if lease else None
    if remembered is not None and _usable(remembered, now) and remembered.tenant_id == claims["tenant_id"] \
            and remembered.user_id == claims["sub"] and (tenant is None or remembered.tenant_id == tenant.id):
        return _copy(remembered), remembered, True
    generation = change_feed.generation()
    session = _loaded_session(claims, tenant)
    if lease and _usable(session, now):
        stored = _sessions.put(
            session.id, session, generation=generation,
            tags=[("session", session.id), ("user", session.user_id), ("tenant", session.tenant_id)],
            expires_at=time.monotonic() + (session.expires_at - now).total_seconds(),
        )
        if stored:
            return _copy(session), session, False
    return session, None, False


def _loaded_session(claims: dict, tenant: Tenant | None) -> Session:
    session = session_for_access_check(claims["session_id"])
    if session is None or session.tenant_id != claims["tenant_id"] or session.user_id != claims["sub"]:
        # Purged, or claims that do not fit together: either way this token identifies nothing.
        raise InvalidAccessToken("no such session")
    if session.tenant.status != Tenant.Status.ACTIVE:
        # A disabled tenant's keys already fail; its users' tokens must not outlive them.
        raise InvalidAccessToken("tenant disabled")
    if tenant is not None and session.tenant_id != tenant.id:
        raise InvalidAccessToken("another tenant's token")  # say nothing more about it
    return session


def _session_for_page_token(token: str | None, tenant: Tenant | None) -> Session:
    if token is None or tenant is None:
        raise ValueError("use_session needs an access token, or a page token and its tenant")
    # A cookie of another tenant (one browser, two tenants' pages) finds nothing here, by design.
    record = refresh_token_for(tenant=tenant, token=token)
    if record is None or record.session.tenant.status != Tenant.Status.ACTIVE:
        raise RefreshTokenInvalid()
    if record.retired_at is not None:
        # A retired credential in a cookie: a copy of it was used after it was replaced, or it is the
        # copy. Either way the session is stolen and ends, for every holder (docs/api.md §12).
        revoke_session(session=record.session, reason=RevocationReason.REFRESH_TOKEN_REUSED, actor=SYSTEM)
        audit.refresh_token_reused(tenant_id=tenant.id, session_id=record.session_id)
        raise SessionRevoked(session=Session.objects.get(pk=record.session_id))
    if record.kind != CredentialKind.PAGE:
        raise RefreshTokenInvalid()  # an API client's refresh token opens no page
    return record.session


def ensure_active(session: Session, *, now: datetime) -> None:
    """Raises SessionRevoked or SessionExpired (carrying `session`) unless it may still be used."""
    status = session_status(session, now=now)
    if status == SessionStatus.REVOKED:
        raise SessionRevoked(session=session)
    if status == SessionStatus.EXPIRED or session.user.status != User.Status.ACTIVE:
        raise SessionExpired(session=session)


def touch(session: Session, *, now: datetime) -> bool:
    """Advances last_active_at, writing at most once per HJ_ACTIVITY_WRITE_INTERVAL per session;
    answers False when `session.last_active_at` may be behind the stored value (another request wrote).

    Like knox's renew_token: most requests find the stored value fresh and write nothing; a stale
    one is moved with a conditional UPDATE, so concurrent requests of one session write at most once
    and an UPDATE never resurrects a session revoked meanwhile (it touches only last_active_at).
    """
    stale_before = now - settings.HJ_ACTIVITY_WRITE_INTERVAL
    if session.last_active_at > stale_before:
        return True
    if not Session.objects.filter(pk=session.pk, last_active_at__lte=stale_before).update(last_active_at=now):
        return False
    session.last_active_at = now
    return True
