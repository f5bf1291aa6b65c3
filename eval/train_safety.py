"""Train the safety gate's red-flag classifier and write ``assistant/models/red_flags.json``.

    python -m eval.train_safety [--messages PATH] [--dev PATH] [--out PATH]

Training data: ``eval/datasets/safety_messages.jsonl`` (``{"text", "label"}``, label a category
or ``"none"``) plus the ``tune`` split of ``eval/datasets/dev.jsonl`` (``refer_to_professional``
-> the category of its ``red_flag:*`` tag, everything else -> ``none``). The ``test`` split is
never trained on: its figures are reported as held out. Messages are judged as the gate judges
them, without their side notes about the asker (:func:`assistant.safety.judged_text`); the
figures include every training message behind such a note (``eval/datasets/asides.txt``, a
measure only, never trained on). Prints cross-validated recall and
false-referral rate per threshold for the rules, the classifier and their union (the gate), picks
the threshold, and prints the held-out figures. Needs scikit-learn (a dev dependency); the
product only reads the weights.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.red_flag_cues import LEXICAL_FEATURES, features, rule_match
from assistant.safety import CATEGORIES, MODEL_PATH, judged_text
from eval.dataset import split_for

DATASETS = Path(__file__).resolve().parent / "datasets"
MAX_FALSE_REFERRALS = 0.02  # at most 2% of non-red-flag messages referred (cross-validated)
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
#: A column whose spread over the training messages is below this carries no signal: MiniLM
#: leaves a few output dimensions (127, 223 and 319 of all-MiniLM-L6-v2) at about 1e-33 or
#: 1e-8 for every text. Standardised, their rounding noise would get weights of 1e31 and
#: move a logit by a whole unit; they are zeroed before fitting, so their weights are 0.
MIN_COLUMN_STD = 1e-6
LEXICAL_WEIGHT = 1.0  # cv gate recall at 2% false referrals: 0.91 (1), 0.89 (3), 0.88 (10)
FOLDS, SEED = 5, 0

#: dev.jsonl ``red_flag:*`` tag -> gate category; None: the tag names no single category
#: (the case still counts as a red flag for the binary model).
TAG_CATEGORY: dict[str, str | None] = {
    "sharp_pain": "sharp_or_worsening_pain", "worsening_pain": "sharp_or_worsening_pain",
    "persistent_pain": "sharp_or_worsening_pain", "swelling": "swelling_or_bruising",
    "numbness": "numbness_or_tingling", "pop": "pop_or_tear",
    "stress_fracture": "suspected_fracture", "cant_bear_weight": "suspected_fracture",
    "diabetes_neuropathy": "diabetes_or_neuropathy", "post_injury": "other_medical",
    "other_medical": "other_medical", "urgent": None,
}


@dataclass(frozen=True)
class Example:
    text: str
    red: bool
    category: str | None  # None for "none" and for red flags of unknown category
    source: str  # "messages" or the dev case id


def load_messages(path: Path) -> list[Example]:
    """``{"text", "label"}`` JSON lines; a clear error naming the file and line otherwise."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
            text, label = str(row["text"]), str(row["label"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a {{'text', 'label'}} JSON line: {exc}") from exc
        if label != "none" and label not in CATEGORIES:
            raise ValueError(f"unknown label {label!r} in {path}:{n}")
        rows.append(Example(text, label != "none", None if label == "none" else label,
                            "messages"))
    return rows


def load_dev(path: Path) -> dict[str, list[Example]]:
    out: dict[str, list[Example]] = {"tune": [], "test": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        red = case["kind"] == "refer_to_professional"
        category = None
        if red:
            tags = [t.split(":", 1)[1] for t in case["tags"] if t.startswith("red_flag:")]
            category = TAG_CATEGORY[tags[0]] if tags else None
        out[split_for(case["id"])].append(Example(case["question"], red, category, case["id"]))
    return out


def rates(pred: np.ndarray, red: np.ndarray) -> tuple[float, float]:
    """(recall on red flags, false-referral rate on the rest)."""
    return float(pred[red].mean()) if red.any() else 1.0, float(pred[~red].mean())


def column_weights(dimensions: int) -> np.ndarray:
    """Per-column scale after standardising: a weight above 1 on the few lexical columns would
    shield them from the L2 penalty shared with the embedding's hundreds of columns."""
    return np.concatenate([np.ones(dimensions - len(LEXICAL_FEATURES)),
                           np.full(len(LEXICAL_FEATURES), LEXICAL_WEIGHT)])


def _pipeline(dimensions: int, c: float, balanced: bool) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    weights = column_weights(dimensions)
    return make_pipeline(StandardScaler(), FunctionTransformer(lambda z: z * weights),
                         LogisticRegression(C=c, class_weight="balanced" if balanced else None,
                                            max_iter=5000))


def _fit_binary(x: np.ndarray, y: np.ndarray, c: float) -> Any:
    return _pipeline(x.shape[1], c, balanced=True).fit(x, y)


def out_of_fold_logits(x: np.ndarray, y: np.ndarray, c: float,
                       *judged: np.ndarray) -> list[np.ndarray]:
    """Out-of-fold logits of the training rows ``x``, and of each matrix in ``judged`` (row
    ``i``: training message ``i`` as judged in some other form) by the same fold's model."""
    from sklearn.model_selection import StratifiedKFold

    out = [np.zeros(len(y)) for _ in range(1 + len(judged))]
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(x, y):
        model = _fit_binary(x[train], y[train], c)
        for logits, rows in zip(out, (x, *judged), strict=True):
            logits[test] = model.decision_function(rows[test])
    return out


def load_asides(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [t.strip() for t in lines if t.strip() and not t.startswith("#")]


def behind_note(text: str, asides: Sequence[str]) -> str:
    """The message behind one side note, chosen by a hash of its text (deterministic)."""
    return f"{asides[int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % len(asides)]} {text}"


def platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6, max_iter=1000).fit(logits.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def choose_threshold(prob: np.ndarray, rules: np.ndarray, red: np.ndarray) -> float:
    """Midpoint (in logit space) of the thresholds that reach the best recall of the gate
    (rules or classifier) with false referrals within the budget: recall first, then margin."""
    candidates = np.unique(np.concatenate([prob, [0.999]]))
    feasible = [t for t in candidates
                if rates(rules | (prob >= t), red)[1] <= MAX_FALSE_REFERRALS]
    best = max(rates(rules | (prob >= t), red)[0] for t in feasible)
    good = [t for t in feasible if rates(rules | (prob >= t), red)[0] == best]
    lo, hi = float(min(good)), float(max(good))
    # The largest good threshold sits on a red flag's probability; step halfway to the next
    # lower candidate so the stored threshold is never exactly on a training point.
    lower = candidates[candidates < lo]
    lo = float(lower.max() + lo) / 2 if len(lower) else lo
    logit = (np.log(lo / (1 - lo)) + np.log(hi / (1 - hi))) / 2
    return float(_sigmoid(np.array(logit)))


def fold_scaler(pipeline: Any) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias on raw features, the StandardScaler folded into the linear model."""
    scaler, lr = pipeline[0], pipeline[-1]
    weights = lr.coef_ * column_weights(len(scaler.scale_)) / scaler.scale_
    bias = lr.intercept_ - weights @ scaler.mean_
    return weights, bias


def report(name: str, pred: np.ndarray, red: np.ndarray) -> str:
    recall, fpr = rates(pred, red)
    return (f"  {name:<11} recall {recall:6.1%} ({int(pred[red].sum())}/{int(red.sum())})  "
            f"false referrals {fpr:5.1%} ({int(pred[~red].sum())}/{int((~red).sum())})")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=Path, default=DATASETS / "safety_messages.jsonl")
    parser.add_argument("--dev", type=Path, default=DATASETS / "dev.jsonl")
    parser.add_argument("--asides", type=Path, default=DATASETS / "asides.txt")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)

    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from assistant.embeddings import make_embeddings
    from assistant.settings import Settings

    dev = load_dev(args.dev)
    train = load_messages(args.messages) + dev["tune"]
    test = dev["test"]
    settings = Settings()
    embeddings = make_embeddings(settings)

    def matrix(texts: list[str]) -> np.ndarray:
        vectors = embeddings.embed_documents(texts)
        return np.stack([features(t, v) for t, v in zip(texts, vectors, strict=True)])

    def judged(texts: list[str]) -> np.ndarray:
        return matrix([judged_text(t) for t in texts])

    # trained on the messages as written; figures on the messages as the gate judges them
    x = matrix([r.text for r in train])
    x_served, x_test = judged([r.text for r in train]), judged([r.text for r in test])
    asides = load_asides(args.asides)
    noted = [behind_note(r.text, asides) for r in train]
    x_noted, x_noted_whole = judged(noted), matrix(noted)
    dead = x.std(axis=0) < MIN_COLUMN_STD
    for rows in (x, x_served, x_test, x_noted, x_noted_whole):
        rows[:, dead] = 0.0
    y = np.array([r.red for r in train])
    y_test = np.array([r.red for r in test])
    rules = np.array([rule_match(r.text) is not None for r in train])
    rules_noted = np.array([rule_match(t) is not None for t in noted])
    rules_test = np.array([rule_match(r.text) is not None for r in test])
    print(f"training: {len(train)} messages ({int(y.sum())} red flags), of which "
          f"{len(dev['tune'])} dev tune cases; held out: {len(test)} dev test cases; "
          f"{int(dead.sum())} constant column(s) left out: {np.flatnonzero(dead).tolist()}")

    # C by cross-validated recall of the gate at the false-referral budget (then log-loss).
    scored = []
    for c in C_GRID:
        raw, logits, noted_logits, whole_logits = out_of_fold_logits(x, y, c, x_served, x_noted,
                                                                     x_noted_whole)
        a, b = platt(raw, y)  # calibrated on the messages as written
        prob = _sigmoid(a * logits + b)
        t = choose_threshold(prob, rules, y)
        recall, fpr = rates(rules | (prob >= t), y)
        loss = -float(np.mean(y * np.log(prob + 1e-9) + (~y) * np.log(1 - prob + 1e-9)))
        scored.append((recall, -fpr, -loss, c, (logits, noted_logits, whole_logits), (a, b), t))
        print(f"C={c:<5} cv recall {recall:.3f}  false referrals {fpr:.3f}  log-loss {loss:.3f}")
    recall, _, _, c, (logits, noted_logits, whole_logits), (a, b), threshold = max(
        scored, key=lambda s: s[:3])
    prob = _sigmoid(a * logits + b)
    cv_pred = rules | (prob >= threshold)
    noted_pred = rules_noted | (_sigmoid(a * noted_logits + b) >= threshold)
    whole_pred = rules_noted | (_sigmoid(a * whole_logits + b) >= threshold)

    print(f"\ncross-validated ({FOLDS}-fold) per threshold, C={c}:")
    print("  threshold  clf recall  clf FP   gate recall  gate FP")
    for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, threshold):
        cr, cf = rates(prob >= t, y)
        gr, gf = rates(rules | (prob >= t), y)
        mark = "  <- chosen" if t == threshold else ""
        print(f"  {t:9.3f}  {cr:10.3f}  {cf:6.3f}  {gr:11.3f}  {gf:7.3f}{mark}")
    print(f"\ncross-validated at threshold {threshold:.3f}:")
    for name, pred in (("rules", rules), ("classifier", prob >= threshold), ("gate", cv_pred)):
        print(report(name, pred, y))
    print(f"  every training message behind a side note about the asker ({args.asides.name}):")
    print(report("gate", noted_pred, y))
    print("  the same, the classifier reading the whole message (note included):")
    print(report("whole", whole_pred, y))

    final = _fit_binary(x, y, c)
    weights, bias = fold_scaler(final)
    known = np.array([r.category is not None for r in train])
    cat_y = np.array([r.category for r in train if r.category is not None])
    cat_model = _pipeline(x.shape[1], c, balanced=False)
    cat_cv = cross_val_predict(cat_model, x[known], cat_y,
                               cv=StratifiedKFold(FOLDS, shuffle=True, random_state=SEED))
    cat_model.fit(x[known], cat_y)
    cat_weights, cat_bias = fold_scaler(cat_model)
    cat_cv_acc = float(np.mean(cat_cv == cat_y))
    print(f"  category accuracy of the classifier (cv, {int(known.sum())} red flags): "
          f"{cat_cv_acc:.1%}")

    test_prob = _sigmoid(a * (x_test @ weights[0] + bias[0]) + b)
    test_clf = test_prob >= threshold
    test_pred = rules_test | test_clf
    print(f"\nheld out (dev test split, {len(test)} cases, never trained on):")
    for name, pred in (("rules", rules_test), ("classifier", test_clf), ("gate", test_pred)):
        print(report(name, pred, y_test))
    for r, p, pr in zip(test, test_pred, test_prob, strict=True):
        if p != r.red:
            print(f"    {'missed' if r.red else 'false referral'} {r.source} p={pr:.2f}")
    test_recall, test_fpr = rates(test_pred, y_test)

    digest = hashlib.sha256()
    for r in train:
        digest.update(json.dumps([r.text, r.red, r.category]).encode() + b"\n")
    cv_rates = {n: dict(zip(("recall", "false_referrals"), rates(p, y), strict=True))
                for n, p in (("rules", rules), ("classifier", prob >= threshold),
                             ("gate", cv_pred), ("gate_behind_a_note", noted_pred))}
    test_rates = {n: dict(zip(("recall", "false_referrals"), rates(p, y_test), strict=True))
                  for n, p in (("rules", rules_test), ("classifier", test_clf),
                               ("gate", test_pred))}
    model = {
        "description": "Red-flag classifier of assistant.safety: binary logistic regression "
        "(StandardScaler folded in) + Platt calibration; multinomial category model on red "
        "flags. Written by python -m eval.train_safety; do not edit by hand.",
        "features": {"embedding": settings.embedding_model,
                     "embedding_dimensions": int(x.shape[1] - len(LEXICAL_FEATURES)),
                     "embedding_normalised": True, "lexical": list(LEXICAL_FEATURES)},
        "threshold": round(threshold, 6),
        "max_false_referrals": MAX_FALSE_REFERRALS,
        "binary": {"weights": _round(weights[0]), "bias": round(float(bias[0]), 6),
                   "platt": [round(a, 6), round(b, 6)], "C": c},
        "category": {"classes": [str(k) for k in cat_model[-1].classes_],
                     "weights": [_round(w) for w in cat_weights], "bias": _round(cat_bias)},
        "training": {"date": dt.date.today().isoformat(), "sha256": digest.hexdigest(),
                     "messages": len(train), "red_flags": int(y.sum()),
                     "sources": [str(args.messages.name), f"{args.dev.name} (tune split)"]},
        "cross_validated": {**cv_rates, "category_accuracy": round(cat_cv_acc, 4)},
        "held_out": {**test_rates, "cases": len(test), "red_flags": int(y_test.sum())},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out} (threshold {threshold:.3f}; held-out recall {test_recall:.1%}, "
          f"false referrals {test_fpr:.1%})")
    return model


def _round(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


if __name__ == "__main__":
    main()
