"""Headline metrics: the per-case scores averaged over the cases each applies to, with a
seeded bootstrap 95% interval, and the invariance rate of each perturbation.

Example::

    headline = headline_of(results, variants, resamples=1000, seed=0)
    headline["hit@3"].value, headline["invariance.typo"].n
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from eval.aggregates import bootstrap_ci
from eval.perturb import PERTURBATIONS

if TYPE_CHECKING:
    from eval.runner import CaseResult, VariantResult


class Headline(BaseModel):
    """A headline metric: mean over the cases it applies to, with a bootstrap 95% interval."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0


#: Headline metric -> (per-case score, kind filter). Outcome accuracy is reported per kind.
HEADLINE: dict[str, tuple[str, str | None]] = {
    "hit@1": ("hit@1", None), "hit@3": ("hit@3", None), "hit@5": ("hit@5", None),
    "mrr@10": ("mrr@10", None), "ndcg@10": ("ndcg@10", None),
    "fact_recall": ("fact_recall", None), "citation_precision": ("citation_precision", None),
    "support": ("support", None), "outcome_accuracy": ("outcome", None),
    "outcome_accuracy.answerable": ("outcome", "answerable"),
    "outcome_accuracy.no_answer": ("outcome", "no_answer"),
    "outcome_accuracy.refer_to_professional": ("outcome", "refer_to_professional"),
    "red_flag_recall": ("outcome", "refer_to_professional"),
    "answered_with_facts": ("answered_with_facts", None),
    "first_sentence": ("first_sentence", None),
    "no_answer_precision": ("no_answer_precision", None),
    "no_answer_recall": ("no_answer_recall", None),
    "false_referral_rate": ("false_referral_rate", None),
    "billing_covered_answered": ("billing_covered_answered", None),
    "handoff_rate": ("handoff_rate", None),
    "intent_accuracy": ("intent_accuracy", None),
}  # fmt: skip
#: Invariance rate per perturbation type (over the variants of that type), and over all.
INVARIANCE = ("invariance", *(f"invariance.{name}" for name in PERTURBATIONS))
#: Every metric name a report shows, in order (``ece`` is added per slice by the runner).
ALL_METRICS = (*HEADLINE, *INVARIANCE, "ece")
#: Lower is better: the gate gives these a ceiling instead of a floor.
LOWER_IS_BETTER = frozenset({"false_referral_rate", "ece"})


def mean_with_interval(values: Sequence[float], resamples: int, seed: int) -> Headline:
    interval = bootstrap_ci(values, resamples, seed)
    return Headline(
        value=round(sum(values) / len(values), 4) if values else None,
        low=interval[0] if interval else None,
        high=interval[1] if interval else None,
        n=len(values),
    )


def headline_of(
    results: Sequence[CaseResult],
    variants: Sequence[VariantResult],
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Headline]:
    """Every headline metric over ``results``, and the invariance rates over ``variants``."""
    out = {}
    for name, (score, kind) in HEADLINE.items():
        values = [
            v for r in results
            if (kind is None or r.kind == kind) and (v := r.scores.get(score)) is not None
        ]  # fmt: skip
        out[name] = mean_with_interval(values, resamples, seed)
    for name in INVARIANCE:
        kind = name.partition(".")[2]
        values = [v.value for v in variants if not kind or v.perturbation == kind]
        out[name] = mean_with_interval(values, resamples, seed)
    return out
