"""Corrections that stick: an agent's right answer, served again for the same question.

A stored correction is served (outcome ``answered``, ``answerer: "correction"``) when a new
standalone question (no history, no filters, not a red flag) is near-identical to the corrected
one: the cosine of their MiniLM embeddings reaches :data:`SERVE_THRESHOLD` *and*
:func:`same_request` finds no swapped content word. The cosine alone cannot tell "make
single-leg balance harder" from "... easier" (0.98) or "before a run" from "after a run" (0.93).

Example::

    match = best_match(question, vector, store.all())
    answer = correction_answer(match) if match else None
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from api.correction_store import Correction, CorrectionStore
from api.storage import Storage
from assistant.replies import new_answer_id
from assistant.settings import Settings
from assistant.types import Answer, Citation

#: Measured on tests/fixtures/correction_pairs.json (25 rewordings, 29 different questions, most
#: on the same topic) with the real all-MiniLM-L6-v2 and the word guard below:
#: `python -m api.correction_threshold tests/fixtures/correction_pairs.json`. At 0.85 no
#: different question is served (precision 1.00, 22 of 22 served) and 22 of 25 rewordings are
#: (recall 0.88). The highest different pair the guard lets through is "how many calf raises?"
#: / "how do I do calf raises?" at 0.823; the lowest served rewording is 0.879. A missed
#: rewording costs nothing (the assistant answers); a wrong match repeats an answer to another
#: question. Without the guard, 0.85 would serve 3 different questions (precision 0.89).
SERVE_THRESHOLD = 0.85

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the i me my mine you your we our us it its is are was be been am do does did doing "
    "how what whats which who whom where when why can could should would will shall may might "
    "must to of in on at for from by with and or if whether that this these those there here "
    "please s t hi hey thanks thank guys any some so just really about".split()
)
_NEGATIONS = frozenset("not no never without dont don doesnt isnt cant cannot nor".split())
_SUFFIXES = ("ing", "ness", "es", "ed", "ly", "s")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("'", ""))


def _close(a: str, b: str) -> bool:
    """Same stem, one a stem of the other (run / runn-ing), or one edit apart for words of four
    letters or more (typos: raisses)."""
    short, long_ = sorted((a, b), key=len)
    if a == b or (len(short) >= 3 and long_.startswith(short)):
        return True
    if len(short) < 4 or len(long_) - len(short) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _unmatched(mine: set[str], theirs: set[str]) -> set[str]:
    return {w for w in mine if not any(_close(w, t) for t in theirs)}


def same_request(a: str, b: str) -> bool:
    """False when one question swaps a content word for another ("harder" / "easier") or when
    only one of them is negated; words only added ("each day", "please") are allowed."""
    wa, wb = set(_words(a)), set(_words(b))
    if (wa & _NEGATIONS) != (wb & _NEGATIONS):
        return False
    ca = {_stem(w) for w in wa - _STOP - _NEGATIONS}
    cb = {_stem(w) for w in wb - _STOP - _NEGATIONS}
    return not (_unmatched(ca, cb) and _unmatched(cb, ca))


@dataclass(frozen=True)
class Match:
    correction: Correction
    similarity: float


def best_match(
    question: str,
    vector: Sequence[float] | np.ndarray,
    corrections: Sequence[Correction],
    threshold: float = SERVE_THRESHOLD,
) -> Match | None:
    """The most similar correction that passes the threshold and the word guard, if any."""
    usable = [c for c in corrections if c.vector]
    if not usable:
        return None
    matrix = np.asarray([c.vector for c in usable], dtype=np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
    query = np.asarray(vector, dtype=np.float32)
    query /= max(float(np.linalg.norm(query)), 1e-9)
    sims = matrix @ query
    for i in np.argsort(-sims):
        if sims[i] < threshold:
            return None
        if same_request(question, usable[i].question):
            return Match(usable[i], float(sims[i]))
    return None


def correction_answer(match: Match, timings_ms: dict[str, float] | None = None) -> Answer:
    """The stored correction as an Answer; confidence is the question similarity."""
    c = match.correction
    citations = [
        Citation(
            n=n,
            article_id=cite["article_id"],
            title=cite.get("title", ""),
            url=cite.get("url", ""),
            section=cite.get("section", ""),
            snippet=cite.get("snippet", ""),
            score=1.0,
        )  # fmt: skip
        for n, cite in enumerate(c.citations, start=1)
    ]
    return Answer(
        answer_id=new_answer_id(),
        outcome="answered",
        answer=c.answer,
        citations=citations,
        confidence=round(min(1.0, max(0.0, match.similarity)), 4),
        timings_ms=timings_ms or {},
        answerer="correction",
    )


_MARKER = re.compile(r"\[(\d+)\]")


def with_markers(text: str, n_citations: int) -> str:
    """``text`` whose ``[n]`` markers all refer to a citation; markers appended when it cites
    articles but has none. ValueError names a marker without a citation."""
    text = text.strip()
    markers = {int(m) for m in _MARKER.findall(text)}
    wrong = sorted(m for m in markers if not 1 <= m <= n_citations)
    if wrong:
        raise ValueError(f"marker [{wrong[0]}] has no citation ({n_citations} given)")
    if n_citations and not markers:
        tail = "".join(f"[{n}]" for n in range(1, n_citations + 1))
        end = text[-1] if text[-1] in ".!?" else ""
        text = f"{text[: len(text) - len(end)].rstrip()} {tail}{end}"
    return text


def _split(case_id: str) -> str:
    # The evaluation's hash rule (eval.dataset.split_for); api cannot import eval (layers).
    return (
        "test" if int(hashlib.sha256(case_id.encode()).hexdigest()[:8], 16) % 100 < 30 else "tune"
    )


def correction_cases(corrections: Sequence[Correction]) -> list[dict[str, Any]]:
    """Corrections as evaluation cases, in the shape of eval/datasets/dev.jsonl rows."""
    rows: list[dict[str, Any]] = []
    for c in sorted(corrections, key=lambda c: c.id):
        case_id = f"correction-{c.id}"
        rows.append({
            "id": case_id,
            "kind": "answerable",
            "split": _split(case_id),
            "question": c.question,
            "gold_articles": sorted({cite["article_id"] for cite in c.citations}),
            "required_facts": [re.escape(f).replace("\\ ", " ") for f in c.facts],
            "tags": ["correction"],
            "critical": False,
        })  # fmt: skip
    return rows


def corrections_as_cases(settings: Settings) -> list[dict[str, Any]]:
    """Every stored correction as an evaluation case (``help-assistant eval`` runs them, so
    each correction becomes a regression test of the assistant itself)."""
    storage = Storage(settings.answers_db_url)
    try:
        storage.create_schema()
        return correction_cases(CorrectionStore(storage).all())
    finally:
        storage.close()
