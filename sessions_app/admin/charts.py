"""The dashboard's charts as server-drawn SVG geometry, each with its text equivalent (a table).

No JavaScript (the strict CSP stays): `admin/sessions_app/chart.html` draws what this computes.
Every bar is a link to the sessions changelist filtered to exactly the rows it counts: a time
bucket is `<field>__gte=<start>&<field>__lt=<end>`, Django's own lookups, the same as the
changelist's date filters use.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sessions_app.admin_selectors import Series

WIDTH, HEIGHT = 480, 150
LEFT, BOTTOM, TOP = 34, 18, 8
# Fill colours, one per key (a revocation reason), all at least 3:1 against white (WCAG 1.4.11).
PALETTE = ("#2f6f8f", "#b3541e", "#6b4c9a", "#1a7f37", "#a3247a", "#5c5c5c")


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    url: str
    label: str
    fill: str


@dataclass(frozen=True)
class Row:
    """A line of the text equivalent: the bucket or category, then a (count, url) per key."""

    label: str
    cells: list[tuple[int, str]]


@dataclass
class Chart:
    id: str
    title: str
    keys: list[tuple[str, str]]  # (label, fill) per key, the legend
    segments: list[Segment] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    maximum: int = 0
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM
    horizontal: bool = False


def _bucket_label(start: datetime, hourly: bool) -> str:
    return start.strftime("%H:00") if hourly else start.strftime("%m-%d")


def time_chart(*, chart_id: str, title: str, series: Series, labels: dict[str, str],
               link: Callable[[datetime, datetime, str], str]) -> Chart:
    """Stacked vertical bars, one per bucket, one segment per key of `series.counts`.

    `link(start, end, key)` is the changelist URL of the rows counted in [start, end) for `key`.
    """
    counts = series.counts or {"": [0] * len(series.buckets)}  # nothing at all: one empty key
    keys = sorted(counts)
    hourly = series.step.total_seconds() == 3600
    chart = Chart(id=chart_id, title=title,
                  keys=[(labels.get(key, key), PALETTE[i % len(PALETTE)]) for i, key in enumerate(keys)])
    n = len(series.buckets)
    totals = [sum(counts[key][i] for key in keys) for i in range(n)]
    chart.maximum = max(totals, default=0)
    scale = (chart.baseline - TOP) / chart.maximum if chart.maximum else 0
    slot = (WIDTH - LEFT) / n
    every = max(1, n // 8)
    for i, start in enumerate(series.buckets):
        end = start + series.step
        x = LEFT + i * slot + 1
        y = float(chart.baseline)
        cells = []
        for k, key in enumerate(keys):
            count = counts[key][i]
            url = link(start, end, key)
            cells.append((count, url))
            if count:
                height = count * scale
                y -= height
                what = labels.get(key, key)
                chart.segments.append(Segment(
                    x=round(x, 1), y=round(y, 1), width=round(slot - 2, 1), height=round(height, 1), url=url,
                    label=f"{what + ': ' if what else ''}{count} from {start:%Y-%m-%d %H:%M} UTC",
                    fill=PALETTE[k % len(PALETTE)]))
        chart.rows.append(Row(label=f"{start:%Y-%m-%d %H:%M}" if hourly else f"{start:%Y-%m-%d}", cells=cells))
        if i % every == 0:
            chart.ticks.append((round(x + (slot - 2) / 2, 1), _bucket_label(start, hourly)))
    return chart


def category_chart(*, chart_id: str, title: str, items: list[tuple[str, int, str]]) -> Chart:
    """Horizontal bars, one per (label, count, url)."""
    chart = Chart(id=chart_id, title=title, keys=[("", PALETTE[0])], horizontal=True,
                  height=max(40, 22 * len(items) + 6), left=90)
    chart.maximum = max((n for _, n, _ in items), default=0)
    scale = (WIDTH - chart.left - 40) / chart.maximum if chart.maximum else 0
    for i, (label, n, url) in enumerate(items):
        y = 4 + i * 22
        chart.segments.append(Segment(x=chart.left, y=y, width=round(max(n * scale, 1), 1), height=16, url=url,
                                      label=f"{label}: {n}", fill=PALETTE[0]))
        chart.ticks.append((y + 12, label))
        chart.rows.append(Row(label=label, cells=[(n, url)]))
    return chart
