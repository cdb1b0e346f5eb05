"""Signing in: checking credentials, starting a session within the tenant's session limit, sign-up."""

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from hellojohn_project import metrics
from sessions_app import alerts, audit, events, risk
from sessions_app.actors import SYSTEM, Actor
from sessions_app.device import DeviceInfo
from sessions_app.models import CredentialKind, RevocationReason, Session, active_q
from sessions_app.services.accounts import canonical_email, create_user
from sessions_app.services.credentials import IssuedSession, issue_refresh_token, issued
from sessions_app.services.revocation import revoke_sessions
from sessions_app.services.sign_in_failures import record_failure
from tenants_app.exceptions import AccountDisabled, InvalidCredentials
from tenants_app.models import Tenant, User
from tenants_app.selectors import config_of


@dataclass(frozen=True)
class SignedIn:
    user: User
    issued: IssuedSession


@lru_cache(maxsize=1)
def _dummy_password_hash() -> str:
    return make_password("an unguessable dummy password for timing")


def authenticate(*, tenant: Tenant, email: str, password: str, ip_address: str | None) -> User:
    """The user with these credentials. Unknown email and wrong password fail alike, at alike cost."""
    normalized = canonical_email(email)
    user = User.objects.filter(tenant=tenant, email=normalized).first()
    if user is None:
        check_password(password, _dummy_password_hash())  # spend the same hashing time as a real check
        audit.sign_in_failed(tenant_id=tenant.id, email=normalized, reason="unknown_email", ip_address=ip_address)
        record_failure(tenant=tenant, email=normalized)
        raise InvalidCredentials()
    if not check_password(password, user.password):
        audit.sign_in_failed(tenant_id=tenant.id, email=normalized, reason="wrong_password", ip_address=ip_address)
        record_failure(tenant=tenant, email=normalized)
        raise InvalidCredentials()
    if user.status != User.Status.ACTIVE:
        audit.sign_in_failed(tenant_id=tenant.id, email=normalized, reason="account_disabled", ip_address=ip_address)
        record_failure(tenant=tenant, email=normalized)
        raise AccountDisabled()
    return user


def start_session(*, user: User, device: DeviceInfo, kind: CredentialKind = CredentialKind.API,
                  alert: bool = True) -> IssuedSession:
    """A new, independent session of `user` on a device, within the tenant's session limit.

    `user` is the row the credentials were checked against. Its row is locked first, so parallel
    sign-ins of one user queue here and each sees the sessions the previous one left: the limit holds
    under concurrency (SQLite gets the same guarantee from its IMMEDIATE transactions). Under the lock
    the password hash and status are read again: a password change or a disable that committed after
    the check (they take the same lock) supersedes it, and nothing is created (docs/api.md §12,
    "Password changes and disabling"). The clock is read after the lock, so a sign-in that waited is
    the newest, never the oldest, and the limit evicts others, never the session it creates
    (docs/api.md §12, "Session limit"). `kind` is the credential's: an API refresh token, or the
    sessions page's cookie. The risk flags are computed under the same lock, so parallel sign-ins each
    see the ones before (docs/api.md, "Risk flags"). `alert` is False for sign-up's first session: a
    new-sign-in email is about sign-ins.
    """
    config = config_of(user.tenant)
    with transaction.atomic():
        current = User.objects.select_for_update().filter(pk=user.pk).values("password", "status").first()
        if current is None or not constant_time_compare(current["password"], user.password):
            superseded = "password_changed"
        elif current["status"] != User.Status.ACTIVE:
            superseded = "account_disabled"
        else:
            superseded = None
        if superseded is not None:
            # Written at once (a refusal changes nothing), and refused with what the check would now say.
            audit.sign_in_failed(tenant_id=user.tenant_id, email=user.email, reason=superseded, ip_address=None)
            raise InvalidCredentials() if superseded == "password_changed" else AccountDisabled()
        now = timezone.now()
        User.objects.filter(pk=user.pk).update(last_sign_in_at=now)
        flags = risk.assess_sign_in(user=user, device=device, now=now, idle_timeout=config.idle_timeout)
        session = Session.objects.create(
            flags=flags,
            tenant_id=user.tenant_id, user=user, created_at=now, last_active_at=now,
            expires_at=now + timedelta(seconds=config.session_duration),
            user_agent=device.user_agent, ip_address=device.ip_address, country=device.country,
            device_type=device.device_type, browser=device.browser, os=device.os,
        )
        refresh = issue_refresh_token(session=session, now=now, kind=kind)
        session.tenant = user.tenant
        actor = Actor.for_user(user.id)
        created = [events.session_created(session=session, actor=actor, now=now)]
        if flags:
            # In the same transaction, right after session.created (docs/api.md, "Events").
            created.append(events.session_flagged(session=session, actor=actor, now=now))
        events.record(*created)
        if config.max_sessions_per_user is not None:
            # Newest first; everything past the limit is the oldest and goes (the new session is
            # kept whatever the clocks say: it is the one this sign-in answers with).
            keep = config.max_sessions_per_user - 1
            excess = (
                Session.objects.filter(active_q(now=now, idle_timeout=config.idle_timeout), user=user)
                .exclude(pk=session.pk)
                .order_by("-created_at", "-id")
                .values_list("pk", flat=True)[keep:]
            )
            revoke_sessions(session_ids=excess, reason=RevocationReason.SESSION_LIMIT, actor=SYSTEM, now=now)
        if alert:
            alerts.enqueue_alert(session=session, config=config)
    user.last_sign_in_at = now
    audit.sign_in_succeeded(tenant_id=user.tenant_id, user_id=user.id, session_id=session.id,
                            ip_address=device.ip_address)
    return issued(session=session, refresh=refresh, now=now)


@metrics.counted(metrics.SIGN_INS)
def sign_in(*, tenant: Tenant, email: str, password: str, device: DeviceInfo,
            kind: CredentialKind = CredentialKind.API) -> SignedIn:
    user = authenticate(tenant=tenant, email=email, password=password, ip_address=device.ip_address)
    user.tenant = tenant
    return SignedIn(user=user, issued=start_session(user=user, device=device, kind=kind))


def sign_up(*, tenant: Tenant, email: str, password: str, name: str, device: DeviceInfo) -> SignedIn:
    user = create_user(tenant=tenant, email=email, password=password, name=name, actor=None)
    user.tenant = tenant
    return SignedIn(user=user, issued=start_session(user=user, device=device, alert=False))
