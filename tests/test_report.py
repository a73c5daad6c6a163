"""The dentist's report: its numbers are the analysis of the same nights, the baseline versus
feedback comparison is pooled right, the CSV has every episode, and the PDF renders."""

from __future__ import annotations

import csv
import datetime as dt
import json

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.nights import record_simulated_nights
from bruxwatch.signal.comparison import NightCounts, compare_nights
from bruxwatch.signal.config import FilterConfig, QualityConfig, SignalConfig
from bruxwatch.signal.events import Burst, Episode
from bruxwatch.signal.outcomes import feedback_outcomes, summarize_outcomes

SHORT_NIGHTS_RATED = SignalConfig(
    filter=FilterConfig(mains_hz=50.0),
    quality=QualityConfig(min_good_hours=0.1, min_night_hours=0.02),
)
"""The nights here are 0.3 h: rates shown from 0.1 h of good signal (the default needs 2 h),
and each session counts as a night (the default needs 0.5 h)."""


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    folder = tmp_path_factory.mktemp("week")
    paths = record_simulated_nights(
        folder,
        nights=3,
        hours=0.3,
        baseline_nights=1,
        seed=20,
        first_evening=dt.datetime(2026, 11, 16, 22, 30, tzinfo=dt.UTC),
        episodes_per_hour=40,
        signal=SHORT_NIGHTS_RATED,
    )
    return folder, paths


def run_json(capsys, argv) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_report_numbers_are_the_analysis_of_each_night(week, capsys):
    folder, paths = week
    report = run_json(capsys, ["report", str(folder), "--json"])
    assert [n["file"] for n in report["nights"]] == [p.name for p in paths]
    assert [n["mode"] for n in report["nights"]] == ["baseline", "feedback", "feedback"]
    for night, path in zip(report["nights"], paths, strict=True):
        analysis = run_json(capsys, ["analyze", str(path), "--json", "--quiet"])["summary"]
        assert night["episodes"] == analysis["episodes"] > 0
        assert night["episodes_per_hour"] == round(analysis["episodes_per_hour"], 2)
        assert [night[k] for k in ("phasic", "tonic", "mixed")] == list(
            analysis["by_kind"].values()
        )
        assert night["bursts"] == analysis["bursts"]
        assert night["clench_seconds"] == round(analysis["clench_seconds"], 1)
        assert night["good_hours"] == round(analysis["good_hours"], 3)
        assert night["hourly_episodes"] == analysis["hourly_episodes"]
        assert night["calibrated"] and night["rest"] and night["mvc"]
        assert night["calibration_units"] == "uV"
    # feedback nights fired, the baseline night held every decision back
    base, *fb = report["nights"]
    assert base["feedback_given"] == 0 and base["feedback_held_back"] > 0
    assert all(n["feedback_given"] > 0 for n in fb)
    # the comparison pools episodes over good hours, per group
    c = report["comparison"]
    fb_rate = sum(n["episodes"] for n in fb) / sum(n["good_hours"] for n in fb)
    assert c["baseline_nights"] == 1 and c["feedback_nights"] == 2
    assert c["baseline_per_hour"] == pytest.approx(base["episodes"] / base["good_hours"], 1e-3)
    assert c["feedback_per_hour"] == pytest.approx(fb_rate, 1e-3)
    assert c["change_per_hour"] == pytest.approx(c["feedback_per_hour"] - c["baseline_per_hour"])
    assert "not a diagnosis" in report["note"]


def test_comparison_pools_rates_and_needs_both_kinds():
    c = compare_nights(
        [
            NightCounts("baseline", 40, 8.0),
            NightCounts("baseline", 20, 4.0),
            NightCounts("feedback", 24, 8.0),
            NightCounts("feedback", 0, 0.0),
        ]
    )
    assert c.baseline_per_hour == 5.0 and c.feedback_per_hour == 3.0
    assert c.change_per_hour == -2.0 and c.change_pct == -40.0
    assert c.baseline_nights == 2 and c.feedback_nights == 2
    only = compare_nights([NightCounts("feedback", 10, 5.0)])
    assert not only.comparable and only.baseline_per_hour is None


def test_feedback_outcomes_read_the_burst_under_the_trigger():
    fs = 100.0
    bursts = [
        Burst(100, 300, fs, "phasic", 30.0),  # 1.0-3.0 s
        Burst(400, 1200, fs, "tonic", 40.0),  # 4.0-12.0 s
        Burst(1300, 1350, fs, "phasic", 20.0),
    ]
    episodes = [Episode(100, 1350, fs, "mixed", 3, 2, 1, 40.0, 40.0)]
    triggers = [(150, True), (500, True), (1320, False), (2000, True)]
    outcomes = feedback_outcomes(triggers, bursts, episodes, fs)
    assert [o.remaining_s for o in outcomes] == [1.5, 7.0, 0.3, None]
    assert [o.stopped for o in outcomes] == [True, False, True, None]
    assert [o.episode_continued for o in outcomes] == [True, True, False, None]
    summary = summarize_outcomes(outcomes)
    assert (summary.given, summary.held_back, summary.with_outcome) == (3, 1, 2)
    assert summary.stopped == 1 and summary.stopped_fraction == 0.5
    assert summary.median_remaining_s == 4.25


