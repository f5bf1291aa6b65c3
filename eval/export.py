"""Export a run as datasets for LLM-judge frameworks (ragas, deepeval), with reference texts.

The dataset has no reference answers, so the reference is the text of the gold sections (the
gold articles' passages when no section is given) for answerable cases, and the expected
behaviour for no-answer and referral cases.

Every row also carries the case: its id, kind and expected outcome (plus the outcome the
configuration gave, its knowledge base and split), where each library keeps such things:

- ragas: ``SingleTurnSample`` has no metadata field and ignores unknown keys, so they are extra
  columns (``case_id``, ``kind``, ``expected_outcome``...), kept by ``pandas.read_json`` and
  Hugging Face ``datasets``; the gold and retrieved article ids go in ragas' own
  ``reference_context_ids`` / ``retrieved_context_ids`` (its ID-based context metrics).
- deepeval: ``name`` (the case id) and ``additional_metadata`` (a dict), the keys
  ``EvaluationDataset.add_goldens_from_json_file`` reads and ``LLMTestCase`` accepts (its
  ``metadata``, alias ``additional_metadata``). That loader wants a JSON array, so deepeval
  gets ``<config>.json`` beside the JSONL.

Example::

    refs = references(dataset.cases, {"runners": systems})
    write_export(run, dataset, "ragas", Path("eval/runs/x"))
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.dataset import Case, Dataset
from eval.runner import CaseResult, EvalRun
from eval.systems import AssistantSystem, System

FORMATS = ("ragas", "deepeval")
#: The case's fields in every exported row (ragas: columns; deepeval: additional_metadata).
CASE_FIELDS = ("case_id", "kind", "expected_outcome", "outcome", "kb", "split")
NO_ANSWER_REFERENCE = ("The help articles do not cover this; the assistant says so without "
                       "guessing and offers a person from the support team.")  # fmt: skip
REFER_REFERENCE = ("Stop the activity that hurts and see a qualified professional "
                   "(physiotherapist, podiatrist or doctor).")  # fmt: skip


def write_export(run: EvalRun, dataset: Dataset, fmt_: str, out_dir: Path) -> Path:
    """One JSONL per configuration, rows in dataset order: ragas ``SingleTurnSample`` fields or
    deepeval ``LLMTestCase`` fields, each with the case (:data:`CASE_FIELDS`); deepeval also
    gets the same rows as one JSON array per configuration (``<config>.json``)."""
    if fmt_ not in ("ragas", "deepeval"):
        raise ValueError(f"unknown export format {fmt_!r}; supported: ragas, deepeval")
    path = out_dir / fmt_
    path.mkdir(parents=True, exist_ok=True)
    questions = {c.id: c for c in dataset.cases}
    for config in run.configs:
        rows = [_row(fmt_, r, questions[r.id], run.references.get(r.id)) for r in config.cases]
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (path / f"{config.name}.jsonl").write_text(lines, encoding="utf-8")
        if fmt_ == "deepeval":
            (path / f"{config.name}.json").write_text(
                json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
            )
    return path


def _row(fmt_: str, r: CaseResult, case: Case, reference: str | None) -> dict[str, Any]:
    contexts = [p.text for p in r.run.passages]
    gold = _split(reference) if case.kind == "answerable" else []
    meta = {"case_id": case.id, "kind": case.kind, "expected_outcome": case.expected,
            "outcome": r.run.outcome, "kb": case.kb, "split": case.split}  # fmt: skip
    if fmt_ == "ragas":
        return {"user_input": r.question, "retrieved_contexts": contexts,
                "response": r.run.answer, "reference": reference, "reference_contexts": gold,
                "reference_context_ids": list(case.gold_articles),
                "retrieved_context_ids": [p.article_id for p in r.run.passages],
                **meta}  # fmt: skip
    return {"input": r.question, "actual_output": r.run.answer, "expected_output": reference,
            "retrieval_context": contexts, "context": gold, "name": case.id,
            "additional_metadata": {**meta, "tags": list(case.tags)}}  # fmt: skip


def _split(reference: str | None) -> list[str]:
    return [p for p in (reference or "").split("\n\n") if p.strip()]


def references(
    cases: Sequence[Case], systems: Mapping[str, Sequence[System]]
) -> dict[str, str]:
    """Reference text per case: the gold sections' passages in the case's knowledge base, or
    the expected behaviour for no-answer and referral cases."""
    corpora = {
        kb: next((s.retriever.corpus() for s in kb_systems if isinstance(s, AssistantSystem)),
                 None)  # fmt: skip
        for kb, kb_systems in systems.items()
    }
    out = {}
    for case in cases:
        corpus = corpora.get(case.kb)
        if case.kind == "no_answer":
            out[case.id] = NO_ANSWER_REFERENCE
        elif case.kind == "refer_to_professional":
            out[case.id] = REFER_REFERENCE
        elif corpus is not None:
            out[case.id] = "\n\n".join(_gold_passages(case.gold_articles, case.gold_sections,
                                                      corpus.metas, corpus.bodies))  # fmt: skip
    return out


def _gold_passages(
    articles: list[str], sections: list[str], metas: list[dict[str, Any]], bodies: list[str]
) -> list[str]:
    wanted = {s.strip().lower() for s in sections}
    out = []
    for meta, body in zip(metas, bodies, strict=True):
        path = str(meta.get("section", "")).lower()
        if meta.get("article_id") in articles and (
            not wanted or path in wanted or path.split(" > ")[-1] in wanted
        ):
            out.append(body)
    return out
