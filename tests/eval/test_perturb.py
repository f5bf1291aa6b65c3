"""The perturbation generators: deterministic, meaning-preserving edits of a question."""

from __future__ import annotations

import pytest

from eval.perturb import (
    CONTEXTS,
    FILLERS,
    PERTURBATIONS,
    context,
    contractions,
    filler,
    key_word,
    lowercase,
    typo,
    variants,
)

QUESTION = "How do I make single-leg balance harder?"


def test_the_key_word_is_the_longest_content_word() -> None:
    match = key_word("what should I do about really tight hamstrings?")
    assert match is not None and match.group() == "hamstrings"
    assert key_word("is it ok?") is None  # nothing but stopwords and short words


@pytest.mark.parametrize("case_id", ["q001", "q002", "q003", "q104", "q250"])
def test_a_typo_changes_the_key_word_by_one_edit_and_nothing_else(case_id: str) -> None:
    question = "are barefoot shoes good for beginners"
    variant = typo(question, case_id)
    assert variant is not None and variant != question
    changed = [(a, b) for a, b in zip(question.split(), variant.split(), strict=True) if a != b]
    assert len(changed) == 1 and changed[0][0] == "beginners"
    word, edited = changed[0]
    assert edited[0] == word[0]
    deletion = len(edited) == len(word) - 1 and any(
        word[:i] + word[i + 1 :] == edited for i in range(len(word))
    )
    swap = len(edited) == len(word) and sorted(edited) == sorted(word)
    assert deletion or swap


def test_every_generator_is_deterministic_per_case_id() -> None:
    assert variants(QUESTION, "q042") == variants(QUESTION, "q042")
    many = {typo("are barefoot shoes good for beginners", f"q{i:03}") for i in range(30)}
    assert len(many) > 3  # the seed is the case id: different cases get different typos


def test_context_and_filler_prepend_a_template_and_keep_the_question() -> None:
    with_context = context(QUESTION, "q007")
    assert with_context is not None and with_context.endswith(QUESTION)
    assert with_context[: -len(QUESTION)] in CONTEXTS
    with_filler = filler(QUESTION, "q007")
    assert with_filler is not None
    assert with_filler[: -len(QUESTION)] in FILLERS
    assert with_filler.endswith("how do I make single-leg balance harder?")  # first letter lowered
    mine = "I'm new here, where do I start?"
    assert (filler(mine, "q1") or "").endswith(mine)  # "I" stays a capital


def test_lowercase_removes_punctuation() -> None:
    assert lowercase(QUESTION) == "how do i make single leg balance harder"
    assert lowercase("calf raises") is None  # nothing to change


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Do not skip the warm-up?", "Don't skip the warm-up?"),
        ("I am sore and it is my first week", "I'm sore and it's my first week"),
        ("what's a quadripod? I can't find it", "what is a quadripod? I can not find it"),
        ("how many calf raises", None),
    ],
)
def test_contractions_contract_or_expand_or_skip(question: str, expected: str | None) -> None:
    assert contractions(question) == expected


def test_variants_skip_what_does_not_apply() -> None:
    found = variants("how many calf raises", "q001")
    assert set(found) == set(PERTURBATIONS) - {"contractions", "lowercase"}
    assert all(v != "how many calf raises" for v in found.values())
