"""The operators' sign-in form: the password (checked by Django under django-axes), then a code.

A wrong or missing code for an operator with a second factor fails the sign-in and is reported to
Django's `user_login_failed` signal, so django-axes counts it like a wrong password and locks the
username and address after the same number of failures.
"""

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError

from hellojohn_project.operator_mfa import has_second_factor, verify_second_factor

WRONG_CODE = "The code is wrong, expired or already used."


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Code (authenticator app or recovery code)", required=False, max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Leave empty if you have not set up a second factor yet.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = self.get_user()
        if user is None or not has_second_factor(user):
            return cleaned
        device = verify_second_factor(operator=user, token=cleaned.get("otp_token") or "")
        if device is None:
            user_login_failed.send(sender=type(self), credentials={"username": cleaned.get("username")},
                                   request=self.request)
            self.user_cache = None
            raise ValidationError(WRONG_CODE, code="invalid_otp")
        user.otp_device = device  # django-otp's user_logged_in receiver marks the session verified
        return cleaned
