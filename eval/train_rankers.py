"""Fit the answerer's section and lead rankers (``assistant/models/*_ranker.json``) on tune.

``python -m eval.train_rankers [--dataset eval/datasets/dev.jsonl] [--data-dir DIR]`` answers
every answerable case of the ``tune`` split on its knowledge base and reads, from each
:class:`~assistant.trace.AnswerTrace`, the features of the candidate sections and of the
chosen section's units. Labels come from the cases:

- a candidate section is a positive when its text matches every ``required_facts`` pattern;
- a unit is a positive when it matches every ``first_sentence_facts`` pattern.

Only cases with at least one positive and one negative candidate teach anything. Each ranker
is a pairwise logistic regression (a positive against a negative of the same case, on the
difference of their features; the scaling is folded into the written coefficients), so the
difference of two candidates' scores is the log-odds that the first is the better one.
Its figure is top-1 accuracy under 5-fold cross-validation grouped
by case (a case's candidates never straddle folds), printed beside the model in use before the
fit, on the same cases. The section ranker is fitted first; the lead ranker's candidates are
then collected again with it, since the chosen section decides which units compete to lead.
The test split is never read.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.ranking import (
    LEAD_FEATURES,
    LEAD_RANKER,
    SECTION_FEATURES,
    SECTION_RANKER,
    LinearRanker,
)
from eval.calibrate import holds, traced
from eval.dataset import DEV, Case, load_dataset, stamp

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from assistant.settings import Settings

FOLDS = 5
RANDOM_STATE = 0
C = 1.0


@dataclass(frozen=True)
class Group:
    """One case's candidates: feature rows and labels (1 = holds the facts)."""

    case_id: str
    rows: list[dict[str, float]]
    labels: list[int]

    @property
    def informative(self) -> bool:
        return 0 < sum(self.labels) < len(self.labels)


def collect(cases: list[Case], settings: Settings, embeddings: Embeddings, root: Path,
            what: str, refresh: bool) -> list[Group]:  # fmt: skip
    """Candidate groups of ``what`` ("sections" or "leads") for the cases that have labels."""
    groups = []
    for case, trace in traced(cases, settings, embeddings, root, refresh):
        if what == "sections":
            if not case.required_facts or not trace.sections:
                continue
            text = {p.chunk_id: p.text for p in trace.passages}
            rows = [features for _, features in trace.sections]
            labels = [int(holds(text[c], case.required_facts)) for c, _ in trace.sections]
            # the annotated section, where the case names one among the candidates, is the
            # cleaner label: several sections of an article can mention the same fact
            section = {p.chunk_id: p.section for p in trace.passages}
            gold = [int(section[c] in case.gold_sections) for c, _ in trace.sections]
            labels = gold if any(gold) else labels
        else:
            if not case.first_sentence_facts or not trace.leads:
                continue
            rows = [features for _, features in trace.leads]
            labels = [int(holds(t, case.first_sentence_facts)) for t, _ in trace.leads]
        groups.append(Group(case.id, rows, labels))
    return groups


def top1(groups: list[Group], score: Any) -> float:
    """Share of groups whose best-scored candidate is a positive (first on a tie, as served)."""
    hits = 0
    for g in groups:
        scores = [score(r) for r in g.rows]
        best = max(range(len(scores)), key=lambda j: (scores[j], -j))
        hits += g.labels[best]
    return hits / len(groups) if groups else 0.0


def fit(groups: list[Group], names: tuple[str, ...], current: LinearRanker) -> dict[str, Any]:
    """The ranker JSON: coefficients over ``names`` and grouped-CV top-1 beside ``current``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    useful = [g for g in groups if g.informative]
    if len(useful) < 2 * FOLDS:
        raise ValueError(f"need at least {2 * FOLDS} informative cases, got {len(useful)}")

    def train(part: list[Group]) -> LinearRanker:
        # Pairwise (RankNet-style, linear): learn which of two candidates of one case is the
        # positive from the difference of their features; no intercept, only order matters.
        diffs = [
            np.array([pos.get(n, 0.0) - neg.get(n, 0.0) for n in names])
            for g in part
            for pos, lp in zip(g.rows, g.labels, strict=True) if lp
            for neg, ln in zip(g.rows, g.labels, strict=True) if not ln
        ]  # fmt: skip
        x = np.vstack([np.vstack(diffs), -np.vstack(diffs)])
        y = np.array([1] * len(diffs) + [0] * len(diffs))
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=C, fit_intercept=False, max_iter=2000,
                                   random_state=RANDOM_STATE)  # fmt: skip
        model.fit(x / scale, y)
        coef = model.coef_[0] / scale
        return LinearRanker(names, tuple(float(c) for c in coef), 0.0)

    ids = np.array([i for i, _ in enumerate(useful)])
    folds = GroupKFold(n_splits=FOLDS)
    hits = 0
    for train_idx, test_idx in folds.split(ids, groups=ids):
        model = train([useful[i] for i in train_idx])
        held = [useful[i] for i in test_idx]
        hits += round(top1(held, model.score) * len(held))
    final = train(useful)
    return {
        "features": list(names),
        "coefficients": [round(c, 4) for c in final.coefficients],
        "intercept": round(final.intercept, 4),
        "cv": {
            "folds": FOLDS, "cases": len(groups), "informative": len(useful),
            "top1_cv": round(hits / len(useful), 4),
            "top1_before": round(top1(useful, current.score), 4),
            "top1_all_before": round(top1(groups, current.score), 4),
        },
    }  # fmt: skip


def _write(model: dict[str, Any], out: Path, dataset_sha: str) -> None:
    if out.exists():  # the hedge is chosen on the whole answer (see hedge_tune), not here
        previous = json.loads(out.read_text(encoding="utf-8"))
        model.update({k: v for k, v in previous.items() if k.startswith("hedge_")})
    stamp(model, dataset_sha)
    out.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    cv = model["cv"]
    print(f"wrote {out}: top-1 on {cv['informative']} informative tune cases "
          f"{cv['top1_before']:.3f} before -> {cv['top1_cv']:.3f} cross-validated")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="root of the KB indexes (default: ASSISTANT_DATA_DIR/eval)",
    )
    parser.add_argument("--only", choices=("sections", "leads"), default=None)
    args = parser.parse_args(argv)
    from assistant.embeddings import make_embeddings
    from assistant.settings import load_settings

    settings = load_settings()
    embeddings = make_embeddings(settings)
    root = args.data_dir or settings.data_dir / "eval"
    dataset = load_dataset(args.dataset)
    tune = [c for c in dataset.cases if c.split == "tune" and c.kind == "answerable"]
    refresh = True
    for what, names, out in (("sections", SECTION_FEATURES, SECTION_RANKER),
                             ("leads", LEAD_FEATURES, LEAD_RANKER)):  # fmt: skip
        if args.only not in (None, what):
            continue
        groups = collect(tune, settings, embeddings, root, what, refresh)
        refresh = False
        _write(fit(groups, names, LinearRanker.load(out)), out, dataset.sha256)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
