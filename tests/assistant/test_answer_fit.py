"""Sentence fit per question type, and intro lines that never lead an answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer_fit import continues_previous, is_intro, sentence_fit
from assistant.qtype import question_type

ROOT = Path(__file__).resolve().parents[2]


FITS = [
    # (sentence, type, minimum or exact score)
    ("Most runners take two to four weeks to adapt.", "duration", 1.0),
    ("Expect soreness for a day or two.", "duration", 1.0),
    ("Foot strength improves by about 60% over 6 months.", "duration", 1.0),
    ("Rest 48 hours between plyometric sessions.", "duration", 1.0),
    ("Hold the balance for 30 seconds.", "duration", 1.0),
    ("Progress once three sets feel easy.", "duration", 0.5),
    ("Calf raises strengthen the calf muscles.", "duration", 0.0),
    ("Start with 2 to 3 sets of 10 to 15 slow calf raises.", "dose", 1.0),
    ("Do 3x15 double-leg raises.", "dose", 1.0),
    ("Practise two or three times per week.", "dose", 1.0),
    ("Increase weekly mileage by no more than 10%.", "dose", 1.0),
    ("Do the routine every other day.", "dose", 0.8),
    ("Pogo hops build springy ankles.", "dose", 0.0),
    ("Stand tall with your feet hip-width apart.", "steps", 1.0),
    ("1. Open Settings and tap Subscription.", "steps", 1.0),
    ("Keep the knee over the middle toes.", "steps", 1.0),
    ("Rise slowly onto the balls of your feet.", "steps", 1.0),
    ("Don't let the knee cave inwards.", "steps", 1.0),
    ("Calf raises strengthen the calf muscles.", "steps", 0.0),
    ("Most runners feel this in the calves.", "steps", 0.0),
    ("Strength training barefoot helps because the toes can spread and grip.", "reason", 1.0),
    ("Walking backwards trains the calves so that the ankle works in a new direction.", "reason", 1.0),  # noqa: E501
    ("Stronger feet help absorb the force of each stride.", "reason", 0.7),
    ("Stand tall with your feet hip-width apart.", "reason", 0.0),
    ("A minimalist shoe is a shoe with a thin, flexible sole.", "definition", 1.0),
    ("Zero drop means the heel and forefoot sit at the same height.", "definition", 1.0),
    ("Pogo hops are small, quick jumps on the balls of the feet.", "definition", 1.0),
    ("Rest a day between sessions.", "definition", 0.0),
    ("Tap Settings, then Subscription, to see your plan.", "place", 1.0),
    ("Go to the Billing screen and open the menu.", "place", 1.0),
    ("Invoices are listed under Account.", "place", 0.6),
    ("Rest a day between sessions.", "place", 0.0),
    ("Yes, you can do toe yoga every day.", "decision", 1.0),
    ("No, wait until the soreness has gone.", "decision", 1.0),
    ("Don't run in them straight away.", "decision", 1.0),
    ("Avoid plyometrics on consecutive days.", "decision", 1.0),
    ("You should build up over several weeks.", "decision", 1.0),
    ("It's fine to feel mild soreness in the first week.", "decision", 1.0),
    ("Run in them only when short walks feel easy.", "decision", 0.7),
    ("Do not start jumping until you can hop without pain.", "decision", 1.0),
    ("Calf raises strengthen the calf muscles.", "decision", 0.0),
    ("Trail shoes have deeper lugs than hiking shoes.", "comparison", 1.0),
    ("Calf raises strengthen the calf muscles.", "comparison", 0.0),
]


@pytest.mark.parametrize(("sentence", "qtype", "expected"), FITS)
def test_sentence_fit(sentence: str, qtype: str, expected: float) -> None:
    score = sentence_fit(sentence, qtype)  # type: ignore[arg-type]
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(expected)


def test_there_are_many_fit_sentences() -> None:
    assert len({s for s, _, _ in FITS}) >= 30


def test_the_answering_sentence_outranks_a_merely_related_one() -> None:
    """What the answerer will rely on: for a typed question, the sentence that gives that
    kind of answer scores higher than an on-topic sentence that doesn't."""
    pairs = [
        ("how long before I can run in them?", "Most runners need two to four weeks.",
         "Minimalist shoes have thin soles."),
        ("should I run in them straight away?", "No, build up over several weeks.",
         "Minimalist shoes have thin soles."),
        ("how many calf raises?", "Do 2 to 3 sets of 15.", "Calf raises help runners."),
        ("where are my invoices?", "Invoices are on the Billing screen under Account.",
         "Invoices include VAT."),
    ]  # fmt: skip
    for question, answer, related in pairs:
        qtype = question_type(question)
        assert sentence_fit(answer, qtype) > sentence_fit(related, qtype), question


def test_other_questions_are_neutral() -> None:
    assert sentence_fit("Anything at all.", "other") == 0.5
    assert sentence_fit("", "decision") == 0.0


INTROS = [
    "This article has you covered!",
    "In this article we'll answer some FAQs about minimalist shoes.",
    "Read on to learn how to build foot strength.",
    "We're here to help.",
    "Welcome to the Runna help center!",
    "Welcome!",
    "Great news!",
    "Happy running!",
    "Let's dive in.",
    "Here's everything you need to know about billing.",
    "Wondering how to change your plan?",
    "Have questions about your subscription?",
    "You've come to the right place.",
    "This guide walks you through your first week.",
    "Keep reading to find out more.",
    "We've put together some tips for new runners.",
    "Look no further!",
    "Frequently asked questions about refunds",
    "Sync issues can be frustrating, but most of them take two minutes to fix.",
    "We know how important your streak is to you.",
    "You're not alone if your watch won't pair.",
]
NOT_INTROS = [
    "Stand tall with your feet hip-width apart.",
    "Don't skip the warm-up!",
    "Take it slow!",
    "Refunds are issued within 5 to 10 days.",
    "The information in this help center is general information, not medical advice.",
    "A person on the support team can point you to the right place.",
    "The toe exercises are gentle enough to practice on most days if you enjoy them.",
    "Start with 10 reps!",
    "Heart rate can be higher on hot days.",
    "Let us know how the first week felt.",
]


@pytest.mark.parametrize("sentence", INTROS)
def test_intro_lines(sentence: str) -> None:
    assert is_intro(sentence)


@pytest.mark.parametrize("sentence", NOT_INTROS)
def test_answer_lines_are_not_intros(sentence: str) -> None:
    assert not is_intro(sentence)


def test_no_sentence_of_the_articles_is_an_intro() -> None:
    from knowledge.sentences import split_units

    for path in sorted((ROOT / "knowledge" / "articles").glob("*.md")):
        body = path.read_text("utf-8").split("---", 2)[2]
        flagged = [u.text for u in split_units(body) if is_intro(u.text)]
        assert flagged == [], path.name


@pytest.mark.parametrize(
    ("sentence", "continues"),
    [
        ("For example, add a fourth run in one block.", True),
        ("Then open the Watch app on the iPhone.", True),
        ("However, stop if the pain is sharp.", True),
        ("Also keep the knee over the toes.", True),
        ("Increase only one of frequency, duration or intensity at a time.", False),
        ("Thenar muscles sit at the base of the thumb.", False),  # a word, not the connective
        ("Alsoknown as nothing.", False),
        ("It is fine to run the next day.", False),  # a pronoun opening stands on its own
    ],
)
def test_a_sentence_that_carries_on_from_the_one_before(sentence: str, continues: bool) -> None:
    assert continues_previous(sentence) is continues
