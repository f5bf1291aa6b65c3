"""Choose the section ranker's hedge on tune: ``python -m eval.choose_hedge``.

The hedge (``hedge_below`` in ``assistant/models/section_ranker.json``, see
:class:`assistant.ranking.LinearRanker`) lets one unit of the runner-up section join an answer
when the ranker's probability that the best section beats it is below the value. It is a
decision about the whole answer, not about one ranking, so it is chosen on what a runner gets:
every answerable ``tune`` case is answered on its knowledge base at each value of ``--grid``.
The smallest value (runner-up text in the fewest answers: one section, concise, with the
fewest off-target citations) whose ``answered_with_facts`` is within one case of the best value
on every knowledge base wins, the one-case slack of the gate (``eval/gate.py``): a higher
hedge must win more than one borderline case somewhere to be worth its longer answers. The
table of every value is written beside it (``hedge_tune``). The test split is never read.

Run it after ``python -m eval.train_rankers`` (which keeps the hedge keys) and before
``python -m eval.calibrate`` (the answerability model reads the answers the hedge shapes).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.ranking import SECTION_RANKER, LinearRanker
from eval.dataset import DEV, Case, load_dataset, stamp
from eval.kbs import KBS, ingest, resolve_kbs
from eval.metrics import AnsweredWithFacts

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from assistant.settings import Settings

GRID = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)


def rates(
    cases: list[Case],
    settings: Settings,
    embeddings: Embeddings,
    root: Path,
    ranker: LinearRanker,
    grid: tuple[float, ...],
) -> dict[float, dict[str, float]]:
    """answered_with_facts per knowledge base, for each hedge value of ``grid``."""
    from assistant.factory import build_assistant

    metric = AnsweredWithFacts()
    table: dict[float, dict[str, float]] = {value: {} for value in grid}
    for name, kb in resolve_kbs(list(dict.fromkeys(c.kb for c in cases)), KBS).items():
        kb_settings = kb.settings(settings, root)
        ingest(kb_settings, embeddings)
        mine = [c for c in cases if c.kb == name]
        for value in grid:
            hedged = dataclasses.replace(ranker, hedge_below=value)
            assistant = build_assistant(kb_settings, embeddings=embeddings, section_ranker=hedged)
            scores = []
            for case in mine:
                answer = assistant.answer(case.question, case.history)
                score = metric.score("answered", answer.outcome, answer.answer,
                                     case.required_facts)  # fmt: skip
                scores.append(score.value or 0.0)
            table[value][name] = round(sum(scores) / len(scores), 4) if scores else 0.0
            print(f"{name}: hedge {value:.2f} -> answered_with_facts {table[value][name]:.3f}")
    return table


def best(table: dict[float, dict[str, float]], cases: dict[str, int] | None = None) -> float:
    """The smallest value within one case (``1 / cases[kb]``) of the best on every knowledge
    base; without ``cases``, the value with the best mean (the smaller one on a tie)."""
    if cases:
        top = {kb: max(row[kb] for row in table.values()) for kb in cases}
        close = [v for v, row in table.items()
                 if all(row[kb] >= top[kb] - 1 / cases[kb] - 1e-9 for kb in cases)]  # fmt: skip
        return min(close)
    return max(table, key=lambda v: (round(sum(table[v].values()) / len(table[v]), 4), -v))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV)
    parser.add_argument("--grid", default=",".join(str(v) for v in GRID),
                        help="hedge values to compare, comma-separated")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="root of the KB indexes (default: data dir/eval)")  # fmt: skip
    parser.add_argument("--model", type=Path, default=SECTION_RANKER)
    args = parser.parse_args(argv)
    try:
        grid = tuple(sorted({float(v) for v in args.grid.split(",") if v.strip()}))
    except ValueError:
        parser.error(f"--grid: comma-separated numbers, got {args.grid!r}")
    if not grid or any(not 0.0 <= v <= 1.0 for v in grid):
        parser.error("--grid: values between 0 and 1")
    from assistant.embeddings import make_embeddings
    from assistant.settings import load_settings

    settings = load_settings()
    dataset = load_dataset(args.dataset)
    tune = [c for c in dataset.cases if c.split == "tune" and c.kind == "answerable"]
    table = rates(tune, settings, make_embeddings(settings), args.data_dir or
                  settings.data_dir / "eval", LinearRanker.load(args.model), grid)  # fmt: skip
    chosen = best(table, {kb: sum(c.kb == kb for c in tune) for kb in {c.kb for c in tune}})
    model = json.loads(args.model.read_text(encoding="utf-8"))
    model["hedge_below"] = chosen
    # the hedge's own stamp: the ranker's ``fitted_on`` stays that of its coefficients
    model["hedge_tune"] = stamp({
        "note": "answered_with_facts of the answerable tune cases per knowledge base, by "
                "hedge_below (python -m eval.choose_hedge)",
        "table": {f"{v:g}": table[v] for v in grid},
    }, dataset.sha256)  # fmt: skip
    args.model.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.model}: hedge_below {chosen:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
