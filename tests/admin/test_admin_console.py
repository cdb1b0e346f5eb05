"""The console's charts, date filters, CSV export, confirmations with their history, and search by "alice@"."""

import csv
import io
import time
import tracemalloc
from datetime import timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.admin.flags import ANY, FlagFilter
from sessions_app.models import DeviceType, RevocationReason, Session
from tenants_app.models import User
from tests.admin_helpers import action
from tests.factories import SessionFactory, UserFactory

INDEX = "/admin/"
CHANGELIST = "/admin/sessions_app/session/"
EXPORT = "/admin/sessions_app/session/export.csv"
USERS = "/admin/tenants_app/user/"

pytestmark = pytest.mark.django_db


def bulk_sessions(user: User, n: int, *, now: Any) -> None:
    """`n` sessions spread over 40 days, a tenth revoked: rows built directly, inserted in batches."""
    rows = []
    for i in range(n):
        created = now - timedelta(minutes=(i * 37) % (40 * 24 * 60))
        revoked = created + timedelta(minutes=5) if i % 10 == 0 else None
        rows.append(Session(
            tenant_id=user.tenant_id, user=user, ip_address="8.8.8.8", country=("US", "GB", None)[i % 3],
            device_type=(DeviceType.DESKTOP, DeviceType.MOBILE)[i % 2], browser="Chrome 120", os="macOS 10.15",
            created_at=created, last_active_at=created, expires_at=created + timedelta(days=30),
            revoked_at=revoked, revoked_reason=RevocationReason.SIGNED_OUT if revoked else None))
    Session.objects.bulk_create(rows, batch_size=2000)


def chart(response: Any, chart_id: str) -> Any:
    return next(c for c in response.context["charts"] if c.id == chart_id)


# --- Charts ----------------------------------------------------------------------------------------


def test_charts_count_per_bucket_and_every_bar_lists_what_it_counts(root, tenant, other_tenant):
    client, _ = root
    now = timezone.now()
    alice, bob = UserFactory(tenant=tenant.tenant), UserFactory(tenant=other_tenant.tenant)
    two_hours_ago = now - timedelta(hours=2)
    SessionFactory.create_batch(3, user=alice, created_at=two_hours_ago)
    SessionFactory(user=bob, created_at=two_hours_ago)
    SessionFactory(user=alice, created_at=now - timedelta(hours=30))  # outside the last 24 hours
    SessionFactory(user=alice, created_at=two_hours_ago, revoked_at=now - timedelta(minutes=30),
                   revoked_reason=RevocationReason.REVOKED_BY_ADMIN)

    response = client.get(INDEX)
    assert response.status_code == 200
    sign_ins = chart(response, "sign-ins")
    assert sum(c for row in sign_ins.rows for c, _ in row.cells) == 5
    assert len(sign_ins.rows) == 24
    busiest = max(sign_ins.segments, key=lambda s: s.height)
    assert busiest.label.startswith("5 from ")
    assert len(client.get(busiest.url).context["cl"].result_list) == 5  # the bar's link lists its 5
    revocations = chart(response, "revocations")
    [segment] = revocations.segments
    assert segment.label.startswith(f"{RevocationReason.REVOKED_BY_ADMIN.label}: 1 from ")
    assert [s.pk for s in client.get(segment.url).context["cl"].result_list] == list(
        Session.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True))
    html = response.content.decode()
    start = html.index('id="hj-dashboard"')
    dashboard = html[start:html.index('<div id="content-related"', start)]  # up to the recent actions
    assert dashboard.count("<svg viewBox") == 5 and dashboard.count("as a table") == 5
    assert "<script" not in dashboard and " on" not in dashboard.replace(" one", "")  # no script, no handler

    one = client.get(f"{INDEX}?tenant={other_tenant.id}&span=30d")
    monthly = chart(one, "sign-ins")
    assert len(monthly.rows) == 30
    assert sum(c for row in monthly.rows for c, _ in row.cells) == 1  # bob's only
    [bar] = monthly.segments
    assert len(client.get(bar.url).context["cl"].result_list) == 1


