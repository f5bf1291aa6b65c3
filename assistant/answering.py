"""The grounded extractive answerer: picks the sentences and list items that answer the question.

Every unit it outputs is copied from a retrieved passage and carries the ``[n]`` marker of that
passage, so every sentence of an answer is supported by the source it cites. Unit vectors were
computed at ingest; answering a question embeds nothing beyond the question itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.chunks import plain
from assistant.types import Citation, Passage
from assistant.units import StoredUnit, UnitIndex

#: Relevance of a unit = UNIT_SIM * cosine(question, unit) + (1 - UNIT_SIM) * lexical overlap.
UNIT_SIM = 0.7
#: Passages considered for an answer, and the weight of the heading match when ranking them.
CANDIDATES = 5
HEADING_WEIGHT = 0.25
#: Units more similar than this to one already chosen are repeats.
REPEAT_COS = 0.85
#: A passage beyond the first contributes only when it is nearly as relevant as the first.
SECOND_PASSAGE_RATIO = 0.8
_WORD = re.compile(r"[a-z0-9']+")
#: "See Calf raises." and the like point elsewhere; lifted out of the article they say nothing.
_POINTER = re.compile(r"\bas (?:explained|described|covered) in\b", re.I)
_CROSS_REFERENCE = re.compile(r"^(see|read|learn more|more in|more about|check out)\b", re.I)
_STOP = frozenset(
    "a an the and or of to in on for with is are be do does did i my me you your it its this "
    "that what how when why which who can should could would will much many often long about "
    "any there their them they at by from as if so but not no up down out get got".split()
)


# Ordinals only: cardinals ("one or two runs") would match any step number.
_ORDINALS = {
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
}  # fmt: skip
#: At most this many other passages add a sentence to the best section's answer.
MAX_SECONDARY = 2


def content_words(text: str) -> set[str]:
    """Lower-cased content words, crudely stemmed (plural/verb endings) for overlap counting;
    number words become digits so "first week" meets "Weeks 1 and 2"."""
    words = set()
    for word in _WORD.findall(text.lower()):
        word = _ORDINALS.get(word, word)
        if word in _STOP or (len(word) < 2 and not word.isdigit()):
            continue
        for suffix in ("ing", "es", "s", "ed"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        words.add(word)
    return words


def _overlap(question: set[str], unit: set[str]) -> float:
    """Share of the question's words in the unit; numbers count double ("week 1" must meet
    "Weeks 1 and 2", not "Weeks 3 and 4"): they are the most specific words a runner types."""

    def weight(words: set[str]) -> float:
        return sum(2.0 if w.isdigit() else 1.0 for w in words)

    return weight(question & unit) / max(1.0, weight(question))


@dataclass
class Draft:
    """An answer before it gets an id: text with markers, the cited passages, confidence."""

    text: str
    citations: list[Citation]
    confidence: float
    units: list[tuple[int, str]] = field(default_factory=list)  # (citation n, unit text)
    answerer: str = "extractive"
    #: evidence for the confidence model: top dense score, best sentence and heading cosine
    signals: dict[str, float] = field(default_factory=dict)


def with_marker(text: str, n: int) -> str:
    """``"Rest a day."`` -> ``"Rest a day [1]."``; the marker sits before final punctuation."""
    text = text.rstrip()
    match = re.search(r"([.!?:;]+[\"')\]]*)$", text)
    if match:
        return f"{text[: match.start()]} [{n}]{match.group(1)}"
    return f"{text} [{n}]"


class ExtractiveAnswerer:
    """Compose a short cited answer from the units of the top passages.

    Example::

        answerer = ExtractiveAnswerer(unit_index, max_words=120)
        draft = answerer.compose("how long to hold balance", qvec, passages)
    """

    name = "extractive"

    def __init__(self, units: UnitIndex, max_words: int = 120) -> None:
        self.units = units
        self.max_words = max_words

    def compose(
        self, question: str, query_vector: Sequence[float], passages: Sequence[Passage]
    ) -> Draft | None:
        if not passages:
            return None
        candidates = list(passages[:CANDIDATES])
        by_chunk = self.units.units_for([p.chunk_id for p in candidates])
        qvec = np.asarray(query_vector, dtype=np.float32)
        qwords = content_words(question)

        def relevance(unit: StoredUnit) -> tuple[float, float]:
            cosine = float(unit.vector @ qvec)
            overlap = _overlap(qwords, content_words(unit.text))
            return UNIT_SIM * cosine + (1 - UNIT_SIM) * overlap, cosine

        unit_scores: dict[int, list[tuple[float, float, StoredUnit]]] = {}
        heading_of: dict[int, float] = {}
        for i, passage in enumerate(candidates):
            for unit in by_chunk.get(passage.chunk_id, []):
                if unit.kind == "heading":
                    heading_of[i] = float(unit.vector @ qvec)
                elif not _CROSS_REFERENCE.match(unit.text):
                    unit_scores.setdefault(i, []).append((*relevance(unit), unit))

        # Rerank the candidate sections by retrieval score and how well the heading (the
        # question the section answers) matches. Measured on dev.jsonl (facts recall): the
        # weight barely matters between 0 and 0.5; adding the best sentence's score hurt.
        def section_score(i: int) -> float:
            return candidates[i].score + HEADING_WEIGHT * heading_of.get(i, 0.0)

        order = sorted(range(len(candidates)), key=lambda i: (-section_score(i), i))
        scored: list[tuple[float, float, int, StoredUnit]] = [
            (rel, cosine, rank, unit)
            for rank, i in enumerate(order)
            for rel, cosine, unit in unit_scores.get(i, [])
        ]
        heading_cos = max(heading_of.values(), default=0.0)
        dense_top = passages[0].dense_score or 0.0
        candidates = [candidates[i] for i in order]
        if not scored:
            return None
        best = max(scored, key=lambda s: s[0])
        chosen = self._choose(scored, best)
        draft = self._render(chosen, candidates, best[1])
        draft.signals = {
            "dense": dense_top,
            "unit": max(s[1] for s in scored),
            "heading": heading_cos,
        }
        return draft

    def _choose(
        self,
        scored: list[tuple[float, float, int, StoredUnit]],
        best: tuple[float, float, int, StoredUnit],
    ) -> list[tuple[int, StoredUnit]]:
        """Section first: a help-article section is written as the answer to one question, so
        the best passage's section is the answer, trimmed to the word budget by dropping its
        least relevant units; other passages add a unit only when it is nearly as relevant."""
        best_by_rank: dict[int, float] = {}
        for relevance, _, rank, _ in scored:
            best_by_rank[rank] = max(best_by_rank.get(rank, 0.0), relevance)
        primary = min(best_by_rank)
        relevance_of = {id(u): r for r, _, _, u in scored}
        chosen = [(rank, u) for _, _, rank, u in scored if rank == primary]
        while self._words(chosen) > self.max_words and len(chosen) > 1:
            chosen.remove(min(chosen, key=lambda c: relevance_of[id(c[1])]))
        # An intro sentence ("The four points are:") whose list was dropped goes too.
        kept = {id(u) for _, u in chosen}
        chosen = [
            (rank, u)
            for rank, u in chosen
            if not (
                u.kind == "sentence"
                and u.text.endswith(":")
                and not any(
                    x.kind == "item" and x.index > u.index and id(x) in kept for _, x in chosen
                )
            )
            or len(chosen) == 1
        ]
        top = best_by_rank[primary]
        used: set[int] = set()
        for relevance, _, rank, unit in sorted(scored, key=lambda s: (-s[0], s[2], s[3].index)):
            if rank == primary or relevance < SECOND_PASSAGE_RATIO * top:
                continue
            if unit.text.endswith(":") or len(unit.text.split()) < 6:
                continue  # an intro without its list, or a fragment, says nothing alone
            if _POINTER.search(unit.text):
                continue  # "..., as explained in X": a summary of another article, not news
            if any(float(unit.vector @ u.vector) > REPEAT_COS for _, u in chosen):
                continue
            if self._words(chosen + [(rank, unit)]) > self.max_words:
                continue
            if rank in used or len(used) >= MAX_SECONDARY:
                continue  # one sentence per other passage: an answer, not a patchwork
            used.add(rank)
            chosen.append((rank, unit))
        return chosen

    @staticmethod
    def _words(chosen: Sequence[tuple[int, StoredUnit]]) -> int:
        return sum(len(u.text.split()) for _, u in chosen)

    def _render(
        self,
        chosen: list[tuple[int, StoredUnit]],
        candidates: Sequence[Passage],
        best_cosine: float,
    ) -> Draft:
        order = sorted(chosen, key=lambda c: (c[0], c[1].index))
        numbers: dict[int, int] = {}
        for rank, _ in order:
            numbers.setdefault(rank, len(numbers) + 1)
        blocks: list[str] = []
        units: list[tuple[int, str]] = []
        previous: tuple[int, int, str] | None = None  # (rank, paragraph, kind)
        item_no = 0
        numbered = False
        for rank, unit in order:
            n = numbers[rank]
            key = (rank, unit.paragraph, unit.kind)
            if unit.kind == "item":
                if previous != key:
                    item_no = 0
                    # number a list only when it starts at its own first step
                    numbered = unit.marker in ("1.", "1)")
                item_no += 1
                prefix = f"{item_no}. " if numbered else "- "
                line = prefix + with_marker(unit.text, n)
                if previous == key:
                    blocks[-1] += "\n" + line
                else:
                    blocks.append(line)
            elif previous is not None and previous[:2] == key[:2] and previous[2] == "sentence":
                blocks[-1] += " " + with_marker(unit.text, n)
            else:
                blocks.append(with_marker(unit.text, n))
            units.append((n, unit.text))
            previous = key
        citations = []
        for rank, n in sorted(numbers.items(), key=lambda item: item[1]):
            passage = candidates[rank]
            citations.append(
                Citation(
                    n=n,
                    article_id=passage.article_id,
                    title=passage.title,
                    url=passage.url,
                    section=passage.section,
                    snippet=snippet(passage.text),
                    score=passage.score,
                )
            )
        confidence = 0.5 * candidates[0].score + 0.5 * max(0.0, min(1.0, best_cosine))
        return Draft("\n\n".join(blocks), citations, round(confidence, 4), units)


def snippet(text: str, limit: int = 240) -> str:
    """The start of a passage as plain text, cut at a word boundary."""
    flat = plain(text.replace("\n", " "))
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + "..."
