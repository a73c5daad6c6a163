"""The clinician's figures: clusters, the research reference marks, the time and work
indices and their spread, the same in the PDF's second page, the JSON, the CSV and the
terminal, and the report's clock-time axes."""

from __future__ import annotations

import csv
import datetime as dt
import json

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.nights import record_simulated_nights
from bruxwatch.signal.config import DetectorConfig
from bruxwatch.signal.detector import EpisodeDetector
from bruxwatch.signal.events import BurstEnd, Episode, EpisodeEnd
from bruxwatch.signal.indices import clusters, variability
from tests.test_report import SHORT_NIGHTS_RATED


def episode(start_s: float, end_s: float, artifact: bool = False) -> Episode:
    fs = 100.0
    return Episode(round(start_s * fs), round(end_s * fs), fs, "tonic", 1, 0, 1, 30, 30, artifact)


def test_episodes_less_than_100_s_apart_are_a_cluster():
    eps = [
        episode(0, 5),
        episode(60, 70),  # 55 s after the first: clustered
        episode(160, 165),  # 90 s after: same cluster
        episode(400, 410),  # 235 s: alone
        episode(420, 425, artifact=True),  # not counted: does not join anything
        episode(800, 805),
        episode(900, 901),  # 95 s: a second cluster
    ]
    found = clusters(eps)
    assert (found.episodes, found.clusters, found.clustered_episodes, found.largest) == (
        6,
        2,
        5,
        3,
    )
    assert found.median_interval_s == pytest.approx(95.0)
    assert found.clustered_share == pytest.approx(5 / 6)
    assert clusters([]).to_dict()["clustered_share"] is None
    assert clusters([episode(0, 5)]).largest == 1


def test_variability_is_mean_sd_cv_and_range_of_the_nights_with_a_value():
    v = variability([2.0, None, 4.0, 6.0])
    assert (v.nights, v.mean, v.low, v.high) == (3, 4.0, 2.0, 6.0)
    assert v.sd == pytest.approx(2.0) and v.cv_pct == pytest.approx(50.0)
    assert variability([3.0]).sd is None
    assert variability([None]).mean is None


def test_a_burst_area_is_its_level_integrated_and_any_chunking_agrees():
    fs = 100.0
    level = np.zeros(3000, dtype=np.float32)
    level[500:700] = 30.0  # 2 s at 30 % MVC: 60 % MVC·s
    level[900:950] = np.linspace(20, 40, 50)  # 0.5 s, mean 30: 15 % MVC·s
    level[1100:1400] = 50.0  # 3 s tonic: 150
    above = level > 10.0

    def run(cuts):
        detector = EpisodeDetector(fs, DetectorConfig())
        events = []
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            events += detector.process(above[a:b], level[a:b], a)
        events += detector.finish(level.size)
        return events

    whole = run([0, level.size])
    areas = [e.burst.area for e in whole if isinstance(e, BurstEnd)]
    assert areas == pytest.approx([60.0, 15.0, 150.0], rel=1e-6)
    (ep,) = [e.episode for e in whole if isinstance(e, EpisodeEnd)]
    assert ep.area == pytest.approx(225.0, rel=1e-6)
    rng = np.random.default_rng(4)
    for _ in range(20):
        cuts = [0, *sorted(set(rng.integers(1, level.size, 7).tolist())), level.size]
        again = run(cuts)
        assert again == whole  # the area is left out of the comparison ...
        got = [e.burst.area for e in again if isinstance(e, BurstEnd)]
        assert got == pytest.approx(areas, rel=1e-9)  # ... and agrees to rounding


