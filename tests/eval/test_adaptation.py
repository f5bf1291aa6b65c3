"""eval.adaptation: the ranking figures it prints, and a fine-tuned copy that leaves the
shipped model untouched (the real MiniLM, through sentence-transformers on the CPU)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from eval.adaptation import adapt, rank_figures


class _Fixed:
    """A fake encoder: each text's vector is given (unit length), no model involved."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        rows = np.asarray([self.vectors[t] for t in texts], dtype=float)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_rank_figures_count_the_first_right_chunk() -> None:
    model = _Fixed({"a": [1, 0], "b": [0, 1], "c": [1, 1], "q1": [1, 0.1], "q2": [1, 0.05]})
    # q1 ranks a, c, b: its right chunk "c" is second; q2's right chunk "a" is first
    figures = rank_figures(model, ["a", "b", "c"], ["q1", "q2"], [{2}, {0}])
    assert figures == {"hit@1": 0.5, "hit@3": 1.0, "mrr": 0.75}


@pytest.mark.slow
def test_adapting_trains_a_copy_and_leaves_the_model_as_shipped() -> None:
    from sentence_transformers import SentenceTransformer

    from assistant.embeddings import PACKAGED_MODEL, resolve_model_path

    model = SentenceTransformer(resolve_model_path(PACKAGED_MODEL), device="cpu")
    text = ["How long should I hold each calf raise?"]
    before = model.encode(text)
    pairs = [
        ("How long should I hold each calf raise?", "Hold the top of each raise for two seconds."),
        ("When do I move on to single-leg raises?", "Once 3 sets of 15 feel easy."),
        ("Can I do calf raises every day?", "Two or three times a week is enough."),
    ]
    tuned = adapt(model, pairs, epochs=2)
    assert np.allclose(model.encode(text), before)
    assert not np.allclose(tuned.encode(text), before, atol=1e-4)
