"""The ragas and deepeval exports: every row names its case (id, kind, expected outcome) in
fields the libraries' own loaders accept. Neither library is installed here, so the rows are
checked against the field names of their loaders' sources (quoted below)."""

from __future__ import annotations

import json
from pathlib import Path

from eval.dataset import Dataset
from eval.export import CASE_FIELDS, write_export
from eval.runner import EvalRun
from tests.eval.conftest import hand_made_runs

# ragas src/ragas/dataset_schema.py, SingleTurnSample (a pydantic model that ignores unknown
# keys: EvaluationDataset.from_jsonl -> from_list -> SingleTurnSample(**row)).
RAGAS_SAMPLE = {"user_input": str, "retrieved_contexts": list, "reference_contexts": list,
                "retrieved_context_ids": list, "reference_context_ids": list, "response": str,
                "multi_responses": list, "reference": str, "rubrics": dict,
                "persona_name": str, "query_style": str, "query_length": str}  # fmt: skip
# deepeval deepeval/dataset/dataset.py, EvaluationDataset.add_goldens_from_json_file: the keys
# it reads from each object of a JSON array (a row with "scenario" becomes a conversation).
DEEPEVAL_GOLDEN_KEYS = {"input", "actual_output", "expected_output", "context",
                        "retrieval_context", "tools_called", "expected_tools", "comments",
                        "name", "source_file", "additional_metadata", "scenario", "turns",
                        "expected_outcome", "user_description"}  # fmt: skip
EXPECTED = {  # case id -> (kind, expected outcome, the outcome the hand-made run gave)
    "h1": ("answerable", "answered", "answered"),
    "h2": ("answerable", "answered", "answered"),
    "h3": ("no_answer", "no_answer", "no_answer"),
    "h4": ("refer_to_professional", "refer_to_professional", "answered"),
}


def hand_dataset() -> Dataset:
    cases = [case for case, _ in hand_made_runs().values()]
    return Dataset(path="hand-made", sha256="0" * 64, cases=cases)


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_ragas_rows_are_samples_with_the_case_as_extra_columns(
    hand_run: EvalRun, tmp_path: Path
) -> None:
    out = write_export(hand_run, hand_dataset(), "ragas", tmp_path)
    for config in ("hybrid", "textbook"):
        exported = rows(out / f"{config}.jsonl")
        assert [r["case_id"] for r in exported] == list(EXPECTED)
        for row in exported:
            sample = {k: v for k, v in row.items() if k in RAGAS_SAMPLE}
            extra = set(row) - set(sample)
            assert extra == set(CASE_FIELDS), extra  # nothing else that ragas would drop
            assert isinstance(row["user_input"], str)  # from_list: single-turn samples
            for key, value in sample.items():
                assert value is None or isinstance(value, RAGAS_SAMPLE[key]), key
            assert (row["kind"], row["expected_outcome"], row["outcome"]) == EXPECTED[
                str(row["case_id"])
            ]
            assert row["kb"] == "runners" and row["split"] in ("tune", "test")
    first = rows(out / "hybrid.jsonl")[0]
    assert first["reference_context_ids"] == ["calf-raises"]
    assert first["retrieved_context_ids"] == ["calf-raises"]


def test_deepeval_rows_carry_the_case_in_name_and_additional_metadata(
    hand_run: EvalRun, tmp_path: Path
) -> None:
    out = write_export(hand_run, hand_dataset(), "deepeval", tmp_path)
    array = json.loads((out / "hybrid.json").read_text(encoding="utf-8"))
    assert isinstance(array, list)  # add_goldens_from_json_file does json.load on the file
    assert array == rows(out / "hybrid.jsonl")
    for row in array:
        assert set(row) <= DEEPEVAL_GOLDEN_KEYS and "scenario" not in row
        assert {"input", "actual_output"} <= set(row)  # add_test_cases_from_json_file needs them
        meta = row["additional_metadata"]
        assert isinstance(meta, dict) and row["name"] == meta["case_id"]
        assert (meta["kind"], meta["expected_outcome"], meta["outcome"]) == EXPECTED[
            meta["case_id"]
        ]
        assert set(CASE_FIELDS) <= set(meta)
    assert array[0]["additional_metadata"]["tags"] == []
