"""Scored nights kept, so a report over nights already scored is instant.

A night's `ScoredNight` is kept in the user's cache folder (`~/.cache/bruxwatch/scored/`,
0700; files 0600), not in the night: a report never changes a night's file. Its key is what
the score depends on: the software (its version, and the size and time of each of its source
files, so an edited checkout scores again), the night file (size, modification time, start,
samples), the scoring settings, calibration, excluded stretches and channels; change any and
the night is scored again. A night still being recorded is never kept.

The kept result is a pickle, which could run code if someone else wrote it: each is signed
with HMAC-SHA256 under a key of this user's (`key`, made once, 0600), and one whose signature
does not match is ignored and scored again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import hmac
import json
import pickle
import secrets
from collections.abc import Callable
from pathlib import Path

from bruxwatch import __version__
from bruxwatch.errors import StoreError
from bruxwatch.store.private import private_file, private_folder
from bruxwatch.store.recording import Recording
from bruxwatch.store.scored import ScoredNight, Scoring, score_night, stored_scoring

SIGNATURE = 32
"""Bytes of HMAC-SHA256 in front of each kept result."""
MAX_KEPT = 2000
"""Scores kept at most (a few years of nights); the least recently used go first."""


def cache_dir() -> Path:
    """Where scored nights are kept (platformdirs' cache folder for bruxwatch)."""
    try:
        import platformdirs
    except ImportError:
        return Path.home() / ".cache" / "bruxwatch" / "scored"
    return Path(platformdirs.user_cache_dir("bruxwatch")) / "scored"


def night_key(recording: Recording, scoring: Scoring, channels: tuple[int, ...] | None) -> str:
    """What the night's score depends on, hashed (hex)."""
    stat = recording.path.stat()
    identity = {
        "software": __version__,
        "code": code_fingerprint(),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "started_at": recording.session.started_at,
        "end_index": recording.end_index,
        "samples": recording.n_samples,
        "config": dataclasses.asdict(scoring.config),
        "calibration": scoring.calibration.to_dict() if scoring.calibration else None,
        "exclude_s": [list(x) for x in scoring.exclude_s],
        "channels": list(channels) if channels else None,
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """The package's source files, by name, size and modification time, hashed."""
    package = Path(__file__).resolve().parents[1]
    files = sorted(package.rglob("*.py"))
    parts = [f"{p.relative_to(package)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def scored(
    recording: Recording,
    channels: tuple[int, ...] | None = None,
    progress: Callable[[int, int], None] | None = None,
    use_cache: bool = True,
    folder: Path | None = None,
) -> ScoredNight:
    """`score_night(recording)`, or the score kept from an earlier run with the same key;
    a new score is kept for the next (`use_cache`: False scores afresh and keeps nothing)."""
    if not use_cache or recording.session.status == "recording":
        return score_night(recording, progress=progress, channels=channels)
    scoring = stored_scoring(recording, channels)
    key = night_key(recording, scoring, channels)
    kept = load(key, recording.path, folder)
    if kept is not None:
        return kept
    night = score_night(recording, progress=progress, channels=channels, scoring=scoring)
    save(key, night, folder)
    return night


def kept_score(
    path: Path, channels: tuple[int, ...] | None = None, folder: Path | None = None
) -> ScoredNight | None:
    """The score kept for the night at `path`, without scoring (None: none kept, or the
    night cannot be read: scoring it says why)."""
    try:
        with Recording(path) as recording:
            if recording.session.status == "recording":
                return None
            key = night_key(recording, stored_scoring(recording, channels), channels)
    except (StoreError, OSError):
        return None
    return load(key, path, folder)


def load(key: str, path: Path, folder: Path | None = None) -> ScoredNight | None:
    """The kept score of night `path` under `key` (None: none, or not signed by us)."""
    night = load_kept(key, folder)
    return dataclasses.replace(night, path=path) if isinstance(night, ScoredNight) else None


def load_kept(key: str, folder: Path | None = None) -> object | None:
    """What was kept under `key` (a score, a review's overview), or None: nothing, or not
    signed with this user's key."""
    kept = (folder or cache_dir()) / f"{key}.pickle"
    try:
        blob = kept.read_bytes()
        signature, data = blob[:SIGNATURE], blob[SIGNATURE:]
        if not hmac.compare_digest(signature, _sign(data, folder)):
            return None
    except OSError:
        return None
    found = pickle.loads(data)  # noqa: S301 - signed with this user's own key, above
    with contextlib.suppress(OSError):
        kept.touch()  # used now: the last to be forgotten
    return found


def save(key: str, night: object, folder: Path | None = None) -> None:
    """Keep `night` (a score, a review's overview) under `key`, signed; a cache that cannot
    be written is no error."""
    folder = folder or cache_dir()
    try:
        private_folder(folder)
        data = pickle.dumps(night, protocol=pickle.HIGHEST_PROTOCOL)
        with private_file(folder / f"{key}.pickle", "wb") as out:
            out.write(_sign(data, folder) + data)
        _forget_oldest(folder)
    except OSError:
        pass


def _forget_oldest(folder: Path) -> None:
    """Keep at most MAX_KEPT scores: those used least recently are removed."""
    kept = list(folder.glob("*.pickle"))
    if len(kept) <= MAX_KEPT:
        return
    kept.sort(key=lambda p: p.stat().st_mtime)
    for old in kept[: len(kept) - MAX_KEPT]:
        old.unlink(missing_ok=True)


def _sign(data: bytes, folder: Path | None) -> bytes:
    return hmac.new(_key(folder), data, hashlib.sha256).digest()


def _key(folder: Path | None) -> bytes:
    """This user's signing key, made on first use (0600)."""
    path = (folder or cache_dir()) / "key"
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    key = secrets.token_bytes(32)
    private_folder(path.parent)
    with private_file(path, "wb") as out:
        out.write(key)
    return key
