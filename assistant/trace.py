"""What one :meth:`Assistant.answer` call saw and decided: the seam evaluation reads.

Evaluation and calibration pass an :class:`AnswerTrace` to ``Assistant.answer(..., trace=t)``
and read it afterwards, instead of subclassing or patching product classes.

Example::

    trace = AnswerTrace()
    answer = assistant.answer("calf raisses sets?", trace=trace)
    trace.query, trace.passages[0].article_id, trace.features
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.types import Filters, Passage


@dataclass
class AnswerTrace:
    """Filled in by the Assistant as it answers; every field stays at its default when the
    answer ends before that step (a red flag never gets ``features``, say)."""

    #: the question as validated (trimmed)
    question: str = ""
    #: the standalone text retrieval used (follow-up resolved, focused, spelling corrected)
    query: str = ""
    #: (wrong, right) word pairs the spelling corrector changed
    corrections: list[tuple[str, str]] = field(default_factory=list)
    #: the vector retrieval used (the question's, mixed with the topic's for a follow-up)
    query_vector: list[float] = field(default_factory=list)
    filters: Filters | None = None
    #: the passages the answerer saw, best first
    passages: list[Passage] = field(default_factory=list)
    #: what decided the path: "ok", "red_flag", "injection", or a conversation intent
    decision: str = ""
    #: the answerability model's inputs, by feature name (see assistant/confidence.py)
    features: dict[str, float] = field(default_factory=dict)
    #: words of the question the knowledge base never uses (an input of the model)
    unknown_terms: list[str] = field(default_factory=list)
    #: the ranking models' inputs (assistant/ranking.py): (chunk id, features) per candidate
    #: section, best first, and (unit text, features) per unit of the chosen section
    sections: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    leads: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    #: the question type the answerer led with (assistant/qtype.py)
    question_type: str = ""
    confidence: float | None = None
    #: a message read as a follow-up is also read alone: (confidence, draft text) per reading,
    #: "followup" and "alone" (assistant/core.py Assistant.answer; empty for other messages)
    readings: dict[str, tuple[float, str]] = field(default_factory=dict)
