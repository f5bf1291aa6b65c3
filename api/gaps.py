"""Content gaps: questions the assistant could not answer (or answered unhelpfully), grouped.

Questions are embedded with the assistant's own model and grouped greedily: each distinct
question, most frequent first, joins the group whose representative it is most similar to when
the cosine similarity reaches ``threshold``, else it starts a new group. 0.75 keeps paraphrases
together ("cancel my subscription" / "how can I cancel my plan") while related but different
needs stay apart; MiniLM puts unrelated questions well below 0.5.

Each group keeps its stored questions (with the answer that was given) and when they were asked,
for the agent console's review: ``group.trend(30)`` is the questions per day, oldest first.

Example::

    groups = group_gaps(storage.gap_questions(), assistant.embeddings)
    groups[0].representative, groups[0].count, groups[0].trend(30)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
from langchain_core.embeddings import Embeddings

from api.storage import GapQuestion

SIMILARITY_THRESHOLD = 0.75
#: Questions embedded per call: the vectors go into one float32 array chunk by chunk, never as
#: one Python list of every vector (5,000 questions as lists of floats are about 60 MB).
EMBED_CHUNK = 256
#: Characters of a question embedded: MiniLM reads 256 tokens at most, and long questions would
#: only pad every batch they are in (the runtime keeps the largest batch's memory).
EMBED_CHARS = 600
_PUNCTUATION = re.compile(r"[^\w\s]+")
MAX_EXAMPLES = 5


@dataclass
class _Phrasing:
    text: str
    count: int = 0
    no_answer: int = 0
    thumbs_down: int = 0
    last_seen: datetime | None = None
    seen: list[datetime] = field(default_factory=list)
    members: list[GapQuestion] = field(default_factory=list)


@dataclass
class GapGroup:
    representative: str
    count: int = 0
    no_answer: int = 0
    thumbs_down: int = 0
    examples: list[str] = field(default_factory=list)
    last_seen: datetime | None = None
    #: when each question of the group was asked (for the trend)
    seen: list[datetime] = field(default_factory=list)
    #: the stored questions of the group, each with the answer that was given
    members: list[GapQuestion] = field(default_factory=list)

    def trend(self, days: int = 30, today: date | None = None) -> list[int]:
        """Questions of the group per day (UTC), oldest first, the ``days`` days up to today."""
        last = today or datetime.now(UTC).date()
        first = last - timedelta(days=days - 1)
        counts = [0] * days
        for at in self.seen:
            day = at.astimezone(UTC).date() if at.tzinfo else at.date()
            if first <= day <= last:
                counts[(day - first).days] += 1
        return counts

    def add(self, phrasing: _Phrasing) -> None:
        self.count += phrasing.count
        self.no_answer += phrasing.no_answer
        self.thumbs_down += phrasing.thumbs_down
        self.seen += phrasing.seen
        self.members += phrasing.members
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(phrasing.text)
        if phrasing.last_seen and (self.last_seen is None or phrasing.last_seen > self.last_seen):
            self.last_seen = phrasing.last_seen


def _distinct(questions: Sequence[GapQuestion]) -> list[_Phrasing]:
    """Identical questions (up to case, spacing, punctuation) counted once; most frequent first."""
    by_key: dict[str, _Phrasing] = {}
    for q in questions:
        key = " ".join(_PUNCTUATION.sub(" ", q.question.lower()).split())
        p = by_key.setdefault(key, _Phrasing(text=" ".join(q.question.split())))
        p.count += 1
        p.no_answer += q.no_answer
        p.thumbs_down += q.thumbs_down
        p.seen.append(q.created_at)
        p.members.append(q)
        if p.last_seen is None or q.created_at > p.last_seen:
            p.last_seen = q.created_at
    return sorted(by_key.values(), key=lambda p: (-p.count, p.text.lower()))


def group_gaps(
    questions: Sequence[GapQuestion],
    embeddings: Embeddings,
    threshold: float = SIMILARITY_THRESHOLD,
) -> list[GapGroup]:
    """Groups of similar questions, largest first."""
    phrasings = _distinct(questions)
    if not phrasings:
        return []
    vectors = _embed([p.text[:EMBED_CHARS] for p in phrasings], embeddings)
    groups: list[GapGroup] = []
    # The representatives' vectors, one row per group, in a preallocated matrix (no restack
    # of every representative for every question).
    reps = np.empty_like(vectors)
    for phrasing, vector in zip(phrasings, vectors, strict=True):
        if groups:
            sims = reps[: len(groups)] @ vector
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                groups[best].add(phrasing)
                continue
        group = GapGroup(representative=phrasing.text)
        group.add(phrasing)
        reps[len(groups)] = vector
        groups.append(group)
    return sorted(groups, key=lambda g: (-g.count, g.representative.lower()))


def _embed(texts: list[str], embeddings: Embeddings) -> np.ndarray:
    """Unit vectors of ``texts`` as one float32 matrix, embedded :data:`EMBED_CHUNK` at a time."""
    vectors: np.ndarray | None = None
    for start in range(0, len(texts), EMBED_CHUNK):
        chunk = np.asarray(
            embeddings.embed_documents(texts[start : start + EMBED_CHUNK]), dtype=np.float32
        )
        if vectors is None:
            vectors = np.empty((len(texts), chunk.shape[1]), dtype=np.float32)
        vectors[start : start + len(chunk)] = chunk
    assert vectors is not None
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    return vectors
