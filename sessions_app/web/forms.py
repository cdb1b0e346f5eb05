"""The page's forms. Sign-in errors only ever say what is missing, never whether an account exists."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ErrorsDescribeFields(forms.Form):
    """Points a field with an error at its message (aria-describedby), so screen readers read both."""

    def add_error(self, field: str | None, error: object) -> None:
        super().add_error(field, error)  # type: ignore[arg-type]
        if field in self.fields:
            self.fields[field].widget.attrs["aria-describedby"] = f"id_{field}_error"


class SignInForm(ErrorsDescribeFields):
    email = forms.EmailField(
        label=_("Email address"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True, "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Password"), max_length=1024, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordChangeForm(ErrorsDescribeFields):
    """Django's password validators run in the service (services.change_password), as for the API."""

    current_password = forms.CharField(
        label=_("Current password"), max_length=1024, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"), max_length=1024, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
