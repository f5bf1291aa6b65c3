"""Refit the answerability model of ``assistant/confidence.py`` on an evaluation dataset.

Run ``python -m eval.calibrate [--dataset eval/datasets/dev.jsonl]`` after ingesting; it prints
5-fold cross-validated keep/refuse rates at several thresholds and the coefficients to paste into
``assistant/confidence.py``. Only answerable and not-covered cases that reach the answerer are
used (red flags and the safety gate's refusals never get a confidence).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering import Draft, ExtractiveAnswerer
from assistant.factory import build_assistant
from assistant.settings import Settings
from assistant.types import Turn

DEFAULT_DATASET = Path(__file__).parent / "datasets" / "dev.jsonl"


def features(dataset: Path, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(d, u, h, n) per case and whether it is answerable."""
    assistant = build_assistant(settings.model_copy(update={"answer_threshold": 0.0}))
    drafts: list[Draft | None] = []
    original = ExtractiveAnswerer.compose

    def capture(self: ExtractiveAnswerer, *args: Any, **kwargs: Any) -> Draft | None:
        draft = original(self, *args, **kwargs)
        drafts.append(draft)
        return draft

    rows, labels = [], []
    ExtractiveAnswerer.compose = capture  # type: ignore[method-assign]
    try:
        for line in dataset.read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            if case["kind"] == "refer_to_professional":
                continue
            drafts.clear()
            history = [Turn(**t) for t in case.get("history", [])]
            answer = assistant.answer(case["question"], history)
            if answer.outcome != "answered" or not drafts or drafts[-1] is None:
                continue
            signals = drafts[-1].signals
            question = assistant.synonyms.strip(case["question"])
            unknown = assistant.retriever.corpus().vocabulary.unknown_terms(question)
            rows.append([signals["dense"], signals["unit"], signals["heading"], len(unknown)])
            labels.append(int(case["kind"] == "answerable"))
    finally:
        ExtractiveAnswerer.compose = original  # type: ignore[method-assign]
    return np.array(rows), np.array(labels)


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    x, y = features(args.dataset, Settings())
    model = LogisticRegression(C=10, class_weight="balanced", max_iter=1000)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    probability = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    print(f"{int((y == 1).sum())} answerable, {int((y == 0).sum())} not covered")
    for threshold in (0.3, 0.4, 0.5, 0.6):
        kept = float(((probability >= threshold) & (y == 1)).sum() / max(1, (y == 1).sum()))
        refused = float(((probability < threshold) & (y == 0)).sum() / max(1, (y == 0).sum()))
        print(f"threshold {threshold:.1f}: keeps {kept:.1%} answerable, refuses {refused:.1%}")
    model.fit(x, y)
    print("COEFFICIENTS =", tuple(round(float(c), 3) for c in model.coef_[0]))
    print("INTERCEPT =", round(float(model.intercept_[0]), 3))


if __name__ == "__main__":
    main()
