"""Line charts as inline SVG, drawn in Python: nothing to fetch, nothing to execute, prints as it shows.

A chart is data (``Chart``: lines, shaded bands, reference lines); ``render_svg`` turns it into markup.
Every piece of text that reaches the SVG is escaped here, because the template marks the result safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup, escape

from harness.report.fmt import fmt_clock, fmt_value, is_number
from harness.report.scales import (
    PERCENTILE_TICKS,
    percentile_x,
    tick_labels,
    time_ticks,
    unit_scale,
    value_ticks,
    y_range,
)

WIDTH, HEIGHT = 600, 230
TOP, BOTTOM, LEFT = 22, 30, 62
RIGHT_PLAIN, RIGHT_AXIS = 14, 62

Point = tuple[float, float]


@dataclass
class Line:
    label: str
    points: Sequence[Point]
    color: str
    dash: bool = False
    step: bool = False  # a state, drawn as steps rather than slopes
    axis: Literal["left", "right"] = "left"
    width: float = 1.6
    markers: bool = False  # a dot on every point (few, discrete measurements)


@dataclass
class Band:
    """A shaded stretch of the x axis: a phase of the scenario, a fault window, or an interval."""

    start: float
    end: float
    label: str
    fault: bool = False
    color: str | None = None  # an interval's colour (drawn translucent); None: phase grey or fault red


@dataclass
class VLine:
    """A vertical marker at one x value (a knee, an estimate, a predicted peak)."""

    value: float
    label: str
    color: str = "#344054"


@dataclass
class Mark:
    """One labelled point drawn on its own, e.g. a step that passed (dot) or failed (cross)."""

    x: float
    y: float
    color: str
    shape: Literal["dot", "cross", "ring"] = "dot"
    label: str = ""


@dataclass
class RefLine:
    """A horizontal reference (a threshold) on the left axis."""

    value: float
    label: str
    color: str = "#b91c1c"


@dataclass
class Chart:
    key: str
    title: str
    unit: str = ""
    lines: list[Line] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    refs: list[RefLine] = field(default_factory=list)
    vlines: list[VLine] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    x: Literal["time", "percentile", "value"] = "time"
    x_unit: str = ""  # value charts: the x axis's unit
    origin: float = 0.0  # time charts: x labels are offsets from this unix time
    right_unit: str = ""
    left_range: tuple[float, float] | None = None
    right_range: tuple[float, float] | None = None
    right_labels: dict[float, str] | None = None  # e.g. breaker states instead of numbers
    note: str = ""  # one line under the chart (e.g. the fitted trend)
    x_ticks: list[tuple[float, str]] | None = None  # replaces the time axis labels (e.g. run dates)
    zero_based: bool = True

    @property
    def point_count(self) -> int:
        return sum(len(clean_points(line.points)) for line in self.lines) + len(self.marks)

    @property
    def has_data(self) -> bool:
        return self.point_count > 0


def clean_points(points: Sequence[Point]) -> list[Point]:
    """Only finite (x, y) pairs, sorted by x: a series from disk may hold NaN, null or junk."""
    out = []
    for p in points or ():
        try:
            x, y = p[0], p[1]
        except (TypeError, IndexError, KeyError):
            continue
        if is_number(x) and is_number(y):
            out.append((float(x), float(y)))
    out.sort(key=lambda p: p[0])
    return out


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def thin(points: list[Point], sx: Callable[[float], float], max_points: int = 1200) -> list[Point]:
    """At most a few points per pixel column: the first, lowest, highest and last, so spikes survive.

    A 30-minute soak at 1 s steps has more points than the chart has pixels; drawing them all only
    makes the file bigger.
    """
    if len(points) <= max_points:
        return points
    columns: dict[int, list[Point]] = {}
    for p in points:
        columns.setdefault(int(sx(p[0])), []).append(p)
    out: list[Point] = []
    for col in columns.values():
        keep = {col[0], min(col, key=lambda p: p[1]), max(col, key=lambda p: p[1]), col[-1]}
        out += sorted(keep)
    return out


def _path(points: list[Point], sx: Callable[[float], float], sy: Callable[[float], float], step: bool,
          break_gaps: bool) -> str:
    """SVG path data; on a time axis a gap much wider than the usual spacing (lost scrapes) breaks it."""
    if not points:
        return ""
    gaps = sorted(b[0] - a[0] for a, b in zip(points, points[1:], strict=False))
    limit = (gaps[len(gaps) // 2] * 5) if gaps and break_gaps else math.inf
    parts, prev = [], None
    for x, y in thin(points, sx):
        px, py = _fmt(sx(x)), _fmt(sy(y))
        if prev is None or (limit > 0 and x - prev[0] > limit):
            parts.append(f"M{px} {py}")
        elif step:
            parts.append(f"H{px} V{py}")
        else:
            parts.append(f"L{px} {py}")
        prev = (x, y)
    return " ".join(parts)


@dataclass
class _Frame:
    """The plot area and the scales of one chart."""

    chart: Chart
    x0: float
    x1: float
    y0: float
    y1: float
    xlo: float
    xhi: float
    left: tuple[float, float]
    right: tuple[float, float]

    def tx(self, v: float) -> float:
        return percentile_x(v) if self.chart.x == "percentile" else v

    def sx(self, v: float) -> float:
        return self.x0 + (self.tx(v) - self.xlo) / (self.xhi - self.xlo) * (self.x1 - self.x0)

    def sy(self, v: float, axis: str = "left") -> float:
        lo, hi = self.right if axis == "right" else self.left
        return self.y1 - (v - lo) / (hi - lo) * (self.y1 - self.y0)


def _frame(chart: Chart, lines: list[tuple[Line, list[Point]]]) -> _Frame:
    right = RIGHT_AXIS if any(line.axis == "right" for line, _ in lines) else RIGHT_PLAIN
    tx = percentile_x if chart.x == "percentile" else (lambda v: v)
    xs = [tx(x) for _, pts in lines for x, _ in pts]
    if chart.x == "time":
        xs += [b.start for b in chart.bands] + [b.end for b in chart.bands]
    if chart.x == "value":
        xs += [0.0, *(v.value for v in chart.vlines), *(m.x for m in chart.marks),
               *(b.end for b in chart.bands)]
    xlo, xhi = min(xs), max(xs)
    if chart.x == "value":
        xhi = y_range([xlo, xhi], None, True, chart.x_unit)[1]
    if xhi <= xlo:
        xhi = xlo + 1.0
    left_vals = [y for line, pts in lines if line.axis == "left" for _, y in pts]
    left_vals += [r.value for r in chart.refs] + [m.y for m in chart.marks]
    right_vals = [y for line, pts in lines if line.axis == "right" for _, y in pts]
    return _Frame(chart, LEFT, WIDTH - right, TOP, HEIGHT - BOTTOM, xlo, xhi,
                  y_range(left_vals, chart.left_range, chart.zero_based, chart.unit),
                  y_range(right_vals, chart.right_range, True, chart.right_unit))


def _x_label(f: _Frame, px: float, label: str, grid: bool) -> list[str]:
    anchor = "end" if px > f.x1 - 20 else "middle"
    mark = (f'<line x1="{_fmt(px)}" y1="{f.y0}" x2="{_fmt(px)}" y2="{f.y1}" stroke="#eaecf0"/>' if grid else
            f'<line x1="{_fmt(px)}" y1="{f.y1}" x2="{_fmt(px)}" y2="{f.y1 + 4}" stroke="#98a2b3"/>')
    return [mark, f'<text x="{_fmt(px)}" y="{f.y1 + 15}" font-size="10" text-anchor="{anchor}" '
                  f'fill="#475467">{escape(label)}</text>']


def _bands(f: _Frame) -> list[str]:
    out = []
    for band in f.chart.bands:
        bx0, bx1 = max(f.sx(band.start), f.x0), min(f.sx(band.end), f.x1)
        if bx1 <= bx0:
            continue
        fill, cls, color = (("#fde2e1", "band fault", "#b42318") if band.fault
                            else ("#f2f4f7", "band", "#667085"))
        opacity = ""
        if band.color:
            fill, cls, color, opacity = band.color, "band interval", band.color, ' fill-opacity="0.16"'
        out.append(f'<rect class="{cls}" x="{_fmt(bx0)}" y="{f.y0}" width="{_fmt(bx1 - bx0)}" '
                   f'height="{f.y1 - f.y0}" fill="{fill}"{opacity}/>')
        out.append(f'<line x1="{_fmt(bx0)}" y1="{f.y0}" x2="{_fmt(bx0)}" y2="{f.y1}" stroke="#98a2b3" '
                   'stroke-dasharray="2 3"/>')
        if band.label:
            out.append(f'<text x="{_fmt(bx0 + 3)}" y="{f.y0 - 5}" font-size="9.5" fill="{color}">'
                       f'{escape(band.label)}</text>')
    return out


def _x_axis(f: _Frame) -> list[str]:
    chart, out = f.chart, []
    if chart.x == "time":
        ticks = chart.x_ticks or [(t, fmt_clock(t - chart.origin))
                                  for t in time_ticks(f.xlo, f.xhi, chart.origin)]
        for tick, label in ticks:
            out += _x_label(f, f.sx(tick), label, grid=False)
    elif chart.x == "percentile":
        for p, label in PERCENTILE_TICKS:
            if percentile_x(p) > f.xhi * 1.001 + 1e-9:
                break
            out += _x_label(f, f.sx(p), label, grid=True)
    else:
        ticks = value_ticks(f.xlo, f.xhi, unit_scale(chart.x_unit, f.xhi))
        for tick, label in zip(ticks, tick_labels(ticks, chart.x_unit), strict=True):
            out += _x_label(f, f.sx(tick), label, grid=True)
    return out


def _y_axes(f: _Frame, has_right: bool) -> list[str]:
    chart, out = f.chart, []
    lo, hi = f.left
    ticks = value_ticks(lo, hi, unit_scale(chart.unit, hi))
    for tick, label in zip(ticks, tick_labels(ticks, chart.unit), strict=True):
        py = _fmt(f.sy(tick))
        out.append(f'<line x1="{f.x0}" y1="{py}" x2="{f.x1}" y2="{py}" stroke="#eaecf0"/>')
        out.append(f'<text x="{f.x0 - 5}" y="{py}" dy="3.5" font-size="10" text-anchor="end" fill="#475467">'
                   f'{escape(label)}</text>')
    if has_right:
        lo, hi = f.right
        ticks = (sorted(chart.right_labels) if chart.right_labels
                 else value_ticks(lo, hi, unit_scale(chart.right_unit, hi)))
        for tick in ticks:
            label = (chart.right_labels or {}).get(tick) or fmt_value(tick, chart.right_unit)
            out.append(f'<text x="{f.x1 + 5}" y="{_fmt(f.sy(tick, "right"))}" dy="3.5" font-size="10" '
                       f'fill="#475467">{escape(label)}</text>')
    return out


def _vlines(f: _Frame) -> list[str]:
    out = []
    for n, v in enumerate(f.chart.vlines):
        px = _fmt(f.sx(v.value))
        out.append(f'<line class="vline" x1="{px}" y1="{f.y0}" x2="{px}" y2="{f.y1}" stroke="{v.color}" '
                   'stroke-dasharray="3 3" stroke-width="1.2"/>')
        out.append(f'<text x="{px}" dx="3" y="{f.y0 + 11 + 11 * (n % 3)}" font-size="9.5" '
                   f'fill="{v.color}">{escape(v.label)}</text>')
    return out


def _marks(f: _Frame) -> list[str]:
    out = []
    for m in f.chart.marks:
        if not (is_number(m.x) and is_number(m.y)):
            continue
        x, y = f.sx(m.x), f.sy(m.y)
        title = f"<title>{escape(m.label)}</title>" if m.label else ""
        if m.shape == "cross":
            d = f"M{_fmt(x - 3.5)} {_fmt(y - 3.5)}L{_fmt(x + 3.5)} {_fmt(y + 3.5)}M{_fmt(x - 3.5)} " \
                f"{_fmt(y + 3.5)}L{_fmt(x + 3.5)} {_fmt(y - 3.5)}"
            out.append(f'<g class="mark mark-{m.shape}"><path d="{d}" stroke="{m.color}" '
                       f'stroke-width="2"/>{title}</g>')
        else:
            fill = m.color if m.shape == "dot" else "#fff"
            out.append(f'<g class="mark mark-{m.shape}"><circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="3.5" '
                       f'fill="{fill}" stroke="{m.color}" stroke-width="1.5"/>{title}</g>')
    return out


def render_svg(chart: Chart) -> Markup | None:
    """The chart as an ``<svg>`` element, or None when no line has a single point."""
    lines = [(line, clean_points(line.points)) for line in chart.lines]
    lines = [(line, pts) for line, pts in lines if pts]
    if not lines and not chart.marks:
        return None
    f = _frame(chart, lines)
    out = [
        f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" '
        f'role="img" aria-label="{escape(chart.title)}" data-chart="{escape(chart.key)}">',
        f'<rect x="{f.x0}" y="{f.y0}" width="{f.x1 - f.x0}" height="{f.y1 - f.y0}" fill="#fff" '
        'stroke="#d0d5dd"/>',
    ]
    if chart.x in ("time", "value"):
        out += _bands(f)
    out += _x_axis(f)
    out += _y_axes(f, any(line.axis == "right" for line, _ in lines))
    for ref in chart.refs:
        py = _fmt(f.sy(ref.value))
        out.append(f'<line class="ref" x1="{f.x0}" y1="{py}" x2="{f.x1}" y2="{py}" stroke="{ref.color}" '
                   'stroke-dasharray="6 3" stroke-width="1.2"/>')
        out.append(f'<text x="{f.x1 - 4}" y="{py}" dy="-3" font-size="9.5" text-anchor="end" '
                   f'fill="{ref.color}">{escape(ref.label)}</text>')
    for line, pts in lines:
        def sy(v: float, axis: str = line.axis) -> float:
            return f.sy(v, axis)

        dash = ' stroke-dasharray="5 3"' if line.dash else ""
        d = _path(pts, f.sx, sy, line.step, chart.x == "time")
        out.append(f'<path class="series" d="{d}" fill="none" stroke="{line.color}" '
                   f'stroke-width="{line.width}"{dash} stroke-linejoin="round" '
                   f'data-label="{escape(line.label)}" data-points="{len(pts)}"/>')
        if len(pts) == 1 or line.markers:  # a lone point draws no path: mark it
            out += [f'<circle cx="{_fmt(f.sx(x))}" cy="{_fmt(sy(y))}" r="2.5" fill="{line.color}"/>'
                    for x, y in pts]
    out += _vlines(f) + _marks(f)
    out.append("</svg>")
    return Markup("".join(out))
