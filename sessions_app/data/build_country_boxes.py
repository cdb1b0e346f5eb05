"""Rebuilds country_boxes.json, the bounding boxes that the impossible-travel rule measures between.

Source: Natural Earth's 1:50m "Admin-0 map subunits" (public domain), as packaged by
`country-bounding-boxes` (Apache-2.0), which keeps each geographically separate part of a country
(Alaska, French Guiana, the Canaries...) as its own box. Run it in a throwaway environment:

    python3 -m venv /tmp/boxes && /tmp/boxes/bin/pip install country-bounding-boxes==0.2.3
    /tmp/boxes/bin/python sessions_app/data/build_country_boxes.py

The output maps each ISO 3166-1 alpha-2 code to its boxes, [west, south, east, north] in degrees,
rounded outwards to 0.01 degree so that a box never shrinks.
"""

import json
import math
from collections import defaultdict
from pathlib import Path

import iso3166  # type: ignore[import-not-found]
from country_bounding_boxes import country_subunits_by_iso_code  # type: ignore[import-not-found]

OUTPUT = Path(__file__).resolve().parent / "country_boxes.json"


def _outward(box: tuple[float, float, float, float]) -> list[float]:
    west, south, east, north = box
    return [math.floor(west * 100) / 100, math.floor(south * 100) / 100,
            math.ceil(east * 100) / 100, math.ceil(north * 100) / 100]


def build() -> dict[str, list[list[float]]]:
    boxes: dict[str, list[list[float]]] = defaultdict(list)
    for code in sorted(country.alpha2 for country in iso3166.countries):
        for subunit in country_subunits_by_iso_code(code):
            box = _outward(subunit.bbox)
            if box not in boxes[code]:
                boxes[code].append(box)
    return {code: sorted(found) for code, found in sorted(boxes.items()) if found}


if __name__ == "__main__":
    table = build()
    OUTPUT.write_text(json.dumps(table, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{len(table)} countries, {sum(map(len, table.values()))} boxes -> {OUTPUT}")
