"""Scoring detected episodes against a reference (the simulator's ground truth, or a rater)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    """Onset matching result. F1 = 2·TP / (2·TP + FP + FN)."""

    true_positives: int
    false_positives: int
    false_negatives: int
    kind_agreement: float

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    @property
    def f1(self) -> float:
        denominator = 2 * self.true_positives + self.false_positives + self.false_negatives
        return 2 * self.true_positives / denominator if denominator else 1.0


def match_onsets(
    detected: Sequence[tuple[float, str]],
    reference: Sequence[tuple[float, str]],
    tolerance_s: float = 0.5,
) -> Match:
    """Pair (onset s, kind) items one-to-one when onsets are within `tolerance_s`, in time order."""
    detected = sorted(detected)
    reference = sorted(reference)
    used = [False] * len(detected)
    tp = same_kind = 0
    j = 0
    for onset, kind in reference:
        while j < len(detected) and detected[j][0] < onset - tolerance_s:
            j += 1
        for k in range(j, len(detected)):
            if detected[k][0] > onset + tolerance_s:
                break
            if not used[k]:
                used[k] = True
                tp += 1
                same_kind += detected[k][1] == kind
                break
    return Match(
        true_positives=tp,
        false_positives=len(detected) - tp,
        false_negatives=len(reference) - tp,
        kind_agreement=same_kind / tp if tp else 1.0,
    )
