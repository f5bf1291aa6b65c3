"""The evaluation dataset: the :class:`Case` model, loading, the tune/test split rule, merging.

Every case carries a ``split`` fixed by a hash of its id (:func:`split_for`), so a case never
moves between ``tune`` (what calibration and development may look at) and ``test`` (what the
gate's floors are measured on), and new cases land in a split nobody chose by hand.

Example::

    dataset = load_dataset(Path("eval/datasets/dev.jsonl"))
    [c.id for c in dataset.cases if c.split == "test"]

Command line (run from the repository root)::

    python -m eval.dataset add-splits eval/datasets/dev.jsonl
    python -m eval.dataset merge eval/datasets/staging/*.jsonl [--into eval/datasets/dev.jsonl]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.types import Turn

Kind = Literal["answerable", "no_answer", "refer_to_professional"]
Split = Literal["tune", "test"]
Intent = Literal["greeting", "thanks", "goodbye", "human", "language"]
SPLITS: tuple[Split, ...] = ("tune", "test")
EXPECTED = {"answerable": "answered", "no_answer": "no_answer",
            "refer_to_professional": "refer_to_professional"}  # fmt: skip
DEFAULT_KB = "runners"
#: Share of cases (percent) the hash rule puts in ``test``.
TEST_PERCENT = 30
DEV = Path(__file__).parent / "datasets" / "dev.jsonl"


def split_for(case_id: str) -> Split:
    """The split of a case, a pure function of its id (30% test, 70% tune)."""
    bucket = int(hashlib.sha256(case_id.encode()).hexdigest()[:8], 16) % 100
    return "test" if bucket < TEST_PERCENT else "tune"


def _compile_all(patterns: list[str], field: str) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{field} /{pattern}/ is not a valid regex: {exc}") from None
    return patterns


class Case(BaseModel):
    """One line of a dataset (see eval/datasets/README.md)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    kind: Kind
    question: str = Field(min_length=1)
    split: Split
    kb: str = DEFAULT_KB
    history: list[Turn] = Field(default_factory=list)
    gold_articles: list[str] = Field(default_factory=list)
    gold_sections: list[str] = Field(default_factory=list)
    required_facts: list[str] = Field(default_factory=list)
    first_sentence_facts: list[str] = Field(default_factory=list)
    expect_handoff: bool | None = None
    intent: Intent | None = None
    tags: list[str] = Field(default_factory=list)
    critical: bool = False

    @field_validator("required_facts")
    @classmethod
    def _facts_compile(cls, facts: list[str]) -> list[str]:
        return _compile_all(facts, "required fact")

    @field_validator("first_sentence_facts")
    @classmethod
    def _first_compile(cls, facts: list[str]) -> list[str]:
        return _compile_all(facts, "first-sentence fact")

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        if self.split != split_for(self.id):
            raise ValueError(f"split: {self.id} belongs to {split_for(self.id)!r} by the rule")
        if self.intent is not None and self.kind != "no_answer":
            raise ValueError("intent: conversation cases expect no_answer")
        return self

    @property
    def expected(self) -> str:
        return EXPECTED[self.kind]


class Dataset(BaseModel):
    path: str
    sha256: str
    cases: list[Case]

    def kbs(self) -> list[str]:
        """The knowledge bases the cases use, in order of first use."""
        return list(dict.fromkeys(c.kb for c in self.cases))


def stamp(model: dict[str, Any], dataset_sha: str, **extra: Any) -> dict[str, Any]:
    """Mark a fitted model's JSON with what it was fitted on (the tune split of the dataset with
    this hash, and ``extra`` such as the number of cases) and when it was written."""
    from datetime import UTC, date, datetime

    model["fitted_on"] = {"dataset_sha256": dataset_sha, "split": "tune", **extra,
                          "date": date.today().isoformat()}  # fmt: skip
    model["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    return model


def dataset_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_cases(text: str, path: Path) -> list[Case]:
    """Cases of a JSONL text; a broken line raises ``ValueError`` naming the line and field."""
    cases: list[Case] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(Case.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON: {exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ValueError(f"{path}:{number}: {where}: {message}") from None
    return cases


def load_dataset(path: Path) -> Dataset:
    """Parse and check a JSONL dataset (unique ids, at least one case)."""
    data = path.read_bytes()
    cases = parse_cases(data.decode("utf-8"), path)
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise ValueError(f"{path}: duplicate case id {case.id!r}")
        seen.add(case.id)
    if not cases:
        raise ValueError(f"{path}: no cases")
    return Dataset(path=str(path), sha256=dataset_sha256(data), cases=cases)


# ----- maintenance: add the split field, merge staged cases ------------------------------------
def with_split(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with ``split`` set by the rule, placed right after ``kind`` (key order kept)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "split":
            continue
        out[key] = value
        if key == "kind":
            out["split"] = split_for(str(row["id"]))
    out.setdefault("split", split_for(str(row["id"])))
    return out


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]  # fmt: skip


def _dump(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def add_splits(path: Path) -> int:
    """Rewrite ``path`` with every case's ``split``; line order and other fields unchanged."""
    rows = [with_split(r) for r in _rows(path)]
    path.write_text(_dump(rows), encoding="utf-8")
    return len(rows)


def merge(sources: Sequence[Path], into: Path = DEV) -> int:
    """Append the cases of ``sources`` to ``into`` with ``split`` added; ids must be unique
    across all files, and every merged line must load as a :class:`Case`. Nothing is written
    when a check fails. Returns the number of cases appended."""
    existing = {str(r["id"]) for r in _rows(into)}
    new: list[dict[str, Any]] = []
    for source in sources:
        for row in _rows(source):
            case_id = str(row.get("id", ""))
            if case_id in existing:
                raise ValueError(f"{source}: case id {case_id!r} is already used")
            existing.add(case_id)
            new.append(with_split(row))
    parse_cases(_dump(new), Path(", ".join(map(str, sources))))  # validate before writing
    text = into.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text += "\n"
    into.write_text(text + _dump(new), encoding="utf-8")
    return len(new)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.dataset", description="Dataset upkeep.")
    sub = parser.add_subparsers(dest="command", required=True)
    splits = sub.add_parser("add-splits", help="set every case's split by the rule")
    splits.add_argument("path", type=Path, nargs="?", default=DEV)
    merging = sub.add_parser("merge", help="append staged cases to the dataset")
    merging.add_argument("sources", type=Path, nargs="+")
    merging.add_argument("--into", type=Path, default=DEV)
    args = parser.parse_args(argv)
    try:
        if args.command == "add-splits":
            print(f"{add_splits(args.path)} cases in {args.path} have their split")
        else:
            print(f"appended {merge(args.sources, args.into)} cases to {args.into}")
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
