"""The operators' sessions console: read-only sessions that can only be revoked, never edited or deleted.

Revoking needs the custom `sessions_app.revoke_session` permission (migration 0002); viewing needs
Django's `view_session`. No one has add, change or delete here, superusers included: a session
ends through `services.revoke_session(s)`, which records the reason and the operator.
"""

import ipaddress
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from sessions_app import services
from sessions_app.admin.filters import CountryFilter, SessionStatusFilter
from sessions_app.admin.flags import FlagFilter, flags_html
from sessions_app.admin.history import event_history
from sessions_app.admin.paging import CappedCountPaginator
from sessions_app.admin.permissions import REVOKE_SESSIONS, may, operator_actor
from sessions_app.admin_selectors import users_matching_email
from sessions_app.models import Session, SessionStatus
from sessions_app.selectors import idle_timeout_of

STATUS_COLORS = {SessionStatus.ACTIVE: "#1a7f37", SessionStatus.EXPIRED: "#6e7781", SessionStatus.REVOKED: "#cf222e"}


def session_status(session: Session) -> SessionStatus:
    # The tenant and its config come with the row (select_related), so this costs no query.
    return session.status_at(timezone.now(), idle_timeout_of(getattr(session.tenant, "config", None)))


def status_badge(status: SessionStatus) -> str:
    return format_html(
        '<span class="hj-status hj-status-{}" style="color:#fff;background:{};padding:1px 8px;'
        'border-radius:9px;font-size:11px;white-space:nowrap">{}</span>',
        status.value, STATUS_COLORS[status], status.label,
    )


def search_sessions(queryset: QuerySet[Session], term: str) -> QuerySet[Session]:
    """Session id (exact), IP address (exact), email (exact or its beginning), each through an index."""
    term = term.strip()
    if term.startswith("ses_"):
        return queryset.filter(pk=term)
    try:
        address = ipaddress.ip_address(term)
    except ValueError:
        pass
    else:
        return queryset.filter(ip_address=str(address))
    return queryset.filter(user__in=users_matching_email(term).values("pk"))


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user_email", "tenant", "device", "country", "ip_address", "created_at",
                    "last_active_at", "status", "flag_codes")
    list_filter = ("tenant", SessionStatusFilter, "device_type", CountryFilter, "revoked_reason", FlagFilter)
    list_select_related = ("user", "tenant", "tenant__config")
    search_fields = ("id",)  # shows the search box; get_search_results does the searching
    search_help_text = "A session id (ses_…), an IP address, or a user's email (exact, or its beginning)."
    ordering = ("-created_at", "-id")
    list_per_page = 100
    list_max_show_all = 100  # "Show all" only when everything fits on one page anyway
    # Big-table settings: no second COUNT(*) of the unfiltered table, a capped count of the
    # filtered one, and no facet counts (one aggregate per filter choice).
    show_full_result_count = False
    paginator = CappedCountPaginator
    show_facets = admin.ShowFacets.NEVER
    actions = ["revoke_selected"]
    fieldsets = (
        (None, {"fields": ("id", "status", "user", "tenant")}),
        ("Device", {"fields": ("device", "device_type", "browser", "os", "user_agent", "ip_address", "country")}),
        ("Lifetime", {"fields": ("created_at", "last_active_at", "expires_at")}),
        ("Risk", {"fields": ("risk_flags",)}),
        ("Revocation", {"fields": ("revoked_at", "revoked_reason", "revoked_by")}),
        ("History", {"fields": ("history",)}),
    )
    readonly_fields = ("status", "device", "risk_flags", "history")

    # --- Read-only, never added or deleted ------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Session | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Session | None = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return may(request, REVOKE_SESSIONS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Session]:
        # The status badge needs the tenant's config; the list shows the user's email.
        return super().get_queryset(request).select_related("user", "tenant", "tenant__config")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Session],
                           search_term: str) -> tuple[QuerySet[Session], bool]:
        if not search_term.strip():
            return queryset, False
        return search_sessions(queryset, search_term), False

    # --- Columns --------------------------------------------------------------------------------

    @admin.display(description="user", ordering="user__email")
    def user_email(self, session: Session) -> str:
        return session.user.email

    @admin.display(description="device")
    def device(self, session: Session) -> str:
        return format_html('{} <span class="quiet">({})</span>', session.device_label,
                           session.get_device_type_display())

    @admin.display(description="status")
    def status(self, session: Session) -> str:
        return status_badge(session_status(session))

    @admin.display(description="events")
    def history(self, session: Session) -> str:
        return event_history(session_id=session.pk)
    @admin.display(description="flags")
    def flag_codes(self, session: Session) -> str:
        return ", ".join(session.flags or {}) or "—"

    @admin.display(description="risk flags")
    def risk_flags(self, session: Session) -> str:
        return flags_html(session)

    # --- Revocation -----------------------------------------------------------------------------

    @admin.action(description="Revoke selected sessions", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        # The ids as a subquery: the changelist's queryset may join users or configs, an UPDATE may not.
        revoked = services.revoke_sessions(session_ids=queryset.values_list("pk", flat=True),
                                           actor=operator_actor(request))
        if revoked:
            self.message_user(request, f"Revoked {len(revoked)} session(s).", messages.SUCCESS)
        else:
            self.message_user(request, "Nothing to revoke: the selected sessions were already revoked.",
                              messages.WARNING)

    def get_urls(self) -> list[URLPattern]:
        revoke = path("<path:object_id>/revoke/", self.admin_site.admin_view(self.revoke_view),
                      name="sessions_app_session_revoke")
        return [revoke, *super().get_urls()]

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The detail page's "Revoke" button (a POST; CSRF-checked by admin_view)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        session = self.get_object(request, unquote(object_id))
        if session is None:
            raise Http404("No such session.")
        revoked = services.revoke_session(session=session, actor=operator_actor(request))
        if revoked:
            self.message_user(request, f"Revoked session {session.pk}.", messages.SUCCESS)
        else:
            self.message_user(request, f"Session {session.pk} was already revoked.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:sessions_app_session_change", args=[quote(session.pk)]))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # The admin's URLs carry ids quoted ("_" becomes "_5F"), as its own views expect.
        session = self.get_object(request, unquote(object_id))
        revocable = session is not None and session.revoked_at is None and self.has_revoke_permission(request)
        context = {**(extra_context or {}), "show_revoke_button": revocable,
                   "revoke_url": reverse("admin:sessions_app_session_revoke", args=[quote(session.pk)])
                   if revocable else ""}
        return super().change_view(request, object_id, form_url, extra_context=context)
