"""`help-assistant eval` runs agents' corrections (the answers database) as extra cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings

from api.correction_store import CorrectionStore
from api.storage import Storage
from assistant.settings import Settings, load_settings
from eval.cli import EvalOptions, run_eval, with_corrections
from eval.dataset import load_dataset, split_for
from eval.kbs import KnowledgeBase

QUESTION = "how many sets of calf raises are right for me?"


def store_correction(settings: Settings) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage = Storage(settings.answers_db_url)
    try:
        storage.create_schema()
        saved = CorrectionStore(storage).add(
            question=QUESTION, vector=[0.1] * 384, answer="Do 2 to 3 sets [1].",
            citations=[{"article_id": "calf-raises", "section": ""}], author="Sam",
            facts=["sets of"],
        )  # fmt: skip
        return saved.id
    finally:
        storage.close()


def cases_of(out: Path) -> dict[str, dict[str, Any]]:
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return {c["id"]: c for c in result["configs"][0]["cases"]}


def test_a_stored_correction_runs_as_a_case_on_the_runners_kb(
    tiny_dataset: Path,
    kb_settings: Settings,
    kb_registry: dict[str, KnowledgeBase],
    embeddings: Embeddings,
    tmp_path: Path,
) -> None:
    correction_id = store_correction(load_settings())
    options = EvalOptions(dataset=tiny_dataset, configs="hybrid", out=tmp_path / "with",
                          baseline=tmp_path / "none.json", data_dir=kb_settings.data_dir.parent,
                          ingest=False, resamples=100)  # fmt: skip
    assert run_eval(options, embeddings, kb_registry) == 0
    cases = cases_of(tmp_path / "with")
    case = cases[f"correction-{correction_id}"]
    assert case["question"] == QUESTION and case["kb"] == "runners"
    assert case["kind"] == "answerable" and case["expected"] == "answered"
    assert "calf-raises" in case["run"]["ranking"][:3]  # it was really answered on runners
    assert len(cases) == len(load_dataset(tiny_dataset).cases) + 1

    options.corrections, options.out = False, tmp_path / "without"
    assert run_eval(options, embeddings, kb_registry) == 0
    assert f"correction-{correction_id}" not in cases_of(tmp_path / "without")


def test_corrections_name_their_kb_or_run_on_the_default_one(
    tiny_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = load_dataset(tiny_dataset)
    registry = {"runners": KnowledgeBase("runners", ()), "app": KnowledgeBase("app", ())}

    def row(case_id: str, **extra: str) -> dict[str, Any]:
        return {"id": case_id, "kind": "answerable", "split": split_for(case_id),
                "question": "q?", "gold_articles": ["calf-raises"], "tags": ["correction"],
                **extra}  # fmt: skip

    rows = [row("correction-7"), row("correction-8", kb="app"),
            row("correction-9", kb="elsewhere"), row("t001")]  # fmt: skip
    added = with_corrections(dataset, rows, registry)
    extra = {c.id: c for c in added.cases[len(dataset.cases) :]}
    assert {i: c.kb for i, c in extra.items()} == {"correction-7": "runners", "correction-8": "app"}
    assert extra["correction-7"].tags == ["correction"]
    assert added.sha256 != dataset.sha256
    err = capsys.readouterr().err
    assert "correction correction-9 left out" in err and "t001 left out" in err
    only_app = with_corrections(dataset, rows[:2], registry, kbs="app")
    assert [c.id for c in only_app.cases[len(dataset.cases) :]] == ["correction-8"]
    assert with_corrections(dataset, [], registry) is dataset
