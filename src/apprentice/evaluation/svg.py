"""Small inline SVG charts for the offline reports: a line chart and a grouped bar chart.

No plotting library: a report must open on an air-gapped machine, so a chart is a string of
SVG elements embedded in the page. No `xmlns` attribute either: inline SVG in HTML5 does not
need one, and that keeps every URL out of the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

# Tableau 10: distinguishable in print and for the common colour-vision deficiencies.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f")
_TARGET_COLOUR = "#c0392b"
_FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'


@dataclass(frozen=True)
class Bar:
    """One bar: its group (a target), its label (a version) and its value (None: not measured)."""

    group: str
    label: str
    value: float | None


@dataclass(frozen=True)
class Frame:
    """Maps data coordinates onto the plot area of a chart (SVG y grows downwards)."""

    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float
    left: float
    top: float
    right: float
    bottom: float

    def x(self, value: float) -> float:
        """The pixel column of data value `value` on the x axis."""
        return self.left + (value - self.x_lo) / (self.x_hi - self.x_lo) * (self.right - self.left)

    def y(self, value: float) -> float:
        """The pixel row of data value `value` on the y axis."""
        return self.bottom - (value - self.y_lo) / (self.y_hi - self.y_lo) * (self.bottom - self.top)


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """About `count` round tick values (steps of 1, 2 or 5 x 10^k) covering [lo, hi]; `integer`: steps >= 1."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1.0) if integer else step
    first = math.floor(lo / step) * step
    ticks, value = [], first
    while value < hi + step * 0.999:
        ticks.append(round(value, 10) + 0.0)  # + 0.0 turns -0.0 into 0.0
        value += step
    return ticks


def format_tick(value: float, percent: bool = False, digits: int = 4) -> str:
    """A tick label: `40%` for a rate, `1.5k` past a thousand, else the shortest plain form, to `digits`
    significant digits (decimals of a percentage)."""
    if percent:
        return f"{value * 100:.{max(digits - 4, 0)}f}%"
    if abs(value) >= 1000:
        return f"{value / 1000:.{digits}g}k"
    return f"{value:.{digits}g}"


def tick_labels(ticks: Sequence[float], percent: bool = False) -> list[str]:
    """One label per tick, with as many digits as it takes to tell every tick apart (a loss axis from 24.9995 to
    25.0005 reads 24.9995, 25, 25.0005, not 25 five times)."""
    for digits in range(4, 16):
        labels = [format_tick(tick, percent, digits) for tick in ticks]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def line_chart(series: Mapping[str, Sequence[tuple[float, float]]], *, title: str, x_label: str = "step",
               y_label: str = "", width: int = 560, height: int = 280) -> str:
    """An SVG line chart of named (x, y) series; non-finite points are dropped and counted in a note."""
    finite = {name: [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
              for name, points in series.items()}
    dropped = sum(len(points) for points in series.values()) - sum(len(points) for points in finite.values())
    points = [point for values in finite.values() for point in values]
    if not points:
        return _empty(title, width, height)
    steps = all(float(x).is_integer() for x, _ in points)  # training steps: no tick at step 1.2
    x_ticks = nice_ticks(min(x for x, _ in points), max(x for x, _ in points), integer=steps)
    y_ticks = nice_ticks(min(y for _, y in points), max(y for _, y in points))
    frame = Frame(x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1], 56, 48, width - 16, height - 44)
    parts = [_title(title), *_axes(frame, x_ticks, y_ticks, percent=False), _axis_labels(frame, x_label, y_label)]
    for colour, (name, values) in zip(_colours(), finite.items(), strict=False):
        parts.append(_polyline(frame, values, colour, name))
    parts.append(_legend(list(finite), frame))
    if dropped:
        parts.append(_note(frame, f"{dropped} non-finite point(s) not drawn"))
    return _svg(width, height, title, parts)


