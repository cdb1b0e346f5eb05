"""Domain errors. Each carries the contract's error code; hellojohn_project.api.errors maps codes to
HTTP statuses in one table, so services never speak HTTP."""


class DomainError(Exception):
    code = "invalid_request"
    message = "The request cannot be carried out."

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None):
        self.message = message or self.message
        self.fields = fields
        super().__init__(self.message)


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    message = "The email or password is incorrect."


class AccountDisabled(DomainError):
    code = "account_disabled"
    message = "This account is disabled."


class EmailAlreadyExists(DomainError):
    code = "email_already_exists"
    message = "A user with this email already exists in this tenant."


class InvalidEmail(DomainError):
    code = "invalid_email"
    message = "Enter a valid email address."


class PasswordTooWeak(DomainError):
    code = "password_too_weak"
    message = "The password is too weak."


class UserNotFound(DomainError):
    code = "user_not_found"
    message = "No such user in this tenant."
