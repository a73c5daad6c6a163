"""The trial plan: blocks by date, `bruxwatch plan`, the recorder following it on the right
evenings (a set clock), the report's blocks and the habituation trend."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.signal.habituation import trend
from bruxwatch.store.plan import load_plan, make_plan
from bruxwatch.store.recording import Recording
from tests.test_careless_evening import hashes

RECORD = ["record", "--device", "sim:realtime=0,minutes=0.05", "--no-calibrate"]
"""A few seconds recorded, without the calibration."""


def test_blocks_follow_each_other_from_the_first_evening():
    plan = make_plan(dt.date(2026, 3, 1), [("baseline", 14), ("feedback", 28), ("withdrawal", 14)])
    on = plan.phase_on
    assert on(dt.date(2026, 2, 28)) is None
    assert on(dt.date(2026, 3, 1)).name == "baseline"
    assert on(dt.date(2026, 3, 14)).name == "baseline"
    assert (
        on(dt.date(2026, 3, 15)).name == "feedback" and on(dt.date(2026, 3, 15)).mode == "feedback"
    )
    assert on(dt.date(2026, 4, 11)).name == "feedback"
    assert on(dt.date(2026, 4, 12)).name == "withdrawal"
    assert on(dt.date(2026, 4, 12)).mode == "baseline"
    assert on(dt.date(2026, 4, 25)).name == "withdrawal" and on(dt.date(2026, 4, 26)) is None
    assert [
        p.name for p in make_plan(dt.date(2026, 3, 1), [("baseline", 0), ("feedback", 3)]).phases
    ] == ["feedback"]
    with pytest.raises(ValueError):
        make_plan(dt.date(2026, 3, 1), [("baseline", 0)])


def test_plan_set_show_clear_and_its_errors(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    argv = ["plan", "set", "--start", "2026-03-01", "--baseline", "2w", "--feedback", "4w"]
    assert main([*argv, "--withdrawal", "14", "--plan", str(plan)]) == 0
    assert plan.stat().st_mode & 0o777 == 0o600
    out = capsys.readouterr().out
    assert "baseline   Sun 01 Mar 2026 - Sat 14 Mar 2026 (14 nights" in out
    assert "feedback   Sun 15 Mar 2026 - Sat 11 Apr 2026 (28 nights, feedback on)" in out
    assert load_plan(plan).last == dt.date(2026, 4, 25)
    before = hashes(plan)
    bad = [
        ["plan", "set", "--baseline", "two", "--plan", str(plan)],
        ["plan", "set", "--start", "1 March", "--plan", str(plan)],
        [
            "plan",
            "set",
            "--baseline",
            "0",
            "--feedback",
            "0",
            "--withdrawal",
            "0",
            "--plan",
            str(plan),
        ],
        ["plan", "set", "--plan", str(tmp_path / "no" / "plan.json")],
        ["plan", "show", "--plan", str(tmp_path / "none.json")],
    ]
    for args in bad:
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("bruxwatch plan: error:"), err
        assert "Traceback" not in err[0]
    assert hashes(plan) == before
    (tmp_path / "junk.json").write_text("{not json")
    assert main(["plan", "show", "--plan", str(tmp_path / "junk.json")]) == 2
    assert "cannot read the plan" in capsys.readouterr().err
    assert main(["plan", "clear", "--plan", str(plan)]) == 0
    assert not plan.exists()


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "plan.json"
    argv = ["plan", "set", "--start", "2026-03-01", "--baseline", "3", "--feedback", "3"]
    assert main([*argv, "--withdrawal", "2", "--plan", str(path)]) == 0
    return path


@pytest.mark.parametrize(
    ("clock", "mode", "phase"),
    [
        ("2026-03-01T22:30", "baseline", "baseline"),
        ("2026-03-04T03:10", "baseline", "baseline"),  # the night of the 3rd, after midnight
        ("2026-03-04T23:00", "feedback", "feedback"),
        ("2026-03-07T21:00", "baseline", "withdrawal"),
        ("2026-03-09T23:00", "feedback", None),  # after the plan: the default mode
    ],
)
def test_record_follows_the_plan_by_date(
    plan_file, tmp_path, monkeypatch, capsys, clock, mode, phase
):
    import bruxwatch.cli.record as record

    monkeypatch.setattr(record, "now", lambda: dt.datetime.fromisoformat(clock).astimezone())
    out = tmp_path / "night.sqlite"
    argv = [*RECORD, "--out", str(out)]
    assert main([*argv, "--plan", str(plan_file)]) == 0
    said = capsys.readouterr().out
    assert f"({mode} mode" in said and ((f"the plan: {phase}" in said) == bool(phase))
    with Recording(out) as night:
        assert night.session.mode == mode
        assert night.session.config.get("plan_phase") == phase


def test_a_mode_against_the_plan_is_one_line_and_records_nothing(
    plan_file, tmp_path, monkeypatch, capsys
):
    import bruxwatch.cli.record as record

    monkeypatch.setattr(record, "now", lambda: dt.datetime(2026, 3, 2, 23, 0).astimezone())
    out = tmp_path / "night.sqlite"
    argv = [*RECORD, "--out", str(out)]
    assert main([*argv, "--mode", "feedback", "--plan", str(plan_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "bruxwatch record: error: --mode feedback disagrees with the plan (baseline tonight); "
        "leave --mode out to follow the plan"
    ]
    assert not out.exists()
    assert main([*argv, "--mode", "baseline", "--plan", str(plan_file)]) == 0  # agrees


def test_the_trend_within_feedback_finds_habituation_and_not_noise():
    rng = np.random.default_rng(2)
    days = list(range(28))
    rising = [3.0 + 1.0 * d / 7 + rng.normal(0, 0.3) for d in days]  # +1/h a week
    found = trend(days, rising)
    assert found.low < 1.0 < found.high and found.low > 0
    assert "getting used to the feedback" in found.sentence()
    flat = [4.0 + rng.normal(0, 0.5) for _ in days]
    found = trend(days, flat)
    assert found.low < 0 < found.high and "no clear trend" in found.sentence()
    falling = [6.0 - 0.8 * d / 7 + rng.normal(0, 0.2) for d in days]
    assert "no sign of habituation" in trend(days, falling).sentence()
    assert not trend([0, 1, 2], [1.0, 2.0, 3.0]).enough


def test_a_simulated_trial_reports_its_blocks(tmp_path, capsys):
    pdfium = pytest.importorskip("pypdfium2")
    plan = tmp_path / "plan.json"
    settings = tmp_path / "short-nights.toml"
    settings.write_text("[signal.quality]\nmin_good_hours = 0.1\nmin_night_hours = 0.05\n")
    config = ["--config", str(settings)]
    argv = ["plan", "set", "--start", "2026-03-01", "--baseline", "2", "--feedback", "4"]
    assert main([*argv, "--withdrawal", "2", "--plan", str(plan)]) == 0
    nights = tmp_path / "nights"
    argv = ["simulate", "--nights", "8", "--minutes", "8", "--fs", "500", "--plan", str(plan)]
    assert main([*config, *argv, "--out", str(nights)]) == 0
    capsys.readouterr()
    assert main([*config, "report", str(nights), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [n["plan_phase"] for n in report["nights"]] == ["baseline"] * 2 + ["feedback"] * 4 + [
        "withdrawal"
    ] * 2
    assert [n["mode"] for n in report["nights"]] == ["baseline"] * 2 + ["feedback"] * 4 + [
        "baseline"
    ] * 2
    blocks = report["plan"]["blocks"]
    assert [(b["phase"], b["first"], b["nights"]) for b in blocks] == [
        ("baseline", "2026-03-01", 2),
        ("feedback", "2026-03-03", 4),
        ("withdrawal", "2026-03-07", 2),
    ]
    base = report["nights"][:2]
    assert blocks[0]["episodes_per_hour"] == pytest.approx(
        sum(n["episodes"] for n in base) / sum(n["good_hours"] for n in base), rel=0.01
    )
    assert report["plan"]["habituation"]["nights"] == 4
    pdf = tmp_path / "r.pdf"
    assert main([*config, "report", str(nights), "--pdf", str(pdf)]) == 0
    document = pdfium.PdfDocument(str(pdf))
    text = document[2].get_textpage().get_text_range()
    assert "Trial plan" in text and "withdrawal" in text and "Habituation" in text
    document[2].render(scale=1.4).to_pil().save(tmp_path / "plan-page.png")
    capsys.readouterr()
    assert main([*config, "report", str(nights)]) == 0
    assert "Trial plan:\n  baseline: 2026-03-01 to 2026-03-02, 2 nights" in capsys.readouterr().out
