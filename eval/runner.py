"""Run an evaluation: every case of a dataset through every configured system, then score it.

Example::

    dataset = load_dataset(Path("eval/datasets/dev.jsonl"))
    run = evaluate(dataset, build_systems(["hybrid", "bm25"], settings, embeddings))
    run.config("hybrid").headline["hit@3"].value
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, field_validator

from assistant.types import Turn
from eval.configs import DEFAULT_CONFIG, CaseRun, System
from eval.metrics import (
    NDCG,
    CitationPrecision,
    FactRecall,
    HitAtK,
    Latency,
    OutcomeAccuracy,
    OutcomeMatch,
    ReciprocalRank,
    Support,
    bootstrap_ci,
)

SCHEMA_VERSION = 1
Kind = Literal["answerable", "no_answer", "refer_to_professional"]
EXPECTED = {"answerable": "answered", "no_answer": "no_answer",
            "refer_to_professional": "refer_to_professional"}  # fmt: skip
RANKING_METRICS = (HitAtK(1), HitAtK(3), HitAtK(5), ReciprocalRank(10), NDCG(10))
#: The retrieval metric a case must pass (it is also the gate's retrieval floor).
CASE_RETRIEVAL = "hit@3"
PACKAGES = ("help-assistant", "langchain-core", "langchain-chroma", "langchain-text-splitters",
            "chromadb", "bm25s", "sentence-transformers", "torch", "numpy")  # fmt: skip


class Case(BaseModel):
    """One line of a dataset (see eval/datasets/README.md)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    kind: Kind
    question: str = Field(min_length=1)
    history: list[Turn] = Field(default_factory=list)
    gold_articles: list[str] = Field(default_factory=list)
    gold_sections: list[str] = Field(default_factory=list)
    required_facts: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    critical: bool = False

    @field_validator("required_facts")
    @classmethod
    def _compiles(cls, facts: list[str]) -> list[str]:
        for fact in facts:
            try:
                re.compile(fact, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"required fact /{fact}/ is not a valid regex: {exc}") from None
        return facts

    @property
    def expected(self) -> str:
        return EXPECTED[self.kind]


class Dataset(BaseModel):
    path: str
    sha256: str
    cases: list[Case]


