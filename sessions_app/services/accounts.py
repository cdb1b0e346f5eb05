"""End-user accounts: creating and changing users and passwords, and the one email normalisation."""

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from sessions_app.actors import Actor
from sessions_app.models import RevocationReason, Session
from sessions_app.services.revocation import revoke_user_sessions
from tenants_app.exceptions import EmailAlreadyExists, InvalidCredentials, InvalidEmail, PasswordTooWeak
from tenants_app.models import Tenant, User


def canonical_email(email: str) -> str:
    """An email as stored and compared: trimmed and lower case (the unique index is on LOWER(email))."""
    return email.strip().lower()


def normalize_email(email: str) -> str:
    """`canonical_email`, checked to be a valid address that fits the column (InvalidEmail otherwise)."""
    email = canonical_email(email)
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
        # The sign-ins of this user lock the same row and re-read what they checked under it, so a
        # sign-in either finishes first (and its session is revoked below) or sees this change.
        _lock(user)
        if fields:
            user.save(update_fields=fields)
        if newly_disabled:
            revoke_user_sessions(user=user, reason=RevocationReason.USER_DISABLED, actor=actor)
        elif password is not None:
            revoke_user_sessions(user=user, reason=RevocationReason.PASSWORD_CHANGED, actor=actor)
    return user


def _lock(user: User) -> None:
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def change_password(*, session: Session, current_password: str, new_password: str) -> None:
    """The user changes their own password: every other session of theirs ends."""
    user = session.user
    if not check_password(current_password, user.password):
        raise InvalidCredentials("The current password is incorrect.")
    password_hash = _validated_password_hash(new_password, user=user, field="new_password")
    with transaction.atomic():
        _lock(user)  # as update_user: sign-ins in flight finish first or see the new password
        user.password = password_hash
        user.save(update_fields=["password"])
        revoke_user_sessions(user=user, reason=RevocationReason.PASSWORD_CHANGED,
                             actor=Actor.for_user(user.id), keep=session)
