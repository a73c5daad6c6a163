"""Does feedback help? The micro-randomized estimate recovers an effect the simulated wearer
really has, covers zero at about the nominal rate when there is none, the randomization is
reproducible from its stored seed, and too few events are reported as such."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.nights import record_simulated_nights
from bruxwatch.firmware_host.feedback import FeedbackConfig, FeedbackPolicy
from bruxwatch.signal.evidence import feedback_effect, night_effect
from bruxwatch.signal.outcomes import FeedbackOutcome
from bruxwatch.store.recording import Recording
from bruxwatch.store.scored import score_night


def synthetic(rng, n_given: int, n_held: int, factor: float) -> list[FeedbackOutcome]:
    """Remaining clench times: exponential, mean 3 s, scaled by `factor` when given."""
    out = []
    for given, n in ((True, n_given), (False, n_held)):
        remaining = rng.exponential(3.0, n) * (factor if given else 1.0)
        for r in remaining:
            out.append(
                FeedbackOutcome(
                    0.0, given, float(r), bool(r <= 2), bool(rng.random() < 0.5), withheld=not given
                )
            )
    return out


def test_no_effect_interval_covers_zero_at_about_the_nominal_rate():
    rng = np.random.default_rng(42)
    runs = 200
    covered = 0
    for k in range(runs):
        effect = feedback_effect(synthetic(rng, 40, 40, 1.0), resamples=999, seed=k)
        covered += effect.remaining_difference_s.covers(0.0)
    rate = covered / runs
    assert 0.88 <= rate <= 0.99, rate  # nominal 0.95; percentile bootstrap runs a bit narrow


def test_a_real_effect_is_found_with_its_size():
    rng = np.random.default_rng(7)
    hits = 0
    for k in range(20):
        effect = feedback_effect(synthetic(rng, 60, 60, 0.5), resamples=999, seed=k)
        assert effect.enough and effect.remaining_difference_s.high < 0
        hits += effect.remaining_ratio.covers(0.5)
        assert effect.sentence.startswith("Yes, for this wearer")
    assert hits >= 17


def test_too_few_events_are_said_not_estimated():
    rng = np.random.default_rng(1)
    effect = feedback_effect(synthetic(rng, 30, 4, 0.5))
    assert not effect.enough and effect.remaining_difference_s is None
    assert effect.sentence.startswith("Too few events to say: 30 clenches with feedback and 4")
    nights = night_effect([4.0], [3.0, 3.5])
    assert not nights.enough and "Too few nights" in nights.sentence
    nights = night_effect([5.0, 5.5, 6.0], [3.0, 3.5, 3.2], seed=1)
    assert nights.enough and nights.difference.high < 0


def test_randomization_is_reproducible_and_withholds_the_asked_fraction():
    def decisions(seed: int) -> list[bool]:
        policy = FeedbackPolicy(100.0, FeedbackConfig(withhold=0.2, seed=seed, max_per_hour=10**6))
        out = []
        for k in range(1000):  # 1000 clenches, 20 s apart, each lasting 2 s
            start = k * 2000
            decision = policy.update(start, start + 100)
            out.append(decision.reason.startswith("withheld"))
            assert not decision.fired or not out[-1]
            policy.update(None, start + 300)
        return out

    first, again, other = decisions(11), decisions(11), decisions(12)
    assert first == again and first != other
    assert 0.16 <= np.mean(first) <= 0.24  # 0.2 +- 3 standard errors


@pytest.fixture(scope="module")
def responsive_nights(tmp_path_factory):
    """Micro-randomized nights, a wearer whose clench shrinks to 0.4 of what is left when
    buzzed, and the same nights with a wearer who ignores the buzz."""
    made = {}
    for response in (0.4, None):
        folder = tmp_path_factory.mktemp(f"response-{response}")
        made[response] = record_simulated_nights(
            folder,
            nights=3,
            hours=1.0,
            baseline_nights=0,
            seed=30,
            first_evening=dt.datetime(2026, 11, 2, 22, tzinfo=dt.UTC),
            episodes_per_hour=200,
            withhold=0.5,
            feedback_response=response,
            scenario="awake",
            fs=250.0,
            chunk_s=0.2,
        )
    return made


def test_simulated_nights_recover_the_wearers_response(responsive_nights):
    for response, paths in responsive_nights.items():
        pooled = []
        for k, path in enumerate(paths):
            with Recording(path) as rec:
                night = score_night(rec)
                seed = rec.session.config["withhold_seed"]
            assert night.withhold == 0.5 and seed == 1030 + k  # stored with the night
            outcomes = night.randomized_outcomes()
            pooled += outcomes
            effect = feedback_effect(outcomes, seed=1)
            assert effect.enough and effect.given >= 15 and effect.withheld >= 15
            known = 1.0 if response is None else response  # each night's interval covers it
            assert effect.remaining_ratio.covers(known), (response, effect)
        effect = feedback_effect(pooled, seed=1)
        if response is None:  # no response: the interval allows no effect
            assert effect.remaining_difference_s.covers(0.0), effect
        else:  # a response: found, and of the size the simulated wearer has
            assert effect.remaining_difference_s.high < 0, effect
            assert effect.remaining_ratio.covers(response), effect
            assert effect.sentence.startswith("Yes, for this wearer")


def test_report_says_whether_feedback_helps(responsive_nights, tmp_path, capsys):
    folder = responsive_nights[0.4][0].parent
    capsys.readouterr()
    assert main(["report", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    effect = report["evidence"]["feedback_effect"]
    assert report["evidence"]["randomized_nights"] == 3
    assert effect["enough"] and effect["sentence"].startswith("Yes, for this wearer")
    # the estimate uses each clench's first decision: at most all given / withheld ones
    assert 0 < effect["given"] <= sum(n["feedback_given"] for n in report["nights"])
    assert 0 < effect["withheld"] <= sum(n["feedback_withheld"] for n in report["nights"])
    out = tmp_path / "csv"
    assert main(["report", str(folder), "--csv", str(out)]) == 0
    header = (out / "episodes.csv").read_text().splitlines()[0].split(",")
    assert "feedback_withheld" in header
    pdf = tmp_path / "r.pdf"
    assert main(["report", str(folder), "--pdf", str(pdf)]) == 0
    pdfium = pytest.importorskip("pypdfium2")
    text = pdfium.PdfDocument(str(pdf))[0].get_textpage().get_text_range()
    assert "Does feedback help?" in text and "Yes, for this wearer" in text
