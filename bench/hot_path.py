"""Section 1: the per-request cost of an access token, against the ceiling and the peer.

Five views in one process on one database, run in interleaved batches (every round runs each
view once, in a rotating order) so that drift in machine speed hits all of them alike. Ratios are
taken within a round, then the median over rounds is reported.
"""

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken as PeerAccessToken

from bench.fixtures import make_tenant, signed_in_user
from bench.measure import median, queries_of
from bench.wsgi_client import WsgiClient
from hellojohn_project import change_feed


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    path: str
    client: WsgiClient


def _variants() -> list[Variant]:
    tenant = make_tenant("Bench hot path")
    _, issued = signed_in_user(tenant, "hot-path@example.com")
    hj = WsgiClient(bearer=issued.access_token.token, tenant_id=tenant.tenant.id)
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


def run(*, rounds: int, batch: int) -> dict[str, Any]:
    variants = _variants()
    from_memory = _warm()
    shape: dict[str, dict[str, Any]] = {}
    for variant in variants:
        reply = variant.client.get(variant.path)
        if reply.status != 200:
            raise RuntimeError(f"{variant.path} answered {reply.status}: {reply.body[:200]!r}")
        queries = queries_of(lambda v=variant: v.client.get(v.path))
        shape[variant.key] = {"label": variant.label, "path": variant.path, "queries": queries.total,
                              "writes": queries.writes}
    per_round: dict[str, list[float]] = {v.key: [] for v in variants}
    for round_no in range(rounds):
        shift = round_no % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            get, path = variant.client.get, variant.path
            start = time.perf_counter()
            for _ in range(batch):
                get(path)
            per_round[variant.key].append(batch / (time.perf_counter() - start))
    ceiling = per_round["ceiling"]
    peer = per_round["simplejwt_stateless"]
    peer_loading = per_round["simplejwt"]
    results: dict[str, Any] = {"rounds": rounds, "batch": batch, "from_memory": from_memory, "variants": {}}
    for variant in variants:
        rates = per_round[variant.key]
        results["variants"][variant.key] = {
            **shape[variant.key],
            "requests_per_second": round(median(rates)),
            "microseconds_per_request": round(1e6 / median(rates)),
            "share_of_ceiling": round(median([r / c for r, c in zip(rates, ceiling, strict=True)]), 3),
        }
    results["ratios"] = {
        name: round(median([a / b for a, b in zip(per_round[num], den, strict=True)]), 3)
        for name, num, den in [
            ("me_vs_simplejwt_stateless", "hellojohn_me", peer),
            ("auth_vs_simplejwt_stateless", "hellojohn_auth", peer),
            ("me_vs_simplejwt", "hellojohn_me", peer_loading),
            ("auth_vs_simplejwt", "hellojohn_auth", peer_loading),
        ]
    }
    if from_memory:
        results["cold"] = _cold(variants, rounds=rounds, batch=batch)
    return results


def _cold(variants: list[Variant], *, rounds: int, batch: int) -> dict[str, Any]:
    """The same checks with the listener stopped: no lease, so every check queries (failing closed)."""
    change_feed.stop()
    chosen = {v.key: v for v in variants if v.key in ("simplejwt_stateless", "hellojohn_me", "hellojohn_auth")}
    rates: dict[str, list[float]] = {key: [] for key in chosen}
    for round_no in range(rounds):
        order = list(chosen.values())
        order = order[round_no % len(order):] + order[:round_no % len(order)]
        for variant in order:
            start = time.perf_counter()
            for _ in range(batch):
                variant.client.get(variant.path)
            rates[variant.key].append(batch / (time.perf_counter() - start))
    peer = rates["simplejwt_stateless"]

    def ratio(key: str) -> float:
        return round(median([a / b for a, b in zip(rates[key], peer, strict=True)]), 3)

    return {
        "queries": {key: queries_of(lambda v=v: v.client.get(v.path)).total for key, v in chosen.items()},
        "me_vs_simplejwt_stateless": ratio("hellojohn_me"),
        "auth_vs_simplejwt_stateless": ratio("hellojohn_auth"),
    }
