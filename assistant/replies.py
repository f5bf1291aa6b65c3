"""The answers that are not composed from a section: not covered, refused, referred, and the
small talk of a help chat. Every text is generic: topics come from the knowledge base.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence

from assistant.types import Answer, Citation, Handoff, Outcome

NOT_COVERED = (
    "I couldn't find an answer to that in our help articles, so I won't guess. "
    'A person from our support team can help: choose "Talk to a person".'
)
RULES = (
    "I can only answer questions from our help articles. For anything else, a person from our "
    'support team can help: choose "Talk to a person".'
)
#: Who a referral names (CONTRACT.md): a passage that mentions one of them is safe general
#: guidance to cite beside the referral.
PROFESSIONAL = re.compile(
    r"\b(physio\w*|podiatr\w*|doctor|gp|clinician|medical|health ?care professional)\b", re.I
)


def new_answer_id() -> str:
    return "ans_" + uuid.uuid4().hex[:24]


def ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def reply(
    outcome: Outcome,
    text: str,
    started: float,
    timings: dict[str, float],
    *,
    handoff: str | None,
    confidence: float = 0.0,
    citations: Sequence[Citation] = (),
    answerer: str = "none",
    intent: str | None = None,
    resolved: str | None = None,
) -> Answer:
    """An Answer with its id and total time; ``handoff`` is the reason a person is offered."""
    timings["total"] = ms(started)
    return Answer(
        answer_id=new_answer_id(),
        outcome=outcome,
        answer=text,
        citations=list(citations),
        confidence=round(max(0.0, min(1.0, confidence)), 4),
        handoff=Handoff(offered=handoff is not None, reason=handoff),
        timings_ms=timings,
        answerer=answerer,
        intent=intent,
        resolved_question=resolved,
    )
