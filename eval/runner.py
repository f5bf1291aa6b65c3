"""Run an evaluation: every case through every configured system on its own knowledge base,
score it, perturb it, and summarize per knowledge base and split.

Example::

    dataset = load_dataset(Path("eval/datasets/dev.jsonl"))
    systems = {"runners": build_systems(["hybrid", "bm25"], settings, embeddings)}
    run = evaluate(dataset, systems, perturb={"hybrid"})
    run.config("hybrid").group("runners", "test").headline["answered_with_facts"].value
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, computed_field

from assistant.types import Turn
from eval.aggregates import CalibrationError, CalibrationReport, Latency, OutcomeAccuracy
from eval.dataset import SPLITS, Case, Dataset, Kind, Split
from eval.headline import HEADLINE, Headline, headline_of
from eval.metrics import (
    NDCG,
    AnsweredWithFacts,
    CitationPrecision,
    FactRecall,
    FalseReferral,
    FirstSentence,
    HandoffOffered,
    HitAtK,
    IntentMatch,
    Invariance,
    NoAnswerPrecision,
    NoAnswerRecall,
    OutcomeMatch,
    ReciprocalRank,
    Score,
    Support,
)
from eval.perturb import variants
from eval.systems import DEFAULT_CONFIG, CaseRun, System

SCHEMA_VERSION = 2
RANKING_METRICS = (HitAtK(1), HitAtK(3), HitAtK(5), ReciprocalRank(10), NDCG(10))
#: The retrieval metric a case must pass (it is also a retrieval floor of the gate).
CASE_RETRIEVAL = "hit@3"
#: Answerable cases with this tag are billing questions an article covers.
BILLING_TAG = "kb_billing"
PACKAGES = ("help-assistant", "langchain-core", "langchain-chroma", "langchain-text-splitters",
            "chromadb", "bm25s", "sentence-transformers", "torch", "numpy")  # fmt: skip
SETTINGS_SHOWN = {"fusion", "top_k", "answer_threshold", "max_answer_words", "embedding_model",
                  "chunk_max_tokens", "chunk_overlap_tokens", "collection", "llm"}  # fmt: skip


class CaseResult(BaseModel):
    """A case, what one system did with it, its metric values and what failed."""

    id: str
    kind: Kind
    kb: str = "runners"
    split: Split = "tune"
    critical: bool
    question: str
    history: list[Turn]
    expected: str
    run: CaseRun
    scores: dict[str, float | None]
    support: list[dict[str, Any]] = Field(default_factory=list)
    failures: list[str]
    warnings: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return not self.failures


def _answer_scores(case: Case, run: CaseRun) -> dict[str, Score]:
    """The answer-level rates of one case (``billing_covered_answered`` is the answered-with-
    facts value of the covered billing questions)."""
    expected, actual = case.expected, run.outcome
    with_facts = AnsweredWithFacts().score(expected, actual, run.answer, case.required_facts)
    billing = BILLING_TAG in case.tags and expected == "answered"
    return {
        AnsweredWithFacts.name: with_facts,
        FirstSentence.name: FirstSentence().score(run.answer, case.first_sentence_facts),
        NoAnswerPrecision.name: NoAnswerPrecision().score(expected, actual),
        NoAnswerRecall.name: NoAnswerRecall().score(expected, actual),
        FalseReferral.name: FalseReferral().score(expected, actual),
        HandoffOffered.name: HandoffOffered().score(case.expect_handoff, run.handoff),
        IntentMatch.name: IntentMatch().score(case.intent, run.intent, actual, run.handoff,
                                              case.expect_handoff),  # fmt: skip
        "billing_covered_answered": with_facts if billing else Score(None),
    }


#: Answer-level rates whose miss fails a case (the others repeat an outcome or fact failure).
FAILING_RATES = (FirstSentence.name, HandoffOffered.name, IntentMatch.name)


def score_case(case: Case, run: CaseRun) -> CaseResult:
    """Score one run. A case fails on what the gate measures: an error, a wrong outcome, no
    gold article in the top 3, a missing fact, an unsupported sentence, a first sentence
    without its facts, a missing handoff or a wrong intent. A cited non-gold article is a
    warning: another article may also hold the answer, and no target covers it."""
    scores: dict[str, float | None] = {}
    failures = [f"error: {run.error}"] if run.error else []
    warnings: list[str] = []

    def record(name: str, s: Score, into: list[str] | None) -> None:
        scores[name] = s.value
        if into is not None and s.detail and s.value is not None and s.value < 1.0:
            into.append(f"{name}: {s.detail}")

    record("outcome", OutcomeMatch().score(case.expected, run.outcome), failures)
    gold = set(case.gold_articles) if case.kind == "answerable" else set()
    for metric in RANKING_METRICS:
        into = failures if metric.name == CASE_RETRIEVAL else None
        record(metric.name, metric.score(run.ranking, gold), into)
    record(FactRecall.name, FactRecall().score(run.answer, case.required_facts), failures)
    cited = CitationPrecision().score(run.citations, set(case.gold_articles))
    record(CitationPrecision.name, cited, warnings)
    support = Support().score(run.answer, run.citations, run.passages)
    record(Support.name, Score(support.value, support.detail), failures)
    for name, s in _answer_scores(case, run).items():
        record(name, s, failures if name in FAILING_RATES else None)
    return CaseResult(
        id=case.id, kind=case.kind, kb=case.kb, split=case.split, critical=case.critical,
        question=case.question, history=case.history, expected=case.expected, run=run,
        scores=scores, support=[c.__dict__ for c in support.checks], failures=failures,
        warnings=warnings,
    )  # fmt: skip


class VariantResult(BaseModel):
    """One perturbed question of an answerable case, and whether the answer stayed put."""

    case_id: str
    kb: str
    split: Split
    perturbation: str
    question: str
    outcome: str | None
    cited: list[str]
    value: float
    detail: str = ""


class GroupResult(BaseModel):
    """The figures of one (knowledge base, split) slice of a configuration's cases."""

    kb: str
    split: str
    cases: int
    headline: dict[str, Headline]
    confusion: dict[str, dict[str, int]]
    red_flag_precision: float | None
    reliability: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kb}/{self.split}"