@pytest.fixture(scope="module")
def fortnight(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fortnight")
    record_simulated_nights(
        folder,
        nights=4,
        hours=0.3,
        baseline_nights=2,
        seed=31,
        first_evening=dt.datetime(2026, 11, 20, 22, 45, tzinfo=dt.UTC),
        episodes_per_hour=60,
        signal=SHORT_NIGHTS_RATED,
    )
    return folder


def test_json_csv_and_terminal_give_the_clinician_figures(fortnight, tmp_path, capsys):
    capsys.readouterr()
    assert main(["report", str(fortnight), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    c = report["clinician"]
    nights = report["nights"]
    # the pooled marks are the nights' counts over their good hours
    hours = sum(n["good_hours"] for n in nights)
    pooled = {m["index"]: m for m in c["marks"]}
    assert pooled["episodes_per_hour"]["pooled"] == pytest.approx(
        sum(n["episodes"] for n in nights) / hours, abs=0.01
    )
    assert pooled["bursts_per_hour"]["pooled"] == pytest.approx(
        sum(n["bursts"] for n in nights) / hours, abs=0.01
    )
    assert [m["above"] for m in c["marks"]] == [4.0, 25.0, 6.0]
    rates = [n["episodes_per_hour"] for n in nights]
    assert pooled["episodes_per_hour"]["nights_above"] == sum(r > 4 for r in rates)
    assert c["variability"]["episodes_per_hour"]["mean"] == pytest.approx(np.mean(rates), abs=1e-2)
    assert c["variability"]["episodes_per_hour"]["sd"] == pytest.approx(
        np.std(rates, ddof=1), abs=1e-2
    )
    assert "not" in c["marks_caveat"] and "diagnosis" in c["marks_caveat"]
    for per_night, row in zip(c["nights"], nights, strict=True):
        assert per_night["time_index_pct"] == pytest.approx(row["clench_pct"], abs=1e-3)
        assert per_night["work_index"] == row["work_index"] > 0
        assert per_night["clock"][:5] == row["started_at"][11:16]
        assert set(per_night["valid_hours_by_channel"]) == {"left_masseter", "right_masseter"}
        assert all(
            0 < h <= row["hours"] + 1e-6 for h in per_night["valid_hours_by_channel"].values()
        )
    # the work index is the counted bursts' areas per good hour: the episodes' areas
    # are a part of it (bursts outside an episode add the rest)
    folder = tmp_path / "csv"
    assert main(["report", str(fortnight), "--csv", str(folder)]) == 0
    with open(folder / "episodes.csv", newline="") as handle:
        episodes = [r for r in csv.DictReader(handle) if r["artifact"] == "0"]
    for row in nights:
        work = sum(float(e["work_pct_mvc_s"]) for e in episodes if e["night"] == row["night"])
        assert 0 < work <= row["work_index"] * row["good_hours"] * 1.001
    with open(folder / "nights.csv", newline="") as handle:
        assert [float(r["work_index"]) for r in csv.DictReader(handle)] == [
            n["work_index"] for n in nights
        ]
    capsys.readouterr()
    assert main(["report", str(fortnight)]) == 0
    out = capsys.readouterr().out
    assert "For the clinician:" in out
    assert (
        f"episodes per hour: {pooled['episodes_per_hour']['pooled']:.1f} (reference mark > 4)"
        in out
    )
    assert "Clusters (episodes less than 100 s apart)" in out


def test_the_pdf_has_a_clinician_page_and_an_episode_list(fortnight, tmp_path, capsys):
    pdfium = pytest.importorskip("pypdfium2")
    pdf = tmp_path / "report.pdf"
    assert main(["report", str(fortnight), "--pdf", str(pdf), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    document = pdfium.PdfDocument(str(pdf))
    assert len(document) == 3
    summary, clinician, listed = (
        document[k].get_textpage().get_text_range().replace("\r\n", "\n") for k in range(3)
    )
    assert "local clock time (UTC+00:00)" in summary  # the timeline's axis
    assert "22:00" in summary or "23:00" in summary
    assert "For the clinician" in clinician and "reference mark" in clinician
    assert "> 4" in clinician and "> 25" in clinician and "> 6" in clinician
    assert "2018" in clinician and "diagnosis" in clinician
    assert "A typical episode of each kind" in clinician
    for kind in ("phasic", "tonic", "mixed"):
        assert kind in clinician
    counted = sum(n["episodes"] for n in report["nights"])
    assert f"{counted} counted episodes" in listed
    assert (
        listed.count("Fri ")
        + listed.count("Sat ")
        + listed.count("Sun ")
        + listed.count("Mon ")
        + listed.count("Tue ")
        >= counted
    )  # one clock time per episode
    for k in range(3):
        image = np.asarray(document[k].render(scale=1.0).to_pil().convert("L"), dtype=float)
        assert image.std() > 15 and 0.005 < (image < 128).mean() < 0.5
    page = document[1].render(scale=1.5).to_pil()
    page.save(tmp_path / "clinician-page.png")  # looked at when the page changes
