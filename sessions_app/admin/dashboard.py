"""The dashboard at the top of the admin index: its figures, each with the changelist link that lists them.

`?tenant=<id>` narrows every figure to one tenant; each figure links to the sessions changelist
with the same filter, which lists exactly the rows it counts. The figures themselves are
`admin_selectors.dashboard`; `{% operator_dashboard %}` (sessions_app/templatetags) renders this.
"""

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from sessions_app.admin.charts import Chart, category_chart, time_chart
from sessions_app.admin.filters import TENANT_PARAMETER
from sessions_app.admin.flags import ANY, FlagFilter, flagged_since
from sessions_app.admin.permissions import may
from sessions_app.admin_selectors import activity, dashboard
from sessions_app.models import DeviceType, RevocationReason
from tenants_app.models import Tenant

VIEW_SESSIONS = "sessions_app.view_session"
# ?span=: the charts' time range, per hour over a day or per day over a month.
SPANS = {"24h": (timedelta(hours=1), 24), "30d": (timedelta(days=1), 30)}


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """The context of `admin/sessions_app/dashboard.html`; no summary for operators who may not view sessions."""
    if not may(request, VIEW_SESSIONS):
        return {"summary": None}
    tenants = list(Tenant.objects.order_by("name").values_list("id", "name"))
    tenant_id = request.GET.get("tenant") or None
    if tenant_id not in {tid for tid, _ in tenants}:
        tenant_id = None
    now = timezone.now()
    summary = dashboard(now=now, tenant_id=tenant_id)
    changelist = reverse("admin:sessions_app_session_changelist")
    scope = {TENANT_PARAMETER: tenant_id} if tenant_id else {}

    def link(**params: str) -> str:
        return f"{changelist}?{urlencode({**scope, **params})}"

    since = summary.since.isoformat()
    span = request.GET.get("span") if request.GET.get("span") in SPANS else "24h"
    device_types = [
        (DeviceType(kind).label, n, link(status="active", device_type__exact=kind))
        for kind, n in summary.active_by_device_type.items()
    ]
    countries = [
        (country or "Unknown", n, link(status="active", country=country or "unknown"))
        for country, n in summary.top_countries
    ]
    return {
        "span": span,
        "charts": charts(now=now, tenant_id=tenant_id, span=span, link=link, device_types=device_types,
                         countries=countries),
        "summary": summary,
        "tenants": tenants,
        "tenant_id": tenant_id,
        "active_link": link(status="active"),
        "device_types": device_types,
        "countries": countries,
        "started_link": link(created_at__gte=since),
        "flagged_recently": flagged_since(since=summary.since, tenant_id=tenant_id),
        "flagged_link": link(created_at__gte=since, **{FlagFilter.parameter_name: ANY}),
        "revoked_link": link(revoked_at__gte=since),
        "reasons": [
            (RevocationReason(reason).label, n, link(revoked_at__gte=since, revoked_reason__exact=reason))
            for reason, n in summary.revoked_recently_by_reason.items()
        ],
    }


def charts(*, now: datetime, tenant_id: str | None, span: str, link: Any,
           device_types: list[tuple[str, int, str]], countries: list[tuple[str, int, str]]) -> list[Chart]:
    """Sign-ins, revocations by reason and flagged sessions over the span; active by country and device."""
    step, n = SPANS[span]
    series = activity(now=now, tenant_id=tenant_id, step=step, n=n)
    per = "hour" if span == "24h" else "day"

    def between(name: str, **extra: str) -> Any:
        def url(start: datetime, end: datetime, key: str) -> str:
            return link(**{f"{name}__gte": start.isoformat(), f"{name}__lt": end.isoformat()},
                        **({"revoked_reason__exact": key} if name == "revoked_at" and key else {}), **extra)
        return url

    reasons = {reason.value: reason.label for reason in RevocationReason}
    result = [
        time_chart(chart_id="sign-ins", title=f"Sign-ins per {per}", series=series.sign_ins, labels={"": ""},
                   link=between("created_at")),
        time_chart(chart_id="revocations", title=f"Revocations per {per}, by reason", series=series.revocations,
                   labels=reasons, link=between("revoked_at")),
        # The sessions list's risk flag filter, "any flag": the same test the chart counts with.
        time_chart(chart_id="flagged", title=f"Flagged sessions per {per} (by start)", series=series.flagged,
                   labels={"": ""}, link=between("created_at", **{FlagFilter.parameter_name: ANY})),
        category_chart(chart_id="countries", title="Active sessions by country (top 5)", items=countries),
        category_chart(chart_id="device-types", title="Active sessions by device type", items=device_types),
    ]
    return result
