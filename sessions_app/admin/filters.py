"""The console's list filters that Django's field filters cannot express: session status, country, key status."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from sessions_app.models import Session, SessionStatus
from sessions_app.selectors import status_q_across_tenants
from tenants_app.models import ApiKey

# The query parameter of the changelist's tenant filter (Django's RelatedFieldListFilter on "tenant").
TENANT_PARAMETER = "tenant__id__exact"


class SessionStatusFilter(admin.SimpleListFilter):
    """Active, expired or revoked, computed from the fields and the tenant's idle timeout."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(status.value, status.label) for status in SessionStatus]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Session]) -> QuerySet[Session]:
        value = self.value()
        if value not in SessionStatus.values:
            return queryset
        # With the tenant filter on, one tenant's idle timeout is enough (and the SQL is simpler).
        tenant_id = request.GET.get(TENANT_PARAMETER) or None
        tenant_ids = None if tenant_id is None else [tenant_id]
        return queryset.filter(status_q_across_tenants(SessionStatus(value), now=timezone.now(), tenant_ids=tenant_ids))


class CountryFilter(admin.SimpleListFilter):
    """A two-letter code typed in a box, or "unknown".

    Listing the countries present would need a DISTINCT over the whole sessions table on every
    page view; a box costs nothing and the filter itself is served by an index.
    """

    title = "country"
    parameter_name = "country"
    template = "admin/sessions_app/session/country_filter.html"
    UNKNOWN = "unknown"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.UNKNOWN, "Unknown")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Session]) -> QuerySet[Session]:
        value = self.value()
        if value is None or value == "":
            return queryset
        if value == self.UNKNOWN:
            return queryset.filter(country__isnull=True)
        code = value.strip().upper()
        if len(code) != 2 or not code.isalpha():
            return queryset.none()
        return queryset.filter(country=code)

    def choices(self, changelist: ChangeList) -> Any:
        # The box's form must carry the other filters and the search along, as hidden fields.
        self.other_parameters = [
            (name, value) for name, values in changelist.filter_params.items() if name != self.parameter_name
            for value in values
        ]
        self.typed_code = "" if self.value() in (None, self.UNKNOWN) else self.value()
        yield from super().choices(changelist)


class ApiKeyStatusFilter(admin.SimpleListFilter):
    """Live or revoked: whether `revoked_at` is set."""

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
