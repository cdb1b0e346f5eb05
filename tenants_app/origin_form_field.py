"""The admin's form field for a tenant's `allowed_origins`: one origin per line, validated like the API."""

from typing import Any

from django import forms

from tenants_app.models import MAX_ALLOWED_ORIGINS
from tenants_app.origins import InvalidOrigin, normalize_origins


class AllowedOriginsField(forms.Field):
    widget = forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "https://app.example.com"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", f"Browser origins allowed to call the publishable-key and access-token "
                                       f"routes: one per line, scheme://host[:port], at most {MAX_ALLOWED_ORIGINS}.")
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return "" if value is None else str(value)

    def to_python(self, value: Any) -> list[str]:
        lines = value if isinstance(value, list) else [line.strip() for line in (value or "").splitlines()]
        try:
            return normalize_origins([line for line in lines if line])
        except InvalidOrigin as exc:
            raise forms.ValidationError(str(exc), code="invalid_origin") from exc

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except forms.ValidationError:
            return True
