"""Session rules: every write on sessions, refresh tokens and end-user accounts goes through here.

`revoke_sessions` is the one way a session ends early. The REST API, the web page, the admin, the
session limit, refresh-token reuse, password changes and user disabling all call it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app import alerts, audit, risk, sign_in_failures
from sessions_app.device import DeviceInfo
from sessions_app.exceptions import (
    RefreshTokenExpired,
    RefreshTokenInvalid,
    RefreshTokenReused,
    SessionExpired,
    SessionRevoked,
)
from sessions_app.models import RefreshToken, RevocationReason, Session, SessionStatus
from sessions_app.selectors import active_q, idle_timeout_of, session_for_refresh_token
from sessions_app.sql import update_returning
from sessions_app.tokens import AccessToken, issue_access_token
from tenants_app import secrets
from tenants_app.exceptions import (
    AccountDisabled,
    EmailAlreadyExists,
    InvalidCredentials,
    InvalidEmail,
    PasswordTooWeak,
)
from tenants_app.models import Tenant, User
from tenants_app.selectors import config_of

REFRESH_TOKEN_PREFIX = "rft_"


@dataclass(frozen=True)
class Actor:
    """Who ends a session, for the audit trail; `operator` is set for Django admin staff."""

    label: str
    operator: object | None = None


SYSTEM = Actor("system")


@dataclass(frozen=True)
class IssuedSession:
    """A session with freshly issued credentials: the only moment the refresh token exists in clear."""

    session: Session
    access_token: AccessToken
    refresh_token: str
    refresh_token_expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    user: User
    issued: IssuedSession


# --- Revocation ---------------------------------------------------------------------------------


def revoke_sessions(*, sessions: QuerySet[Session], reason: RevocationReason, actor: Actor,
                    now: datetime | None = None) -> list[str]:
    """Revokes every still-unrevoked session in `sessions`, in one UPDATE; answers their ids.

    Revoking a revoked session changes nothing. The statement is atomic on its own, so a caller's
    transaction (the session limit's, say) takes it along, and racing calls never revoke or count
    the same session twice.
    """
    rows = update_returning(
        sessions.filter(revoked_at__isnull=True),
        {"revoked_at": now or timezone.now(), "revoked_reason": reason, "revoked_by": actor.operator},
        returning=("id", "tenant"),
    )
    for tenant_id in {tenant_id for _, tenant_id in rows}:
        audit.sessions_revoked(
            tenant_id=tenant_id, session_ids=[sid for sid, tid in rows if tid == tenant_id],
            reason=reason, actor=actor.label,
        )
    return [session_id for session_id, _ in rows]


def revoke_user_sessions(*, user: User, reason: RevocationReason, actor: Actor,
                         keep: Session | None = None) -> list[str]:
    """Every active session of `user` (but `keep`), e.g. after a password change."""
    now = timezone.now()
    sessions = Session.objects.filter(active_q(now=now, idle_timeout=idle_timeout_of(config_of(user.tenant))),
                                      user=user)
    if keep is not None:
        sessions = sessions.exclude(pk=keep.pk)
    return revoke_sessions(sessions=sessions, reason=reason, actor=actor, now=now)


# --- Accounts -----------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > User._meta.get_field("email").max_length:  # lower() can lengthen: "İ" is two characters
        raise InvalidEmail()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidEmail() from exc
    return email


def _validated_password_hash(password: str, *, user: User, field: str = "password") -> str:
    """`field` is the request field the password came in, so that the error's `fields` names it."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise PasswordTooWeak(" ".join(exc.messages), fields={field: list(exc.messages)}) from exc
    return make_password(password)


def create_user(*, tenant: Tenant, email: str, password: str | None, name: str = "") -> User:
    """A user of `tenant`. Without a password the user exists but cannot sign in until one is set."""
    user = User(tenant=tenant, email=normalize_email(email), name=name)
    user.password = _validated_password_hash(password, user=user) if password else make_password(None)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise EmailAlreadyExists() from exc
    return user


def update_user(*, user: User, actor: Actor, name: str | None = None, status: str | None = None,
                password: str | None = None) -> User:
    """Disabling a user or setting a new password signs the user out everywhere."""
    fields: list[str] = []
    if name is not None:
        user.name = name
        fields.append("name")
    if password is not None:
        user.password = _validated_password_hash(password, user=user)
        fields.append("password")
    newly_disabled = status == User.Status.DISABLED and user.status != User.Status.DISABLED
    if status is not None:
        user.status = User.Status(status)
        fields.append("status")
    with transaction.atomic():
        if fields:
            user.save(update_fields=fields)
        if newly_disabled:
            revoke_user_sessions(user=user, reason=RevocationReason.USER_DISABLED, actor=actor)
        elif password is not None:
            revoke_user_sessions(user=user, reason=RevocationReason.PASSWORD_CHANGED, actor=actor)
    return user


def change_password(*, session: Session, current_password: str, new_password: str) -> int:
    """The user changes their own password: every other session of theirs ends; answers how many did."""
    user = session.user
    if not check_password(current_password, user.password):
        raise InvalidCredentials("The current password is incorrect.")
    with transaction.atomic():
        user.password = _validated_password_hash(new_password, user=user, field="new_password")
        user.save(update_fields=["password"])
        return len(revoke_user_sessions(user=user, reason=RevocationReason.PASSWORD_CHANGED,
                                        actor=Actor(f"user:{user.id}"), keep=session))


@lru_cache(maxsize=1)
def _dummy_password_hash() -> str:
    return make_password("an unguessable dummy password for timing")


def authenticate(*, tenant: Tenant, email: str, password: str, ip_address: str | None) -> User:
    """The user with these credentials. Unknown email and wrong password fail alike, at alike cost."""
    normalized = email.strip().lower()
    user = User.objects.filter(tenant=tenant, email=normalized).first()
    if user is None:
        check_password(password, _dummy_password_hash())  # spend the same hashing time as a real check
        audit.sign_in_failed(tenant_id=tenant.id, email=normalized, reason="unknown_email", ip_address=ip_address)
        sign_in_failures.record_failure(tenant=tenant, email=normalized)
        raise InvalidCredentials()
    if not check_password(password, user.password):
        audit.sign_in_failed(tenant_id=tenant.id, email=normalized, reason="wrong_password", ip_address=ip_address)
        sign_in_failures.record_failure(tenant=tenant, email=normalized)
        raise InvalidCredentials()
    if user.status != User.Status.ACTIVE:
        audit.sign_in_failed(tenant_id=tenant.id, email=normalized, reason="account_disabled", ip_address=ip_address)
        sign_in_failures.record_failure(tenant=tenant, email=normalized)
        raise AccountDisabled()
    return user


# --- Sessions -----------------------------------------------------------------------------------


def _issue_refresh_token(*, session: Session, now: datetime) -> tuple[RefreshToken, str]:
    plaintext = secrets.generate(REFRESH_TOKEN_PREFIX)
    record = RefreshToken.objects.create(
        session=session, token_hash=secrets.digest(plaintext), created_at=now, expires_at=session.expires_at
    )
    return record, plaintext


def _issue(session: Session, refresh: tuple[RefreshToken, str], now: datetime) -> IssuedSession:
    record, plaintext = refresh
    access = issue_access_token(session=session, ttl_seconds=config_of(session.tenant).access_token_ttl, now=now)
    return IssuedSession(session=session, access_token=access, refresh_token=plaintext,
                         refresh_token_expires_at=record.expires_at)


def start_session(*, user: User, device: DeviceInfo, alert: bool = True) -> IssuedSession:
    """A new, independent session of `user` on a device, within the tenant's session limit.

    The user's row is locked first, so parallel sign-ins of one user queue here and each sees the
    sessions the previous one left: the limit holds under concurrency (SQLite gets the same
    guarantee from its IMMEDIATE transactions). The risk flags are computed under the same lock, so
    parallel sign-ins each see the ones before (docs/api.md, "Risk flags"). `alert` is False for
    sign-up's first session: a new-sign-in email is about sign-ins.
    """
    config = config_of(user.tenant)
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).update(last_sign_in_at=now)
        # Flags are written with the session, in this transaction; so is a flagged session's
        # `session.flagged` event (docs/api.md, events), next to its `session.created`.
        flags = risk.assess_sign_in(user=user, device=device, now=now, idle_timeout=config.idle_timeout)
        session = Session.objects.create(
            flags=flags,
            tenant_id=user.tenant_id, user=user, created_at=now, last_active_at=now,
            expires_at=now + timedelta(seconds=config.session_duration),
            user_agent=device.user_agent, ip_address=device.ip_address, country=device.country,
            device_type=device.device_type, browser=device.browser, os=device.os,
        )
        if config.max_sessions_per_user is not None:
            # Newest first; everything past the limit is the oldest and goes.
            excess = (
                Session.objects.filter(active_q(now=now, idle_timeout=config.idle_timeout), user=user)
                .order_by("-created_at", "-id")
                .values("pk")[config.max_sessions_per_user:]
            )
            revoke_sessions(sessions=Session.objects.filter(pk__in=excess), reason=RevocationReason.SESSION_LIMIT,
                            actor=SYSTEM, now=now)
        refresh = _issue_refresh_token(session=session, now=now)
        if alert:
            alerts.alert_after_commit(session=session, config=config)
    user.last_sign_in_at = now
    session.tenant = user.tenant
    audit.sign_in_succeeded(tenant_id=user.tenant_id, user_id=user.id, session_id=session.id,
                            ip_address=device.ip_address)
    return _issue(session, refresh, now)


