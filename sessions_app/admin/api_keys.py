"""The console's API keys: issued and revoked, never edited; the hash never shown, the plaintext once.

Every write goes through `tenants_app.services` (issue_api_key, revoke_api_key).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from sessions_app.admin.filters import ApiKeyStatusFilter
from sessions_app.admin.permissions import REVOKE_KEYS, may
from tenants_app import services
from tenants_app.models import ApiKey


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("tenant", "kind", "mode")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("display_prefix", "id", "tenant", "kind", "mode", "created_at", "last_used_at", "status")
    list_filter = ("tenant", "kind", "mode", ApiKeyStatusFilter)
    list_select_related = ("tenant",)
    search_fields = ("=id", "display_prefix")
    fields = ("id", "tenant", "kind", "mode", "display_prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_keys"]

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return may(request, REVOKE_KEYS)

    def get_form(self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ("tenant", "kind", "mode") if obj is None else self.fields

    @admin.display(description="status")
    def status(self, api_key: ApiKey) -> str:
        return "revoked" if api_key.revoked_at else "live"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm, change: bool) -> None:
        issued = services.issue_api_key(tenant=form.cleaned_data["tenant"], kind=form.cleaned_data["kind"],
                                        mode=form.cleaned_data["mode"])
        # The admin goes on with `obj` (log entry, redirect): point it at the row issue_api_key wrote.
        obj.pk = issued.api_key.pk
        obj.refresh_from_db()
        messages.warning(request, format_html(
            "Key issued. Copy it now: it is shown this once and never again. <code>{}</code>", issued.plaintext
        ))

    @admin.action(description="Revoke key", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = sum(services.revoke_api_key(api_key=api_key) for api_key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s)." if revoked else "Those keys were already revoked.",
                          messages.SUCCESS if revoked else messages.WARNING)