def bar_chart(bars: Sequence[Bar], *, title: str, references: Mapping[str, float] | None = None,
              percent: bool = False, width: int | None = None, height: int = 280, colour_by: str = "group") -> str:
    """An SVG bar chart, bars grouped by `Bar.group`; `references` (group -> target) are dashed lines.

    Bars take one colour per group, or with `colour_by="label"` one per label (a version compared across
    groups keeps its colour). `width` defaults to about 52 px per bar (between 360 and 1180) so that
    version labels stay legible.
    """
    if colour_by not in ("group", "label"):
        raise ValueError(f"colour_by is '{colour_by}'; use group or label")
    references = references or {}
    slots = len(bars) + len(_unique(bar.group for bar in bars)) - 1
    width = width or max(360, min(1180, 80 + 52 * slots))
    measured = [bar.value for bar in bars if bar.value is not None and math.isfinite(bar.value)]
    if not measured:
        return _empty(title, width, height)
    # Headroom so the tallest bar's label stays in the plot; a rate's axis stops at 100% but zooms in
    # on small rates (a 5% hallucination target would be a sliver on a 0-100% axis).
    top_value = max([*measured, *references.values(), 0.0]) * 1.08
    top_value = min(max(top_value, 0.05), 1.0) if percent else top_value
    y_ticks = nice_ticks(min([0.0, *measured]), top_value)
    frame = Frame(0.0, float(slots), y_ticks[0], y_ticks[-1], 56, 48, width - 16, height - 28)
    colours = dict(zip(_unique(getattr(bar, colour_by) for bar in bars), _colours(), strict=False))
    parts = [_title(title), *_axes(frame, [], y_ticks, percent=percent)]
    for group, (start, end) in _slots(bars).items():
        members = [bar for bar in bars if bar.group == group]
        parts.extend(_bar(frame, slot, bar, colours[getattr(bar, colour_by)], percent)
                     for slot, bar in enumerate(members, start))
        if group in references:
            parts.append(_reference_line(frame, references[group], start, end))
    parts.append(_legend(list(colours) if len(colours) > 1 else [], frame, dashed="target" if references else ""))
    return _svg(width, height, title, parts)


def _bar(frame: Frame, slot: float, bar: Bar, colour: str, percent: bool) -> str:
    left, right = frame.x(slot + 0.15), frame.x(slot + 0.85)
    centre = (left + right) / 2
    room = int((frame.x(1.0) - frame.x(0.0)) / 5.5)  # characters that fit under one bar at font size 10
    label = (f'<text x="{centre:.1f}" y="{frame.bottom + 14:.1f}" font-size="10" text-anchor="middle" '
             f'fill="#444"><title>{escape(bar.label)}</title>{escape(_shorten(bar.label, max(room, 4)))}</text>')
    if bar.value is None or not math.isfinite(bar.value):
        return label + (f'<text x="{centre:.1f}" y="{frame.bottom - 4:.1f}" font-size="10" '
                        f'text-anchor="middle" fill="#999">n/a</text>')
    base, tip = frame.y(max(frame.y_lo, 0.0)), frame.y(bar.value)
    value_text = format_tick(bar.value, percent) if not percent else f"{bar.value * 100:.1f}%"
    return label + (
        f'<rect class="bar" x="{left:.1f}" y="{min(base, tip):.1f}" width="{right - left:.1f}" height="{abs(base - tip):.1f}" '
        f'fill="{colour}"><title>{escape(bar.group)} {escape(bar.label)}: {value_text}</title></rect>'
        f'<text x="{centre:.1f}" y="{min(base, tip) - 3:.1f}" font-size="10" text-anchor="middle" '
        f'fill="#222">{value_text}</text>')


def _polyline(frame: Frame, values: Sequence[tuple[float, float]], colour: str, name: str) -> str:
    coordinates = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in values)
    marker = "".join(f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="2.5" fill="{colour}"/>'
                     for x, y in values) if len(values) <= 12 else ""
    return (f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="1.8" '
            f'stroke-linejoin="round"><title>{escape(name)}</title></polyline>{marker}')


