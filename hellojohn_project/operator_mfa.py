"""Operators' second factor (django-otp): TOTP authenticators, single-use recovery codes, the MFA mode.

`HJ_OPERATOR_MFA=required` (the README's production recipe) makes every operator give a code:
one without an authenticator may sign in with the password only to enrol one, and reaches nothing
else until they have. `optional` (the default) asks a code only of operators who enrolled.
Recovery codes are django-otp's static tokens: each is deleted when it is used, so it works once.
"""

import base64

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp import devices_for_user, match_token, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def mfa_required() -> bool:
    return settings.HJ_OPERATOR_MFA == "required"


def has_second_factor(operator: AbstractBaseUser) -> bool:
    return user_has_device(operator, confirmed=True)


def confirmed_authenticators(operator: AbstractBaseUser) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.devices_for_user(operator, confirmed=True))


def recovery_codes_left(operator: AbstractBaseUser) -> int:
    return StaticToken.objects.filter(device__user=operator, device__confirmed=True).count()


def pending_authenticator(operator: AbstractBaseUser) -> TOTPDevice:
    """The operator's authenticator being enrolled (unconfirmed), made once and kept until confirmed."""
    device = TOTPDevice.objects.devices_for_user(operator, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=operator, name=TOTP_NAME, confirmed=False)


@transaction.atomic
def confirm_authenticator(*, operator: AbstractBaseUser, token: str) -> tuple[TOTPDevice, list[str]] | None:
    """Confirms the pending authenticator with a code it shows; answers it and fresh recovery codes, or None."""
    device = TOTPDevice.objects.select_for_update().filter(user=operator, confirmed=False).first()
    if device is None or not device.verify_token(token.strip().replace(" ", "")):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device, new_recovery_codes(operator=operator)


@transaction.atomic
def new_recovery_codes(*, operator: AbstractBaseUser) -> list[str]:
    """Replaces the operator's recovery codes with RECOVERY_CODES new ones, each good once."""
    device, _ = StaticDevice.objects.get_or_create(user=operator, name=RECOVERY_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def verify_second_factor(*, operator: AbstractBaseUser, token: str) -> Device | None:
    """The confirmed device that accepts `token` (an authenticator's code or an unused recovery code)."""
    token = token.strip().replace(" ", "")
    if not token or not any(True for _ in devices_for_user(operator, confirmed=True)):
        return None
    return match_token(operator, token)


@transaction.atomic
def reset_second_factor(*, operator: AbstractBaseUser) -> tuple[str, str, list[str]]:
    """A fresh confirmed authenticator and recovery codes in place of the operator's (the demo's operator).

    Answers the otpauth URI, its base32 secret and the recovery codes.
    """
    TOTPDevice.objects.filter(user=operator).delete()
    device = TOTPDevice.objects.create(user=operator, name=TOTP_NAME, confirmed=True)
    return device.config_url, base64.b32encode(device.bin_key).decode(), new_recovery_codes(operator=operator)
