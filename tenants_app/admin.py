"""The operators' console for tenants, their config and keys, and their end users.

Every write goes through a service: tenants through `tenants_app.services` (create_tenant,
update_tenant, update_tenant_config, issue_api_key, revoke_api_key), users through
`sessions_app.services` (revoke_user_sessions, update_user). Nothing here deletes: a tenant is
disabled, a key revoked, a user disabled. End users (`tenants_app.User`) are listed here but are
never admin accounts; operators are Django's `auth.User`.
"""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from sessions_app import services as session_services
from sessions_app.admin_filters import TENANT_PARAMETER
from sessions_app.admin_history import event_history
from sessions_app.admin_paging import CappedCountPaginator
from sessions_app.admin_selectors import active_session_counts, user_counts, users_matching_email
from sessions_app.models import RevocationReason
from sessions_app.operators import CHANGE_USERS, REVOKE_KEYS, REVOKE_SESSIONS, may, operator_actor
from sessions_app.selectors import active_sessions_for
from tenants_app import services
from tenants_app.models import (
    ACCESS_TOKEN_TTL_RANGE,
    IDLE_TIMEOUT_RANGE,
    MAX_SESSIONS_RANGE,
    SESSION_DURATION_RANGE,
    ApiKey,
    Tenant,
    TenantConfig,
    User,
)

# --- Tenants and their config -------------------------------------------------------------------


def _bounded(low: int, high: int, *, required: bool, unit: str, help_text: str) -> forms.IntegerField:
    """An integer field whose errors name the bound in words the operator can act on."""
    bounds = f"between {low:,} and {high:,} {unit}".strip()
    return forms.IntegerField(
        required=required, min_value=low, max_value=high, help_text=f"{help_text} ({bounds}).",
        error_messages={"min_value": f"Must be {bounds}.", "max_value": f"Must be {bounds}.",
                        "required": "Required: a whole number of seconds."},
    )


class TenantConfigForm(forms.ModelForm):
    max_sessions_per_user = _bounded(*MAX_SESSIONS_RANGE, required=False, unit="",
                                     help_text="Sessions a user may hold at once; empty for unlimited")
    session_duration = _bounded(*SESSION_DURATION_RANGE, required=True, unit="seconds",
                                help_text="A session's absolute lifetime")
    idle_timeout = _bounded(*IDLE_TIMEOUT_RANGE, required=False, unit="seconds",
                            help_text="Inactivity after which a session expires; empty for none")
    access_token_ttl = _bounded(*ACCESS_TOKEN_TTL_RANGE, required=True, unit="seconds",
                                help_text="Lifetime of an access token")

    class Meta:
        model = TenantConfig
        fields = services.CONFIG_FIELDS


class TenantConfigFormSet(BaseInlineFormSet):
    def save(self, commit: bool = True) -> list[TenantConfig]:
        """Through `update_tenant_config`, with only the fields the operator changed."""
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.forms:
            changed = [name for name in form.changed_data if name in services.CONFIG_FIELDS]
            if not changed:
                continue
            created = form.instance.pk is None or form.instance._state.adding
            config = services.update_tenant_config(
                tenant=self.instance, changes={name: form.cleaned_data[name] for name in changed}
            )
            if created:
                self.new_objects.append(config)
            else:
                self.changed_objects.append((config, changed))
        return [*self.new_objects, *(config for config, _ in self.changed_objects)]


class TenantConfigInline(admin.StackedInline):
    model = TenantConfig
    form = TenantConfigForm
    formset = TenantConfigFormSet
    can_delete = False
    verbose_name = verbose_name_plural = "session rules"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TenantAddForm(forms.ModelForm):
    slug = forms.SlugField(required=False, max_length=63, help_text="Empty: made from the name.")

    class Meta:
        model = Tenant
        fields = ("name", "slug")


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
        # The admin goes on with `obj` (redirect, log entry): make it the row create_tenant wrote.
        obj.pk, obj.slug, obj.created_at = created.tenant.pk, created.tenant.slug, created.tenant.created_at
        obj._state.adding, obj._state.db = False, created.tenant._state.db
        messages.warning(
            request,
            format_html(
                "Tenant created with its default rules and two keys. Copy the keys now: they are shown "
                "this once and never again. Secret key: <code>{}</code> Publishable key: <code>{}</code>",
                created.secret_key.plaintext, created.publishable_key.plaintext,
            ),
        )

    def response_add(self, request: HttpRequest, obj: Tenant, post_url_continue: str | None = None) -> Any:
        if "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        # Straight to the new tenant's page, where its rules can be edited.
        return HttpResponseRedirect(reverse("admin:tenants_app_tenant_change", args=[quote(obj.pk)]))

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        """Counts for the page's tenants only: two GROUP BY queries, not two per row."""
        changelist = super().get_changelist_instance(request)
        tenants = list(changelist.result_list)
        ids = [tenant.pk for tenant in tenants]
        users, active = user_counts(ids), active_session_counts(ids, now=timezone.now())
        for tenant in tenants:
            tenant.user_count, tenant.active_session_count = users.get(tenant.pk, 0), active.get(tenant.pk, 0)
        changelist.result_list = tenants
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


