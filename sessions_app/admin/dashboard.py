"""The dashboard at the top of the admin index: its figures, each with the changelist link that lists them.

`?tenant=<id>` narrows every figure to one tenant; each figure links to the sessions changelist
with the same filter, which lists exactly the rows it counts. The figures themselves are
`admin_selectors.dashboard`; `{% operator_dashboard %}` (sessions_app/templatetags) renders this.
"""

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from sessions_app.admin.filters import TENANT_PARAMETER
from sessions_app.admin.flags import ANY, flagged_since
from sessions_app.admin.permissions import may
from sessions_app.admin_selectors import dashboard
from sessions_app.models import DeviceType, RevocationReason
from tenants_app.models import Tenant

VIEW_SESSIONS = "sessions_app.view_session"


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
    return {
        "summary": summary,
        "tenants": tenants,
        "tenant_id": tenant_id,
        "active_link": link(status="active"),
        "device_types": [
            (DeviceType(kind).label, n, link(status="active", device_type__exact=kind))
            for kind, n in summary.active_by_device_type.items()
        ],
        "countries": [
            (country or "Unknown", n, link(status="active", country=country or "unknown"))
            for country, n in summary.top_countries
        ],
        "started_link": link(created_at__gte=since),
        "flagged_recently": flagged_since(since=summary.since, tenant_id=tenant_id),
        "flagged_link": link(created_at__gte=since, flag=ANY),
        "revoked_link": link(revoked_at__gte=since),
        "reasons": [
            (RevocationReason(reason).label, n, link(revoked_at__gte=since, revoked_reason__exact=reason))
            for reason, n in summary.revoked_recently_by_reason.items()
        ],
    }
