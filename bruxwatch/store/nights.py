"""Finding the nights a command should look at: recording files, or folders of them.

`bruxwatch review`, `report` and `export` accept `NIGHT.sqlite` paths and folders; a folder
stands for every `*.sqlite` recording in it. Nights come back in the order they were recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bruxwatch.errors import StoreError
from bruxwatch.store.local_time import stamp
from bruxwatch.store.recording import Recording

SUFFIX = ".sqlite"


@dataclass(frozen=True)
class NightListing:
    """One line about a recording, read without scoring it.

    hours: span from the first to the last sample (gaps included), in hours;
    episodes: the episodes the recorder stored, artifacts not counted.
    """

    path: Path
    started_at: str
    mode: str
    status: str
    hours: float
    episodes: int

    @property
    def per_hour(self) -> float:
        return self.episodes / self.hours if self.hours > 0 else 0.0

    def label(self) -> str:
        when = stamp(self.started_at)
        return (
            f"{when}  {self.hours:.1f} h  {self.episodes} ep ({self.per_hour:.1f}/h)  {self.mode}"
        )


def find_nights(paths: Iterable[str | Path], skipped: list[str] | None = None) -> list[Path]:
    """Recording files named by `paths` (files, or folders searched for *.sqlite), in
    recording order. A named file that is not a recording, a missing path or a folder with
    none raises StoreError with one line; a file in a folder that is not a recording is left
    out, with a line saying why appended to `skipped`."""
    named: list[Path] = []
    from_folders: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.glob(f"*{SUFFIX}") if p.is_file())
            if not inside:
                raise StoreError(f"{path}: no recordings (*{SUFFIX}) in this folder")
            from_folders.extend(inside)
        elif path.is_file():
            named.append(path)
        else:
            raise StoreError(f"{path}: no such recording or folder")
    listings: dict[Path, NightListing] = {}
    for path in dict.fromkeys(p.resolve() for p in named):
        listings[path] = listing(path)
    for path in dict.fromkeys(p.resolve() for p in from_folders):
        if path in listings:
            continue
        try:
            listings[path] = listing(path)
        except StoreError as exc:
            if skipped is not None:
                skipped.append(str(exc))
    if not listings:
        raise StoreError("none of the files found is a bruxwatch recording")
    return sorted(listings, key=lambda p: (listings[p].started_at, str(p)))


def listing(path: Path) -> NightListing:
    """Read a recording's one-line summary (StoreError if it is not a recording)."""
    with Recording(path) as rec:
        fs = rec.info.fs
        first = rec.db.execute("SELECT MIN(first_index) FROM blocks").fetchone()[0] or 0
        episodes = rec.db.execute("SELECT COUNT(*) FROM episodes WHERE artifact = 0").fetchone()
        return NightListing(
            path=Path(path),
            started_at=rec.session.started_at,
            mode=rec.session.mode,
            status=rec.session.status,
            hours=(rec.end_index - first) / fs / 3600,
            episodes=int(episodes[0]),
        )
