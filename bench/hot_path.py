"""Section 1: the per-request cost of an access check, against the ceiling and the peer, warm and cold.

Six requests in one process on one database (the ceiling, simplejwt's two classes, HelloJohn's
check on the bare view, `GET /v1/auth/me`, and `POST /v1/sessions/verify` with the tenant's secret
key), run in interleaved batches: every round runs each once, in a rotating order, so that drift in
machine speed hits all of them alike. Ratios are taken within a round, then the median over rounds
is reported.

On PostgreSQL this runs twice: **warm** (the change feed's listener holds a lease, so checks are
answered from memory), then **cold** (the listener stopped: no lease, so every check reads the
database, as when the listener is down), again interleaved with the ceiling and simplejwt. SQLite
never answers from memory, so it has only the one phase, which is its warm and its cold. Where
pg_stat_statements is loaded, the statements PostgreSQL executed are counted around every batch
(bench/server_statements.py) and reported per 1,000 requests.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken as PeerAccessToken

from bench import server_statements
from bench.fixtures import make_tenant, signed_in_user
from bench.measure import median, queries_of
from bench.wsgi_client import Reply, WsgiClient
from hellojohn_project import change_feed

# The rows the cold phase repeats: HelloJohn's three, and the two they are divided by.
COLD = ("ceiling", "simplejwt_stateless", "hellojohn_auth", "hellojohn_me", "hellojohn_verify")


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    path: str
    client: WsgiClient
    body: dict[str, Any] | None = None  # a POST's JSON body; None for a GET

    @property
    def call(self) -> Callable[[], Reply]:
        if self.body is None:
            return lambda: self.client.get(self.path)
        return lambda: self.client.post(self.path, self.body)


def _variants() -> list[Variant]:
    tenant = make_tenant("Bench hot path")
    _, issued = signed_in_user(tenant, "hot-path@example.com")
    hj = WsgiClient(bearer=issued.access_token.token, tenant_id=tenant.tenant.id)
    backend = WsgiClient(bearer=tenant.secret_key, tenant_id=tenant.tenant.id)
    # simplejwt authenticates Django's own users (AUTH_USER_MODEL), so its peer gets one.
    peer_user = get_user_model().objects.create_user(username="bench-peer", password=None)
    peer = WsgiClient(bearer=str(PeerAccessToken.for_user(peer_user)))
    return [
        Variant("ceiling", "ceiling: bare DRF view, no auth, no query", "/bench/ceiling", WsgiClient()),
        Variant("simplejwt_stateless", "simplejwt JWTStatelessUserAuthentication (HS256, no query)",
                "/bench/simplejwt-stateless/me", peer),
        Variant("simplejwt", "simplejwt JWTAuthentication (HS256, loads auth.User)", "/bench/simplejwt/me", peer),
        Variant("hellojohn_auth", "HelloJohn access-token check on the bare view", "/bench/hellojohn/me", hj),
        Variant("hellojohn_me", "HelloJohn GET /v1/auth/me (check + user and session rendered)", "/v1/auth/me", hj),
        Variant("hellojohn_verify", "HelloJohn POST /v1/sessions/verify (secret key + the token's check)",
                "/v1/sessions/verify", backend, body={"token": issued.access_token.token}),
    ]


def _warm() -> bool:
    """On PostgreSQL, waits for the change feed's lease (the first check starts the listener): the
    measured checks are the warm ones, answered from memory. Answers whether memory answers."""
    if not change_feed.enabled():
        return False
    change_feed.lease_held()
    deadline = time.monotonic() + 10
    while not change_feed.lease_held():
        if time.monotonic() > deadline:
            raise RuntimeError("the change feed's listener took no lease")
        time.sleep(0.01)
    return True


def _first_calls(variants: list[Variant]) -> dict[str, dict[str, Any]]:
    """One call each (fills the caches when warm), then the queries of the next one."""
    shape = {}
    for variant in variants:
        reply = variant.call()
        if reply.status != 200 or (variant.body is not None and not reply.json()["valid"]):
            raise RuntimeError(f"{variant.path} answered {reply.status}: {reply.body[:200]!r}")
        queries = queries_of(variant.call)
        shape[variant.key] = {"label": variant.label, "path": variant.path, "queries": queries.total,
                              "writes": queries.writes}
    return shape


def _phase(variants: list[Variant], *, rounds: int, batch: int, count: bool) -> dict[str, Any]:
    """Interleaved rounds; rates and ratios per variant, and the server's statements when `count`."""
    shape = _first_calls(variants)
    rates: dict[str, list[float]] = {v.key: [] for v in variants}
    statements = {v.key: [0, 0, 0, 0, 0] for v in variants}
    elapsed = dict.fromkeys(rates, 0.0)
    for round_no in range(rounds):
        shift = round_no % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            call = variant.call
            if count:
                server_statements.reset()
            start = time.perf_counter()
            for _ in range(batch):
                call()
            seconds = time.perf_counter() - start
            rates[variant.key].append(batch / seconds)
            elapsed[variant.key] += seconds
            if count:
                counted = server_statements.read()
                for index, value in enumerate((counted.ours, counted.transaction_control, counted.foreign_key_checks,
                                               counted.health_checks, counted.others)):
                    statements[variant.key][index] += value
    ceiling, peer = rates["ceiling"], rates["simplejwt_stateless"]

    def ratio(key: str, den: list[float]) -> float:
        return round(median([a / b for a, b in zip(rates[key], den, strict=True)]), 3)

    requests = rounds * batch
    found: dict[str, Any] = {}
    for variant in variants:
        found[variant.key] = {
            **shape[variant.key],
            "requests_per_second": round(median(rates[variant.key])),
            "microseconds_per_request": round(1e6 / median(rates[variant.key])),
            "share_of_ceiling": ratio(variant.key, ceiling),
            "vs_simplejwt_stateless": ratio(variant.key, peer),
        }
        if "simplejwt" in rates:
            found[variant.key]["vs_simplejwt"] = ratio(variant.key, rates["simplejwt"])
        if count:
            ours, control, foreign_keys, health, listener = statements[variant.key]
            found[variant.key]["statements_per_1000"] = round(ours * 1000 / requests, 1)
            found[variant.key]["transaction_control_per_1000"] = round(control * 1000 / requests, 1)
            found[variant.key]["foreign_key_checks_per_1000"] = round(foreign_keys * 1000 / requests, 1)
            found[variant.key]["health_checks_per_1000"] = round(health * 1000 / requests, 1)
            found[variant.key]["listener_statements_per_1000"] = round(listener * 1000 / requests, 1)
            found[variant.key]["listener_statements_per_second"] = round(listener / elapsed[variant.key], 1)
    return found


