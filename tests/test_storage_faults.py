"""Storage failing at any moment of `bruxwatch record` (a full disk, a read-only file system,
an I/O error): one line, a non-zero exit, no traceback, and what was saved stays readable.
Wearer's files are 0600 in 0700 folders; a failed export leaves an existing file as it was."""

from __future__ import annotations

import hashlib
import sqlite3
import stat

import pytest

from bruxwatch.cli import main
from bruxwatch.store import night_writer as store
from bruxwatch.store.recording import Recording

DEVICE = "sim:scenario=night,calibrate=1,episodes_per_hour=300,seed=2,realtime=0,minutes=1.5"
ERRORS = ["database or disk is full", "disk I/O error", "attempt to write a readonly database"]


class FailingConnection:
    """A sqlite3 connection whose statements fail from the `fail_at`-th one on, or from the
    first one containing `fail_on` (the final status update, the checkpoint)."""

    def __init__(self, real: sqlite3.Connection, fail_at: int | str, message: str, count: list):
        self._real, self._fail_at, self._message, self._count = real, fail_at, message, count

    def _statement(self, name: str, sql: str, *args):
        self._count[0] += 1
        due = self._count[0] >= self._fail_at if isinstance(self._fail_at, int) else False
        if due or (isinstance(self._fail_at, str) and self._fail_at in sql):
            self._fail_at = 0  # and every statement after it
            raise sqlite3.OperationalError(self._message)
        return getattr(self._real, name)(sql, *args)

    def execute(self, *args):
        return self._statement("execute", *args)

    def executemany(self, *args):
        return self._statement("executemany", *args)

    def close(self):
        self._real.close()


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def record_failing_at(monkeypatch, tmp_path, fail_at: int, message: str):
    counter = [0]
    real_init = store.RecordingWriter.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.db = FailingConnection(self.db, fail_at, message, counter)

    monkeypatch.setattr(store.RecordingWriter, "__init__", init)
    out = tmp_path / f"night-{fail_at}.sqlite".replace(" ", "_")
    code = main(["record", "--device", DEVICE, "--out", str(out), "--feedback", "bell"])
    monkeypatch.undo()
    return code, out, counter[0]


def test_a_storage_failure_at_any_moment_is_one_line(monkeypatch, tmp_path, capsys):
    # how many statements a whole recording makes, then fail at each stage of it
    code, _, statements = record_failing_at(monkeypatch, tmp_path, 10**9, "")
    assert code == 0 and statements > 8
    capsys.readouterr()
    moments = [1, 2, 3, statements // 2, "UPDATE session SET calibration", "SET status"]
    moments += ["wal_checkpoint"]
    for k, fail_at in enumerate(moments):
        message = ERRORS[k % len(ERRORS)]
        code, out, _ = record_failing_at(monkeypatch, tmp_path, fail_at, message)
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert code == 2, (fail_at, captured.err)
        assert len(lines) == 1 and message in lines[0], (fail_at, captured.err)
        assert "Traceback" not in captured.err + captured.out
        with Recording(out) as rec:  # what was committed before the failure reads back
            assert rec.integrity_ok()
            assert rec.session.status in ("recording", "interrupted", "finished")


def test_wearers_files_are_private(tmp_path, capsys, any_length_is_a_night):
    week = tmp_path / "week"
    argv = ["simulate", "--nights", "1", "--hours", "0.01", "--out", str(week)]
    assert main([*any_length_is_a_night, *argv]) == 0
    night = next(week.glob("*.sqlite"))
    exports = tmp_path / "for-dentist"
    assert main(["report", str(week), "--csv", str(exports / "csv")]) == 0
    assert main(["report", str(week), "--pdf", str(exports / "report.pdf")]) == 0
    assert main(["export", str(night), "--edf", str(tmp_path / "n.edf")]) == 0
    assert main(["export", str(night), "--csv", str(tmp_path / "n.csv")]) == 0
    files = [night, tmp_path / "n.edf", tmp_path / "n.csv", exports / "report.pdf"]
    files += list((exports / "csv").iterdir())
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (week, exports, exports / "csv"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert not list(tmp_path.rglob("*.part"))  # no temporary file left behind


def test_a_failed_export_leaves_an_existing_file_unchanged(tmp_path, monkeypatch, capsys):
    assert main(["simulate", "--nights", "1", "--hours", "0.01", "--out", str(tmp_path)]) == 0
    night = next(tmp_path.glob("*.sqlite"))
    target = tmp_path / "n.csv"
    target.write_text("an earlier export\n")
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    from bruxwatch.store import exports

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(exports.np, "column_stack", full_disk)
    capsys.readouterr()
    assert main(["export", str(night), "--csv", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0]
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    assert not list(tmp_path.glob("*.part"))
