"""Fusion of dense and BM25 candidate scores, chosen by name."""

from __future__ import annotations

import pytest

from assistant.fusion import FUSIONS, RRFFusion, WeightedFusion, make_fusion

DENSE = {"a": 0.9, "b": 0.6, "c": 0.3}
SPARSE = {"c": 0.8, "b": 0.5, "d": 0.4}


def test_weighted_fusion_mixes_both_sides_by_weight() -> None:
    fused = WeightedFusion(dense_weight=0.7)(DENSE, SPARSE)
    assert fused["a"] == pytest.approx(0.63)
    assert fused["c"] == pytest.approx(0.7 * 0.3 + 0.3 * 0.8)
    assert fused["d"] == pytest.approx(0.3 * 0.4)  # only BM25 found it
    assert set(fused) == {"a", "b", "c", "d"}


def test_weighted_fusion_weight_decides_the_winner() -> None:
    dense_heavy = WeightedFusion(dense_weight=0.9)(DENSE, SPARSE)
    bm25_heavy = WeightedFusion(dense_weight=0.1)(DENSE, SPARSE)
    assert max(dense_heavy, key=dense_heavy.__getitem__) == "a"
    assert max(bm25_heavy, key=bm25_heavy.__getitem__) == "c"


def test_rrf_orders_by_reciprocal_rank_and_keeps_scores_in_range() -> None:
    fused = RRFFusion()(DENSE, SPARSE)
    order = sorted(fused, key=lambda c: -fused[c])
    # b is 2nd on both sides: 2/(60+2) beats a (1st + absent) and c (3rd + 1st).
    assert order[0] in {"b", "c"} and order[-1] == "d"
    assert order.index("b") < order.index("a")
    assert all(0.0 <= s <= 1.0 for s in fused.values())
    top_weighted = max(WeightedFusion()(DENSE, SPARSE).values())
    assert max(fused.values()) == pytest.approx(top_weighted * (1 - 0 / 5))


def test_single_side_fusions_ignore_the_other_side() -> None:
    assert make_fusion("dense")(DENSE, SPARSE) == DENSE
    assert make_fusion("bm25")(DENSE, SPARSE) == SPARSE
    assert not make_fusion("dense").uses_bm25 and not make_fusion("bm25").uses_dense


def test_unknown_fusion_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="supported: " + ", ".join(FUSIONS)):
        make_fusion("borda")
