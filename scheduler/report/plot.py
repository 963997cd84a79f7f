"""Throughput over time as an inline SVG bar chart (no plotting library, no JavaScript).

`bucket_counts` turns a stream of finish times into jobs per time step with a "nice"
step (1 min ... 1 day) so that at most `max_buckets` bars are drawn; `throughput_svg`
draws those counts, scaled to jobs per minute, with labelled axes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

NICE_STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
MAX_BUCKETS = 60


@dataclass(frozen=True)
class Series:
    """Jobs finished per step, the first step starting at `start`."""

    start: datetime
    step: timedelta
    counts: list[int]

    @property
    def per_minute(self) -> list[float]:
        minutes = self.step.total_seconds() / 60.0
        return [count / minutes for count in self.counts]

    @property
    def total(self) -> int:
        return sum(self.counts)


def choose_step(span: timedelta, *, max_buckets: int = MAX_BUCKETS) -> timedelta:
    """The smallest nice step that covers `span` in at most `max_buckets` steps."""
    minutes = span.total_seconds() / 60.0
    for step in NICE_STEPS_MIN:
        if minutes / step < max_buckets:
            return timedelta(minutes=step)
    days = math.ceil(minutes / 1440 / max_buckets)
    return timedelta(days=days)


def bucket_counts(
    times: Iterable[datetime], *, first: datetime, last: datetime, max_buckets: int = MAX_BUCKETS
) -> Series:
    """Count `times` (all within [first, last]) per nice step; the start is floored to the step."""
    step = choose_step(last - first, max_buckets=max_buckets)
    step_s = step.total_seconds()
    start_ts = math.floor(first.timestamp() / step_s) * step_s
    start = first - timedelta(seconds=first.timestamp() - start_ts)
    size = int((last.timestamp() - start_ts) // step_s) + 1
    counts = [0] * size
    for moment in times:
        index = int((moment.timestamp() - start_ts) // step_s)
        counts[min(max(index, 0), size - 1)] += 1
    return Series(start=start, step=step, counts=counts)


def _nice_ceiling(value: float) -> float:
    """1, 2 or 5 times a power of ten, at least `value` (axis maximum)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * power >= value:
            return float(factor * power)
    return float(10 * power)


def _label_time(moment: datetime, step: timedelta) -> str:
    return moment.strftime("%m-%d %H:%M" if step < timedelta(days=1) else "%Y-%m-%d")


def throughput_svg(series: Series, *, width: int = 960, height: int = 240) -> str:
    """An SVG chart of jobs/min per step; the y axis is labelled at 0, half and the maximum.

    The chart scales to the width of its container (viewBox `width` x `height` units).
    """
    left, right, top, bottom = 48, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    rates = series.per_minute
    y_max = _nice_ceiling(max(rates, default=0.0))
    bar_w = plot_w / max(len(rates), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        'style="width: 100%; height: auto" role="img" aria-label="throughput over time" '
        'font-family="sans-serif" font-size="11">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#f7f8fa"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde1e7"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{y_max * fraction:g}</text>"
        )
    for index, rate in enumerate(rates):
        bar_h = plot_h * rate / y_max
        x = left + index * bar_w
        title = escape(
            f"{_label_time(series.start + index * series.step, series.step)}: "
            f"{series.counts[index]} jobs ({rate:.2f}/min)"
        )
        parts.append(
            f'<rect x="{x + 0.5:.1f}" y="{top + plot_h - bar_h:.1f}" '
            f'width="{max(bar_w - 1, 0.5):.1f}" height="{bar_h:.1f}" fill="#2f5bd3">'
            f"<title>{title}</title></rect>"
        )
    end = series.start + len(rates) * series.step
    for moment, anchor, x in (
        (series.start, "start", left),
        (end, "end", left + plot_w),
    ):
        parts.append(
            f'<text x="{x}" y="{height - 14}" text-anchor="{anchor}" fill="#555">'
            f"{escape(_label_time(moment, series.step))}</text>"
        )
    step_min = series.step.total_seconds() / 60
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 2}" text-anchor="middle" fill="#777">'
        f"jobs/min per {step_min:g}-minute step (UTC)</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)
