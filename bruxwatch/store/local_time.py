"""Clock times as the wearer reads them: in the local time zone, with its UTC offset.

Nights are stored in UTC (`session.started_at`); everything shown or exported (the review,
the report, CSV, JSON, EDF+) goes through here, so one rule holds everywhere. The zone is the
system's (or TZ's), looked up for each moment, so a night across a daylight-saving change
shows each time with its own offset.
"""

from __future__ import annotations

import datetime as dt
import re

EVENING_SHIFT = dt.timedelta(hours=12)
"""A night belongs to the evening it began on: a start before noon counts for the day before
(a night begun at 00:30 on the 24th is the night of the 23rd)."""

DEFAULT_NAME = re.compile(r"^night-\d{4}-\d{2}-\d{2}(_\d{6})?$")
"""The names bruxwatch gives nights itself (they say nothing the label does not)."""


def local(when: dt.datetime | str) -> dt.datetime:
    """`when` (a datetime or an ISO text; naive means UTC) in the local zone."""
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone()


def offset_text(when: dt.datetime | str) -> str:
    """The local UTC offset at `when`, as "+01:00"."""
    offset = local(when).strftime("%z")
    return f"{offset[:3]}:{offset[3:]}"


def stamp(when: dt.datetime | str, seconds: bool = False) -> str:
    """ "2026-11-23 23:07 +01:00": the local date and time with the offset."""
    moment = local(when)
    return f"{moment:%Y-%m-%d %H:%M{':%S' if seconds else ''}} {offset_text(moment)}"


def evening_of(when: dt.datetime | str) -> dt.date:
    """The local date of the evening a night starting at `when` belongs to."""
    return (local(when) - EVENING_SHIFT).date()


def night_label(started_at: dt.datetime | str, file_stem: str) -> str:
    """ "2026-11-23 23:07" for a night bruxwatch named itself, else the evening's date and
    the file's own name (an import keeps what its name tells)."""
    moment = local(started_at)
    evening = f"{evening_of(moment):%Y-%m-%d}"
    if DEFAULT_NAME.match(file_stem):
        return f"{evening} {moment:%H:%M}"
    return f"{evening} {file_stem}"
