"""Metrics over a set of cases: outcome confusion, latency percentiles, confidence
calibration, and the bootstrap interval of a mean. Each ``score(...)`` returns a report.

Example::

    CalibrationError(bins=10).score([0.9, 0.2], [True, False]).ece
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.types import OUTCOMES


@dataclass(frozen=True)
class OutcomeReport:
    """Accuracy per expected outcome, the full confusion matrix, and red-flag recall/precision."""

    accuracy: dict[str, float | None]
    confusion: dict[str, dict[str, int]]  # expected -> actual -> count
    overall: float | None
    red_flag_recall: float | None
    red_flag_precision: float | None


class OutcomeAccuracy:
    """Accuracy of the contract outcome for each expected outcome, with the confusion matrix."""

    name = "outcome_accuracy"

    def score(self, pairs: Sequence[tuple[str, str | None]]) -> OutcomeReport:
        columns = [*OUTCOMES, "error"]
        confusion: dict[str, dict[str, int]] = {e: dict.fromkeys(columns, 0) for e in OUTCOMES}
        for expected, actual in pairs:
            confusion[expected][actual if actual in OUTCOMES else "error"] += 1
        accuracy: dict[str, float | None] = {}
        for expected, row in confusion.items():
            total = sum(row.values())
            accuracy[expected] = row[expected] / total if total else None
        referred = sum(confusion[e]["refer_to_professional"] for e in OUTCOMES)
        red = confusion["refer_to_professional"]["refer_to_professional"]
        return OutcomeReport(
            accuracy=accuracy,
            confusion=confusion,
            overall=sum(e == a for e, a in pairs) / len(pairs) if pairs else None,
            red_flag_recall=accuracy["refer_to_professional"],
            red_flag_precision=red / referred if referred else None,
        )


@dataclass(frozen=True)
class StageLatency:
    p50: float
    p95: float
    n: int


class Latency:
    """p50 and p95 of each stage of ``timings_ms`` (embed, safety, retrieve, answer, total).

    A stage a case never reached (e.g. ``answer`` after the safety gate stopped it) is left out
    of that stage's percentiles rather than counted as zero.
    """

    name = "latency_ms"
    stages = ("embed", "safety", "retrieve", "answer", "total")

    def score(self, timings: Sequence[Mapping[str, float]]) -> dict[str, StageLatency]:
        out = {}
        names = [*self.stages, *sorted({k for t in timings for k in t} - set(self.stages))]
        for stage in names:
            values = [t[stage] for t in timings if stage in t]
            if values:
                p50, p95 = np.percentile(values, [50, 95])
                out[stage] = StageLatency(round(float(p50), 2), round(float(p95), 2), len(values))
        return out


def bootstrap_ci(
    values: Sequence[float], resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean: cases resampled with replacement, seeded.

    Deterministic for a given seed; ``None`` for fewer than one value.
    """
    if not values:
        return None
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return round(float(low), 4), round(float(high), 4)


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin: its range, how many cases, their mean confidence and accuracy."""

    low: float
    high: float
    n: int
    confidence: float | None
    accuracy: float | None


@dataclass(frozen=True)
class CalibrationReport:
    ece: float | None
    bins: list[ReliabilityBin]
    n: int


class CalibrationError:
    """Expected calibration error of ``confidence`` against "answered correctly": cases are put
    in ``bins`` equal-width confidence bins, and the gap between each bin's mean confidence and
    its accuracy is averaged, weighted by the bin's share of cases (Guo et al., 2017)."""

    name = "ece"

    def __init__(self, bins: int = 10) -> None:
        self.bins = bins

    def score(self, confidences: Sequence[float], correct: Sequence[bool]) -> CalibrationReport:
        conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
        right = np.asarray(correct, dtype=float)
        # bin i holds [i/bins, (i+1)/bins); a confidence of exactly 1.0 goes in the last bin
        index = np.minimum((conf * self.bins).astype(int), self.bins - 1)
        out, gap = [], 0.0
        for i in range(self.bins):
            mask = index == i
            n = int(mask.sum())
            mean_conf = float(conf[mask].mean()) if n else None
            accuracy = float(right[mask].mean()) if n else None
            if mean_conf is not None and accuracy is not None:
                gap += n * abs(mean_conf - accuracy)
            out.append(ReliabilityBin(i / self.bins, (i + 1) / self.bins, n,
                                      _round(mean_conf), _round(accuracy)))  # fmt: skip
        total = len(conf)
        return CalibrationReport(round(gap / total, 4) if total else None, out, total)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
