"""Risk flags in the admin: the sessions list filters by flag, a session's page shows its flags,
and the dashboard counts the flagged sign-ins of the last 24 hours with a link to exactly them."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.admin_helpers import superuser_client
from tests.factories import SessionFactory, UserFactory

CHANGELIST = "/admin/sessions_app/session/"
pytestmark = pytest.mark.django_db

NEW_COUNTRY = {"new_country": {"country": "JP", "earlier": ["US"]}}
BURST = {"burst": {"sign_ins": 5, "minutes": 10}}


@pytest.fixture
def sessions(tenant: Any, other_tenant: Any) -> dict[str, Any]:
    alice, bob = UserFactory(tenant=tenant.tenant), UserFactory(tenant=other_tenant.tenant)
    old = timezone.now() - timedelta(days=3)
    return {
        "plain": SessionFactory(user=alice),
        "new_country": SessionFactory(user=alice, country="JP", flags=NEW_COUNTRY),
        "both": SessionFactory(user=bob, flags={**NEW_COUNTRY, **BURST}),
        "old_burst": SessionFactory(user=bob, created_at=old, flags=BURST),
    }


def listed(response: Any) -> set[str]:
    # The admin quotes "_" in ids as "_5F".
    found = re.findall(r'<a href="/admin/sessions_app/session/ses_5F([0-9A-Z]+)/change/', response.content.decode())
    return {f"ses_{rest}" for rest in found}


@pytest.mark.parametrize(("flag", "expected"), [
    ("any", {"new_country", "both", "old_burst"}),
    ("new_country", {"new_country", "both"}),
    ("burst", {"both", "old_burst"}),
    ("after_failures", set()),
    ("nonsense", {"plain", "new_country", "both", "old_burst"}),
])
def test_the_list_filters_by_flag(flag: str, expected: set[str], sessions: dict[str, Any]) -> None:
    client, _ = superuser_client()
    response = client.get(CHANGELIST, {"flag": flag})
    assert response.status_code == 200  # an unknown value filters nothing
    assert listed(response) == {sessions[name].id for name in expected}


def test_the_list_shows_flag_codes_and_the_filter(sessions: dict[str, Any]) -> None:
    client, _ = superuser_client()
    html = client.get(CHANGELIST).content.decode()
    assert "By risk flag" in html and "?flag=impossible_travel" in html
    # The codes sit in the status cell, under the badge (no extra column: the list fits 1,280 px), in the
    # canonical order whatever order the database keeps.
    assert re.search(r'<td class="field-status"><span class="hj-status[^>]*>Active</span><br>'
                     r'<span class="hj-flags">new_country, burst</span></td>', html)


def test_a_sessions_page_shows_its_flags_in_words(sessions: dict[str, Any]) -> None:
    client, _ = superuser_client()
    html = client.get(f"{CHANGELIST}{sessions['both'].id.replace('_', '_5F')}/change/").content.decode()
    assert "<strong>new_country</strong>: First sign-in from JP; earlier sessions were in US." in html
    assert "<strong>burst</strong>: 5 sign-ins in 10 minutes." in html
    assert html.index("new_country</strong>") < html.index("burst</strong>")  # the canonical order
    plain = client.get(f"{CHANGELIST}{sessions['plain'].id.replace('_', '_5F')}/change/").content.decode()
    assert "Risk" in plain and "new_country</strong>" not in plain


def test_the_dashboard_counts_flagged_sign_ins_of_the_last_day(sessions: dict[str, Any], tenant: Any) -> None:
    client, _ = superuser_client()
    html = client.get("/admin/").content.decode()
    link = re.search(r'<a id="hj-flagged" href="([^"]+)">(\d+)</a>', html)
    assert link is not None and link.group(2) == "2"
    listed_there = client.get(link.group(1).replace("&amp;", "&"))
    assert listed_there.status_code == 200
    assert listed(listed_there) == {sessions["new_country"].id, sessions["both"].id}
    one = client.get("/admin/", {"tenant": tenant.id}).content.decode()
    assert re.search(r'<a id="hj-flagged" href="[^"]+">(\d+)</a>', one).group(1) == "1"