def test_the_flagged_chart_counts_flagged_starts_and_its_bars_list_exactly_them(root, tenant):
    client, _ = root
    now = timezone.now()
    alice = UserFactory(tenant=tenant.tenant)
    two_hours_ago, five_hours_ago = now - timedelta(hours=2), now - timedelta(hours=5)
    flagged = [SessionFactory(user=alice, created_at=two_hours_ago, flags={"new_country": {"country": "JP"}}),
               SessionFactory(user=alice, created_at=two_hours_ago,
                              flags={"burst": {"count": 5, "minutes": 10}, "new_device": {}})]
    earlier = SessionFactory(user=alice, created_at=five_hours_ago, flags={"new_device": {}})
    SessionFactory(user=alice, created_at=two_hours_ago)  # not flagged: counted nowhere in this chart
    SessionFactory(user=alice, created_at=now - timedelta(hours=30), flags={"new_device": {}})  # too old

    response = client.get(INDEX)
    flagged_chart = chart(response, "flagged")
    assert sum(c for row in flagged_chart.rows for c, _ in row.cells) == 3
    bars = sorted(flagged_chart.segments, key=lambda s: s.height)
    assert [s.label.split(" from ")[0] for s in bars] == ["1", "2"]

    def listed(url: str) -> set[str]:
        assert f"{FlagFilter.parameter_name}={ANY}" in url  # the sessions list's own risk flag filter
        return {s.pk for s in client.get(url).context["cl"].result_list}

    assert listed(bars[1].url) == {s.pk for s in flagged}
    assert listed(bars[0].url) == {earlier.pk}


def test_chart_queries_stay_constant_from_100_to_100000_sessions(root, tenant):
    client, _ = root
    user = UserFactory(tenant=tenant.tenant)
    now = timezone.now()
    bulk_sessions(user, 100, now=now)
    counts = {}
    for span in ("24h", "30d"):
        with CaptureQueriesContext(connection) as few:
            assert client.get(f"{INDEX}?span={span}").status_code == 200
        counts[span] = len(few)
    started = time.monotonic()
    bulk_sessions(user, 99_900, now=now)
    assert Session.objects.count() == 100_000
    for span in ("24h", "30d"):
        with CaptureQueriesContext(connection) as many:
            response = client.get(f"{INDEX}?span={span}")
        assert len(many) == counts[span] <= 14
        rows = chart(response, "sign-ins").rows
        assert sum(c for row in rows for c, _ in row.cells) > 0
    assert time.monotonic() - started < 240  # time-boxed: inserting and charting 100,000 rows


# --- Date filters and export ---------------------------------------------------------------------


def test_created_and_last_active_date_ranges_filter_the_list(root, user):
    client, _ = root
    now = timezone.now()
    old = SessionFactory(user=user, created_at=now - timedelta(days=10), last_active_at=now - timedelta(days=1))
    new = SessionFactory(user=user, created_at=now - timedelta(hours=1))
    since = quote_plus((now - timedelta(days=2)).isoformat())

    def listed(query: str) -> set[str]:
        response = client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200
        return {s.pk for s in response.context["cl"].result_list}

    assert listed(f"created_at__gte={since}") == {new.pk}
    assert listed(f"created_at__lt={since}") == {old.pk}
    assert listed(f"last_active_at__gte={since}") == {old.pk, new.pk}
    assert listed("last_active_at__gte=2000-01-01T00:00:00Z&last_active_at__lt=2000-01-02T00:00:00Z") == set()
    html = client.get(CHANGELIST).content.decode()
    assert "By created at" in html and "By last active at" in html and "Past 7 days" in html


def test_csv_export_lists_exactly_the_filtered_rows(root, user, other_tenant):
    client, _ = root
    kept = SessionFactory(user=user, country="GB", ip_address="81.2.69.142")
    SessionFactory(user=user, country="US")
    SessionFactory(user=UserFactory(tenant=other_tenant.tenant, email="=cmd@example.com"), country="GB")
    response = client.get(f"{EXPORT}?country=GB&tenant__id__exact={user.tenant_id}")
    assert response.status_code == 200
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "tenant", "user", "email"]
    assert [(r[0], r[7], r[8]) for r in rows[1:]] == [(kept.pk, "GB", "81.2.69.142")]
    everyone = list(csv.reader(io.StringIO(b"".join(client.get(f"{EXPORT}?country=GB").streaming_content).decode())))
    assert "'=cmd@example.com" in {r[3] for r in everyone}  # no formula reaches a spreadsheet
    assert client.get(f"{EXPORT}?nosuchfield=1").status_code == 400
    listing = client.get(f"{CHANGELIST}?country=GB").content.decode()
    assert f'href="{EXPORT}?country=GB"' in listing


def test_csv_export_of_100000_sessions_streams_in_bounded_memory(root, user):
    client, _ = root
    bulk_sessions(user, 100_000, now=timezone.now())
    tracemalloc.start()
    try:
        response = client.get(EXPORT)
        lines = size = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == 100_001
    assert size > 10_000_000  # the export is far bigger than the memory it took
    assert peak < 8_000_000, peak


# --- Confirmation and history --------------------------------------------------------------------


