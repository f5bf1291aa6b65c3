"""Question types from generic wording."""

from __future__ import annotations

import pytest

from assistant.qtype import QTYPES, question_type

QUESTIONS = {
    "decision": [
        "should i run in my new shoes straight away?",
        "Is it ok to do calf raises every day?",
        "can i lift weights barefoot at the gym or is that a dumb idea",
        "do i need to warm up before an easy run",
        "is calf soreness normal in week one?",
        "toe yoga every day ok?",
        "first week with barefoot shoes, can i run in them yet or not",
        "my legs are sore 2 days after my first session. should i still do intervals today?",
        "if I do a proper cooldown can I get away with skipping the warm up?",
        "my toes curl up when i squat without shoes, is that right?",
        "shoud i stretch before running",  # typo
        "can I get a refund if I cancel in the first week",  # billing
        "is it safe to pair two watches at once",  # devices
        "when shouldn't I do jump training?",
        "do zero drop shoes really help with balance or is that just marketing",
        "should I go a size or two up for more width?",
        "hey so quick question, can i share my plan with a friend",
        "Am I allowed to pause my subscription",
    ],
    "duration": [
        "how long before I can run in them properly?",
        "how long should I hold single leg balance for",
        "How many weeks should i spend on each level before moving up",
        "when can I move on to single-leg raises?",
        "when will my refund arrive",
        "hw long does the soreness last",  # typo
        "how soon can i run after a long walk",
        "and how long should the first trail runs be?",
        "over what time frame do the feet get stronger",
        "how many days until my new plan starts",
    ],
    "dose": [
        "how many sets and reps of calf raises",
        "squat jumps sets and reps",  # no question word: the dose words say it
        "how often should i do the foot routine",
        "how much can i bump my weekly mileage by",
        "how many times a week should i do it",
        "how many lunges per leg?",
        "what height box should i use then?",
        "how far should i go each round?",
        "how much is the discount exactly, like what percent?",
        "how many devices can i connect",
        "HOW MANY POGOS SHOULD A NEWBIE DO",
    ],
    "steps": [
        "how do i do calf raises properly",
        "How do I cancel my subscription?",
        "how to pair my watch",
        "what's the best way to start barefoot running",
        "any tips for rocky downhill bits?",
        "give me a weekly foot workout",
        "bodyweight squats are getting easy, how do i make them tougher",
        "whats the next step up??",
        "calves are sore after switching shoes, what should i do about it",
        "total beginner here, where do i start with exercises for my feet?",
        "toe yoga harder version pls",
        "my knee keeps caving in, what am i doing wrong?",
        "tell me how to reset my password",
    ],
    "reason": [
        "why would i walk backwards on my toes?",
        "whats the point of plyometrics for a distance runner",
        "why was i charged twice",
        "how come my heels lift when i squat",
        "why should a runner even care about foot strength",
        "what does spreading my toes actually train?",
        "my heels come up when i squat, what does that tell me",
    ],
    "definition": [
        "what is a minimalist shoe",
        "what does zero drop even mean",
        "what are pogo jumps",
        "whats a family plan",
        "what even is a step touch down exercise",
        "what does 'heel kiss' mean when you land a jump?",
        "what actually makes a shoe a barefoot shoe?",
        "what is overstriding and why is it bad",
        "what is a fartlek session in plain english",  # politeness after the question
        "whats cardiac drift in simple terms please?",
        "what is a tempo run in layman's terms",
    ],
    "place": [
        "where do I find my invoices?",
        "where is the course in the app",
        "i cant find the running fundamentals course anywhere in the app",
        "where would the reply go?",
        "Where can I see my training plan",
        "how do i find my receipts in the app",
    ],
    "comparison": [
        "whats the difference between a trail shoe and a hiking shoe",
        "monthly vs annual plan",
        "should my first pair be runners or everyday ones?",
        "how do I tell DOMS apart from an actual injury",
        "is it better to stretch before or after",
        "stretches before or after a run?",
        "which watch should i buy",
    ],
    "other": [
        "warm up?",
        "stretches after a run?",
        "what are the typical signs of a stress fracture?",
        "what cadence should I run at?",
        "what about the inner thighs?",
    ],
}


@pytest.mark.parametrize(
    ("question", "expected"),
    [(q, t) for t, qs in QUESTIONS.items() for q in qs],
)
def test_question_type(question: str, expected: str) -> None:
    assert question_type(question) == expected


def test_there_are_many_test_questions_across_every_type() -> None:
    assert sum(len(v) for v in QUESTIONS.values()) >= 60
    assert set(QUESTIONS) == set(QTYPES)


def test_question_type_ignores_case_punctuation_and_filler() -> None:
    for variant in (
        "Should I run in them straight away?",
        "should i run in them straight away",
        "SHOULD I RUN IN THEM STRAIGHT AWAY??",
        "ok so should i run in them straight away",
    ):
        assert question_type(variant) == "decision"