def sign_in(*, tenant: Tenant, email: str, password: str, device: DeviceInfo) -> SignedIn:
    user = authenticate(tenant=tenant, email=email, password=password, ip_address=device.ip_address)
    user.tenant = tenant
    return SignedIn(user=user, issued=start_session(user=user, device=device))


def sign_up(*, tenant: Tenant, email: str, password: str, name: str, device: DeviceInfo) -> SignedIn:
    user = create_user(tenant=tenant, email=email, password=password, name=name)
    user.tenant = tenant
    return SignedIn(user=user, issued=start_session(user=user, device=device, alert=False))


def ensure_active(session: Session, *, now: datetime) -> None:
    """Raises SessionRevoked or SessionExpired unless the session may still be used."""
    status = session.status_at(now, idle_timeout_of(config_of(session.tenant)))
    if status == SessionStatus.REVOKED:
        raise SessionRevoked()
    if status == SessionStatus.EXPIRED or session.user.status != User.Status.ACTIVE:
        raise SessionExpired()


def touch(session: Session, *, now: datetime) -> None:
    """Advances last_active_at, writing at most once per HJ_ACTIVITY_WRITE_INTERVAL per session.

    Like knox's renew_token: most requests find the stored value fresh and write nothing; a stale
    one is moved with a conditional UPDATE, so concurrent requests of one session write at most once
    and an UPDATE never resurrects a session revoked meanwhile (it touches only last_active_at).
    """
    stale_before = now - settings.HJ_ACTIVITY_WRITE_INTERVAL
    if session.last_active_at > stale_before:
        return
    Session.objects.filter(pk=session.pk, last_active_at__lte=stale_before).update(last_active_at=now)
    session.last_active_at = now