def test_revoking_three_sessions_asks_first_then_leaves_history(root, user):
    client, operator = root
    three = SessionFactory.create_batch(3, user=user)
    already = SessionFactory(user=user, revoked_at=timezone.now(), revoked_reason=RevocationReason.SIGNED_OUT)
    ids = [s.pk for s in [*three, already]]

    page = action(client, CHANGELIST, "revoke_selected", ids, confirm=False)
    assert page.status_code == 200
    html = page.content.decode()
    assert "3 active sessions will end." in html and 'name="post" value="yes"' in html
    assert Session.objects.filter(revoked_at__isnull=True).count() == 3  # nothing ended yet
    assert LogEntry.objects.count() == 0

    done = action(client, CHANGELIST, "revoke_selected", ids, follow=True)
    assert [str(m) for m in done.context["messages"]] == ["Revoked 3 session(s)."]
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Session))
    assert sorted(e.object_id for e in entries) == sorted(s.pk for s in three)
    assert {(e.user_id, e.action_flag, e.change_message) for e in entries} == {
        (operator.pk, CHANGE, "Revoked by an operator from the console.")}
    history = client.get(f"{CHANGELIST}{quote(three[0].pk)}/history/").content.decode()
    assert "Revoked by an operator from the console." in history and "root" in history


def test_the_detail_pages_revoke_link_confirms_then_logs(root, user):
    client, operator = root
    session = SessionFactory(user=user)
    url = f"{CHANGELIST}{quote(session.pk)}/revoke/"
    assert f'href="{url}"' in client.get(f"{CHANGELIST}{quote(session.pk)}/change/").content.decode()
    confirm = client.get(url)
    assert "1 active session will end." in confirm.content.decode()
    assert Session.objects.get(pk=session.pk).revoked_at is None
    client.post(url, {"post": "yes"})
    assert Session.objects.get(pk=session.pk).revoked_reason == RevocationReason.REVOKED_BY_ADMIN
    assert LogEntry.objects.get(object_id=session.pk).user_id == operator.pk


def test_signing_a_user_out_everywhere_confirms_the_count_and_logs_on_the_user(root, user):
    client, operator = root
    SessionFactory.create_batch(2, user=user)
    page = action(client, USERS, "sign_out_everywhere", [user.pk], confirm=False)
    assert "2 active sessions will end." in page.content.decode()
    assert Session.objects.filter(revoked_at__isnull=True).count() == 2
    action(client, USERS, "sign_out_everywhere", [user.pk])
    assert Session.objects.filter(revoked_at__isnull=True).count() == 0
    entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(User))
    assert (entry.object_id, entry.user_id, entry.change_message) == (
        user.pk, operator.pk, "Signed out of all devices: 2 session(s) revoked.")


# --- Search ---------------------------------------------------------------------------------------


def test_search_by_email_prefix_with_at_by_session_id_and_by_ip(root, tenant):
    client, _ = root
    alice = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    alice_org = UserFactory(tenant=tenant.tenant, email="alice@example.org")
    UserFactory(tenant=tenant.tenant, email="alicia@example.com")
    first, second = SessionFactory(user=alice, ip_address="2001:db8::1"), SessionFactory(user=alice_org)

    def users(q: str) -> set[str]:
        return {u.pk for u in client.get(f"{USERS}?q={q}").context["cl"].result_list}

    def sessions(q: str) -> set[str]:
        return {s.pk for s in client.get(f"{CHANGELIST}?q={q}").context["cl"].result_list}

    assert users("alice@") == {alice.pk, alice_org.pk}
    assert users("ALICE@example.c") == {alice.pk}
    assert sessions("alice@") == {first.pk, second.pk}
    assert sessions(first.pk) == {first.pk}
    assert sessions("2001:db8::1") == {first.pk}


# --- Event history ----------------------------------------------------------------------------------

def test_session_and_user_pages_have_an_event_history_field(root, user):
    client, _ = root
    session = SessionFactory(user=user)
    for url in (f"{CHANGELIST}{quote(session.pk)}/change/", f"{USERS}{quote(user.pk)}/change/"):
        html = client.get(url).content.decode()
        assert "event history" in html.lower()
        # Read from the event log; rows made by the factories, not the services, have no events.
        assert "<p>No events.</p>" in html and '<table class="hj-events">' not in html


def test_event_history_names_each_actor(root, user):
    client, operator = root
    session = SessionFactory(user=user)
    client.post(f"{CHANGELIST}{quote(session.pk)}/revoke/", {"post": "yes"})
    html = client.get(f"{CHANGELIST}{quote(session.pk)}/change/").content.decode()
    assert f'<td>session.revoked</td><td>Operator <span class="hj-id">{operator.username}</span></td>' in html
