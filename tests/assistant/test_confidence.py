"""Unknown key terms and the calibrated confidence."""

from __future__ import annotations

from assistant.confidence import Vocabulary, answerability

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


def test_confidence_is_a_probability_that_falls_with_unknown_terms() -> None:
    strong = answerability(0.8, 0.8, 0.8, 0)
    assert 0.9 < strong < 1.0
    assert answerability(0.8, 0.8, 0.8, 2) < strong
    assert answerability(0.2, 0.2, 0.2, 0) < 0.1