def refresh_session(*, tenant: Tenant, refresh_token: str) -> IssuedSession:
    """Rotates a refresh token: the presented one is retired and a new one issued.

    Presenting a retired token is treated as theft and revokes the whole session. The retirement is
    a conditional UPDATE, so of two refreshes racing with one token exactly one wins.
    """
    now = timezone.now()
    record = (
        RefreshToken.objects.select_related("session", "session__user", "session__tenant__config")
        .filter(token_hash=secrets.digest(refresh_token), session__tenant=tenant)
        .first()
    )
    if record is None or not secrets.matches(refresh_token, record.token_hash):
        raise RefreshTokenInvalid()
    session = record.session
    if record.retired_at is not None:
        _handle_reuse(session)
    if session.revoked_at is not None:
        raise SessionRevoked()
    if record.expires_at <= now:
        raise RefreshTokenExpired()
    ensure_active(session, now=now)
    with transaction.atomic():
        won = bool(RefreshToken.objects.filter(pk=record.pk, retired_at__isnull=True).update(retired_at=now))
        # Re-checked in the same statement that records the activity: a revocation that committed
        # after our read (or that PostgreSQL makes us wait for) shows up here as 0 rows.
        still_active = won and bool(
            Session.objects.filter(pk=session.pk, revoked_at__isnull=True).update(last_active_at=now)
        )
        if still_active:
            new_record, plaintext = _issue_refresh_token(session=session, now=now)
            RefreshToken.objects.filter(pk=record.pk).update(replaced_by=new_record)
    if not won:
        _handle_reuse(session)
    if not still_active:
        raise SessionRevoked()
    session.last_active_at = now
    audit.session_refreshed(tenant_id=tenant.id, session_id=session.id)
    return _issue(session, (new_record, plaintext), now)


def _handle_reuse(session: Session) -> None:
    revoke_sessions(sessions=Session.objects.filter(pk=session.pk), reason=RevocationReason.REFRESH_TOKEN_REUSED,
                    actor=SYSTEM)
    audit.refresh_token_reused(tenant_id=session.tenant_id, session_id=session.id)
    raise RefreshTokenReused()


def sign_out_with_refresh_token(*, tenant: Tenant, refresh_token: str) -> None:
    """Sign-out by refresh token: works whether or not the access token has expired."""
    session = session_for_refresh_token(tenant=tenant, token=refresh_token)
    if session is None:
        raise RefreshTokenInvalid()
    revoke_sessions(sessions=Session.objects.filter(pk=session.pk), reason=RevocationReason.SIGNED_OUT,
                    actor=Actor(f"user:{session.user_id}"))
