"""A night scored once is not scored again while nothing it depends on changes: the report
takes the kept score (signed, private, in the cache folder, never in the night)."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

import bruxwatch.store.score_cache as score_cache
from bruxwatch.cli import main
from bruxwatch.emulated.nights import record_simulated_nights
from bruxwatch.store.score_cache import cache_dir
from tests.test_careless_evening import hashes
from tests.test_report import SHORT_NIGHTS_RATED


@pytest.fixture
def nights(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "nights"
    record_simulated_nights(
        folder,
        nights=2,
        hours=0.1,
        baseline_nights=1,
        seed=9,
        first_evening=dt.datetime(2026, 6, 1, 22, 0, tzinfo=dt.UTC),
        episodes_per_hour=60,
        signal=SHORT_NIGHTS_RATED,
    )
    return folder


def report(folder, capsys, *extra) -> dict:
    capsys.readouterr()
    assert main(["report", str(folder), "--json", "--jobs", "1", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_second_report_takes_the_kept_scores(nights, capsys, monkeypatch):
    calls = []
    real = score_cache.score_night
    monkeypatch.setattr(
        score_cache, "score_night", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    before = hashes(nights)
    first = report(nights, capsys)
    assert len(calls) == 2
    assert report(nights, capsys) == first and len(calls) == 2  # nothing scored again
    assert hashes(nights) == before  # the nights themselves are never written
    folder = cache_dir()
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in folder.iterdir())
    report(nights, capsys, "--channels", "1")  # other settings: scored anew
    assert len(calls) == 4
    report(nights, capsys, "--rescore")
    assert len(calls) == 6
    night = sorted(nights.glob("*.sqlite"))[0]
    os.utime(night, ns=(night.stat().st_atime_ns, night.stat().st_mtime_ns + 10**9))
    assert report(nights, capsys) == first and len(calls) == 7  # that night changed


def test_a_kept_score_not_signed_by_this_user_is_not_trusted(nights, capsys, monkeypatch):
    first = report(nights, capsys)
    for kept in cache_dir().glob("*.pickle"):
        data = bytearray(kept.read_bytes())
        data[-1] ^= 0xFF  # someone else's bytes
        kept.write_bytes(bytes(data))
    calls = []
    real = score_cache.score_night
    monkeypatch.setattr(
        score_cache, "score_night", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    assert report(nights, capsys) == first and len(calls) == 2


def test_record_prepares_the_mornings_report_and_review(tmp_path, monkeypatch, capsys):
    import bruxwatch.ui.overview as overview
    from bruxwatch.store.recording import Recording

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = tmp_path / "night.toml"
    settings.write_text("[signal.quality]\nmin_night_hours = 0.02\nmin_good_hours = 0.01\n")
    out = tmp_path / "night.sqlite"
    device = "sim:scenario=night,realtime=0,chunk_s=1,minutes=3,episodes_per_hour=60"
    argv = ["--config", str(settings), "record", "--device", device, "--no-calibrate"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "prepared the report and the review (" in capsys.readouterr().out

    def not_again(*args, **kwargs):
        raise AssertionError("scored again")

    monkeypatch.setattr(score_cache, "score_night", not_again)
    monkeypatch.setattr(overview, "night_overview", not_again)
    assert main(["--config", str(settings), "report", str(out), "--json"]) == 0
    with Recording(out) as night:
        assert overview.kept_overview(night).episodes == night.episodes()
    # a session shorter than a night is not prepared
    short = tmp_path / "short.sqlite"
    device = "sim:scenario=night,realtime=0,chunk_s=1,minutes=0.5"
    assert main(["record", "--device", device, "--no-calibrate", "--out", str(short)]) == 0
    assert "prepared" not in capsys.readouterr().out
