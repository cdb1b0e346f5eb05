"""The console's end users: looked up, signed out everywhere, disabled or enabled; never edited here.

End users (`tenants_app.User`) are listed here but are never admin accounts; operators are
Django's `auth.User`. Every write goes through `sessions_app.services` (revoke_user_sessions,
update_user).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from sessions_app import services
from sessions_app.admin.confirm import SHOWN_TARGETS, action_hidden_fields, confirmation_page, confirmed
from sessions_app.admin.event_history import render_event_history
from sessions_app.admin.operator_log import log_operator_change
from sessions_app.admin.paging import CappedCountPaginator
from sessions_app.admin.permissions import CHANGE_USERS, REVOKE_SESSIONS, may, operator_actor
from sessions_app.admin_selectors import active_of_users, users_matching_email
from sessions_app.selectors import active_sessions_for
from tenants_app.models import User

ACTIVE_SESSIONS_TEMPLATE = "admin/tenants_app/user/active_sessions.html"


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "tenant", "status", "created_at", "last_sign_in_at")
    list_filter = ("tenant", "status")
    list_select_related = ("tenant",)
    search_fields = ("email",)  # shows the box; get_search_results uses the LOWER(email) index
    search_help_text = "The beginning of an email (\"alice\", \"alice@\", or all of it)."
    # Users can be millions too: the same capped count as the sessions list, and no facet counts.
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_max_show_all = 100
    show_facets = admin.ShowFacets.NEVER
    fields = ("id", "email", "name", "tenant", "status", "created_at", "last_sign_in_at", "active_sessions",
              "events")
    readonly_fields = ("active_sessions", "events")
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
        sessions = [
            {"url": reverse("admin:sessions_app_session_change", args=[quote(s.pk)]), "id": s.pk,
             "device": s.device_label, "device_type": s.get_device_type_display(), "country": s.country,
             "ip_address": s.ip_address, "last_active": s.last_active_at.strftime("%Y-%m-%d %H:%M"),
             "last_active_iso": s.last_active_at.isoformat()}
            for s in active_sessions_for(user, now=timezone.now())
        ]
        return render_to_string(ACTIVE_SESSIONS_TEMPLATE, {"sessions": sessions}) if sessions else "None"

    def _confirmation(self, request: HttpRequest, queryset: QuerySet[User], *, action: str, title: str,
                      confirm_label: str) -> TemplateResponse:
        emails = list(queryset.order_by("email").values_list("email", flat=True)[:SHOWN_TARGETS])
        return confirmation_page(
            request, self, title=title, will_end=active_of_users(queryset.values("pk"), now=timezone.now()),
            targets=emails, selected=queryset.count(), hidden=action_hidden_fields(request, action),
            form_action=request.get_full_path(), cancel_url=request.get_full_path(), confirm_label=confirm_label)

    @admin.display(description="event history")
    def events(self, user: User) -> str:
        return render_event_history(user_id=user.pk)

    @admin.action(description="Sign out of all devices", permissions=["revoke"])
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> TemplateResponse | None:
        if not confirmed(request):
            return self._confirmation(request, queryset, action="sign_out_everywhere",
                                      title="Sign the selected users out of all devices?",
                                      confirm_label="Yes, sign them out")
        users = list(queryset)
        counts = [len(services.revoke_user_sessions(user=user, actor=operator_actor(request))) for user in users]
        for user, n in zip(users, counts, strict=True):
            log_operator_change(request, [user], f"Signed out of all devices: {n} session(s) revoked.")
        self.message_user(request, f"Signed {len(users)} user(s) out: {sum(counts)} session(s) revoked.",
                          messages.SUCCESS)
        return None

    @admin.action(description="Disable (signs out everywhere)", permissions=["disable"])
    def disable(self, request: HttpRequest, queryset: QuerySet[User]) -> TemplateResponse | None:
        if not confirmed(request):
            return self._confirmation(request, queryset, action="disable", title="Disable the selected users?",
                                      confirm_label="Yes, disable them")
        users = [user for user in queryset if user.status != User.Status.DISABLED]
        for user in users:
            services.update_user(user=user, actor=operator_actor(request), status=User.Status.DISABLED)
        log_operator_change(request, users, "Disabled; their sessions revoked.")
        self.message_user(request, f"Disabled {len(users)} user(s) and revoked their sessions.", messages.SUCCESS)
        return None

    @admin.action(description="Enable", permissions=["disable"])
    def enable(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = [user for user in queryset if user.status != User.Status.ACTIVE]
        for user in users:
            services.update_user(user=user, actor=operator_actor(request), status=User.Status.ACTIVE)
        log_operator_change(request, users, "Enabled.")
        self.message_user(request, f"Enabled {len(users)} user(s).", messages.SUCCESS)
