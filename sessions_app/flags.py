"""Risk flags' codes, their order, and their API wording (docs/api.md, "Risk flags"); the rules are in risk.py."""

from typing import Any


class FlagCode:
    NEW_COUNTRY = "new_country"
    NEW_DEVICE = "new_device"
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    MANY_COUNTRIES = "many_countries"
    BURST = "burst"
    AFTER_FAILURES = "after_failures"


# The order flags are listed in, everywhere.
FLAG_CODES = (FlagCode.NEW_COUNTRY, FlagCode.NEW_DEVICE, FlagCode.IMPOSSIBLE_TRAVEL, FlagCode.MANY_COUNTRIES,
              FlagCode.BURST, FlagCode.AFTER_FAILURES)

Flags = dict[str, dict]


def flag_list(flags: Flags) -> list[tuple[str, dict]]:
    """Stored flags in the canonical order (PostgreSQL's jsonb does not keep key order)."""
    return [(code, flags[code]) for code in FLAG_CODES if code in flags]


def describe(code: str, params: dict) -> str:
    """The API's `detail` of a flag: one English sentence with codes, for a tenant's developers."""
    try:
        return _describe(code, params)
    except (KeyError, TypeError, ValueError):  # a row written by hand; the code alone still says it
        return code


def _describe(code: str, params: dict) -> str:
    if code == FlagCode.NEW_COUNTRY:
        return f"First sign-in from {params['country']}; earlier sessions were in {', '.join(params['earlier'])}."
    if code == FlagCode.NEW_DEVICE:
        device = " ".join(part for part in (params["browser"], "on" if params["os"] else "", params["os"]) if part)
        return f"First sign-in from this kind of device: {params['device_type']}, {device or 'unknown browser'}."
    if code == FlagCode.IMPOSSIBLE_TRAVEL:
        after = f"{params['minutes']} minutes" if params["minutes"] else "less than a minute"
        return (f"Signed in from {params['to']} {after} after a sign-in from {params['from']}, "
                f"at least {params['km']:,} km away.")
    if code == FlagCode.MANY_COUNTRIES:
        return f"Active sessions now span {len(params['countries'])} countries: {', '.join(params['countries'])}."
    if code == FlagCode.BURST:
        return f"{params['sign_ins']} sign-ins in {params['minutes']} minutes."
    if code == FlagCode.AFTER_FAILURES:
        return f"{params['failures']} failed sign-ins in the {params['minutes']} minutes before."
    return code


def flag_dicts(flags: Flags | None) -> list[dict[str, Any]]:
    """The API's `flags` of a session: [{code, detail}] in the canonical order, [] when none."""
    return [{"code": code, "detail": describe(code, params)} for code, params in flag_list(flags or {})]
