"""Risk flags of a new sign-in (docs/api.md, "Risk flags"): six advisory rules over recent history.

`assess_sign_in` runs in the sign-in's transaction, after the user's row is locked, with at most
three indexed queries whatever the history's size: one grouped read of the last 90 days of the
user's sign-ins, one of the countries of the active sessions, one count of failed sign-ins. The
result is stored on the session once and never recomputed. A user's first session is never flagged;
a session whose country is unknown skips the three location rules.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q

from sessions_app.device import DeviceInfo
from sessions_app.flags import FLAG_CODES, FlagCode, Flags
from sessions_app.geo import min_distance_km
from sessions_app.models import Session, active_q
from sessions_app.services.sign_in_failures import failures_since
from tenants_app.models import User

# --- Thresholds, each with its reason --------------------------------------------------------------

# How far back the rules look. Long enough to cover a quarterly trip or a device used monthly, short
# enough that a move or a replaced laptop stops counting as "home" within a season.
HISTORY = timedelta(days=90)
# A jet airliner cruises at 850-950 km/h; anything faster between two sign-ins is not one person
# travelling. Measured between the countries' nearest possible points, so neighbours never trigger it.
TRAVEL_SPEED_KMH = 1000
# Travellers and VPN users commonly hold sessions in two countries (home and abroad); a third at the
# same time is rare for one person and common for a shared or stolen account.
MANY_COUNTRIES = 3
# Five sign-ins in ten minutes is more than a person re-opening apps does, and what a script replaying
# a password does; the per-email rate limit (10/min) stops far more only later.
BURST_SIGN_INS = 5
BURST_WINDOW = timedelta(minutes=10)
# A person mistyping gives up or resets after two or three tries; five failures in a quarter hour
# followed by a success is how guessing or credential stuffing looks when it works.
FAILED_SIGN_INS = 5
FAILURE_WINDOW = timedelta(minutes=15)


_VERSION_SUFFIX = re.compile(r"\s+[\d.]+$")


def family(label: str) -> str:
    """"Chrome 120" -> "Chrome", "iOS 17.1" -> "iOS": updates do not make a device new."""
    return _VERSION_SUFFIX.sub("", label)


@dataclass(frozen=True)
class History:
    """What the rules need to know of the user's earlier sessions (created within HISTORY)."""

    countries: frozenset[str]
    devices: frozenset[tuple[str, str, str]]
    previous_country: str | None  # of the latest earlier sign-in with a known country
    previous_at: datetime | None
    recent_sign_ins: int  # earlier sign-ins within BURST_WINDOW
    active_countries: frozenset[str]
    recent_failures: int


def load_history(*, user: User, country: str | None, now: datetime, idle_timeout: int | None) -> History | None:
    """The user's history in at most three queries; None for a first session (nothing to compare with)."""
    groups = list(
        Session.objects.filter(user=user, created_at__gte=now - HISTORY, created_at__lte=now)
        .values("country", "device_type", "browser", "os")
        .annotate(last=Max("created_at"), recent=Count("pk", filter=Q(created_at__gt=now - BURST_WINDOW)))
        .order_by()
    )
    if not groups:
        return None
    located = [group for group in groups if group["country"]]
    previous = max(located, key=lambda group: group["last"]) if located else None
    active_countries: frozenset[str] = frozenset()
    if country is not None:
        active_countries = frozenset(
            Session.objects.filter(active_q(now=now, idle_timeout=idle_timeout), user=user, country__isnull=False)
            .values_list("country", flat=True).distinct().order_by()
        )
    return History(
        countries=frozenset(group["country"] for group in located),
        devices=frozenset((group["device_type"], family(group["browser"]), family(group["os"])) for group in groups),
        previous_country=previous["country"] if previous else None,
        previous_at=previous["last"] if previous else None,
        recent_sign_ins=sum(group["recent"] for group in groups),
        active_countries=active_countries,
        recent_failures=failures_since(tenant_id=user.tenant_id, email=user.email, since=now - FAILURE_WINDOW,
                                       until=now),
    )


def evaluate(*, history: History, device: DeviceInfo, now: datetime) -> Flags:
    """The flags of a sign-in from `device` at `now`, given the user's earlier sessions."""
    flags: Flags = {}
    country = device.country
    if country is not None:
        if history.countries and country not in history.countries:
            flags[FlagCode.NEW_COUNTRY] = {"country": country, "earlier": sorted(history.countries)}
        travel = _travel(history, country, now)
        if travel is not None:
            flags[FlagCode.IMPOSSIBLE_TRAVEL] = travel
        countries = history.active_countries | {country}
        if len(countries) >= MANY_COUNTRIES:
            flags[FlagCode.MANY_COUNTRIES] = {"countries": sorted(countries)}
    combination = (device.device_type, family(device.browser), family(device.os))
    if combination not in history.devices:
        flags[FlagCode.NEW_DEVICE] = {"device_type": combination[0], "browser": combination[1], "os": combination[2]}
    if history.recent_sign_ins + 1 >= BURST_SIGN_INS:
        flags[FlagCode.BURST] = {"sign_ins": history.recent_sign_ins + 1,
                                 "minutes": int(BURST_WINDOW.total_seconds() // 60)}
    if history.recent_failures >= FAILED_SIGN_INS:
        flags[FlagCode.AFTER_FAILURES] = {"failures": history.recent_failures,
                                          "minutes": int(FAILURE_WINDOW.total_seconds() // 60)}
    return {code: flags[code] for code in FLAG_CODES if code in flags}


def _travel(history: History, country: str, now: datetime) -> dict | None:
    if history.previous_country is None or history.previous_at is None or history.previous_country == country:
        return None
    distance = min_distance_km(history.previous_country, country)
    if distance is None or distance == 0:
        return None
    hours = max(0.0, (now - history.previous_at).total_seconds() / 3600)
    if distance <= TRAVEL_SPEED_KMH * hours:
        return None
    return {"from": history.previous_country, "to": country, "km": round(distance),
            "minutes": round(hours * 60)}


def assess_sign_in(*, user: User, device: DeviceInfo, now: datetime, idle_timeout: int | None) -> Flags:
    """The flags to store on the session this sign-in creates (before it is created)."""
    history = load_history(user=user, country=device.country, now=now, idle_timeout=idle_timeout)
    if history is None:
        return {}
    return evaluate(history=history, device=device, now=now)
