"""Done when: nights recorded through the service's own command, on the evenings its timer
starts them (a set clock, the simulator at full speed), follow the trial plan by date, and
the report shows the blocks with clock times."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys

import pytest

from bruxwatch.cli import main

DEVICE = (
    "sim:scenario=night,calibrate=1,realtime=0,fs=500,chunk_s=1,seed=random,episodes_per_hour=40"
)


def service_words(units) -> list[str]:
    """The service's ExecStart as the arguments systemd would pass (its quoting is the
    shell's double quotes; %% is a plain %)."""
    line = next(
        ln
        for ln in (units / "bruxwatch.service").read_text().splitlines()
        if ln.startswith("ExecStart=")
    )
    words = shlex.split(line[len("ExecStart=") :].replace("%%", "%"))
    assert words[:3] == [sys.executable, "-m", "bruxwatch"]
    return words[3:]


def timer_start(units) -> dt.time:
    line = next(
        ln
        for ln in (units / "bruxwatch.timer").read_text().splitlines()
        if ln.startswith("OnCalendar=")
    )
    return dt.time.fromisoformat(line.split()[-1])


def test_a_trial_recorded_by_the_service_follows_the_plan(tmp_path, monkeypatch, capsys):
    import bruxwatch.cli.record as record

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = tmp_path / "settings.toml"  # 15-minute "nights" count, and get rates
    settings.write_text("[signal.quality]\nmin_good_hours = 0.1\nmin_night_hours = 0.2\n")
    plan = ["plan", "set", "--start", "2026-03-01", "--baseline", "2", "--feedback", "4"]
    assert main([*plan, "--withdrawal", "2"]) == 0
    units = tmp_path / "units"
    install = ["service", "install", "--start", "22:30", "--stop", "22:45", "--device", DEVICE]
    assert (
        main(
            [
                "--config",
                str(settings),
                *install,
                "--calibration",
                "guided",
                "--unit-dir",
                str(units),
            ]
        )
        == 0
    )
    words, start = service_words(units), timer_start(units)
    assert "--use-saved" not in words and words[words.index("--until") + 1] == "22:45"
    for day in range(9):  # the plan's 8 evenings and one after it
        evening = dt.datetime.combine(dt.date(2026, 3, 1) + dt.timedelta(days=day), start)
        monkeypatch.setattr(record, "now", lambda e=evening: e.astimezone())
        assert main(words) == 0
    said = capsys.readouterr().out
    assert said.count("stopped: ") == 9
    nights = tmp_path / "data" / "bruxwatch" / "nights"
    files = sorted(nights.glob("*.sqlite"))
    assert [f.name[:16] for f in files] == [f"night-2026-03-{d:02d}" for d in range(1, 10)]
    assert main(["--config", str(settings), "report", str(nights), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["nights"]
    assert [r["plan_phase"] for r in rows] == [
        *["baseline"] * 2,
        *["feedback"] * 4,
        *["withdrawal"] * 2,
        None,
    ]
    assert [r["mode"] for r in rows] == [
        *["baseline"] * 2,
        *["feedback"] * 4,
        *["baseline"] * 2,
        "feedback",
    ]
    assert all(
        r["started_at"].endswith("22:30:00+00:00") or "T22:30" in r["started_at"] for r in rows
    )
    assert all(0.24 <= r["hours"] <= 0.26 for r in rows)  # 22:30 to 22:45, the calibration out
    assert len({r["episodes"] for r in rows}) > 1  # seed=random: a different night each evening
    assert [b["phase"] for b in report["plan"]["blocks"]] == [
        "baseline",
        "feedback",
        "withdrawal",
        "no plan",
    ]
    assert all(r["feedback_given"] == 0 for r in rows if r["mode"] == "baseline")
    assert sum(r["feedback_given"] for r in rows if r["plan_phase"] == "feedback") > 0
    pdfium = pytest.importorskip("pypdfium2")
    pdf = tmp_path / "trial.pdf"
    assert main(["--config", str(settings), "report", str(nights), "--pdf", str(pdf)]) == 0
    document = pdfium.PdfDocument(str(pdf))
    text = [document[k].get_textpage().get_text_range() for k in range(len(document))]
    assert "Trial plan" in text[2] and "withdrawal" in text[2]
    assert "22:30" in text[0]  # the timeline on the clock
    assert "22:30-22:45" in text[1]  # each night's clock span on the clinician's page
    capsys.readouterr()
    assert main(["service", "status", "--unit-dir", str(units)]) == 0
    out = capsys.readouterr().out
    assert "records every evening from 22:30 until 22:45" in out
    assert "last night: night-2026-03-09_223000.sqlite" in out and "feedback mode" in out
