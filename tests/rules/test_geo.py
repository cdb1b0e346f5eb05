"""The impossible-travel distance: a lower bound between countries' bounding boxes (sessions_app/geo.py)."""

import math

import pytest

from sessions_app.flags import describe
from sessions_app.geo import box_distance_km, country_boxes, min_distance_km


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    hav = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(hav))


@pytest.mark.parametrize(("a", "b"), [("DE", "FR"), ("US", "CA"), ("US", "MX"), ("FR", "ES"), ("DE", "AT"),
                                      ("US", "US"), ("RU", "US")])  # Russia and Alaska overlap across 180
def test_neighbours_are_zero_apart(a: str, b: str) -> None:
    assert min_distance_km(a, b) == 0


# (a, b, two real places in them: lat, lon, lat, lon). The bound never exceeds the real distance.
PLACES = [
    ("DE", "ES", 52.52, 13.40, 40.42, -3.70),      # Berlin - Madrid
    ("US", "JP", 52.93, 172.92, 43.33, 145.58),    # Attu (Aleutians) - Nemuro (Hokkaido)
    ("GB", "US", 51.51, -0.13, 40.71, -74.01),     # London - New York
    ("AU", "NZ", -33.87, 151.21, -36.85, 174.76),  # Sydney - Auckland
    ("BR", "ZA", -22.91, -43.17, -33.92, 18.42),   # Rio - Cape Town
    ("FJ", "US", -18.14, 178.44, 21.31, -157.86),  # Suva - Honolulu, across the antimeridian
]


@pytest.mark.parametrize(("a", "b", "lat1", "lon1", "lat2", "lon2"), PLACES)
def test_the_bound_is_below_real_distances_and_above_zero(a: str, b: str, lat1: float, lon1: float, lat2: float,
                                                          lon2: float) -> None:
    bound = min_distance_km(a, b)
    assert bound is not None and 0 < bound <= great_circle_km(lat1, lon1, lat2, lon2)
    assert min_distance_km(b, a) == bound


def test_every_point_pair_of_two_boxes_is_at_least_the_bound() -> None:
    a, b = (-10.0, 35.0, 5.0, 45.0), (20.0, 55.0, 40.0, 70.0)
    bound = box_distance_km(a, b)
    samples = [(lat, lon) for lat in (35, 40, 45) for lon in (-10, -2, 5)]
    others = [(lat, lon) for lat in (55, 62, 70) for lon in (20, 30, 40)]
    assert min(great_circle_km(*p, *q) for p in samples for q in others) >= bound > 0


def test_unknown_countries_have_no_distance() -> None:
    assert min_distance_km("US", "ZZ") is None
    assert min_distance_km("XX", "JP") is None


def test_the_table_covers_the_countries() -> None:
    boxes = country_boxes()
    assert len(boxes) > 240
    for code, parts in boxes.items():
        assert len(code) == 2 and parts
        for west, south, east, north in parts:
            assert -180 <= west <= east <= 180 and -90 <= south <= north <= 90


def test_a_malformed_stored_flag_is_described_by_its_code() -> None:
    assert describe("new_device", {}) == "new_device"
    assert describe("impossible_travel", {"to": "JP"}) == "impossible_travel"
