"""How far apart two countries are at the least: the impossible-travel rule's distance.

Each country is one or more bounding boxes (sessions_app/data/country_boxes.json, built from
Natural Earth by build_country_boxes.py). The distance between two countries is taken as the
smallest great-circle distance any point of one box can have to any point of the other, a lower
bound of the true shortest distance: overlapping or touching boxes (neighbours) are 0 km apart.
"""

import json
import math
from functools import cache
from pathlib import Path

EARTH_RADIUS_KM = 6371.0
BOXES_FILE = Path(__file__).resolve().parent / "data" / "country_boxes.json"

Box = tuple[float, float, float, float]  # west, south, east, north, in degrees


@cache
def country_boxes() -> dict[str, tuple[Box, ...]]:
    table = json.loads(BOXES_FILE.read_text())
    return {code: tuple(tuple(box) for box in boxes) for code, boxes in table.items()}


def _interval_gap(low_a: float, high_a: float, low_b: float, high_b: float) -> float:
    return max(0.0, low_b - high_a, low_a - high_b)


def _longitude_gap(a: Box, b: Box) -> float:
    """Smallest longitude difference between the boxes, in degrees, going round either way (0 to 180)."""
    direct = _interval_gap(a[0], a[2], b[0], b[2])
    around = min(_interval_gap(a[0] + 360, a[2] + 360, b[0], b[2]), _interval_gap(a[0] - 360, a[2] - 360, b[0], b[2]))
    return min(direct, around, 180.0)


def _min_cos_latitude(box: Box) -> float:
    # cos(latitude) is smallest at the latitude farthest from the equator.
    return math.cos(math.radians(max(abs(box[1]), abs(box[3]))))


def box_distance_km(a: Box, b: Box) -> float:
    """A lower bound of the distance between any point of `a` and any point of `b`.

    Haversine: hav(d) = hav(dlat) + cos(lat1) cos(lat2) hav(dlon). Each term only shrinks when dlat
    and dlon shrink to their smallest possible values and the cosines to their smallest over each
    box, so the result never exceeds the true distance.
    """
    dlat = math.radians(_interval_gap(a[1], a[3], b[1], b[3]))
    dlon = math.radians(_longitude_gap(a, b))
    hav = math.sin(dlat / 2) ** 2 + _min_cos_latitude(a) * _min_cos_latitude(b) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(hav)))


def min_distance_km(country_a: str, country_b: str) -> float | None:
    """The lower bound between two countries; None when either is not in the table."""
    if country_a == country_b:
        return 0.0
    boxes = country_boxes()
    if country_a not in boxes or country_b not in boxes:
        return None
    return min(box_distance_km(a, b) for a in boxes[country_a] for b in boxes[country_b])
