"""A trial plan: baseline, feedback and withdrawal blocks by date (e.g. 2 weeks without
feedback, 4 with, 2 without again), saved in the user's config folder. The recorder follows it
(`record` without `--mode` takes the mode of the evening's block) and stores the block's name
with the night, so the report can show the phases.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from bruxwatch.errors import StoreError
from bruxwatch.store.private import private_file, private_folder
from bruxwatch.store.user_files import user_dir

PHASES = ("baseline", "feedback", "withdrawal")
"""Block names: baseline and withdrawal nights record without feedback."""
FORMAT = "bruxwatch-plan-1"


@dataclass(frozen=True)
class Phase:
    """One block: `name` for `days` evenings from the evening of `first`."""

    name: str
    first: dt.date
    days: int

    @property
    def last(self) -> dt.date:
        return self.first + dt.timedelta(days=self.days - 1)

    @property
    def mode(self) -> str:
        """The recorder's mode in this block."""
        return "feedback" if self.name == "feedback" else "baseline"

    def holds(self, evening: dt.date) -> bool:
        return self.first <= evening <= self.last


@dataclass(frozen=True)
class Plan:
    phases: tuple[Phase, ...]

    @property
    def first(self) -> dt.date:
        return self.phases[0].first

    @property
    def last(self) -> dt.date:
        return self.phases[-1].last

    def phase_on(self, evening: dt.date) -> Phase | None:
        """The block the evening of `evening` falls in (None: before or after the plan)."""
        return next((p for p in self.phases if p.holds(evening)), None)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "phases": [
                {"name": p.name, "first": p.first.isoformat(), "days": p.days} for p in self.phases
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a bruxwatch plan (format {data.get('format')!r})")
        return cls(
            tuple(
                Phase(p["name"], dt.date.fromisoformat(p["first"]), int(p["days"]))
                for p in data["phases"]
            )
        )

    def lines(self, today: dt.date) -> list[str]:
        """The plan as the wearer reads it, with where `today`'s evening falls."""
        out = [
            f"{p.name:<10} {p.first:%a %d %b %Y} - {p.last:%a %d %b %Y} ({p.days} nights, "
            f"{'feedback on' if p.mode == 'feedback' else 'feedback off: logged only'})"
            for p in self.phases
        ]
        now = self.phase_on(today)
        if now is not None:
            day = (today - now.first).days + 1
            out.append(
                f"now (the night of {today:%a %d %b}): {now.name}, night {day} of {now.days}; "
                f"`bruxwatch record` records in {now.mode} mode"
            )
        elif today < self.first:
            out.append(f"the plan starts on the evening of {self.first:%a %d %b %Y}")
        else:
            out.append(f"the plan ended on {self.last:%a %d %b %Y}; `record` uses --mode again")
        return out


def make_plan(start: dt.date, blocks: list[tuple[str, int]]) -> Plan:
    """Blocks (name, nights) one after the other from the evening of `start`; blocks of
    0 nights are left out. ValueError for an unknown name or a negative length."""
    phases = []
    first = start
    for name, days in blocks:
        if name not in PHASES:
            raise ValueError(f"{name!r} is not a block (one of {', '.join(PHASES)})")
        if days < 0:
            raise ValueError(f"{name}: {days} nights; a block has 0 nights or more")
        if days:
            phases.append(Phase(name, first, days))
            first += dt.timedelta(days=days)
    if not phases:
        raise ValueError("the plan has no nights")
    return Plan(tuple(phases))


def plan_path() -> Path:
    """Where the plan is saved: plan.json in the config folder."""
    return user_dir("config") / "plan.json"


def load_plan(path: Path | None = None) -> Plan | None:
    """The saved plan (None when there is none); StoreError for an unreadable one."""
    path = path or plan_path()
    if not path.is_file():
        return None
    try:
        return Plan.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path}: cannot read the plan ({exc})") from None


def save_plan(plan: Plan, path: Path | None = None) -> Path:
    """Save `plan` (0600, whole or not at all; the config folder made 0700); its path."""
    if path is None:
        path = plan_path()
        private_folder(path.parent)
    with private_file(path) as out:
        out.write(json.dumps(plan.to_dict(), indent=1))
    return path
