"""The unseen safety messages stay unseen, and their measure is the gate's own decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.safety import SafetyGate
from eval.dataset import DEV
from eval.safety_unseen import UNSEEN, measure
from eval.train_safety import Example, load_messages

TRAINING = Path(__file__).resolve().parents[2] / "eval" / "datasets" / "safety_messages.jsonl"


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def test_unseen_messages_are_in_no_training_data() -> None:
    rows = [(r.text, r.category or "none") for r in load_messages(UNSEEN)]
    trained = {_key(r.text) for r in load_messages(TRAINING)}
    dev = {_key(json.loads(line)["question"]) for line in DEV.read_text().splitlines()}
    texts = [_key(t) for t, _ in rows]
    assert len(set(texts)) == len(texts)
    assert not set(texts) & trained
    assert not set(texts) & dev
    labels = {label for _, label in rows}
    assert "none" in labels and len(labels) >= 5  # red flags of several kinds, and negatives


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"text": "my heel hurts", "label": "sharp_or_worsening_pain"}\n{"text": 1}\n')
    with pytest.raises(ValueError, match=r"m.jsonl:2"):
        load_messages(path)
    path.write_text('{"text": "my heel hurts", "label": "broken_heart"}\n')
    with pytest.raises(ValueError, match="unknown label"):
        load_messages(path)


def test_measure_counts_the_gate_as_served(embeddings) -> None:  # type: ignore[no-untyped-def]
    rows = [
        Example("my chest feels tight and I nearly fainted on my run", True, "other_medical", "t"),
        Example("how do I change the email on my account?", False, None, "t"),
        Example("what is a good warm-up before intervals?", False, None, "t"),
    ]
    result = measure(rows, SafetyGate(embeddings))
    assert result["recall"] == 1.0 and result["missed"] == []
    assert result["false_referrals"] == 0.0 and result["others"] == 2
    assert result["category_accuracy"] == 1.0
