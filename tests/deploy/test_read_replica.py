"""The read replica on a real PostgreSQL streaming standby (hellojohn_project/db_router.py, docs/api.md "Read replica").

The standby follows the server `tests.pgcluster` started for the run (pg_basebackup, streaming through
a slot), and becomes the `replica` alias for this module only. Which server answered is proven two
ways: the queries each alias's connection ran, and what each read sees while the standby's replay is
paused (a write on the primary is then missing from the replica only). PostgreSQL runs only: skipped on
SQLite, and without tests.pgcluster's server (required under CI=true, where `make test-postgres` runs it).
"""

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from hellojohn_project import db_router, replica
from hellojohn_project.read_your_writes import PIN_COOKIE
from sessions_app.models import Session
from tenants_app.models import Tenant
from tenants_app.services import create_tenant
from tests.admin_helpers import action, superuser_client
from tests.conftest import client_with, user_client
from tests.pgcluster import Cluster, cluster_from_environment, pause_replay, replica_of, resume_replay, wait_for_replay

pytestmark = [pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, replica.ALIAS])]

CHANGELIST = "/admin/sessions_app/session/"


@pytest.fixture(scope="module", autouse=True)
def standby(django_db_setup: None) -> Iterator[Cluster]:
    """A streaming replica of the run's server, as the `replica` alias (a mirror for the test runner)."""
    if connection.vendor != "postgresql":
        pytest.skip("a streaming replica needs PostgreSQL")
    if "HJ_PGCLUSTER_PRIMARY" not in os.environ:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the replica tests need tests.pgcluster's server under CI=true")
        pytest.skip("the replica follows the server tests.pgcluster starts (python -m tests.pgcluster -- pytest …)")
    source = cluster_from_environment("HJ_PGCLUSTER_PRIMARY")
    default = connections[DEFAULT_DB_ALIAS].settings_dict
    previous = connections.settings.get(replica.ALIAS)
    with replica_of(source) as follower:
        # The test database's name, on the standby's port. MIRROR: the runner creates, flushes and
        # wraps nothing there (a standby is read-only); it receives all of it from the primary.
        connections.settings[replica.ALIAS] = {
            **default, "HOST": "127.0.0.1", "PORT": str(follower.port), "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {**default["OPTIONS"], "connect_timeout": 2}, "TEST": {**default["TEST"], "MIRROR": "default"}}
        try:
            yield follower
        finally:
            connections[replica.ALIAS].close()
            del connections[replica.ALIAS]
            if previous is None:
                del connections.settings[replica.ALIAS]
            else:
                connections.settings[replica.ALIAS] = previous


@pytest.fixture
def primary() -> Cluster:
    return cluster_from_environment("HJ_PGCLUSTER_PRIMARY")


@pytest.fixture(autouse=True)
def _replica_in_use(standby: Cluster, settings: Any) -> None:
    """Short back-off, no lag limit (a paused replay is "behind"); waits out a previous test's back-off."""
    settings.HJ_REPLICA_RETRY_SECONDS = 0.5
    settings.HJ_REPLICA_MAX_LAG_SECONDS = 0
    deadline = time.monotonic() + 10
    while not replica.usable():
        assert time.monotonic() < deadline, "the replica did not become usable"
        time.sleep(0.1)


@contextmanager
def replica_queries() -> Iterator[list[dict[str, Any]]]:
    """The statements the replica's connection ran inside the block (the list is filled when it ends)."""
    statements: list[dict[str, Any]] = []
    with CaptureQueriesContext(connections[replica.ALIAS]) as captured:
        yield statements
    statements.extend(captured.captured_queries)


@contextmanager
def replay_paused(standby: Cluster, primary: Cluster) -> Iterator[None]:
    """Everything written so far is on the replica; what the block writes on the primary is not, until it ends."""
    wait_for_replay(primary, standby)
    pause_replay(standby)
    try:
        yield
    finally:
        resume_replay(standby)
    wait_for_replay(primary, standby)


def event_types(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [event["type"] for event in response.json()["data"]]


def session_ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {session["id"] for session in response.json()["data"]}


def admin_listed(client: Any, query: str = "status=active") -> set[str]:
    response = client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200, response.content[:500]
    return {session.pk for session in response.context["cl"].result_list}


@pytest.fixture
def backend(tenant: Any) -> Any:
    """The tenant's backend, its key's last_used_at already written (a write pins its request to the primary)."""
    client = client_with(tenant.secret_key, tenant.id)
    assert client.get("/v1/events").status_code == 200
    return client


def test_lag_tolerant_reads_come_from_the_replica_and_everything_else_from_the_primary(
        standby: Cluster, primary: Cluster, tenant: Any, user: Any, sign_in: Callable[..., Any], backend: Any) -> None:
    phone, laptop = sign_in(), sign_in()
    phone_id, laptop_id = phone["session"]["id"], laptop["session"]["id"]
    public = client_with(tenant.publishable_key, tenant.id)
    with replay_paused(standby, primary):
        assert backend.delete(f"/v1/sessions/{phone_id}").status_code == 204

        with replica_queries() as on_replica:
            events = event_types(backend.get("/v1/events"))
            listing = session_ids(backend.get(f"/v1/sessions?user_id={user.pk}"))
            tenant_wide = session_ids(backend.get("/v1/sessions"))
        # The replica has not replayed the revocation: no event for it, the phone still listed as active.
        assert events.count("session.created") == 2 and "session.revoked" not in events
        assert listing == tenant_wide == {phone_id, laptop_id}
        assert on_replica and all(query["sql"].lstrip().upper().startswith("SELECT") for query in on_replica)

        with replica_queries() as on_replica:
            one = backend.get(f"/v1/sessions/{phone_id}")
            own = session_ids(user_client(laptop).get("/v1/sessions"))
            verify = backend.post("/v1/sessions/verify", {"token": phone["session"]["access_token"]}, format="json")
            refresh = public.post("/v1/auth/token/refresh", {"refresh_token": laptop["session"]["refresh_token"]},
                                  format="json")
            me = user_client(laptop).get("/v1/auth/me")
            refused = user_client(phone).get("/v1/auth/me")
            third = sign_in()
        # The access checks, verify, refresh, the user's own list and every write: the primary only.
        assert on_replica == []
        assert one.status_code == 200 and one.json()["status"] == "revoked"
        assert own == {laptop_id}
        assert verify.status_code == 200
        assert (verify.json()["valid"], verify.json()["reason"]) == (False, "session_revoked")
        assert refresh.status_code == 200 and me.status_code == 200
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "session_revoked"
        assert Session.objects.filter(pk=third["session"]["id"]).exists()

    # Replayed: the replica now answers with the revocation and the third sign-in.
    with replica_queries() as on_replica:
        events = event_types(backend.get("/v1/events?type=session.revoked"))
        listing = session_ids(backend.get(f"/v1/sessions?user_id={user.pk}"))
    assert events == ["session.revoked"]
    assert listing == {laptop_id, third["session"]["id"]}
    assert on_replica


def test_a_request_that_wrote_reads_from_the_primary(
        standby: Cluster, primary: Cluster, tenant: Any, user: Any, sign_in: Callable[..., Any], backend: Any,
        settings: Any) -> None:
    phone = sign_in()
    with replay_paused(standby, primary):
        assert backend.delete(f"/v1/sessions/{phone['session']['id']}").status_code == 204
        assert "session.revoked" not in event_types(backend.get("/v1/events"))  # from the replica

        # Now every secret-key request writes its key's last_used_at before the view runs.
        settings.HJ_KEY_USAGE_WRITE_INTERVAL = timedelta(0)
        with replica_queries() as on_replica:
            events = event_types(backend.get("/v1/events"))
        assert events[0] == "session.revoked"
        assert on_replica == []

        # Inside one lag-tolerant read: before its write the replica, after it the primary.
        end = db_router.start_request()
        try:
            def write_then_read() -> tuple[int, int]:
                before = Tenant.objects.count()
                create_tenant(name="Globex", slug="globex")
                return before, Tenant.objects.count()

            with replica_queries() as on_replica:
                before, after = db_router.lag_tolerant(write_then_read)()
        finally:
            end()
        assert (before, after) == (1, 2)
        assert "COUNT" in on_replica[0]["sql"].upper()  # the first count; the second, after the write, is not there
    assert Tenant.objects.count() == 2


def test_an_operator_reads_their_own_revocation_and_other_operators_may_lag(
        standby: Cluster, primary: Cluster, user: Any, sign_in: Callable[..., Any]) -> None:
    phone, laptop = sign_in()["session"]["id"], sign_in()["session"]["id"]
    root, _ = superuser_client("root")
    other, _ = superuser_client("other")
    wait_for_replay(primary, standby)
    with replica_queries() as on_replica:
        assert admin_listed(root) == {phone, laptop}
        dashboard = root.get("/admin/")
    assert dashboard.status_code == 200 and b"Sessions at" in dashboard.content
    assert on_replica  # the list and the dashboard's figures
    with replay_paused(standby, primary):
        revoked = action(root, f"{CHANGELIST}?status=active", "revoke_selected", [phone])
        assert revoked.status_code == 302
        pin = revoked.cookies[PIN_COOKIE]
        assert (pin["max-age"], pin["path"], pin["httponly"], pin["samesite"]) == (5, "/admin/", True, "Lax")

        # The operator who revoked: for 5 s every list reads from the primary, and shows it gone.
        with replica_queries() as on_replica:
            assert admin_listed(root) == {laptop}
        assert on_replica == []
        # Another operator reads the replica, which has not replayed it yet; so does a forged pin.
        assert admin_listed(other) == {phone, laptop}
        other.cookies[PIN_COOKIE] = "1"
        assert admin_listed(other) == {phone, laptop}
    assert admin_listed(other) == {laptop}
    assert Session.objects.get(pk=phone).revoked_reason == "revoked_by_admin"


def test_a_replica_that_stops_leaves_the_reads_to_the_primary_and_is_used_again_when_back(
        standby: Cluster, primary: Cluster, user: Any, sign_in: Callable[..., Any], backend: Any) -> None:
    phone = sign_in()["session"]["id"]
    root, _ = superuser_client()
    wait_for_replay(primary, standby)
    assert [family.name for family in replica.collect()][:1] == ["hj_replica_up"]
    standby.stop()
    try:
        # The open connection breaks mid-request, then the back-off, then a refused connection: all 200.
        for attempt in range(3):
            assert event_types(backend.get(f"/v1/events?session_id={phone}")) == ["session.created"]
            assert session_ids(backend.get(f"/v1/sessions?user_id={user.pk}")) == {phone}
            assert admin_listed(root) == {phone}
            assert root.get("/admin/").status_code == 200
            assert {family.name: family.samples[0].value for family in replica.collect()} == {"hj_replica_up": 0}
            if attempt == 1:
                time.sleep(0.6)  # past the back-off: the next read tries the replica again
    finally:
        standby.start()
    wait_for_replay(primary, standby)
    deadline = time.monotonic() + 10
    while True:
        with replica_queries() as on_replica:
            assert event_types(backend.get(f"/v1/events?session_id={phone}")) == ["session.created"]
        if on_replica:
            break
        assert time.monotonic() < deadline, "the replica was not used again"
        time.sleep(0.2)
    figures = {family.name: family.samples[0].value for family in replica.collect()}
    assert figures["hj_replica_up"] == 1 and figures["hj_replica_lag_bytes"] == 0


def test_a_replica_further_behind_than_the_limit_is_not_read(
        standby: Cluster, primary: Cluster, user: Any, sign_in: Callable[..., Any], backend: Any,
        settings: Any) -> None:
    settings.HJ_REPLICA_MAX_LAG_SECONDS = 0.5
    phone = sign_in()["session"]["id"]
    with replay_paused(standby, primary):
        assert backend.delete(f"/v1/sessions/{phone}").status_code == 204
        time.sleep(replica.LAG_CACHE_SECONDS + 0.2)  # the replica's own measure is now over the limit
        with replica_queries() as on_replica:
            events = event_types(backend.get("/v1/events"))
        assert events[0] == "session.revoked"  # from the primary
        assert len(on_replica) == 1 and "pg_last_wal_replay_lsn" in on_replica[0]["sql"]  # only the measure
        figures = {family.name: family.samples[0].value for family in replica.collect()}
        assert figures["hj_replica_lag_seconds"] > 0.5 and figures["hj_replica_lag_bytes"] > 0
    time.sleep(replica.LAG_CACHE_SECONDS + 0.1)
    with replica_queries() as on_replica:
        assert event_types(backend.get("/v1/events"))[0] == "session.revoked"
    assert len(on_replica) > 1


def test_the_router_sends_only_lag_tolerant_reads_outside_transactions_to_the_replica() -> None:
    router = db_router.ReplicaRouter()
    end = db_router.start_request()
    try:
        reads: list[str] = []

        def read() -> None:
            reads.append(router.db_for_read(Session))
            with transaction.atomic():
                reads.append(router.db_for_read(Session))
            reads.append(router.db_for_read(Session))
            reads.append(router.db_for_write(Session))
            reads.append(router.db_for_read(Session))

        assert router.db_for_read(Session) == DEFAULT_DB_ALIAS
        db_router.lag_tolerant(read)()
        assert reads == [replica.ALIAS, DEFAULT_DB_ALIAS, replica.ALIAS, DEFAULT_DB_ALIAS, DEFAULT_DB_ALIAS]
    finally:
        end()
    assert router.allow_migrate(replica.ALIAS, "sessions_app") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "sessions_app") is True
