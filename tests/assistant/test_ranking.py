"""The answerer's learned rankers: model files load with clear errors, and scores order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.ranking import (
    LEAD_FEATURES,
    LEAD_RANKER,
    SECTION_FEATURES,
    SECTION_RANKER,
    LinearRanker,
)


@pytest.mark.parametrize(("path", "names"), [(SECTION_RANKER, SECTION_FEATURES),
                                             (LEAD_RANKER, LEAD_FEATURES)])  # fmt: skip
def test_shipped_models_use_the_features_the_answerer_computes(path: Path, names: tuple) -> None:
    ranker = LinearRanker.load(path)
    assert set(ranker.features) <= set(names)
    meta = json.loads(path.read_text(encoding="utf-8"))
    assert meta["fitted_on"]["split"] == "tune"  # never fitted on the test split
    assert meta["cv"]["top1_cv"] >= meta["cv"]["top1_before"] - 0.02


def test_a_broken_model_file_names_itself_and_the_fix(tmp_path: Path) -> None:
    broken = tmp_path / "section_ranker.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"section_ranker\.json.*eval\.train_rankers"):
        LinearRanker.load(broken)
    broken.write_text(json.dumps({"features": ["a", "b"], "coefficients": [1.0]}), "utf-8")
    with pytest.raises(ValueError, match="differ in length"):
        LinearRanker.load(broken)


def test_beats_is_the_pairwise_probability() -> None:
    ranker = LinearRanker(("heading",), (2.0,))
    strong, weak = {"heading": 0.9}, {"heading": 0.4}
    assert ranker.beats(strong, weak) > 0.5 > ranker.beats(weak, strong)
    assert ranker.beats(strong, strong) == pytest.approx(0.5)
    assert ranker.score({}) == 0.0  # a feature left out counts as zero
