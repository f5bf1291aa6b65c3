"""Follow-up questions without an LLM: decide whether a question leans on the conversation.

"How long should I hold it?", "what about the inner thighs?" or "the harder version?" mean
little alone. When a question looks like a follow-up, retrieval uses the question together with
the topic of the previous user turn: BM25 sees both texts, and the dense query vector is a
weighted mix that keeps the new question dominant (so "inner thighs" after a hip-flexor question
finds the adductor stretch, not the hip-flexor one again).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.focus import last_question
from assistant.types import Turn

#: Weight of the new question in the mixed dense query vector of a follow-up; a question with
#: almost no content of its own ("ok and what comes after that?") leans on the topic instead.
QUESTION_WEIGHT = 0.65
THIN_QUESTION_WEIGHT = 0.35

_ANAPHORA = re.compile(
    r"\b(it|its|it's|that|this|those|these|them|they|one|ones|same|there|then|instead|"
    r"also|too|else|version|variation|exercise|stretch|drill|move|more|harder|easier|"
    r"longer|shorter|progress|next)\b",
    re.IGNORECASE,
)
_OPENERS = re.compile(
    r"^\s*(and|also|but|so|ok(ay)?|what about|how about|and what about|what if|same for|"
    r"how often|how many|how long|how much|why|when|which one)\b",
    re.IGNORECASE,
)
_SWITCH = re.compile(
    r"^\s*(?:and\s+|but\s+|ok(?:ay)?\s+)?(?:what|how) about\b|^\s*(?:and|same) for\b",
    re.IGNORECASE,
)
_TOPIC_STOP = frozenset(
    "a an the and or of to in on for with is are be do does did i my me you your it this that "
    "what how when why which who can should could would will much many often long about please "
    "tell explain know want need ok okay so then come comes after next by up just really yeah "
    "hey thanks right well still now also too".split()
)


@dataclass(frozen=True)
class Resolved:
    """The text to retrieve with, and the previous topic it leaned on (if any)."""

    question: str
    query: str
    topic: str | None
    weight: float = 1.0  # of the question's own vector in the dense query
    lexical: str = ""  # the words answer sentences are matched against

    def __post_init__(self) -> None:
        if not self.lexical:
            object.__setattr__(self, "lexical", self.query)

    @property
    def is_followup(self) -> bool:
        return self.topic is not None


def _content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9'-]+", text.lower()) if w not in _TOPIC_STOP]


def looks_like_followup(question: str) -> bool:
    words = _content_words(question)
    if len(words) <= 2:
        return True
    return bool(_OPENERS.search(question)) or (len(words) <= 6 and bool(_ANAPHORA.search(question)))


def resolve(question: str, history: Sequence[Turn] | None) -> Resolved:
    """Attach the previous user turn's topic to a question that reads like a follow-up."""
    question = question.strip()
    previous = [t.content.strip() for t in history or [] if t.role == "user" and t.content.strip()]
    # judged by the sentence that asks: a greeting or the asker's context before it changes
    # nothing ("hi! and on android?")
    probe = last_question(question)
    if not previous or not looks_like_followup(probe):
        return Resolved(question, question, None)
    topic = previous[-1]
    # A chain of follow-ups ("and harder?" after "how long?") leans on the turn before too.
    if looks_like_followup(topic) and len(previous) > 1:
        topic = f"{previous[-2]} {topic}"
    topic_words = " ".join(_content_words(topic))
    query = f"{question} {topic_words}".strip()
    if _SWITCH.search(probe):
        # "what about the inner thighs?": the same intent about a new subject; the answer's
        # sentences must match the new subject, not the old one.
        return Resolved(question, query, topic_words or None, QUESTION_WEIGHT, question)
    thin = len(_content_words(probe)) <= 3
    weight = THIN_QUESTION_WEIGHT if thin else QUESTION_WEIGHT
    return Resolved(question, query, topic_words or None, weight)