def run(*, rounds: int, batch: int) -> dict[str, Any]:
    variants = _variants()
    from_memory = _warm()
    count = server_statements.available()
    warm = _phase(variants, rounds=rounds, batch=batch, count=count)
    results: dict[str, Any] = {"rounds": rounds, "batch": batch, "from_memory": from_memory,
                               "server_statements": count, "variants": warm}
    results["ratios"] = {
        f"{short}_vs_{peer}": warm[key][f"vs_{peer}"]
        for short, key in (("me", "hellojohn_me"), ("auth", "hellojohn_auth"), ("verify", "hellojohn_verify"))
        for peer in ("simplejwt_stateless", "simplejwt")
    }
    if from_memory:
        # Half batches: a cold check is several times slower, and the ratios are taken within a round anyway.
        results["cold"] = _cold([v for v in variants if v.key in COLD], rounds=rounds, batch=batch // 2, count=count)
        results["cold"]["batch"] = batch // 2
    return results


def _cold(variants: list[Variant], *, rounds: int, batch: int, count: bool) -> dict[str, Any]:
    """The same checks with the listener stopped: no lease, so every check queries (failing closed)."""
    change_feed.stop()
    if change_feed.lease_held():
        raise RuntimeError("the change feed still holds a lease after stop()")
    found = _phase(variants, rounds=rounds, batch=batch, count=count)
    # The sections after this one measure a process as production runs it: with its listener.
    change_feed.resume()
    _warm()
    return {"variants": found,
            "ratios": {f"{short}_vs_simplejwt_stateless": found[key]["vs_simplejwt_stateless"]
                       for short, key in (("me", "hellojohn_me"), ("auth", "hellojohn_auth"),
                                          ("verify", "hellojohn_verify"))}}
