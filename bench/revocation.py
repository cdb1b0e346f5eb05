"""Section 1c (PostgreSQL): revocation to refusal across processes, and what the revoking call costs.

Four gunicorn instances of the production settings (one gthread with four threads, three sync
workers: each its own process with its own listener and cache) on the bench's database. For each
revocation, a new session's access token is warmed in every instance (so each answers it from
memory), then the tenant's backend revokes the session through one instance
(`DELETE /v1/sessions/{id}`, round robin). Two revocations in three are *polled*: one client per
instance sends `GET /v1/auth/me` with the token in a loop from the start of the revoking call
until that instance refuses it, which measures revocation to refusal everywhere (from the start of
the call to the last instance's refusal received). The third is *quiet* (no other traffic),
which measures what the revoking call itself costs (its wait for every listener included). After
every revocation the token is sent to every instance once more. Any request sent after the revoking
call returned that was accepted is counted: it must never happen.

SQLite has no such section: it never answers a check from memory, so a revocation is refused on the
next request by construction.
"""

import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.db import connection

from bench.fixtures import BenchTenant, make_tenant
from sessions_app.device import DeviceInfo
from sessions_app.services import start_session
from tenants_app.models import User
from tests.live_app import gunicorn, production_env, request

INSTANCES = 4
# A poller gives up after this long (seconds): a token never refused is reported, not waited for.
GIVE_UP = 5.0


def _me(base: str, token: str, tenant_id: str) -> int:
    return request("GET", f"{base}/v1/auth/me", headers={"Authorization": f"Bearer {token}",
                                                         "X-Tenant-ID": tenant_id})[0]


def _wait_for_leases(count: int) -> None:
    """Each instance's listener starts with its first check; wait until `count` of them read the log."""
    deadline = time.monotonic() + 60
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT count(*) FROM hellojohn_listener WHERE read_at > clock_timestamp() - interval '1 s'")
            if cursor.fetchone()[0] >= count:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the instances' listeners never read the change log")
            time.sleep(0.05)


def _poll(base: str, token: str, tenant_id: str) -> list[tuple[float, float, int]]:
    """Polls until the token is refused; answers every poll as (sent, answered, status)."""
    polls = []
    give_up = time.perf_counter() + GIVE_UP
    while time.perf_counter() < give_up:
        sent = time.perf_counter()
        status = _me(base, token, tenant_id)
        polls.append((sent, time.perf_counter(), status))
        if status == 401:
            break
    return polls


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _summary(values_s: list[float]) -> dict[str, float]:
    return {"p50_ms": round(_percentile(values_s, 0.50) * 1000, 1),
            "p99_ms": round(_percentile(values_s, 0.99) * 1000, 1), "max_ms": round(max(values_s) * 1000, 1)}


def _new_token(tenant: BenchTenant, email: str) -> tuple[str, str]:
    """A new user's new session: its access token and the session's id."""
    user = User.objects.create(tenant=tenant.tenant, email=email, password="!")  # noqa: S106 - unusable
    issued = start_session(user=user, device=DeviceInfo(), alert=False)
    return issued.access_token.token, issued.session.id


def run(*, revocations: int) -> dict[str, Any]:
    tenant = make_tenant("Bench revocation")
    config = connection.settings_dict
    url = f"postgres://{config['USER']}@{config['HOST']}:{config['PORT']}/{config['NAME']}"
    # The tokens minted here carry this process's issuer: the instances must expect the same one.
    env = production_env(url, HJ_PUBLIC_URL=settings.HJ_PUBLIC_URL)
    tenant_id = tenant.tenant.id
    admin = {"Authorization": f"Bearer {tenant.secret_key}", "X-Tenant-ID": tenant_id}
    refusal, calls, quiet_calls, before_return = [], [], [], 0
    accepted_after_return: list[tuple[int, str]] = []
    never_refused: list[int] = []
    with ExitStack() as stack:
        bases = [stack.enter_context(gunicorn(env, workers=1, threads=4 if i == 0 else 1)) for i in range(INSTANCES)]
        pool = stack.enter_context(ThreadPoolExecutor(INSTANCES))
        # Each instance's listener starts with its first check: one each, then wait until all hold a lease.
        probe = _new_token(tenant, "revoke-probe@example.com")[0]
        list(pool.map(lambda base: _me(base, probe, tenant_id), bases))
        _wait_for_leases(INSTANCES)
        started = time.monotonic()
        for n in range(revocations):
            token, session_id = _new_token(tenant, f"revoke{n}@example.com")
            for _ in range(2):  # the first fills each instance's cache, the second is answered from it
                statuses = list(pool.map(lambda base, t=token: _me(base, t, tenant_id), bases))
                if statuses != [200] * INSTANCES:
                    raise RuntimeError(f"revocation {n}: warming answered {statuses}")
            polled = n % 3 != 2
            pollers = [pool.submit(_poll, base, token, tenant_id) for base in bases] if polled else []
            via = bases[n % INSTANCES]
            call_started = time.perf_counter()
            status = request("DELETE", f"{via}/v1/sessions/{session_id}", headers=admin)[0]
            returned = time.perf_counter()
            if status != 204:
                raise RuntimeError(f"revocation {n}: DELETE answered {status}")
            (calls if polled else quiet_calls).append(returned - call_started)
            if polled:
                polls = [poller.result() for poller in pollers]
                refused_at = []
                for base, series in zip(bases, polls, strict=True):
                    if any(sent >= returned and status != 401 for sent, _, status in series):
                        accepted_after_return.append((n, base))
                    if series and series[-1][2] == 401:
                        refused_at.append(series[-1][1])
                if len(refused_at) == INSTANCES:
                    refusal.append(max(refused_at) - call_started)
                    before_return += max(series[-1][0] for series in polls) < returned
                else:
                    never_refused.append(n)
            # And once more after the call, on every instance: each must refuse.
            after = list(pool.map(lambda base, t=token: _me(base, t, tenant_id), bases))
            accepted_after_return += [(n, base) for base, s in zip(bases, after, strict=True) if s != 401]
        seconds = time.monotonic() - started
    return {
        "instances": INSTANCES, "revocations": revocations, "polled": len(calls), "quiet": len(quiet_calls),
        "seconds": round(seconds, 1),
        "refusal_everywhere": _summary(refusal),
        "revoking_call_polled": _summary(calls),
        "revoking_call": _summary(quiet_calls),
        "refused_everywhere_before_the_call_returned": before_return,
        "accepted_after_the_call_returned": len(accepted_after_return),
        "never_refused": len(never_refused),
        "accepted_examples": [f"revocation {n} at {base}" for n, base in accepted_after_return[:5]],
    }
