"""End-user accounts: creating and changing users and passwords, and the one email normalisation."""

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app import events
from sessions_app.actors import SYSTEM, Actor
from sessions_app.event_model import Event, EventType
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


def create_user(*, tenant: Tenant, email: str, password: str | None, name: str = "",
                actor: Actor | None = SYSTEM) -> User:
    """A user of `tenant`. Without a password the user exists but cannot sign in until one is set.

    `actor` None: the new user, signing up."""
    user = User(tenant=tenant, email=normalize_email(email), name=name)
    actor = actor or Actor.for_user(user.id)
    user.password = _validated_password_hash(password, user=user) if password else make_password(None)
    try:
        with transaction.atomic():
            user.save()
            events.record(events.user_changed(type=EventType.USER_CREATED, user=user, actor=actor, now=user.created_at))
    except IntegrityError as exc:
        raise EmailAlreadyExists() from exc
    return user


def update_user(*, user: User, actor: Actor, name: str | None = None, status: str | None = None,
                password: str | None = None) -> User:
    """Disabling a user or setting a new password signs the user out everywhere."""
    fields: list[str] = []
    updated = (name is not None and name != user.name) or (status is not None and status != user.status)
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
        events.record(*_user_events(user=user, actor=actor, disabled=newly_disabled,
                                    updated=updated and not newly_disabled, password=password is not None))
        if newly_disabled:
            revoke_user_sessions(user=user, reason=RevocationReason.USER_DISABLED, actor=actor)
        elif password is not None:
            revoke_user_sessions(user=user, reason=RevocationReason.PASSWORD_CHANGED, actor=actor)
    return user


def _user_events(*, user: User, actor: Actor, updated: bool, disabled: bool, password: bool) -> list[Event]:
    now = timezone.now()
    changes = [(updated, EventType.USER_UPDATED), (disabled, EventType.USER_DISABLED),
               (password, EventType.USER_PASSWORD_CHANGED)]
    return [events.user_changed(type=type_, user=user, actor=actor, now=now) for happened, type_ in changes if happened]


def _lock(user: User) -> None:
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def change_password(*, session: Session, current_password: str, new_password: str) -> int:
    """The user changes their own password: every other session of theirs ends; answers how many did."""
    user = session.user
    if not check_password(current_password, user.password):
        raise InvalidCredentials("The current password is incorrect.")
    password_hash = _validated_password_hash(new_password, user=user, field="new_password")
    with transaction.atomic():
        _lock(user)  # as update_user: sign-ins in flight finish first or see the new password
        user.password = password_hash
        user.save(update_fields=["password"])
        actor = Actor.for_user(user.id)
        events.record(*_user_events(user=user, actor=actor, updated=False, disabled=False, password=True))
        return len(revoke_user_sessions(user=user, reason=RevocationReason.PASSWORD_CHANGED, actor=actor,
                                        keep=session))