def _axes(frame: Frame, x_ticks: Sequence[float], y_ticks: Sequence[float], *, percent: bool) -> list[str]:
    parts = []
    for tick, label in zip(y_ticks, tick_labels(y_ticks, percent), strict=True):
        row = frame.y(tick)
        parts.append(f'<line x1="{frame.left}" y1="{row:.1f}" x2="{frame.right}" y2="{row:.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{frame.left - 6}" y="{row + 3.5:.1f}" font-size="10" text-anchor="end" '
                     f'fill="#555">{label}</text>')
    for tick, label in zip(x_ticks, tick_labels(x_ticks), strict=True):
        column = frame.x(tick)
        parts.append(f'<text x="{column:.1f}" y="{frame.bottom + 14}" font-size="10" text-anchor="middle" '
                     f'fill="#555">{label}</text>')
    parts.append(f'<line x1="{frame.left}" y1="{frame.bottom}" x2="{frame.right}" y2="{frame.bottom}" stroke="#888"/>')
    return parts


def _axis_labels(frame: Frame, x_label: str, y_label: str) -> str:
    middle = (frame.top + frame.bottom) / 2
    return (f'<text x="{(frame.left + frame.right) / 2:.1f}" y="{frame.bottom + 30}" font-size="11" '
            f'text-anchor="middle" fill="#555">{escape(x_label)}</text>'
            f'<text x="14" y="{middle:.1f}" font-size="11" text-anchor="middle" fill="#555" '
            f'transform="rotate(-90 14 {middle:.1f})">{escape(y_label)}</text>')


def _reference_line(frame: Frame, reference: float, start: float, end: float) -> str:
    row = frame.y(min(max(reference, frame.y_lo), frame.y_hi))
    return (f'<line x1="{frame.x(start):.1f}" y1="{row:.1f}" x2="{frame.x(end):.1f}" y2="{row:.1f}" '
            f'stroke="{_TARGET_COLOUR}" stroke-dasharray="5 4" stroke-width="1.3"/>')


def _legend(names: Sequence[str], frame: Frame, dashed: str = "") -> str:
    """Colour swatches for `names`, then (when `dashed` is given) a dashed-line entry, above the plot."""
    parts, column, row = [], frame.left, 24
    for colour, name in zip(_colours(), names, strict=False):
        parts.append(f'<rect x="{column:.1f}" y="{row}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{column + 14:.1f}" y="{row + 9}" font-size="10" fill="#333">{escape(name)}</text>')
        column += 24 + 6.5 * len(name)
    if dashed:
        parts.append(f'<line x1="{column:.1f}" y1="{row + 5}" x2="{column + 18:.1f}" y2="{row + 5}" '
                     f'stroke="{_TARGET_COLOUR}" stroke-dasharray="5 4" stroke-width="1.3"/>'
                     f'<text x="{column + 22:.1f}" y="{row + 9}" font-size="10" fill="#333">{escape(dashed)}</text>')
    return "".join(parts)


def _note(frame: Frame, text: str) -> str:
    return (f'<text x="{frame.right}" y="{frame.top - 3}" font-size="10" text-anchor="end" '
            f'fill="#a05a00">{escape(text)}</text>')


def _empty(title: str, width: int, height: int) -> str:
    """A chart with nothing to draw is one line of text, not an empty box."""
    return f'<p class="muted chart-empty">{escape(title)}: no value recorded.</p>'



def _title(title: str) -> str:
    return f'<text x="8" y="16" font-size="13" font-weight="600" fill="#222">{escape(title)}</text>'


def _svg(width: int, height: int, title: str, parts: Sequence[str]) -> str:
    return (f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" {_FONT}>{"".join(parts)}</svg>')


def _colours():
    while True:
        yield from PALETTE


def _unique(names) -> list[str]:
    return list(dict.fromkeys(names))


def _slots(bars: Sequence[Bar]) -> dict[str, tuple[int, int]]:
    """Each group's [start, end) bar slots: groups side by side in first-seen order, one empty slot between."""
    slots, start = {}, 0
    for group in _unique(bar.group for bar in bars):
        count = sum(1 for bar in bars if bar.group == group)
        slots[group] = (start, start + count)
        start += count + 1
    return slots


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
