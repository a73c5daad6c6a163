"""A night damaged on the disk: every command names it in one line and points to `repair`;
folder commands skip it; `repair` saves what can be read into a new file; the original is
never changed. And a night a crash left half in its -wal file is copied whole."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.nights import record_simulated_nights
from bruxwatch.errors import StoreError
from bruxwatch.signal.config import QualityConfig, SignalConfig
from bruxwatch.store.recording import Recording

PAGE = 4096


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Two nights; three pages of the newer one (at 45, 50 and 55 % of the file) have their
    first bytes overwritten, as a failing disk or a broken copy leaves them."""
    out = tmp_path_factory.mktemp("damaged") / "nights"
    rated = SignalConfig(quality=QualityConfig(min_good_hours=0.05, min_night_hours=0.05))
    paths = record_simulated_nights(
        out, nights=2, hours=0.2, baseline_nights=1, seed=8, signal=rated
    )
    shutil.copy(paths[1], out.parent / "intact.sqlite")
    data = bytearray(paths[1].read_bytes())
    pages = len(data) // PAGE
    for page in (pages * 45 // 100, pages // 2, pages * 55 // 100):
        data[page * PAGE : page * PAGE + 8] = b"\xff" * 8
    paths[1].write_bytes(bytes(data))
    return out


def damaged(folder: Path) -> Path:
    return sorted(folder.glob("*.sqlite"))[-1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_failure(argv: list[str], capsys, night: Path) -> str:
    before = digest(night)
    code = main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "propagateSizeHints" not in line]
    assert code == 2 and len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert digest(night) == before
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["analyze", "{night}"],
        ["export", "{night}", "--edf", "{tmp}/x.edf"],
        ["report", "{night}", "--json"],
        ["stream", "replay:{night}?speed=0", "--seconds", "2000"],
        ["review", "{night}", "--screenshot", "{tmp}/r.png"],
    ],
)
def test_every_command_names_the_damaged_night(folder, tmp_path, capsys, command):
    if command[0] == "review":
        pytest.importorskip("pyqtgraph")
    night = damaged(folder)
    argv = [part.format(night=night, tmp=tmp_path) for part in command]
    line = one_line_failure(argv, capsys, night)
    assert f"{night}: damaged (" in line and f"`bruxwatch repair {night}`" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written


def test_a_folder_report_skips_the_damaged_night(folder, capsys):
    before = digest(damaged(folder))
    assert main(["report", str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and f"{damaged(folder).name}: damaged" in captured.err
    import json

    report = json.loads(captured.out)
    assert [n["file"] for n in report["nights"]] == [sorted(folder.glob("*.sqlite"))[0].name]
    assert digest(damaged(folder)) == before


def test_repair_saves_what_can_be_read_and_leaves_the_original(folder, tmp_path, capsys):
    night = damaged(folder)
    before = digest(night)
    out = tmp_path / "repaired.sqlite"
    assert main(["repair", str(night), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"saved {out}:" in said and "lost to damage (now gaps)" in said
    assert digest(night) == before
    assert out.stat().st_mode & 0o777 == 0o600
    with Recording(out) as repaired, Recording(folder.parent / "intact.sqlite") as intact:
        assert repaired.integrity_ok()
        kept, index = repaired.samples()
        whole, whole_index = intact.samples()
        assert 0 < kept.shape[1] < whole.shape[1]
        # what was kept is bit for bit what was recorded, at the same sample indexes
        where = np.searchsorted(whole_index, index)
        assert np.array_equal(whole_index[where], index)
        assert np.array_equal(whole[:, where], kept)
        lost = sum(n for _, n in repaired.gaps()) - sum(n for _, n in intact.gaps())
        assert lost == whole.shape[1] - kept.shape[1]  # the samples lost are gaps, exactly
    assert main(["analyze", str(out), "--json"]) == 0
    capsys.readouterr()
    # a second repair over the first is refused, and changes nothing
    kept_digest = digest(out)
    line = one_line_failure(["repair", str(night), "--out", str(out)], capsys, night)
    assert "already exists" in line and digest(out) == kept_digest


def test_repairing_an_intact_night_keeps_everything(folder, tmp_path, capsys):
    intact = folder.parent / "intact.sqlite"
    out = tmp_path / "copy.sqlite"
    assert main(["repair", str(intact), "--out", str(out)]) == 0
    assert "0.0 s lost to damage" in capsys.readouterr().out
    with Recording(out) as copy, Recording(intact) as original:
        assert np.array_equal(copy.samples()[0], original.samples()[0])
        assert copy.episodes() == original.episodes() and copy.gaps() == original.gaps()
        assert copy.feedback() == original.feedback()


CRASH = textwrap.dedent(
    """
    import os, sys
    from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
    from bruxwatch.store.night_writer import RecordingWriter
    sim = Simulator(SimulatorConfig(scenario="awake", duration_s=20, seed=2))
    writer = RecordingWriter(sys.argv[1], sim.info)
    for chunk in sim.chunks():
        writer.append(chunk)
    writer.flush(force=True)
    os._exit(0)  # a crash: nothing is closed, the night sits in the -wal file
    """
)


def test_a_crashed_night_copied_by_its_sqlite_alone_is_whole_once_opened(tmp_path, capsys):
    night = tmp_path / "night.sqlite"
    subprocess.run([sys.executable, "-c", CRASH, str(night)], check=True)
    assert Path(f"{night}-wal").stat().st_size > 0
    shutil.copy(night, tmp_path / "before.sqlite")  # what a careless copy takes
    with pytest.raises(StoreError, match="no such table"):  # it all sat in the -wal
        Recording(tmp_path / "before.sqlite")
    exported = tmp_path / "exported.sqlite"
    assert main(["export", str(night), "--copy", str(exported)]) == 0
    capsys.readouterr()
    with Recording(night) as opened:  # opening it moved the -wal into the file
        assert opened.n_samples == 20_000 and opened.session.status == "interrupted"
    shutil.copy(night, tmp_path / "after.sqlite")
    with Recording(tmp_path / "after.sqlite") as copy, Recording(exported) as export:
        assert copy.n_samples == export.n_samples == 20_000
    assert exported.stat().st_mode & 0o777 == 0o600
    assert not Path(f"{exported}-wal").exists()
