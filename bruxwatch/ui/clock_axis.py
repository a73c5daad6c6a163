"""A pyqtgraph time axis that reads on the night's clock: the plots keep seconds from the
recording's start, the axis labels them as local time (23:00, 23:30, ...) at round clock
times."""

from __future__ import annotations

import datetime as dt
import math

import pyqtgraph as pg

from bruxwatch.store.local_time import local

STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800)
"""Tick spacings (s), the smallest that gives at most `MAX_TICKS` ticks is used."""
MAX_TICKS = 8


class ClockAxis(pg.AxisItem):
    """Bottom axis for plots in seconds from `started_at` (ISO or datetime)."""

    def __init__(self, started_at: str | dt.datetime, **kwargs) -> None:
        super().__init__(orientation="bottom", **kwargs)
        self.start = local(started_at)
        midnight = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        self.offset_s = (self.start - midnight).total_seconds()  # clock seconds at x = 0
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph's names)
        span = max(maxVal - minVal, 1e-9)
        step = next((s for s in STEPS_S if span / s <= MAX_TICKS), STEPS_S[-1])
        first = math.ceil((minVal + self.offset_s) / step) * step - self.offset_s
        ticks = []
        t = first
        while t <= maxVal:
            ticks.append(t)
            t += step
        return [(step, ticks)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        pattern = "%H:%M:%S" if spacing < 60 else "%H:%M"
        return [(self.start + dt.timedelta(seconds=v)).strftime(pattern) for v in values]

    def label_text(self) -> str:
        """ "local time (UTC+01:00)" for the axis label."""
        offset = self.start.strftime("%z")
        return f"local time (UTC{offset[:3]}:{offset[3:]})"
