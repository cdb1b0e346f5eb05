"""The operators' sessions console: read-only sessions that can only be revoked, never edited or deleted.

Revoking needs the custom `sessions_app.revoke_session` permission (migration 0002); viewing needs
Django's `view_session`. No one has add, change or delete here, superusers included: a session
ends through `services.revoke_session(s)`, which records the reason and the operator. (Just over
250 lines: the list's columns, the change page's fields and the revoke flow are one ModelAdmin.)
"""

import ipaddress
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from sessions_app import services
from sessions_app.admin.confirm import SHOWN_TARGETS, action_hidden_fields, confirmation_page, confirmed
from sessions_app.admin.event_history import render_event_history
from sessions_app.admin.export import csv_response
from sessions_app.admin.filters import CountryFilter, SessionStatusFilter
from sessions_app.admin.flags import FlagFilter, flags_html
from sessions_app.admin.operator_log import log_operator_change
from sessions_app.admin.paging import CappedCountPaginator
from sessions_app.admin.permissions import REVOKE_SESSIONS, may, operator_actor
from sessions_app.admin_selectors import active_among, users_matching_email
from sessions_app.flags import flag_list
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


def short_time(value: Any) -> str:
    # "2026-12-01 09:51": a fixed, narrow form, so two time columns fit at 1,280 px.
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), value.strftime("%Y-%m-%d %H:%M"))


REVOKED_MESSAGE = "Revoked by an operator from the console."


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    # Status right after the id, so it is never scrolled away; device, browser and OS in one column,
    # country and IP in another, as the end-user page shows them. static/admin/hj/console.css wraps them.
    # The risk flags' codes sit under the status badge: an extra column would not fit 1,280 px.
    list_display = ("id", "status", "user_email", "tenant", "device", "place", "created", "last_active")
    # The date filters are Django's DateFieldListFilter: its links and the dashboard's bars use
    # `created_at__gte` / `created_at__lt` (and `last_active_at__…`), which any range may also use.
    list_filter = ("tenant", SessionStatusFilter, "device_type", CountryFilter, "revoked_reason", FlagFilter,
                   ("created_at", admin.DateFieldListFilter), ("last_active_at", admin.DateFieldListFilter))
    list_select_related = ("user", "tenant", "tenant__config")
    search_fields = ("id",)  # shows the search box; get_search_results does the searching
    search_help_text = "A session id (ses_…), an IP address, or the beginning of a user's email (\"alice@\" too)."
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
        ("Events", {"fields": ("events",)}),
    )
    readonly_fields = ("status", "device", "risk_flags", "events")

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
        return format_html('{}<br><span class="quiet">({})</span>', session.device_label,
                           session.get_device_type_display())

    @admin.display(description="status")
    def status(self, session: Session) -> str:
        badge = status_badge(session_status(session))
        if not session.flags:
            return badge
        # The flags' codes under the badge (docs/api.md, "Risk flags"); the session's page says them in words.
        codes = ", ".join(code for code, _ in flag_list(session.flags))
        return format_html('{}<br><span class="hj-flags">{}</span>', badge, codes)

    @admin.display(description="event history")
    def events(self, session: Session) -> str:
        return render_event_history(session_id=session.pk)

    @admin.display(description="risk flags")
    def risk_flags(self, session: Session) -> str:
        return flags_html(session)

    @admin.display(description="place", ordering="country")
    def place(self, session: Session) -> str:
        return format_html('{}<br><span class="hj-ip">{}</span>', session.country or "—", session.ip_address or "—")

    @admin.display(description="created", ordering="created_at")
    def created(self, session: Session) -> str:
        return short_time(session.created_at)

    @admin.display(description="last active", ordering="last_active_at")
    def last_active(self, session: Session) -> str:
        return short_time(session.last_active_at)

    # --- Revocation -----------------------------------------------------------------------------

    @admin.action(description="Revoke selected sessions", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Session]) -> TemplateResponse | None:
        """First a page saying how many sessions will end; with its `post=yes`, the revocation."""
        if not confirmed(request):
            ids = list(queryset.order_by("-created_at").values_list("pk", flat=True)[:SHOWN_TARGETS])
            return confirmation_page(
                request, self, title="Revoke the selected sessions?",
                will_end=active_among(queryset, now=timezone.now()), targets=ids, selected=queryset.count(),
                hidden=action_hidden_fields(request, "revoke_selected"), form_action=request.get_full_path(),
                cancel_url=request.get_full_path(), confirm_label="Yes, revoke them")
        # The ids as a subquery: the changelist's queryset may join users or configs, an UPDATE may not.
        revoked = services.revoke_sessions(session_ids=queryset.values_list("pk", flat=True),
                                           actor=operator_actor(request))
        log_operator_change(request, Session.objects.filter(pk__in=revoked), REVOKED_MESSAGE)
        if revoked:
            self.message_user(request, f"Revoked {len(revoked)} session(s).", messages.SUCCESS)
        else:
            self.message_user(request, "Nothing to revoke: the selected sessions were already revoked.",
                              messages.WARNING)
        return None

    def get_urls(self) -> list[URLPattern]:
        revoke = path("<path:object_id>/revoke/", self.admin_site.admin_view(self.revoke_view),
                      name="sessions_app_session_revoke")
        export = path("export.csv", self.admin_site.admin_view(self.export_view), name="sessions_app_session_export")
        return [export, revoke, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's filtered rows as CSV, with the changelist's own filters and search."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Unknown filter.")
        return csv_response(changelist.get_queryset(request))

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The detail page's "Revoke" link: a GET shows the confirmation, its POST revokes (CSRF-checked)."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        session = self.get_object(request, unquote(object_id))
        if session is None:
            raise Http404("No such session.")
        page = reverse("admin:sessions_app_session_change", args=[quote(session.pk)])
        if request.method == "GET":
            return confirmation_page(
                request, self, title=f"Revoke session {session.pk}?",
                will_end=active_among(Session.objects.filter(pk=session.pk), now=timezone.now()),
                targets=[f"{session.pk}: {session.user.email}, {session.device_label}"], hidden=[],
                form_action=request.path, cancel_url=page, confirm_label="Yes, revoke it")
        revoked = services.revoke_session(session=session, actor=operator_actor(request))
        if revoked:
            log_operator_change(request, [session], REVOKED_MESSAGE)
            self.message_user(request, f"Revoked session {session.pk}.", messages.SUCCESS)
        else:
            self.message_user(request, f"Session {session.pk} was already revoked.", messages.WARNING)
        return HttpResponseRedirect(page)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = {**(extra_context or {}), "export_url": reverse("admin:sessions_app_session_export")}
        return super().changelist_view(request, extra_context=context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # The admin's URLs carry ids quoted ("_" becomes "_5F"), as its own views expect.
        session = self.get_object(request, unquote(object_id))
        revocable = session is not None and session.revoked_at is None and self.has_revoke_permission(request)
        context = {**(extra_context or {}), "show_revoke_button": revocable,
                   "revoke_url": reverse("admin:sessions_app_session_revoke", args=[quote(session.pk)])
                   if revocable else ""}
        return super().change_view(request, object_id, form_url, extra_context=context)
