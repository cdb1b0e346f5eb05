"""Session facts in words for people (the sessions page and the new-sign-in email), translated.

Country names come translated from pycountry's own ISO 3166 catalogues; every other word goes
through Django's i18n in the active language.
"""

import gettext as gettext_module
from functools import cache

import pycountry
from django.utils.translation import get_language, gettext, ngettext, pgettext

from sessions_app.flags import FlagCode, flag_list
from sessions_app.models import DeviceType, RevocationReason


@cache
def _country_catalogue(language: str) -> gettext_module.NullTranslations:
    return gettext_module.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)


def country_name(code: str | None) -> str:
    """"Japan" ("Japón" in Spanish); "Unknown location" when the code is unknown or missing."""
    upper = (code or "").upper()
    country = pycountry.countries.get(alpha_2=upper) if len(upper) == 2 and upper.isalpha() else None
    if country is None:
        return gettext("Unknown location")
    # "Taiwan" reads better than "Taiwan, Province of China"; pycountry keeps the short form apart.
    english = getattr(country, "common_name", None) or country.name
    language = (get_language() or "en").split("-")[0]
    return english if language == "en" else _country_catalogue(language).gettext(english)


def device_type_name(device_type: str) -> str:
    return {
        DeviceType.DESKTOP: gettext("Computer"),
        DeviceType.MOBILE: gettext("Phone"),
        DeviceType.TABLET: gettext("Tablet"),
        DeviceType.BOT: gettext("Automated client"),
    }.get(device_type, gettext("Unknown device type"))


def device_label(browser: str, os: str) -> str:
    """"Chrome 120 on macOS 10.15", or what is known of it."""
    if browser and os:
        return gettext("%(browser)s on %(os)s") % {"browser": browser, "os": os}
    return browser or os or gettext("Unknown device")


def flag_reason(code: str, params: dict) -> str:
    if code == FlagCode.NEW_COUNTRY:
        return gettext("First sign-in from %(country)s") % {"country": country_name(params.get("country"))}
    if code == FlagCode.NEW_DEVICE:
        return gettext("New device")
    if code == FlagCode.IMPOSSIBLE_TRAVEL:
        return gettext("Too soon after a sign-in from %(country)s") % {"country": country_name(params.get("from"))}
    if code == FlagCode.MANY_COUNTRIES:
        count = len(params.get("countries", []))
        return ngettext("Signed in from %(count)d country at once", "Signed in from %(count)d countries at once",
                        count) % {"count": count}
    if code == FlagCode.BURST:
        return gettext("Many sign-ins within minutes")
    if code == FlagCode.AFTER_FAILURES:
        return gettext("Signed in after several failed attempts")
    return code


def flag_reasons(flags: dict) -> list[str]:
    return [flag_reason(code, params) for code, params in flag_list(flags)]


def ended_because(reason: str | None) -> str:
    """Why a session in "Recently signed out" ended."""
    return {
        RevocationReason.SIGNED_OUT: gettext("Signed out on that device"),
        RevocationReason.REVOKED_BY_USER: gettext("Signed out from another device"),
        RevocationReason.REVOKED_BY_ADMIN: gettext("Signed out by an administrator"),
        RevocationReason.SESSION_LIMIT: gettext("Signed out: too many devices"),
        RevocationReason.REFRESH_TOKEN_REUSED: gettext("Signed out to protect your account"),
        RevocationReason.PASSWORD_CHANGED: gettext("Password changed"),
        RevocationReason.USER_DISABLED: gettext("Account disabled"),
    }.get(reason, pgettext("session ended", "Expired"))
