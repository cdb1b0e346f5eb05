"""PostgreSQL restarted under load (issue 14's faults): no revoked credential is ever accepted, and the
instances recover, back to answering from memory, without being restarted.

Two gunicorn instances on a cluster of the test's own. Client threads keep sending the warm tokens of
live sessions and the tokens of every session whose revocation has returned; a revoker revokes one
session at a time through the API, alternating instances, while the cluster is stopped and started
under them. A revocation that failed (503 while the database is down) revokes nothing and is not
counted; one that answered 204 must be refused by every instance from then on.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
from django.db import connection

from tests.deploy.test_database_outage import Cluster, cluster  # noqa: F401 (a fixture)
from tests.live_app import gunicorn, post_json, production_env, request, set_up_database

pytestmark = [pytest.mark.postgres]

PASSWORD = "correct horse battery staple"
SESSIONS = 24


def me(base: str, token: str, tenant_id: str) -> int:
    try:
        return request("GET", f"{base}/v1/auth/me", headers={"Authorization": f"Bearer {token}",
                                                             "X-Tenant-ID": tenant_id})[0]
    except OSError:
        return 0  # the instance is busy reconnecting: no answer is no acceptance


def live_listeners(cluster: Cluster) -> int:  # noqa: F811
    [(count,)] = cluster.query("SELECT count(*) FROM hellojohn_listener "
                               "WHERE read_at > clock_timestamp() - interval '1 s'")
    return count


def test_postgresql_restarted_under_load_never_accepts_a_revoked_token(cluster: Cluster) -> None:  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("SQLite answers every check from the database")
    env = production_env(cluster.url, HJ_RATE_SIGN_IN_PER_IP="100000/min", HJ_RATE_SIGN_IN_PER_EMAIL="100000/min",
                         HJ_CACHE_LEASE="2")
    keys = set_up_database(env)
    tenant_id = keys["tenant_id"]
    device = {"Authorization": f"Bearer {keys['publishable_key']}", "X-Tenant-ID": tenant_id}
    backend = {"Authorization": f"Bearer {keys['secret_key']}", "X-Tenant-ID": tenant_id}
    with ExitStack() as stack:
        bases = [stack.enter_context(gunicorn(env, workers=1, threads=2)) for _ in range(2)]
        with ThreadPoolExecutor(4) as pool:
            signed_in = list(pool.map(lambda _: post_json(f"{bases[0]}/v1/auth/sign-in",
                                                          {"email": "alice@example.com", "password": PASSWORD},
                                                          device), range(SESSIONS)))
        assert {status for status, _, _ in signed_in} == {200}, signed_in[:1]
        sessions = [(body["session"]["id"], body["session"]["access_token"]) for _, _, body in signed_in]
        for _, token in sessions:
            assert [me(base, token, tenant_id) for base in bases] == [200, 200]

        revoked: list[str] = []  # tokens whose revocation returned 204
        accepted: list[tuple[str, str, int]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def load(worker: int) -> None:
            n = 0
            while not stop.is_set():
                with lock:
                    dead = list(revoked)
                base = bases[(n + worker) % len(bases)]
                for token in dead:
                    status = me(base, token, tenant_id)
                    if status == 200:
                        accepted.append((base, token[-12:], status))
                live = sessions[-1 - (n % 4)][1]  # the last four sessions are never revoked
                me(base, live, tenant_id)
                n += 1

        def revoke(index: int) -> bool:
            session_id, token = sessions[index]
            try:
                status = request("DELETE", f"{bases[index % 2]}/v1/sessions/{session_id}", headers=backend)[0]
            except OSError:
                return False
            if status == 204:
                with lock:
                    revoked.append(token)
                # At once, on every instance, from this thread too.
                for base in bases:
                    if me(base, token, tenant_id) == 200:
                        accepted.append((base, token[-12:], 200))
            return status == 204

        threads = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(3)]
        for thread in threads:
            thread.start()
        outcomes = []
        try:
            for index in range(SESSIONS - 4):
                if index == 6:
                    cluster.stop()
                if index == 9:
                    cluster.start()
                if index == 14:  # a fast restart while revocations and checks run
                    cluster.restart()
                outcomes.append(revoke(index))
                time.sleep(0.2)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)

        assert accepted == []
        assert sum(outcomes) >= 12, outcomes  # most revocations were made while the database was up
        # Every revocation that answered 204 is in the database; the rest changed nothing.
        rows = dict(cluster.query("SELECT id, revoked_at IS NOT NULL FROM sessions_app_session"))
        assert [rows[sessions[i][0]] for i in range(SESSIONS - 4)] == outcomes

        # Recovered without a restart: each instance's listener is back and holds its lease, and the
        # revoked tokens stay refused while the live ones are answered.
        deadline = time.monotonic() + 30
        while live_listeners(cluster) < len(bases):
            assert time.monotonic() < deadline, "the listeners did not come back after the restart"
            time.sleep(0.1)
        for token in (sessions[i][1] for i, done in enumerate(outcomes) if done):
            assert [me(base, token, tenant_id) for base in bases] == [401, 401]
        assert [me(base, sessions[-1][1], tenant_id) for base in bases] == [200, 200]
        answer = json.loads(request("GET", f"{bases[0]}/readyz")[2])
        assert answer["checks"]["listener"] == {"ok": True}
