"""The console's tenants: created with their keys, renamed, disabled, and their session rules edited.

Every write goes through `tenants_app.services` (create_tenant, update_tenant,
update_tenant_config). Nothing here deletes: a tenant is disabled, never deleted with its users
and sessions.
"""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from sessions_app.admin.filters import TENANT_PARAMETER
from sessions_app.admin.tenant_forms import TenantAddForm, TenantConfigForm
from sessions_app.admin_selectors import active_session_counts, user_counts
from tenants_app import services
from tenants_app.models import Tenant, TenantConfig


class TenantConfigInline(admin.StackedInline):
    """The tenant's session rules, on the tenant's page; saved by `TenantAdmin.save_formset`."""

    model = TenantConfig
    form = TenantConfigForm
    can_delete = False
    verbose_name = verbose_name_plural = "session rules"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "id", "status", "created_at", "user_total", "active_session_total")
    list_filter = ("status",)
    search_fields = ("name", "=slug", "=id")
    readonly_fields = ("id", "created_at", "user_total", "active_session_total", "sessions_link")
    inlines = [TenantConfigInline]

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return False  # a tenant is disabled, never deleted with its users and sessions

    def get_form(self, request: HttpRequest, obj: Tenant | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = TenantAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        if obj is None:
            return ["name", "slug"]
        return ["id", "name", "slug", "status", "created_at", "user_total", "active_session_total", "sessions_link"]

    def get_inlines(self, request: HttpRequest, obj: Tenant | None) -> list[Any]:
        # A new tenant gets its default config from create_tenant; it is edited on the next page.
        return [] if obj is None else self.inlines

    def save_model(self, request: HttpRequest, obj: Tenant, form: forms.ModelForm, change: bool) -> None:
        if change:
            fields = [name for name in form.changed_data if name in services.TENANT_FIELDS]
            services.update_tenant(tenant=obj, changes={name: form.cleaned_data[name] for name in fields})
            return
        created = services.create_tenant(name=form.cleaned_data["name"], slug=form.cleaned_data["slug"] or None)
        # The admin goes on with `obj` (log entry, redirect): point it at the row create_tenant wrote.
        obj.pk = created.tenant.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            format_html(
                "Tenant created with its default rules and two keys. Copy the keys now: they are shown "
                "this once and never again. Secret key: <code>{}</code> Publishable key: <code>{}</code>",
                created.secret_key.plaintext, created.publishable_key.plaintext,
            ),
        )

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet,
                     change: bool) -> None:
        """The session rules, through `update_tenant_config` with only the fields the operator changed.

        `save(commit=False)` writes nothing: it fills the formset's new and changed objects, which
        the admin's change message reads next (the hook and attributes Django documents for this).
        """
        formset.save(commit=False)
        for config_form in formset.forms:
            changed = [name for name in config_form.changed_data if name in services.CONFIG_FIELDS]
            if changed:
                services.update_tenant_config(
                    tenant=formset.instance, changes={name: config_form.cleaned_data[name] for name in changed}
                )

    def response_add(self, request: HttpRequest, obj: Tenant, post_url_continue: str | None = None) -> Any:
        # Straight to the new tenant's page, where its rules can be edited, without the "added"
        # message (the keys' warning says it). "Save and add another" and the related-object popup
        # keep Django's answer; the same test as Django's own `auth.UserAdmin.response_add`.
        if "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return HttpResponseRedirect(reverse("admin:tenants_app_tenant_change", args=[quote(obj.pk)]))

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        """Counts for the page's tenants only: two GROUP BY queries, not two per row.

        Iterating `result_list` fills the queryset's cache, so the rows the page renders are the
        ones that carry the counts.
        """
        changelist = super().get_changelist_instance(request)
        ids = [tenant.pk for tenant in changelist.result_list]
        users, active = user_counts(ids), active_session_counts(ids, now=timezone.now())
        for tenant in changelist.result_list:
            tenant.user_count, tenant.active_session_count = users.get(tenant.pk, 0), active.get(tenant.pk, 0)
        return changelist

    @admin.display(description="users")
    def user_total(self, tenant: Tenant) -> int:
        count = getattr(tenant, "user_count", None)
        return user_counts([tenant.pk]).get(tenant.pk, 0) if count is None else count

    @admin.display(description="active sessions")
    def active_session_total(self, tenant: Tenant) -> int:
        count = getattr(tenant, "active_session_count", None)
        if count is None:
            count = active_session_counts([tenant.pk], now=timezone.now()).get(tenant.pk, 0)
        return count

    @admin.display(description="sessions")
    def sessions_link(self, tenant: Tenant) -> str:
        query = urlencode({TENANT_PARAMETER: tenant.pk, "status": "active"})
        url = f"{reverse('admin:sessions_app_session_changelist')}?{query}"
        return format_html('<a href="{}">Active sessions of {}</a>', url, tenant.name)