class ConfigResult(BaseModel):
    name: str
    description: str
    settings: dict[str, Any]
    headline: dict[str, Headline]
    red_flag_precision: float | None
    confusion: dict[str, dict[str, int]]
    latency_ms: dict[str, dict[str, float]]
    reliability: list[dict[str, Any]] = Field(default_factory=list)
    groups: list[GroupResult] = Field(default_factory=list)
    cases: list[CaseResult]
    variants: list[VariantResult] = Field(default_factory=list)

    def group(self, kb: str, split: str) -> GroupResult:
        for g in self.groups:
            if (g.kb, g.split) == (kb, split):
                return g
        raise KeyError(f"no cases of {kb}/{split} in {self.name}")


def calibration(results: Sequence[CaseResult]) -> CalibrationReport:
    """Confidence against "answered correctly" (answered with every required fact), over the
    answerable and not-covered cases that were not referred (a referral's confidence is the
    red-flag score, another quantity)."""
    pairs = [
        (r.run.confidence, r.scores.get(AnsweredWithFacts.name) == 1.0)
        for r in results
        if r.kind in ("answerable", "no_answer") and r.run.outcome != "refer_to_professional"
    ]
    return CalibrationError(bins=10).score([c for c, _ in pairs], [ok for _, ok in pairs])


def _slice(results: Sequence[CaseResult], variants_: Sequence[VariantResult],
           resamples: int, seed: int) -> dict[str, Any]:  # fmt: skip
    outcomes = OutcomeAccuracy().score([(r.expected, r.run.outcome) for r in results])
    calib = calibration(results)
    headline = headline_of(results, variants_, resamples, seed)
    headline["ece"] = Headline(value=calib.ece, n=calib.n)
    return {"headline": headline, "confusion": outcomes.confusion,
            "red_flag_precision": outcomes.red_flag_precision,
            "reliability": [b.__dict__ for b in calib.bins]}  # fmt: skip


def summarize(
    system: System,
    results: Sequence[CaseResult],
    resamples: int = 1000,
    seed: int = 0,
    variants_: Sequence[VariantResult] = (),
) -> ConfigResult:
    """Headline over every case, then the same per (knowledge base, split)."""
    groups = []
    for kb in dict.fromkeys(r.kb for r in results):
        for split in SPLITS:
            part = [r for r in results if (r.kb, r.split) == (kb, split)]
            if part:
                varied = [v for v in variants_ if (v.kb, v.split) == (kb, split)]
                groups.append(GroupResult(kb=kb, split=split, cases=len(part),
                                          **_slice(part, varied, resamples, seed)))  # fmt: skip
    latency = Latency().score([r.run.timings_ms for r in results if not r.run.error])
    settings = getattr(system, "settings", None)
    return ConfigResult(
        name=system.config.name,
        description=system.config.description,
        settings=settings.model_dump(mode="json", include=SETTINGS_SHOWN) if settings else {},
        latency_ms={k: v.__dict__ for k, v in latency.items()},
        groups=groups,
        cases=list(results),
        variants=list(variants_),
        **_slice(results, variants_, resamples, seed),
    )


