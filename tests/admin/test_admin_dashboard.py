"""The dashboard on the admin index: figures, their agreement with the changelist, and their cost."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.models import DeviceType, RevocationReason, Session
from tenants_app.models import TenantConfig
from tests.admin_helpers import action, staff_client
from tests.factories import SessionFactory, UserFactory

INDEX = "/admin/"
CHANGELIST = "/admin/sessions_app/session/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(tenant: Any, other_tenant: Any) -> dict[str, Any]:
    """Sessions of two tenants in every state; Acme has a one-hour idle timeout."""
    TenantConfig.objects.filter(tenant=tenant.tenant).update(idle_timeout=3600)
    now = timezone.now()
    alice, bob = UserFactory(tenant=tenant.tenant), UserFactory(tenant=other_tenant.tenant)
    days_ago = now - timedelta(days=2)
    return {
        "acme_desktop_us": SessionFactory(user=alice),
        "acme_phone_gb": SessionFactory(user=alice, device_type=DeviceType.MOBILE, country="GB"),
        "acme_idle": SessionFactory(user=alice, created_at=days_ago, last_active_at=now - timedelta(hours=2)),
        "globex_old_active": SessionFactory(user=bob, created_at=days_ago, last_active_at=now - timedelta(hours=2)),
        "globex_unknown": SessionFactory(user=bob, device_type=DeviceType.TABLET, country=None),
        "globex_expired": SessionFactory(user=bob, created_at=now - timedelta(days=40)),
        "acme_revoked_admin": SessionFactory(user=alice, created_at=days_ago, revoked_at=now - timedelta(hours=1),
                                             revoked_reason=RevocationReason.REVOKED_BY_ADMIN),
        "globex_revoked_limit": SessionFactory(user=bob, revoked_at=now - timedelta(hours=3),
                                               revoked_reason=RevocationReason.SESSION_LIMIT),
        "globex_revoked_long_ago": SessionFactory(user=bob, created_at=now - timedelta(days=5),
                                                  revoked_at=days_ago, revoked_reason=RevocationReason.SIGNED_OUT),
    }


def summary_of(client: Any, query: str = "") -> Any:
    response = client.get(f"{INDEX}?{query}")
    assert response.status_code == 200
    return response.context["summary"], response


def listed_count(client: Any, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return len(response.context["cl"].result_list)


def test_figures_across_tenants(root, fleet):
    client, _ = root
    summary, response = summary_of(client)
    assert summary.active == 4  # both desktops, the phone, the tablet; Acme's idle one is expired
    assert summary.active_by_device_type == {"desktop": 2, "mobile": 1, "tablet": 1}
    assert summary.top_countries == [("US", 2), (None, 1), ("GB", 1)] or summary.top_countries == [
        ("US", 2), ("GB", 1), (None, 1)]
    assert summary.started_recently == 4  # the US desktop, the phone, the tablet, the one the limit revoked
    assert summary.revoked_recently == 2
    assert summary.revoked_recently_by_reason == {"revoked_by_admin": 1, "session_limit": 1}
    html = response.content.decode()
    assert 'id="hj-dashboard"' in html and "Active now" in html and "Session Limit: " in html


def test_every_figure_links_to_a_changelist_listing_exactly_those_rows(root, fleet):
    client, _ = root
    _, response = summary_of(client)
    context = response.context
    assert listed_count(client, context["active_link"]) == 4
    assert listed_count(client, context["started_link"]) == 4
    assert listed_count(client, context["revoked_link"]) == 2
    for _label, count, url in [*context["device_types"], *context["countries"], *context["reasons"]]:
        assert listed_count(client, url) == count, url


def test_one_tenant(root, fleet, tenant, other_tenant):
    client, _ = root
    acme, response = summary_of(client, f"tenant={tenant.id}")
    assert (acme.active, acme.started_recently, acme.revoked_recently) == (2, 2, 1)
    assert acme.active_by_device_type == {"desktop": 1, "mobile": 1}
    assert listed_count(client, response.context["active_link"]) == 2
    globex, _ = summary_of(client, f"tenant={other_tenant.id}")
    assert (globex.active, globex.started_recently, globex.revoked_recently) == (2, 2, 1)
    everyone, _ = summary_of(client, "tenant=tnt_nosuchtenant")
    assert everyone.active == 4 and everyone.tenant_id is None


def test_revoking_in_the_admin_changes_the_dashboard(root, fleet):
    client, operator = root
    before, _ = summary_of(client)
    action(client, CHANGELIST, "revoke_selected", [fleet["acme_phone_gb"].pk])
    after, _ = summary_of(client)
    assert after.active == before.active - 1
    assert after.active_by_device_type == {"desktop": 2, "tablet": 1}
    assert after.revoked_recently_by_reason == {"revoked_by_admin": 2, "session_limit": 1}
    assert Session.objects.get(pk=fleet["acme_phone_gb"].pk).revoked_by_id == operator.pk


def test_the_index_costs_a_fixed_number_of_queries(root, tenant):
    client, _ = root
    user = UserFactory(tenant=tenant.tenant)
    SessionFactory(user=user)
    with CaptureQueriesContext(connection) as few:
        client.get(INDEX)
    Session.objects.bulk_create([SessionFactory.build(user=user, tenant=tenant.tenant) for _ in range(500)])
    with CaptureQueriesContext(connection) as many:
        client.get(INDEX)
    assert len(many) == len(few) <= 13  # the figures, and one aggregate query per time chart


def test_no_dashboard_without_view_permission_on_sessions(tenant):
    client, _ = staff_client("tenant-viewer", ("tenants_app.view_tenant",))
    response = client.get(INDEX)
    assert response.status_code == 200
    assert response.context["summary"] is None
    assert 'id="hj-dashboard"' not in response.content.decode()
