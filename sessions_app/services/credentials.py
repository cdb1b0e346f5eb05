"""Issuing a session's credentials: a new refresh token, and an access token beside it."""

from dataclasses import dataclass
from datetime import datetime

from sessions_app.models import CredentialKind, RefreshToken, Session
from sessions_app.services.signing_keys import issue_access_token
from sessions_app.tokens import AccessToken
from tenants_app import secrets
from tenants_app.selectors import config_of

REFRESH_TOKEN_PREFIX = "rft_"  # noqa: S105 (a token prefix, not a password)
PAGE_TOKEN_PREFIX = "pgt_"  # noqa: S105 (the page cookie's prefix)


@dataclass(frozen=True)
class IssuedSession:
    """A session with freshly issued credentials: the only moment the refresh token exists in clear."""

    session: Session
    access_token: AccessToken
    refresh_token: str
    refresh_token_expires_at: datetime


def new_refresh_token_plaintext(kind: CredentialKind = CredentialKind.API) -> str:
    """A fresh secret of `kind` (an API refresh token, or the page's cookie); only its digest is stored."""
    return secrets.generate(PAGE_TOKEN_PREFIX if kind == CredentialKind.PAGE else REFRESH_TOKEN_PREFIX)


def issue_refresh_token(*, session: Session, now: datetime,
                        kind: CredentialKind = CredentialKind.API) -> tuple[RefreshToken, str]:
    """A new refresh-token record of `session` (an API one, or the page's cookie) and its plaintext
    (stored only as a digest)."""
    plaintext = new_refresh_token_plaintext(kind)
    record = RefreshToken.objects.create(
        session=session, token_hash=secrets.digest(plaintext), kind=kind, created_at=now,
        expires_at=session.expires_at,
    )
    return record, plaintext


def issued(*, session: Session, refresh: tuple[RefreshToken, str], now: datetime) -> IssuedSession:
    """`session` with the refresh token just created and a new access token."""
    record, plaintext = refresh
    access = issue_access_token(session=session, ttl_seconds=config_of(session.tenant).access_token_ttl, now=now)
    return IssuedSession(session=session, access_token=access, refresh_token=plaintext,
                         refresh_token_expires_at=record.expires_at)
