"""The batch report's two charts as SVG, laid out here and drawn by templates/chart.svg.j2.

The geometry is plain arithmetic on a fixed 760 x 340 canvas, so a chart takes a few
milliseconds and no plotting library is loaded. Every text a chart shows (question names,
numbers from the results files) is printed through the HTML environment's autoescape
(pages.render), so the SVG stays valid XML whatever the names hold.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import pages
from ._format import fmt_points

if TYPE_CHECKING:
    from .batch_report import BatchStats, QuestionStats

TEMPLATE = "chart.svg.j2"
WIDTH, HEIGHT = 760, 340
TOP, BOTTOM = 38, 288  # the plot frames' top and bottom edge
LEFT, RIGHT, GAP = 62, 14, 58  # room for the first panel's y label and ticks, the right edge, between panels
NAME_CHARS = 10  # a bar's name under it is cut to this many characters (the table has the whole name)

HISTOGRAM = "#3b6ea8"
MANUAL, STRETCH, REQUIRED = "#8c6bb1", "#c08a2e", "#2e8b57"
BINS = 10  # ten 10-point bins, 0-100
HEADROOM = 1.05  # a count axis reaches 5% above its top tick, so that the highest bar stays clear of the frame


@dataclass(frozen=True)
class Tick:
    pos: float  # x (under a panel) or y (left of it) on the canvas
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str  # printed above the bar ("" for none)
    label_y: float
    hover: str  # what the bar shows, in words (its <title>)


@dataclass(frozen=True)
class Panel:
    x: float
    width: float
    title: str
    x_label: str
    y_label: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    bars: list[Bar]
    edge: str  # the bars' outline colour ("none" for none)

    @property
    def y(self) -> float:
        return TOP

    @property
    def height(self) -> float:
        return BOTTOM - TOP

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    title: str
    desc: str  # the data in words, for screen readers
    panels: list[Panel]


def _frames(ratios: Sequence[float]) -> list[tuple[float, float]]:
    """(x, width) of panels side by side, widths in proportion to `ratios`."""
    room = WIDTH - LEFT - RIGHT - GAP * (len(ratios) - 1)
    frames, x = [], float(LEFT)
    for r in ratios:
        w = room * r / sum(ratios)
        frames.append((x, w))
        x += w + GAP
    return frames


def count_axis(most: int) -> tuple[int, int]:
    """(top, step) of an axis of whole counts up to `most`: at most nine ticks, a 1-2-5 step."""
    step = 1
    while math.ceil(most / step) > 8:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2  # 1, 2, 5, 10, 20, 50, ...
    return max(1, math.ceil(most / step)) * step, step


def _y(value: float, top: float) -> float:
    """The canvas y of `value` on an axis from 0 (BOTTOM) to `top` (TOP)."""
    return BOTTOM - (BOTTOM - TOP) * min(max(value, 0.0), top) / top


def _count_ticks(top: int, step: int) -> list[Tick]:
    return [Tick(_y(v, top * HEADROOM), str(v)) for v in range(0, top + 1, step)]


def _count_bars(x: float, width: float, counts: Sequence[tuple[str, int]], fill: str) -> tuple[list[Bar], int, int]:
    """Bars of whole counts, each 80% of its slot; (bars, axis top, step)."""
    top, step = count_axis(max((n for _, n in counts), default=0))
    slot, scale = width / max(len(counts), 1), top * HEADROOM
    bars = [Bar(x + slot * (i + 0.1), _y(n, scale), slot * 0.8, BOTTOM - _y(n, scale), fill, "", 0.0,
                f"{name}: {n}") for i, (name, n) in enumerate(counts)]
    return bars, top, step


def bins(percents: Sequence[float]) -> list[int]:
    """Submissions per ten-point bin, 0-10 ... 90-100 (100 in the last one, as a histogram's last bin
    is closed); a percent outside 0-100 counts in the nearest bin, one that is not a number in none."""
    counts = [0] * BINS
    for p in percents:
        if math.isfinite(p):
            counts[min(max(int(p // 10), 0), BINS - 1)] += 1
    return counts


def score_chart(stats: BatchStats) -> Chart:
    """Submissions by percent of the required points, beside the extra-credit points they earned."""
    (hx, hw), (ex, ew) = _frames([3, 1.3])
    counts = bins(stats.required_percents)
    top, step = count_axis(max(counts))
    slot, scale = hw / BINS, top * HEADROOM
    hist = [Bar(hx + slot * i, _y(n, scale), slot, BOTTOM - _y(n, scale), HISTOGRAM, "", 0.0,
                f"{10 * i}-{10 * i + 10}%: {n}") for i, n in enumerate(counts)]
    stretch_max = fmt_points(sum(q.max_points for q in stats.questions if q.stretch))
    steps = [(fmt_points(v), n) for v, n in sorted(Counter(stats.extra_points).items())]
    extra, etop, estep = _count_bars(ex, ew, steps, STRETCH)
    title = f"Score distribution ({stats.count} submissions)"
    desc = (f"Histogram of {stats.count} submissions by percent of the required points, in ten-point bins: "
            + ", ".join(b.hover for b in hist) + f". Extra credit, submissions by extra-credit points earned "
            f"(of {stretch_max}): " + (", ".join(b.hover for b in extra) or "none") + ".")
    return Chart(WIDTH, HEIGHT, title, desc, [
        Panel(hx, hw, title, "percent of the required points", "submissions",
              [Tick(hx + hw * v / 100, str(v)) for v in range(0, 101, 20)], _count_ticks(top, step), hist, "white"),
        Panel(ex, ew, "Extra credit", f"extra-credit points (of {stretch_max})", "",
              [Tick(b.x + b.width / 2, name) for b, (name, _) in zip(extra, steps, strict=True)],
              _count_ticks(etop, estep), extra, "none"),
    ])


def _colour(q: QuestionStats) -> str:
    return MANUAL if q.manual else STRETCH if q.stretch else REQUIRED


def pass_rate_chart(stats: BatchStats) -> Chart:
    """Full points per question, required and extra-credit questions side by side; each panel at
    least three bars wide, so that no title is clipped."""
    groups = [g for g in ([q for q in stats.questions if not q.stretch], [q for q in stats.questions if q.stretch])
              if g]
    panels: list[Panel] = []
    for (x, width), group in zip(_frames([max(len(g), 3) for g in groups] or [3]), groups or [[]], strict=True):
        slot = width / max(len(group), 3)
        first = x + (width - slot * len(group)) / 2  # fewer than three bars: centred
        bars = []
        for i, q in enumerate(group):
            rate = 100.0 * q.pass_rate
            bars.append(Bar(first + slot * (i + 0.1), _y(rate, 100), slot * 0.8, BOTTOM - _y(rate, 100), _colour(q),
                            f"{rate:.0f}%", _y(min(rate + 2, 93), 100),
                            f"{q.question}: {rate:.0f}% ({q.full_marks} of {q.graded})"))
        panels.append(Panel(
            x, width, "Extra credit" if group and group[0].stretch else "Required questions", "",
            "% with full points" if not panels else "",
            [Tick(b.x + b.width / 2, q.question[:NAME_CHARS]) for b, q in zip(bars, group, strict=True)],
            [Tick(_y(v, 100), str(v)) for v in range(0, 101, 20)], bars, "none"))
    desc = "Percent of submissions with full points, per question. " + " ".join(
        f"{p.title}: " + ", ".join(b.hover for b in p.bars) + "." for p in panels if p.bars)
    return Chart(WIDTH, HEIGHT, "Pass rate per question", desc, panels)


def render(chart: Chart) -> str:
    """The chart as an SVG document."""
    return pages.render(TEMPLATE, c=chart)


def sources() -> list[Path]:
    """The files that draw a chart: a change to any of them draws the charts again."""
    return [Path(__file__), pages.TEMPLATES / TEMPLATE, Path(pages.__file__)]