class EvalRun(BaseModel):
    """Everything one ``help-assistant eval`` measured: the versioned result JSON."""

    schema_version: int = SCHEMA_VERSION
    created: str
    dataset: dict[str, Any]
    #: knowledge base name -> its index version and size
    knowledge_base: dict[str, Any]
    versions: dict[str, str]
    seed: int
    resamples: int
    default_config: str
    configs: list[ConfigResult]
    references: dict[str, str] = Field(default_factory=dict)

    def config(self, name: str) -> ConfigResult:
        for result in self.configs:
            if result.name == name:
                return result
        raise KeyError(f"configuration {name!r} was not part of this run")


def code_fingerprint() -> str:
    """sha256 of the product's source (assistant/, knowledge/ .py files): the packages are
    installed editable, so their version number does not change when their code does."""
    import assistant
    import knowledge

    digest = hashlib.sha256()
    for package in (assistant, knowledge):
        root = Path(next(iter(package.__path__)))
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root.parent).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "product_code": code_fingerprint()}
    for package in PACKAGES:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def run_case(system: System, case: Case) -> CaseResult:
    return score_case(case, _run(system, case.question, case.history))


def _run(system: System, question: str, history: Sequence[Turn]) -> CaseRun:
    try:
        return system.run(question, history)
    except Exception as exc:  # noqa: BLE001 - one broken case must not end the whole run
        return CaseRun(error=f"{type(exc).__name__}: {exc}")


def run_variants(system: System, case: Case, original: CaseResult) -> list[VariantResult]:
    """Every perturbation of an answerable case the original question got right (answered,
    a gold article among the first three citations); none otherwise."""
    invariance, gold = Invariance(), set(case.gold_articles)
    base = original.run
    if case.kind != "answerable" or invariance.score(
        "answered", base.outcome, base.citations, gold
    ).value != 1.0:
        return []
    out = []
    for name, question in variants(case.question, case.id).items():
        run = _run(system, question, case.history)
        s = invariance.score(base.outcome, run.outcome, run.citations, gold)
        out.append(VariantResult(
            case_id=case.id, kb=case.kb, split=case.split, perturbation=name, question=question,
            outcome=run.outcome, cited=[c.article_id for c in run.citations],
            value=float(s.value or 0.0), detail=s.detail,
        ))  # fmt: skip
    return out


def evaluate(
    dataset: Dataset,
    systems: Mapping[str, Sequence[System]],
    *,
    seed: int = 0,
    resamples: int = 1000,
    knowledge_base: dict[str, Any] | None = None,
    references: dict[str, str] | None = None,
    perturb: Collection[str] = (),
    on_case: Callable[[str], None] | None = None,
) -> EvalRun:
    """Run every case through every configuration on the systems of its knowledge base (one
    configuration after the other, so latencies do not interfere); the configurations named
    in ``perturb`` also answer the perturbed questions."""
    names = [s.config.name for s in next(iter(systems.values()))]
    configs = []
    for index, name in enumerate(names):
        results: dict[str, CaseResult] = {}
        found: list[VariantResult] = []
        for kb, kb_systems in systems.items():
            system = kb_systems[index]
            system.warm_up()
            for case in (c for c in dataset.cases if c.kb == kb):
                results[case.id] = run_case(system, case)
                if name in perturb:
                    found += run_variants(system, case, results[case.id])
                if on_case:
                    on_case(name)
        ordered = [results[c.id] for c in dataset.cases if c.id in results]
        first = next(iter(systems.values()))[index]
        configs.append(summarize(first, ordered, resamples, seed, found))
    return make_run(configs, dataset_info(dataset), seed=seed, resamples=resamples,
                    knowledge_base=knowledge_base, references=references)  # fmt: skip


def dataset_info(dataset: Dataset) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    for case in dataset.cases:
        for key in ("kind", "kb", "split"):
            value = getattr(case, key)
            counts.setdefault(key, {})[value] = counts.setdefault(key, {}).get(value, 0) + 1
    return {"path": dataset.path, "sha256": dataset.sha256, "cases": len(dataset.cases),
            "kinds": counts.get("kind", {}), "kbs": counts.get("kb", {}),
            "splits": counts.get("split", {})}  # fmt: skip


def make_run(
    configs: list[ConfigResult],
    dataset: dict[str, Any],
    *,
    seed: int = 0,
    resamples: int = 1000,
    knowledge_base: dict[str, Any] | None = None,
    references: dict[str, str] | None = None,
) -> EvalRun:
    names = [c.name for c in configs]
    return EvalRun(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        dataset=dataset,
        knowledge_base=knowledge_base or {},
        versions=versions(),
        seed=seed,
        resamples=resamples,
        default_config=DEFAULT_CONFIG if DEFAULT_CONFIG in names else names[0],
        configs=configs,
        references=references or {},
    )


__all__ = ["HEADLINE", "CaseResult", "ConfigResult", "EvalRun", "GroupResult", "Headline",
           "VariantResult", "evaluate", "make_run", "score_case",
           "summarize"]  # fmt: skip
