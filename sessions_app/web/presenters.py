"""What the sessions page shows for each session, in words: device, place, and how long ago.

Every word is translated in the active language (sessions_app/web/language.py).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils.timesince import timesince
from django.utils.translation import gettext, pgettext

from sessions_app.models import DeviceType, Session
from sessions_app.wording import country_name, device_label, device_type_name, ended_because, flag_reasons

UNKNOWN_LOCATION = "Unknown location"  # as shown in English
DEVICE_TYPES = {DeviceType.DESKTOP, DeviceType.MOBILE, DeviceType.TABLET, DeviceType.BOT, DeviceType.UNKNOWN}
_REGIONAL_INDICATOR_A = 0x1F1E6


@dataclass(frozen=True)
class Place:
    name: str
    flag: str  # an emoji, or "" when the country is unknown


@dataclass(frozen=True)
class SessionRow:
    session: Session
    is_current: bool
    now: datetime

    @property
    def label(self) -> str:
        return device_label(self.session.browser, self.session.os)

    @property
    def device_type(self) -> str:
        return self.session.device_type if self.session.device_type in DEVICE_TYPES else DeviceType.UNKNOWN

    @property
    def device_type_name(self) -> str:
        return device_type_name(self.device_type)

    @property
    def flag_reasons(self) -> list[str]:
        """Why this sign-in was flagged, in words ("First sign-in from Japan", "New device")."""
        return flag_reasons(self.session.flags or {})

    @property
    def accessible_name(self) -> str:
        """Device, place and last activity: tells two rows of the same phone model apart for a screen reader."""
        return gettext("%(device)s, %(place)s, last active %(when)s") % {
            "device": self.label, "place": self.place.name, "when": self.last_active}

    @property
    def place(self) -> Place:
        return place_of(self.session.country)

    @property
    def last_active(self) -> str:
        return last_active_phrase(self.session.last_active_at, now=self.now)

    # Timestamps are formatted here with strftime: the template's `date` filter, four times a row,
    # was most of the page's rendering time for a user with many sessions.
    @property
    def last_active_iso(self) -> str:
        return iso_utc(self.session.last_active_at)

    @property
    def last_active_exact(self) -> str:
        return f"{calendar_day(self.session.last_active_at)}, {utc(self.session.last_active_at):%H:%M} UTC"

    @property
    def ended_at(self) -> datetime:
        return self.session.revoked_at or self.session.expires_at

    @property
    def ended_iso(self) -> str:
        return iso_utc(self.ended_at)

    @property
    def ended_ago(self) -> str:
        return last_active_phrase(self.ended_at, now=self.now)

    @property
    def ended_because(self) -> str:
        """"Signed out from another device", "Password changed", ... (for "Recently signed out")."""
        return ended_because(self.session.revoked_reason)

    @property
    def signed_in_iso(self) -> str:
        return iso_utc(self.session.created_at)

    @property
    def signed_in_on(self) -> str:
        return calendar_day(self.session.created_at)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """"2024-01-15T09:30:00Z": what `<time datetime>` wants, to the second, like the API."""
    return f"{utc(moment):%Y-%m-%dT%H:%M:%S}Z"


def _month(number: int) -> str:
    return [
        pgettext("abbreviated month", "Jan"), pgettext("abbreviated month", "Feb"),
        pgettext("abbreviated month", "Mar"), pgettext("abbreviated month", "Apr"),
        pgettext("abbreviated month", "May"), pgettext("abbreviated month", "Jun"),
        pgettext("abbreviated month", "Jul"), pgettext("abbreviated month", "Aug"),
        pgettext("abbreviated month", "Sep"), pgettext("abbreviated month", "Oct"),
        pgettext("abbreviated month", "Nov"), pgettext("abbreviated month", "Dec"),
    ][number - 1]


def calendar_day(moment: datetime) -> str:
    """"Jan 15, 2024" in English, "15 ene 2024" in Spanish (never the process locale's)."""
    moment = utc(moment)
    return gettext("%(month)s %(day)d, %(year)d") % {"month": _month(moment.month), "day": moment.day,
                                                      "year": moment.year}


def flag_emoji(country_code: str) -> str:
    """The flag of a two-letter code: two regional indicator symbols, which systems draw as a flag."""
    return "".join(chr(_REGIONAL_INDICATOR_A + ord(letter) - ord("A")) for letter in country_code)


def place_of(country_code: str | None) -> Place:
    code = (country_code or "").upper()
    name = country_name(code)
    known = len(code) == 2 and code.isalpha() and name != gettext("Unknown location")
    return Place(name, flag_emoji(code) if known else "")


def last_active_phrase(moment: datetime, *, now: datetime) -> str:
    """"just now" within a minute, else "5 minutes ago" (one unit: "2 days", not "2 days, 3 hours")."""
    if now - moment < timedelta(minutes=1):
        return gettext("just now")
    return gettext("%(time)s ago") % {"time": timesince(moment, now, depth=1)}


def rows_for(sessions: list[Session], *, current: Session | None, now: datetime) -> list[SessionRow]:
    current_pk = current.pk if current is not None else None
    return [SessionRow(session=session, is_current=session.pk == current_pk, now=now) for session in sessions]
