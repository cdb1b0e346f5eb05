"""How the sessions page words a session: flags, country names, and how long ago."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sessions_app.web.presenters import (
    UNKNOWN_LOCATION,
    calendar_day,
    flag_emoji,
    iso_utc,
    last_active_phrase,
    place_of,
)

NOW = datetime(2024, 1, 20, 10, 0, tzinfo=UTC)


def test_a_flag_is_two_regional_indicator_symbols() -> None:
    assert flag_emoji("GB") == "\U0001F1EC\U0001F1E7"
    assert flag_emoji("US") == "\U0001F1FA\U0001F1F8"


@pytest.mark.parametrize("code,name,flag", [
    ("GB", "United Kingdom", "\U0001F1EC\U0001F1E7"),
    ("de", "Germany", "\U0001F1E9\U0001F1EA"),
    ("TW", "Taiwan", "\U0001F1F9\U0001F1FC"),  # the common name, not "Taiwan, Province of China"
    ("BO", "Bolivia", "\U0001F1E7\U0001F1F4"),
])
def test_known_countries_have_a_name_and_a_flag(code: str, name: str, flag: str) -> None:
    place = place_of(code)
    assert (place.name, place.flag) == (name, flag)


@pytest.mark.parametrize("code", [None, "", "XX", "T1", "ZZ", "GBR", "1A"])
def test_anything_else_is_an_unknown_location_without_a_flag(code: str | None) -> None:
    place = place_of(code)
    assert (place.name, place.flag) == (UNKNOWN_LOCATION, "")


@pytest.mark.parametrize("ago,phrase", [
    (timedelta(seconds=0), "just now"),
    (timedelta(seconds=59), "just now"),
    (timedelta(minutes=1), "1\xa0minute ago"),
    (timedelta(minutes=5, seconds=30), "5\xa0minutes ago"),
    (timedelta(hours=3, minutes=40), "3\xa0hours ago"),
    (timedelta(days=2, hours=23), "2\xa0days ago"),
    (timedelta(days=40), "1\xa0month ago"),
])
def test_last_active_reads_in_one_unit(ago: timedelta, phrase: str) -> None:
    assert last_active_phrase(NOW - ago, now=NOW) == phrase


def test_timestamps_are_utc_whatever_zone_they_come_in() -> None:
    moment = datetime(2024, 1, 15, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert iso_utc(moment) == "2024-01-16T04:30:00Z"
    assert calendar_day(moment) == "Jan 16, 2024"
