"""Domain errors of session rules (see tenants_app.exceptions for the base)."""

from typing import Any

from tenants_app.exceptions import DomainError


class SessionNotFound(DomainError):
    code = "session_not_found"
    message = "No such session in this tenant."


class SessionUnusable(DomainError):
    """A session that exists but may not be used; `session` is that session, when the rule had it."""

    def __init__(self, message: str | None = None, *, session: Any = None,
                 fields: dict[str, list[str]] | None = None):
        super().__init__(message, fields=fields)
        self.session = session


class SessionRevoked(SessionUnusable):
    code = "session_revoked"
    message = "This session has been revoked."


class SessionExpired(SessionUnusable):
    code = "session_expired"
    message = "This session has expired."


class RefreshTokenInvalid(DomainError):
    code = "refresh_token_invalid"
    message = "The refresh token is not valid."


class RefreshTokenExpired(DomainError):
    code = "refresh_token_expired"
    message = "The refresh token has expired."


class RefreshTokenReused(DomainError):
    code = "refresh_token_reused"
    message = "This refresh token was already used; the session has been revoked."


class SigningKeyNotFound(DomainError):
    code = "signing_key_not_found"
    message = "No unretired signing key has this id."
