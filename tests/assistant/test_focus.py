"""focus() finds the question in a rambling message and keeps the facts that change the answer."""

from __future__ import annotations

import pytest

from assistant.focus import (
    asks,
    focus,
    gives_context,
    is_chitchat,
    last_question,
    split_sentences,
)

# (message, a phrase the asking part must contain, phrases context must keep, phrases the
# query must not contain)
RAMBLES: list[tuple[str, str, list[str], list[str]]] = [
    (
        "ok so random one. I've started doing box jumps at the gym after my runs because my "
        "coach says it helps, but honestly by then I'm pretty cooked and today I clipped my shin "
        "on the edge, no real damage. is there a better time to do them or am I overthinking it",
        "better time to do them", ["box jumps"], ["random one"],
    ),
    (
        "I'm 45, been running on and off for years, mostly parkrun, and I want to get into the "
        "foot strength thing because my feet always feel weak and flat by the end of a long run. "
        "No gym. What's a simple routine I can actually stick to at home and how often should I "
        "do it?",
        "simple routine", ["I'm 45", "for years", "No gym"], [],
    ),
    (
        "hey so I just got some new shoes with the discount thing, super excited, and I'm "
        "wondering do I just go for a run in them tomorrow morning or is there some kind of "
        "process I should follow first because I've heard people get hurt",
        "go for a run in them tomorrow", ["just got some new shoes"], ["super excited", "hey"],
    ),
    (
        "So I've been running about three years in normal cushioned trainers, maybe 30k a week, "
        "and a friend got me into the whole barefoot thing so I bought some new pairs last week. "
        "How long before I can actually run in them properly without wrecking my legs?",
        "How long before", ["three years", "30k a week", "bought"], [],
    ),
    (
        "Hi there! Love the app, been using it for a while now. I had a stress fracture in my "
        "foot two years ago. Is it ok to start jumping exercises now? Thanks so much in advance!",
        "Is it ok to start jumping", ["stress fracture"], ["Hi there", "Thanks", "Love the app"],
    ),
    (
        "hey hope you're well. quick question. my calves are absolutely wrecked after yesterday's "
        "intervals and I've got a long run planned for saturday. I weigh about 95kg if that "
        "matters. should I rest or do some easy stretching??",
        "rest or do some easy stretching", ["calves are absolutely wrecked", "95kg"],
        ["hope you're well", "quick question"],
    ),
    (
        "so basically i started running in january and i'm training for my first half in may "
        "and my knees feel a bit achy after long runs i was wondering if i should be doing "
        "strength work and how many times a week",
        "wondering if i should be doing strength work", ["training for my first half", "achy"],
        [],
    ),
    (
        "I literally cannot lift my big toe without the others coming up too and I have tried "
        "every day for two weeks now, it just does not move on its own at all.\nhelp??",
        "help", ["big toe"], [],
    ),
    (
        "Hello! Long time listener, first time posting lol. I'm 62 and fairly new to running, "
        "I did couch to 5k last year. My physio said my ankles are stiff. Any tips for ankle "
        "mobility that won't take forever? Cheers",
        "Any tips for ankle mobility", ["I'm 62", "new to running", "physio"], ["Cheers", "lol"],
    ),
    (
        "Thanks for the great articles, they have been really useful. I'm currently in week 5 "
        "of a marathon block and my left achilles has been a bit tight in the mornings. "
        "Should I keep doing the calf raises or stop until it settles down?",
        "Should I keep doing the calf raises", ["week 5", "achilles"], ["Thanks for the great"],
    ),
    (
        "ok so my subscription renewed yesterday and i didn't want it to, i've only had the app "
        "for two months and honestly i forgot to cancel. can i get a refund for this year or is "
        "it too late? love the app otherwise",
        "can i get a refund", ["subscription renewed", "two months"], ["love the app otherwise"],
    ),
    (
        "good morning!! so I'm training for a 10k in april, running 3 times a week, and my coach "
        "wants me to add strides. I've never done them before. how many should I do and how "
        "long should each one be?",
        "how many should I do", ["training for a 10k", "never done them"], ["good morning"],
    ),
    (
        "I weigh around 110 kg and I'm just getting back into exercise after a knee operation "
        "last spring, my surgeon cleared me for low impact stuff. is it safe for me to try the "
        "jump rope routine yet",
        "is it safe for me to try the jump rope", ["110 kg", "knee operation"], [],
    ),
    (
        "hey! sorry for the long message. I switched to thin soled shoes about a month ago. the "
        "first two weeks were fine. now the tops of my feet ache after longer walks. not sure "
        "whether that's normal or whether i should go back to my old shoes for a bit? thanks!!",
        "not sure whether that's normal", ["switched to thin soled shoes", "ache"],
        ["sorry for the long message", "thanks"],
    ),
    (
        "My watch keeps disconnecting from the app during runs which is super annoying because "
        "I lose half my data. I've already tried restarting both. I'm on the latest version I "
        "think. Where do I find the bluetooth settings for the app?",
        "Where do I find the bluetooth settings", ["already tried restarting"], [],
    ),
    (
        "quick question from a total beginner: I've never stretched in my life and I'm 38. "
        "I sit at a desk all day and my hips feel really tight when I run. "
        "tell me what to do after a run to loosen them up",
        "tell me what to do after a run", ["never stretched", "38", "hips feel really tight"],
        ["quick question from"],
    ),
]


