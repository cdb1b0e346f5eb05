"""Domain errors of session rules (see tenants_app.exceptions for the base)."""

from tenants_app.exceptions import DomainError


class SessionNotFound(DomainError):
    code = "session_not_found"
    message = "No such session in this tenant."


class SessionRevoked(DomainError):
    code = "session_revoked"
    message = "This session has been revoked."


class SessionExpired(DomainError):
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