def load_dataset(path: Path) -> Dataset:
    """Parse a JSONL dataset; a broken line raises ``ValueError`` naming the line and field."""
    data = path.read_bytes()
    cases: list[Case] = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(Case.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON: {exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise ValueError(f"{path}:{number}: {where}: {first['msg']}") from None
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise ValueError(f"{path}: duplicate case id {case.id!r}")
        seen.add(case.id)
    if not cases:
        raise ValueError(f"{path}: no cases")
    return Dataset(path=str(path), sha256=hashlib.sha256(data).hexdigest(), cases=cases)


class CaseResult(BaseModel):
    """A case, what one system did with it, its metric values and what failed."""

    id: str
    kind: Kind
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


def score_case(case: Case, run: CaseRun) -> CaseResult:
    """Score one run. A case fails on what the gate's floors measure: an error, a wrong outcome,
    no gold article in the top 3, a missing fact, or an unsupported sentence. A cited non-gold
    article is a warning: another article may also hold the answer, and no target covers it."""
    scores: dict[str, float | None] = {}
    failures: list[str] = []
    warnings: list[str] = []
    if run.error:
        failures.append(f"error: {run.error}")

    def record(name: str, value: float | None, detail: str, into: list[str] | None) -> None:
        scores[name] = value
        if into is not None and detail and value is not None and value < 1.0:
            into.append(f"{name}: {detail}")

    outcome = OutcomeMatch().score(case.expected, run.outcome)
    record("outcome", outcome.value, outcome.detail, failures)
    gold = set(case.gold_articles) if case.kind == "answerable" else set()
    for metric in RANKING_METRICS:
        s = metric.score(run.ranking, gold)
        record(metric.name, s.value, s.detail, failures if metric.name == CASE_RETRIEVAL else None)
    facts = FactRecall().score(run.answer, case.required_facts)
    record(FactRecall.name, facts.value, facts.detail, failures)
    cited = CitationPrecision().score(run.citations, set(case.gold_articles))
    record(CitationPrecision.name, cited.value, cited.detail, warnings)
    support = Support().score(run.answer, run.citations, run.passages)
    record(Support.name, support.value, support.detail, failures)
    return CaseResult(
        id=case.id, kind=case.kind, critical=case.critical, question=case.question,
        history=case.history, expected=case.expected, run=run, scores=scores,
        support=[c.__dict__ for c in support.checks], failures=failures, warnings=warnings,
    )  # fmt: skip


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
}  # fmt: skip


class ConfigResult(BaseModel):
    name: str
    description: str
    settings: dict[str, Any]
    headline: dict[str, Headline]
    red_flag_precision: float | None
    confusion: dict[str, dict[str, int]]
    latency_ms: dict[str, dict[str, float]]
    cases: list[CaseResult]


def summarize(
    system: System, results: Sequence[CaseResult], resamples: int = 1000, seed: int = 0
) -> ConfigResult:
    headline = {}
    for name, (score, kind) in HEADLINE.items():
        values = [
            v for r in results
            if (kind is None or r.kind == kind) and (v := r.scores.get(score)) is not None
        ]
        interval = bootstrap_ci(values, resamples, seed)
        headline[name] = Headline(
            value=round(sum(values) / len(values), 4) if values else None,
            low=interval[0] if interval else None,
            high=interval[1] if interval else None,
            n=len(values),
        )
    outcomes = OutcomeAccuracy().score([(r.expected, r.run.outcome) for r in results])
    latency = Latency().score([r.run.timings_ms for r in results if not r.run.error])
    settings = getattr(system, "settings", None)
    return ConfigResult(
        name=system.config.name,
        description=system.config.description,
        settings=settings.model_dump(mode="json", include=SETTINGS_SHOWN) if settings else {},
        headline=headline,
        red_flag_precision=outcomes.red_flag_precision,
        confusion=outcomes.confusion,
        latency_ms={k: v.__dict__ for k, v in latency.items()},
        cases=list(results),
    )


SETTINGS_SHOWN = {"fusion", "top_k", "answer_threshold", "max_answer_words", "embedding_model",
                  "chunk_max_tokens", "chunk_overlap_tokens", "collection", "llm"}  # fmt: skip


class EvalRun(BaseModel):
    """Everything one ``help-assistant eval`` measured: the versioned result JSON."""

    schema_version: int = SCHEMA_VERSION
    created: str
    dataset: dict[str, Any]
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
    try:
        run = system.run(case.question, case.history)
    except Exception as exc:  # noqa: BLE001 - one broken case must not end the whole run
        run = CaseRun(error=f"{type(exc).__name__}: {exc}")
    return score_case(case, run)


def evaluate(
    dataset: Dataset,
    systems: Sequence[System],
    *,
    seed: int = 0,
    resamples: int = 1000,
    knowledge_base: dict[str, Any] | None = None,
    references: dict[str, str] | None = None,
    on_case: Callable[[str], None] | None = None,
) -> EvalRun:
    """Run every case through every system (one system after the other, so latencies do not
    interfere) and summarize each configuration."""
    configs = []
    for system in systems:
        system.warm_up()
        results = []
        for case in dataset.cases:
            results.append(run_case(system, case))
            if on_case:
                on_case(system.config.name)
        configs.append(summarize(system, results, resamples, seed))
    kinds: dict[str, int] = {}
    for case in dataset.cases:
        kinds[case.kind] = kinds.get(case.kind, 0) + 1
    info = {"path": dataset.path, "sha256": dataset.sha256, "cases": len(dataset.cases),
            "kinds": kinds}  # fmt: skip
    return make_run(configs, info, seed=seed, resamples=resamples,
                    knowledge_base=knowledge_base, references=references)  # fmt: skip


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
