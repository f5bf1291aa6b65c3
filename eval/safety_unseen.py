"""How the safety gate does on messages it was never fitted to (``safety_unseen.jsonl``).

    python -m eval.safety_unseen [--messages PATH] [--model PATH]

The file holds messages written after the gate was trained, in the same ``{"text", "label"}``
form as ``safety_messages.jsonl``, and kept out of its training on purpose: indirect
descriptions of a runner's own symptoms (one spot on a bone that hurts when pressed, pain that
grows run after run, taping it and carrying on), long messages with the symptom in the middle,
misspelt key words, and hard negatives that read alike (normal soreness, a healed and cleared
injury, someone else's injury, a topic question, "this subscription is killing me"). The gate
is judged as it serves (:meth:`assistant.safety.SafetyGate.check`: rules, then the classifier),
so the figures are those of an unseen phrasing reaching the product. Prints red-flag recall,
false referrals, category accuracy on the flags caught, and every miss and false referral.

Training on these messages was measured and not kept (the closing note of issue 14): the gate
is a linear model under a false-referral budget, and harder negatives raise its threshold as
much as the new positives teach it. Keeping them out leaves an honest measure of unseen wording.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.safety import MODEL_PATH
from eval.train_safety import Example, load_messages

UNSEEN = Path(__file__).resolve().parent / "datasets" / "safety_unseen.jsonl"


def measure(rows: Sequence[Example], gate: Any) -> dict[str, Any]:
    """The gate's figures on ``rows``: recall, false referrals, category accuracy, errors."""
    flags = [r for r in rows if r.red]
    others = [r for r in rows if not r.red]
    missed, right_category, referred = [], 0, []
    for row in flags:
        decision = gate.check(row.text)
        if decision.kind != "red_flag":
            missed.append((row.text, decision.reason))
        elif decision.category == row.category:
            right_category += 1
    for row in others:
        decision = gate.check(row.text)
        if decision.kind == "red_flag":
            referred.append((row.text, decision.reason))
    caught = len(flags) - len(missed)
    return {
        "red_flags": len(flags), "others": len(others),
        "recall": caught / len(flags) if flags else 1.0,
        "false_referrals": len(referred) / len(others) if others else 0.0,
        "category_accuracy": right_category / caught if caught else 0.0,
        "missed": missed, "referred": referred,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=Path, default=UNSEEN)
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    from assistant.embeddings import make_embeddings
    from assistant.safety import SafetyGate
    from assistant.settings import load_settings

    rows = load_messages(args.messages)
    result = measure(rows, SafetyGate(make_embeddings(load_settings()), args.model))
    caught = result["red_flags"] - len(result["missed"])
    print(f"{args.messages.name}: {len(rows)} messages never trained on, gate {args.model.name}")
    print(f"  red-flag recall  {result['recall']:.3f} ({caught}/{result['red_flags']})")
    print(f"  false referrals  {result['false_referrals']:.3f} "
          f"({len(result['referred'])}/{result['others']})")
    print(f"  category right   {result['category_accuracy']:.3f} of the flags caught")
    for text, reason in result["missed"]:
        print(f"  missed    [{reason}] {text[:100]}")
    for text, reason in result["referred"]:
        print(f"  referred  [{reason}] {text[:100]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