# --- API keys ------------------------------------------------------------------------------------


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("tenant", "kind", "mode")


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() == "live":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued and revoked, never edited. The hash is never shown; the plaintext only once."""

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
        # The admin goes on with `obj` (log entry, redirect): make it the row issue_api_key wrote.
        obj.pk, obj.display_prefix, obj.created_at = issued.api_key.pk, issued.api_key.display_prefix, \
            issued.api_key.created_at
        obj._state.adding, obj._state.db = False, issued.api_key._state.db
        messages.warning(request, format_html(
            "Key issued. Copy it now: it is shown this once and never again. <code>{}</code>", issued.plaintext
        ))

    @admin.action(description="Revoke key", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = sum(services.revoke_api_key(api_key=api_key) for api_key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s)." if revoked else "Those keys were already revoked.",
                          messages.SUCCESS if revoked else messages.WARNING)


# --- End users -------------------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    """A tenant's end users: looked up, signed out everywhere, disabled or enabled; never edited here."""

    list_display = ("email", "name", "tenant", "status", "created_at", "last_sign_in_at")
    list_filter = ("tenant", "status")
    list_select_related = ("tenant",)
    search_fields = ("email",)  # shows the box; get_search_results uses the LOWER(email) index
    search_help_text = "An email, exact or its beginning."
    # Users can be millions too: the same capped count as the sessions list, and no facet counts.
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_max_show_all = 100
    show_facets = admin.ShowFacets.NEVER
    fields = ("id", "email", "name", "tenant", "status", "created_at", "last_sign_in_at", "active_sessions",
              "history")
    readonly_fields = ("active_sessions", "history")
    actions = ["sign_out_everywhere", "disable", "enable"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users sign up, or are created by the tenant's backend through the API

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return may(request, REVOKE_SESSIONS)

    def has_disable_permission(self, request: HttpRequest) -> bool:
        return may(request, CHANGE_USERS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).select_related("tenant", "tenant__config")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[User],
                           search_term: str) -> tuple[QuerySet[User], bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(pk__in=users_matching_email(search_term).values("pk")), False

    @admin.display(description="active sessions")
    def active_sessions(self, user: User) -> str:
        sessions = list(active_sessions_for(user, now=timezone.now()))
        if not sessions:
            return "None"
        rows = format_html_join(
            "", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            ((reverse("admin:sessions_app_session_change", args=[quote(s.pk)]), s.pk, s.device_label,
              s.get_device_type_display(), s.country or "—", s.ip_address or "—",
              s.last_active_at.strftime("%Y-%m-%d %H:%M UTC")) for s in sessions),
        )
        return format_html(
            '<table class="hj-active-sessions"><thead><tr><th>Session</th><th>Device</th><th>Type</th>'
            "<th>Country</th><th>IP</th><th>Last active</th></tr></thead><tbody>{}</tbody></table>", rows,
        )

    @admin.display(description="events")
    def history(self, user: User) -> str:
        return event_history(user_id=user.pk)

    @admin.action(description="Sign out of all devices", permissions=["revoke"])
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        revoked = sum(
            len(session_services.revoke_user_sessions(user=user, reason=RevocationReason.REVOKED_BY_ADMIN,
                                                      actor=operator_actor(request)))
            for user in queryset
        )
        self.message_user(request, f"Signed {queryset.count()} user(s) out: {revoked} session(s) revoked.",
                          messages.SUCCESS)

    @admin.action(description="Disable (signs out everywhere)", permissions=["disable"])
    def disable(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = [user for user in queryset if user.status != User.Status.DISABLED]
        for user in users:
            session_services.update_user(user=user, actor=operator_actor(request), status=User.Status.DISABLED)
        self.message_user(request, f"Disabled {len(users)} user(s) and revoked their sessions.", messages.SUCCESS)

    @admin.action(description="Enable", permissions=["disable"])
    def enable(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = [user for user in queryset if user.status != User.Status.ACTIVE]
        for user in users:
            session_services.update_user(user=user, actor=operator_actor(request), status=User.Status.ACTIVE)
        self.message_user(request, f"Enabled {len(users)} user(s).", messages.SUCCESS)