@pytest.mark.parametrize(("message", "ask", "keep", "drop"), RAMBLES)
def test_focus_on_rambling_messages(message: str, ask: str, keep: list[str], drop: list[str]) -> None:  # noqa: E501
    result = focus(message)
    assert any(ask.lower() in a.lower() for a in result.asking), result
    for phrase in keep:
        assert any(phrase.lower() in c.lower() for c in result.context), (phrase, result)
        assert phrase.lower() in result.query.lower()
    for phrase in drop:
        assert phrase.lower() not in result.query.lower(), (phrase, result)
    assert len(result.query) < len(message) or not drop


def test_there_are_many_rambles() -> None:
    assert len(RAMBLES) >= 15


@pytest.mark.parametrize(
    "message",
    [
        "how do i do calf raisses properly",
        "toe yoga every day ok?",
        "Hi! can I run in them tomorrow? thanks",
        "I literally cannot lift my big toe without the others coming up too. help??",
        "",
    ],
)
def test_short_messages_come_back_unchanged(message: str) -> None:
    result = focus(message)
    assert result.query == message
    assert result.asking == ([message] if message else [])
    assert result.context == []


def test_query_keeps_the_order_of_the_message_and_reads_as_sentences() -> None:
    message = (
        "Hey team, love the app! I'm 50 and I've been running for twenty years without any "
        "injuries. I just bought my first pair of minimalist shoes. How long should my first run "
        "in them be? Thanks a lot, you guys are the best!"
    )
    result = focus(message)
    assert result.query == (
        "I'm 50 and I've been running for twenty years without any injuries. I just bought my "
        "first pair of minimalist shoes. How long should my first run in them be?"
    )
    assert result.asking == ["How long should my first run in them be?"]


def test_a_long_message_without_a_question_keeps_its_content() -> None:
    message = (
        "Hi. So I have been doing the foot routine for three weeks now and my arches feel much "
        "stronger, and the toe yoga is finally working, my big toe lifts on its own. Thanks!"
    )
    result = focus(message)
    assert result.asking == []
    assert "three weeks" in result.query and "Thanks" not in result.query


def test_chatty_opener_is_trimmed_from_the_question() -> None:
    message = (
        "I have been running for about two years and I recently started doing plyometrics "
        "twice a week on top of my usual easy runs. hey so quick question, should I do the "
        "plyometrics before or after my easy runs?"
    )
    assert focus(message).asking == ["Should I do the plyometrics before or after my easy runs?"]


def test_split_sentences() -> None:
    assert split_sentences("Hi!! I'm 40. e.g. 5k runs.\nhow long???should i wait") == [
        "Hi!!", "I'm 40.", "e.g. 5k runs.", "how long???", "should i wait",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "sentence",
    [
        "can I run tomorrow", "is it ok to skip the warm up", "I was wondering if I need insoles",
        "tell me how to stretch", "any tips for hills", "what should I eat", "do I need to rest",
        "should I stop", "how long should I wait", "thoughts?", "Where is my invoice",
    ],
)  # fmt: skip
def test_asking_cues(sentence: str) -> None:
    assert asks(sentence)


