"""Unknown key terms and the calibrated confidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.confidence import (
    AnswerabilityModel,
    Vocabulary,
    informative_overlap,
    missing_information,
)

KB = Vocabulary.from_texts(
    ["Calf raises and plyometric jumps.", "The hip flexor stretch after a cool down.", "warm up"]
)


def test_typos_prefixes_compounds_and_plurals_are_known() -> None:
    assert KB.unknown_terms("how do I do calf raisses") == []
    assert KB.unknown_terms("plyo jumps?") == []
    assert KB.unknown_terms("cooldown and warmup stretches") == []
    assert KB.unknown_terms("hip fexor strech") == []


def test_rare_words_the_articles_never_use_are_unknown_key_terms() -> None:
    assert KB.unknown_terms("how many weeks should my marathon taper be?") == ["marathon", "taper"]
    assert KB.unknown_terms("does it sync with my garmin") == ["sync", "garmin"]
    # everyday words are never key terms, even when the articles do not use them
    assert KB.unknown_terms("is this really a good idea") == []


def test_the_shipped_model_falls_with_weak_evidence_and_unknown_terms() -> None:
    model = AnswerabilityModel.load()
    strong = {"dense": 0.8, "unit": 0.8, "heading": 0.8, "fit": 0.8, "overlap": 1.0}
    assert model.probability(strong) > model.threshold
    assert model.probability({**strong, "unknown": 3.0}) < model.probability(strong)
    weak = {"dense": 0.2, "unit": 0.2, "heading": 0.2, "fit": 0.0, "overlap": 0.0}
    assert model.probability(weak) < model.threshold


def test_a_broken_model_file_says_how_to_refit(tmp_path: Path) -> None:
    path = tmp_path / "answerability.json"
    path.write_text(json.dumps({"features": ["dense"]}), encoding="utf-8")
    with pytest.raises(ValueError, match="eval.calibrate"):
        AnswerabilityModel.load(path)


def test_overlap_weighs_rare_words_most() -> None:
    section = {"long", "runs", "mileage", "week"}
    assert informative_overlap(["protein", "long", "runs"], section) < 0.6  # protein is missing
    assert informative_overlap(["mileage", "week"], section) == 1.0


def test_missing_is_the_rarest_question_word_the_section_lacks() -> None:
    section = {"garmin", "watch", "sync", "work"}
    assert missing_information(["garmin", "watch", "work"], section) == 0.0
    polar = missing_information(["polar", "watch", "work"], section)
    kids = missing_information(["kids", "watch"], section)
    assert polar > 0.0 and kids > 0.0
    # one rare absent word weighs as much as it does however many other words match
    assert missing_information(["polar", "garmin", "watch", "sync", "work"], section) == polar
    assert missing_information(["3", "watch"], section) == 0.0  # numbers are left out