def test_csv_has_every_episode_and_night(week, tmp_path, capsys):
    folder, paths = week
    out = tmp_path / "csv"
    assert main(["report", *map(str, paths), "--csv", str(out)]) == 0
    with (out / "episodes.csv").open() as handle:
        episodes = list(csv.DictReader(handle))
    with (out / "nights.csv").open() as handle:
        nights = list(csv.DictReader(handle))
    report = run_json(capsys, ["report", str(folder), "--json"])
    counted = [e for e in episodes if e["artifact"] == "0"]
    assert len(counted) == sum(n["episodes"] for n in report["nights"])
    assert len(nights) == 3 and nights[0]["mode"] == "baseline"
    assert {e["kind"] for e in episodes} <= {"phasic", "tonic", "mixed"}
    assert all(e["start_clock"].startswith("2026-11-1") for e in episodes)
    first = episodes[0]
    start = dt.datetime.fromisoformat(first["start_clock"])
    expected = dt.datetime(2026, 11, 16, 22, 30, tzinfo=dt.UTC)
    assert abs((start - expected).total_seconds() - float(first["start_s"])) < 1.0
    given = sum(int(e["feedback_given"]) for e in episodes)
    assert 0 < given <= sum(n["feedback_given"] for n in report["nights"])


def test_pdf_renders_a_page_that_is_not_blank(week, tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    folder, paths = week
    for name, nights in (("week", [str(folder)]), ("one", [str(paths[1])])):
        pdf = tmp_path / f"{name}.pdf"
        assert main(["report", *nights, "--pdf", str(pdf), "--patient", "J. Doe"]) == 0
        document = pdfium.PdfDocument(str(pdf))
        assert len(document) == 3  # summary, clinician page, episode list
        page = document[0]
        assert "J. Doe" in page.get_textpage().get_text_range()
        image = np.asarray(page.render(scale=1.0).to_pil().convert("L"), dtype=float)
        assert image.shape[0] > image.shape[1] > 500  # A4 portrait
        ink = (image < 128).mean()
        assert image.std() > 20 and 0.01 < ink < 0.5, (image.std(), ink)


def test_report_errors_are_one_line(tmp_path, capsys, week):
    folder, _ = week
    assert main(["report", str(tmp_path / "nope.sqlite")]) == 2
    assert main(["report", str(folder), "--pdf", str(tmp_path / "no" / "r.pdf")]) == 2
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["report", str(junk)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("bruxwatch report: error:") for line in lines)
    assert "no such" in lines[0] and "no such folder" in lines[1] and "not a bruxwatch" in lines[2]


def test_a_stray_file_in_the_nights_folder_is_skipped_not_fatal(week, tmp_path, capsys):
    import shutil

    folder, paths = week
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for path in paths:
        shutil.copy(path, mixed / path.name)
    (mixed / "notes.sqlite").write_bytes(b"my notes, not a recording" * 50)
    capsys.readouterr()
    assert main(["report", str(mixed), "--json"]) == 0
    out = capsys.readouterr()
    assert len(json.loads(out.out)["nights"]) == 3
    assert out.err.startswith("skipped ") and "notes.sqlite" in out.err
    only_junk = tmp_path / "junk"
    only_junk.mkdir()
    (only_junk / "a.sqlite").write_bytes(b"x" * 500)
    assert main(["report", str(only_junk)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "bruxwatch report: error: none of the files found is a bruxwatch recording"


def test_bursts_per_episode_is_one_number_in_the_pdf_and_the_json(week, tmp_path, capsys):
    """One definition: the bursts inside the counted episodes, per episode."""
    import re

    pdfium = pytest.importorskip("pypdfium2")
    _, paths = week
    night = str(paths[1])
    pdf = tmp_path / "one.pdf"
    assert main(["report", night, "--pdf", str(pdf)]) == 0
    text = pdfium.PdfDocument(str(pdf))[0].get_textpage().get_text_range()
    shown = float(re.search(r"([0-9.]+) per episode", text).group(1))
    row = run_json(capsys, ["report", night, "--json"])["nights"][0]
    assert shown == round(row["bursts_per_episode"], 1)
    assert row["bursts_per_episode"] * row["episodes"] <= row["bursts"]


def test_the_rules_described_are_the_settings_the_night_was_scored_with(tmp_path, capsys):
    import dataclasses

    from bruxwatch.signal.config import ThresholdConfig

    pdfium = pytest.importorskip("pypdfium2")
    strict = dataclasses.replace(SHORT_NIGHTS_RATED, threshold=ThresholdConfig(mvc_fraction=0.15))
    paths = record_simulated_nights(
        tmp_path / "nights", nights=1, hours=0.05, baseline_nights=0, seed=3, signal=strict
    )
    report = run_json(capsys, ["report", str(paths[0]), "--json"])
    assert report["scoring"]["threshold"].startswith("rest + 15% of (MVC - rest)")
    assert report["nights"][0]["threshold"].startswith("rest + 15% of (MVC - rest)")
    assert report["scoring_differs"] == []
    pdf = tmp_path / "r.pdf"
    assert main(["report", str(paths[0]), "--pdf", str(pdf)]) == 0
    text = pdfium.PdfDocument(str(pdf))[0].get_textpage().get_text_range()
    assert "rest + 15% of (MVC - rest)" in text.replace("\r\n", " ").replace("\n", " ")
