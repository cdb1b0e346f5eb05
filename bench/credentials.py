"""Section 4: refresh-token rotations per second (and, on PostgreSQL, the statements the server
executed per rotation), and sign-ins per second with Argon2's share.

Both through the whole stack with the tenant's publishable key. The password check is also timed
on its own, with the production hasher (Django's Argon2 parameters), to tell how much of a
sign-in is the deliberate cost of hashing.
"""

import time
from typing import Any

from django.contrib.auth.hashers import check_password, get_hasher

from bench import server_statements
from bench.fixtures import PASSWORD, make_tenant, signed_in_user
from bench.hot_path import _warm
from bench.measure import median, queries_of, seconds_per_call
from bench.wsgi_client import WsgiClient


def refresh(*, rotations: int) -> dict[str, Any]:
    tenant = make_tenant("Bench refresh")
    _, issued = signed_in_user(tenant, "refresh@example.com")
    client = WsgiClient(bearer=tenant.publishable_key, tenant_id=tenant.tenant.id)
    token = issued.refresh_token

    def rotate() -> None:
        nonlocal token
        reply = client.post("/v1/auth/token/refresh", {"refresh_token": token})
        if reply.status != 200:
            raise RuntimeError(f"refresh answered {reply.status}: {reply.body[:200]!r}")
        token = reply.json()["session"]["refresh_token"]

    # Counted warm, as the access checks are (section 1): the lease held on PostgreSQL, the API key
    # and the signing key remembered, the key's last_used_at fresh.
    _warm()
    for _ in range(3):
        rotate()
    queries = queries_of(rotate)
    counting = server_statements.available()
    if counting:
        server_statements.reset()
    start = time.perf_counter()
    for _ in range(rotations):
        rotate()
    elapsed = time.perf_counter() - start
    found: dict[str, Any] = {"rotations": rotations, "per_second": round(rotations / elapsed, 1),
                             "ms_per_rotation": round(elapsed * 1000 / rotations, 2), "queries": queries.total,
                             "writes": queries.writes,
                             "rate_limit_queries": sum("hj_rate_counter" in sql for sql in queries.sql)}
    if counting:
        # What PostgreSQL executed for the timed rotations, counted by the server (bench/server_statements.py).
        counted = server_statements.read()
        found["statements_per_rotation"] = round(counted.ours / rotations, 2)
        found["transaction_control_per_rotation"] = round(counted.transaction_control / rotations, 2)
        found["foreign_key_checks_per_rotation"] = round(counted.foreign_key_checks / rotations, 2)
        found["health_checks_per_rotation"] = round(counted.health_checks / rotations, 2)
    return found


def sign_in(*, sign_ins: int) -> dict[str, Any]:
    tenant = make_tenant("Bench sign-in")
    user, _ = signed_in_user(tenant, "sign-in@example.com")
    client = WsgiClient(bearer=tenant.publishable_key, tenant_id=tenant.tenant.id)
    body = {"email": user.email, "password": PASSWORD}

    def sign_in_once() -> None:
        reply = client.post("/v1/auth/sign-in", body)
        if reply.status != 200:
            raise RuntimeError(f"sign-in answered {reply.status}: {reply.body[:200]!r}")

    queries = queries_of(sign_in_once)
    # Alternated, so that a busy moment on the machine weighs on both series alike.
    sign_in_times, check_times = [], []
    for _ in range(sign_ins):
        sign_in_times += seconds_per_call(sign_in_once, 1)
        check_times += seconds_per_call(lambda: check_password(PASSWORD, user.password), 1)
    per_sign_in, per_check = median(sign_in_times), median(check_times)
    # The share from each sign-in and the check timed right after it: Argon2 runs eight lanes on
    # however many cores are free, so on a busy machine unpaired medians can even exceed 100%.
    share = median([check / whole for check, whole in zip(check_times, sign_in_times, strict=True)])
    hasher = get_hasher("default")
    return {
        "sign_ins": sign_ins, "per_second": round(1 / per_sign_in, 2), "ms_per_sign_in": round(per_sign_in * 1000, 1),
        "ms_per_password_check": round(per_check * 1000, 1),
        "password_share": round(share, 3),
        "hasher": {"algorithm": hasher.algorithm, "time_cost": hasher.time_cost,
                   "memory_cost_kib": hasher.memory_cost, "parallelism": hasher.parallelism},
        "queries": queries.total, "writes": queries.writes,
    }