@pytest.mark.parametrize(
    "sentence",
    ["I ran 5k yesterday.", "My calves feel tight.", "I love running in the rain."],
)
def test_statements_do_not_ask(sentence: str) -> None:
    assert not asks(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Hi!", "hey so quick question", "Thanks so much in advance!", "love the app btw",
        "you guys are awesome", "ok so random one.", "Cheers", "super excited lol",
        "sorry for the long message", "hope you're well",
    ],
)  # fmt: skip
def test_chitchat(sentence: str) -> None:
    assert is_chitchat(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm 45", "I've been running for three years", "I weigh 90kg",
        "I'm training for a half marathon", "I had knee surgery last year",
        "I'm new to strength training", "I just started running", "No gym.",
        "in my fifties", "currently doing 3x15 squats",
    ],
)  # fmt: skip
def test_context_cues(sentence: str) -> None:
    assert gives_context(sentence)
    assert not is_chitchat(sentence)


@pytest.mark.parametrize(("message", "query"), [
    ("I'm 47 and have been running for about three years. When shouldn't I do jump training?",
     "When shouldn't I do jump training?"),
    ("I run about 25 km a week, mostly on roads. how long is the reset link good for",
     "how long is the reset link good for"),
])
def test_a_side_note_about_the_asker_leaves_a_short_question_alone(message: str, query: str) -> None:  # noqa: E501
    result = focus(message)
    assert result.query == query
    assert result.context == [message.split(". ")[0] + "."]


@pytest.mark.parametrize("message", [
    "I'm 58. Does the transition take longer for me?",  # about the asker's own case
    "I'm training for a marathon. Can I do them on the beach?",  # leans on the conversation
    # a symptom is the subject of the question, never a side note
    "ok my legs are sore 2 days after my first plyo session. should i still do intervals today?",
])
def test_context_stays_when_the_question_leans_on_it(message: str) -> None:
    assert focus(message).query == message


@pytest.mark.parametrize(("message", "bare"), [
    ("I run about 25 km a week, mostly on roads. cancel web sub", "cancel web sub"),
    ("I'm 61 and I walk a lot. return policy?", "return policy?"),
])
def test_a_thin_question_keeps_its_side_note_and_is_also_given_alone(message: str, bare: str) -> None:  # noqa: E501
    result = focus(message)
    assert result.query == message  # the note can change the answer: it stays in the query
    assert result.bare == bare  # and retrieval weighs the question without it too


def test_a_long_message_keeps_its_note_and_is_also_given_without_it() -> None:
    message = ("I'm 61 and have been running on and off since my forties. how much room should "
               "there be in front of my toes when I try on a new pair of barefoot shoes?")
    result = focus(message)
    assert result.query.startswith("I'm 61")  # the note stays: it can change the answer
    assert result.bare.startswith("How much room") and "61" not in result.bare
    # about the asker's own case ("...fine for me..."): the note is the subject, nothing apart
    personal = ("I'm 45 and I have been running for years and years now. I just wanted to know "
                "whether it is fine for me to do calf raises every single day of the week?")
    assert focus(personal).bare == ""


@pytest.mark.parametrize("message", [
    "how do I cancel my subscription?",  # one sentence
    # about the asker's own case: the note is what it asks about
    "I'm 58. Does the transition take longer for me?",
    "which ability level am I? I run 3 times a week, about 20 km total",
    "I'm 47 and have been running for about three years. When shouldn't I do jump training?",
    "ok my legs are sore 2 days after my first plyo session. should i still do intervals today?",
])
def test_nothing_is_set_aside_without_a_leaning_side_note(message: str) -> None:
    assert focus(message).bare == ""


@pytest.mark.parametrize(("message", "last"), [
    ("um hello, and on android?", "and on android?"),
    ("hi! quick one: what if that's too easy?", "what if that's too easy?"),
    ("I'm 47. And how do I make them harder?", "And how do I make them harder?"),
    ("so should I still do my hill reps tomorrow?", "so should I still do my hill reps tomorrow?"),
])
def test_last_question_drops_openers_but_keeps_follow_up_cues(message: str, last: str) -> None:
    assert last_question(message) == last


def test_a_follow_up_after_a_greeting_or_context_is_still_a_follow_up() -> None:
    from assistant.followups import resolve
    from assistant.types import Turn

    history = [Turn(role="user", content="how do I do pogo hops?"),
               Turn(role="assistant", content="Bounce on the balls of the feet [1].")]  # fmt: skip
    for message in ("and how do I make them harder?",
                    "I'm 47 and run 30 km a week. and how do I make them harder?",
                    "um hello, and how do I make them harder?"):  # fmt: skip
        resolved = resolve(message, history)
        assert resolved.is_followup and "pogo" in resolved.query, message
    assert not resolve("I'm 47. what should I eat the night before a race?", history).is_followup
