"""One rule for clock times (the wearer's zone, with its offset, everywhere) and one report in
every form: the terminal, the JSON and the PDF say the same, with the same caveats; short
sessions are listed apart and counted in nothing."""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from pathlib import Path

import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.nights import record_simulated_nights
from bruxwatch.signal.config import QualityConfig, SignalConfig
from bruxwatch.store.local_time import evening_of, night_label, stamp

RATED = SignalConfig(quality=QualityConfig(min_good_hours=0.1, min_night_hours=0.1))
"""Nights of 0.2 h here: rated from 0.1 h of good signal, and nights from 0.1 h."""


@pytest.fixture
def berlin(monkeypatch):
    """The wearer lives in Berlin (UTC+01:00 in winter)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Path:
    """Two baseline nights and one with feedback, starting 22:07 UTC = 23:07 in Berlin, and
    a 20-second session recorded from the live window."""
    folder = tmp_path_factory.mktemp("forms") / "nights"
    evening = dt.datetime(2026, 11, 23, 22, 7, tzinfo=dt.UTC)
    record_simulated_nights(
        folder, nights=3, hours=0.2, baseline_nights=2, seed=2, first_evening=evening, signal=RATED
    )
    return folder


def test_the_clock_rule(berlin):
    late = dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.UTC)  # 00:30 on the 24th in Berlin
    assert stamp(late) == "2026-11-24 00:30 +01:00"
    assert evening_of(late) == dt.date(2026, 11, 23)  # the night of the 23rd
    assert night_label(late, "night-2026-11-24_003000") == "2026-11-23 00:30"
    assert night_label(late, "OpenBCI-RAW-2026-11-24") == "2026-11-23 OpenBCI-RAW-2026-11-24"
    summer = dt.datetime(2026, 7, 1, 21, 0, tzinfo=dt.UTC)  # each moment keeps its own offset
    assert stamp(summer) == "2026-07-01 23:00 +02:00"
    assert stamp("2026-11-23T22:07:00.000+00:00") == "2026-11-23 23:07 +01:00"


def test_every_output_shows_local_time_with_its_offset(week, tmp_path, capsys, berlin):
    pytest.importorskip("pyqtgraph")
    from bruxwatch.store.recording import Recording
    from bruxwatch.ui.overview import night_overview

    first = sorted(week.glob("*.sqlite"))[0]
    assert first.name == "night-2026-11-23.sqlite"  # named by the local evening
    report = json.loads(run(capsys, ["report", str(week), "--json"]))
    assert report["nights"][0]["night"] == "2026-11-23 23:07"
    assert report["nights"][0]["started_at"] == "2026-11-23T23:07:00+01:00"
    assert main(["report", str(week), "--csv", str(tmp_path / "csv")]) == 0
    with open(tmp_path / "csv" / "episodes.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["start_clock"].endswith("+01:00") for r in rows)
    labels = [n["night"] for n in report["nights"]]
    assert labels == ["2026-11-23 23:07", "2026-11-24 23:14", "2026-11-25 23:21"]
    assert {r["night"] for r in rows} <= set(labels)
    with Recording(first) as night:
        title = night_overview(night).title
    assert "2026-11-23 23:07 +01:00" in title and "UTC" not in title
    edf = tmp_path / "n.edf"
    assert main(["export", str(first), "--edf", str(edf)]) == 0
    header = edf.read_bytes()[:256].decode("ascii")
    assert header[168:176] == "23.11.26" and header[176:184] == "23.07.00"  # EDF: local time
    capsys.readouterr()


def run(capsys, argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_a_short_session_is_listed_apart_and_counted_in_nothing(week, tmp_path, capsys):
    pytest.importorskip("pyqtgraph")
    folder = tmp_path / "nights"
    folder.mkdir()
    for night in week.glob("*.sqlite"):
        (folder / night.name).write_bytes(night.read_bytes())
    before = json.loads(run(capsys, ["report", str(folder), "--json"]))
    argv = ["live", "--device", "sim:scenario=awake,episodes_per_hour=600", "--feedback", "bell"]
    short = folder / "screenshot-session.sqlite"
    assert (
        main(
            [*argv, "--screenshot", str(tmp_path / "l.png"), "--seconds", "3", "--out", str(short)]
        )
        == 0
    )
    capsys.readouterr()
    after = json.loads(run(capsys, ["report", str(folder), "--json"]))
    assert [s["file"] for s in after["short_sessions"]] == [short.name]
    assert after["nights"] == before["nights"] and after["comparison"] == before["comparison"]
    table = run(capsys, ["report", str(folder)])
    assert "left out, shorter than 0.5 h (not nights):" in table and "screenshot-session" in table
    assert "screenshot-session" not in table.split("left out")[0]
    line = main(["report", str(short)])
    err = capsys.readouterr().err
    assert line == 2 and err.count("\n") == 1
    assert "no night to report: left out, shorter than 0.5 h" in err


def test_the_terminal_json_and_pdf_say_the_same(week, tmp_path, capsys):
    pdfium = pytest.importorskip("pypdfium2")
    report = json.loads(run(capsys, ["report", str(week), "--json"]))
    sentences = report["comparison"]["text"]
    assert any("Nights differ for many reasons" in s for s in sentences)  # the caveat
    assert "(an interval needs 2+ nights of each kind)" in sentences  # one feedback night
    table = run(capsys, ["report", str(week)])
    for sentence in sentences:
        assert f"  {sentence}\n" in table
    pdf = tmp_path / "r.pdf"
    assert main(["report", str(week), "--pdf", str(pdf)]) == 0
    text = pdfium.PdfDocument(str(pdf))[0].get_textpage().get_text_range()
    flat = " ".join(text.split())
    for sentence in sentences:
        assert sentence in flat
    # per-hour rates in every form: the terminal's phasic/h column is the JSON's
    header = table.splitlines()[0].split()
    assert "phasic/h" in header and "phasic" not in header
    for night, line in zip(report["nights"], table.splitlines()[1:4], strict=True):
        cells = line.split()
        assert float(cells[cells.index(night["mode"]) + 3]) == pytest.approx(
            night["phasic_per_hour"], abs=0.06
        )
