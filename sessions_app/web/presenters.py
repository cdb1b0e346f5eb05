"""What the sessions page shows for each session, in words: device, place, and how long ago."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import pycountry
from django.utils.timesince import timesince

from sessions_app.models import DeviceType, Session

UNKNOWN_LOCATION = "Unknown location"
DEVICE_TYPE_NAMES = {
    DeviceType.DESKTOP: "Computer",
    DeviceType.MOBILE: "Phone",
    DeviceType.TABLET: "Tablet",
    DeviceType.BOT: "Automated client",
    DeviceType.UNKNOWN: "Unknown device type",
}
_REGIONAL_INDICATOR_A = 0x1F1E6
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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
        return self.session.device_label

    @property
    def device_type(self) -> str:
        return self.session.device_type if self.session.device_type in DEVICE_TYPE_NAMES else DeviceType.UNKNOWN

    @property
    def device_type_name(self) -> str:
        return DEVICE_TYPE_NAMES[self.device_type]

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


def calendar_day(moment: datetime) -> str:
    """"Jan 15, 2024" (English month names, whatever the process locale)."""
    moment = utc(moment)
    return f"{MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


def flag_emoji(country_code: str) -> str:
    """The flag of a two-letter code: two regional indicator symbols, which systems draw as a flag."""
    return "".join(chr(_REGIONAL_INDICATOR_A + ord(letter) - ord("A")) for letter in country_code)


@lru_cache(maxsize=512)
def place_of(country_code: str | None) -> Place:
    code = (country_code or "").upper()
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 and code.isalpha() else None
    if country is None:
        return Place(UNKNOWN_LOCATION, "")
    # "Taiwan" reads better than "Taiwan, Province of China"; pycountry keeps the short form apart.
    return Place(getattr(country, "common_name", None) or country.name, flag_emoji(code))


def last_active_phrase(moment: datetime, *, now: datetime) -> str:
    """"just now" within a minute, else "5 minutes ago" (one unit: "2 days", not "2 days, 3 hours")."""
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


def rows_for(sessions: list[Session], *, current: Session, now: datetime) -> list[SessionRow]:
    return [SessionRow(session=session, is_current=session.pk == current.pk, now=now) for session in sessions]
