"""Scoring many nights in worker processes gives exactly what scoring them one by one gives,
a damaged night among them comes back as such, and `--jobs` is checked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.nights import record_simulated_nights
from bruxwatch.store.scoring_pool import Unscored, default_workers, score_many
from tests.test_report import SHORT_NIGHTS_RATED


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pool")
    return record_simulated_nights(
        folder,
        nights=3,
        hours=0.1,
        baseline_nights=1,
        seed=8,
        first_evening=dt.datetime(2026, 5, 4, 22, 0, tzinfo=dt.UTC),
        episodes_per_hour=60,
        signal=SHORT_NIGHTS_RATED,
    )


def test_the_pool_gives_what_one_by_one_gives(nights, tmp_path):
    broken = tmp_path / "broken.sqlite"
    shutil.copy(nights[0], broken)
    with open(broken, "r+b") as handle:  # a damaged page in the middle of the file
        handle.seek(broken.stat().st_size // 2)
        handle.write(b"\xff" * 4096)
    paths = [*nights, broken]
    order = []
    alone = score_many(paths, workers=1)
    pooled = score_many(paths, workers=2, done=lambda k, path: order.append((k, path.name)))
    assert sorted(k for k, _ in order) == [1, 2, 3, 4]
    for a, b in zip(alone[:3], pooled[:3], strict=True):
        assert a.path == b.path and a.analysis.events == b.analysis.events
        assert a.analysis.summary == b.analysis.summary
        assert a.outcomes == b.outcomes and a.confirmation.summary == b.confirmation.summary
        assert dataclasses.asdict(a.session) == dataclasses.asdict(b.session)
    assert isinstance(alone[3], Unscored) and alone[3] == pooled[3] and pooled[3].damaged
    assert default_workers(paths) == 1  # minutes of signal: not worth starting processes


def test_jobs_in_the_report_command(nights, capsys):
    folder = str(nights[0].parent)
    assert main(["report", folder, "--json", "--jobs", "1"]) == 0
    one = capsys.readouterr().out
    assert main(["report", folder, "--jobs", "2"]) == 0
    assert capsys.readouterr().err == ""  # a progress bar only on a terminal
    assert main(["report", folder, "--json", "--jobs", "2"]) == 0
    assert capsys.readouterr().out == one
    assert main(["report", folder, "--jobs", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--jobs" in err[0] and "1-256" in err[0]
