"""The grounded extractive answerer: picks the sentences and list items that answer the question.

Every unit it outputs is copied from a retrieved passage and carries the ``[n]`` marker of that
passage, so every sentence of an answer is supported by the source it cites. Unit vectors were
computed at ingest; answering a question embeds nothing beyond the question itself (and, in a
follow-up, the sentences of the previous answer, to leave out what was already said).
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from assistant.answer_fit import continues_previous, is_intro, sentence_fit
from assistant.chunks import plain
from assistant.qtype import QType, question_type
from assistant.ranking import LEAD_RANKER, SECTION_RANKER, LinearRanker
from assistant.types import Citation, Passage
from assistant.units import StoredUnit, UnitIndex

#: Relevance of a unit = UNIT_SIM * cosine(question, unit) + (1 - UNIT_SIM) * lexical overlap,
#: used to trim a section to the word budget (the least relevant units go first). 0.7 was the
#: best of 0.5-0.9 for fact recall on the first dev set; the cosine carries paraphrases, the
#: overlap the exact numbers and names a runner typed.
UNIT_SIM = 0.7
#: Passages considered for an answer (the retriever's top_k default).
CANDIDATES = 5
#: Units more similar than this to one already chosen are repeats (MiniLM cosine; paraphrased
#: sentences of two articles measured 0.86-0.95, distinct facts on one topic below 0.8).
REPEAT_COS = 0.85
#: A unit of another passage is considered only when it is nearly as relevant as the best one
#: (and, see _secondary, only when the section ranker can hardly tell two sections apart).
SECOND_PASSAGE_RATIO = 0.8
#: Sections whose token vectors the answerer keeps (float16, about 150 KB for a 200-token
#: section): a knowledge base of this many sections is computed once.
SECTION_TOKEN_CACHE = 2048
#: A unit "gives" the asked-for kind of answer at this fit or above (answer_fit.py scale).
FITS = 0.5
_WORD = re.compile(r"[a-z0-9']+")
#: The previous answer is split into sentences and list lines to find what it already said;
#: at most this many are embedded (an answer is a section, rarely over a dozen units).
_SAID_SPLIT = re.compile(r"(?<=[.!?:])\s+|\n+\s*(?:[-*]|\d{1,3}[.)])?\s*")
_SAID_MAX = 24
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


@lru_cache(maxsize=65536)
def content_words(text: str) -> frozenset[str]:
    """Lower-cased content words, crudely stemmed (plural/verb endings) for overlap counting;
    number words become digits so "first week" meets "Weeks 1 and 2". Cached: every question
    that retrieves a section counts the same sentences' words (a quarter of an answer's time)."""
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
    return frozenset(words)


def _overlap(question: AbstractSet[str], unit: AbstractSet[str]) -> float:
    """Share of the question's words in the unit; numbers count double ("week 1" must meet
    "Weeks 1 and 2", not "Weeks 3 and 4"): they are the most specific words a runner types."""

    def weight(words: AbstractSet[str]) -> float:
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
    #: the ranking models' inputs (assistant/ranking.py): (chunk id, features) per candidate
    #: section, and (unit text, features) per unit of the chosen section
    sections: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    leads: list[tuple[str, dict[str, float]]] = field(default_factory=list)


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

        answerer = ExtractiveAnswerer(unit_index, max_words=80)
        draft = answerer.compose("how long to hold balance", qvec, passages)

    The section the section ranker scores best answers; the unit the lead ranker scores best
    leads (both learned, :mod:`assistant.ranking`), and the rest of the section follows in
    reading order within ``max_words`` (a list of steps may run to ``max_list_words``). Intro
    and marketing lines never appear, and sentences given in an earlier assistant turn
    (``previous``) are not repeated.
    """

    name = "extractive"

    def __init__(
        self,
        units: UnitIndex,
        max_words: int = 80,
        max_list_words: int = 160,
        section_ranker: LinearRanker | None = None,
        lead_ranker: LinearRanker | None = None,
        embed_texts: Callable[[list[str]], list[list[float]]] | None = None,
        token_vectors: Callable[[list[str]], list[np.ndarray] | None] | None = None,
    ) -> None:
        self.units = units
        #: contextual token vectors of texts (assistant/embeddings.token_vectors), for the
        #: section ranker's late-interaction feature; without them the feature is 0 for every
        #: candidate, which leaves their order to the other features
        self.token_vectors = token_vectors
        self._section_tokens: OrderedDict[str, np.ndarray] = OrderedDict()
        self._tokens_lock = threading.Lock()
        #: embeds the previous answer's sentences, so a paraphrase of one (an LLM's, or a
        #: client's own wording) counts as said; without it only the same words do
        self.embed_texts = embed_texts
        self.max_words = max_words
        self.max_list_words = max_list_words
        self.section_ranker = section_ranker or LinearRanker.load(SECTION_RANKER)
        self.lead_ranker = lead_ranker or LinearRanker.load(LEAD_RANKER)

    def compose(
        self,
        question: str,
        query_vector: Sequence[float],
        passages: Sequence[Passage],
        qtype: QType = "other",
        previous: Sequence[str] = (),
        token_text: str = "",
    ) -> Draft | None:
        """The draft answer to ``question`` from ``passages``. ``token_text`` is the text whose
        token vectors meet the sections' (default ``question``)."""
        if not passages:
            return None
        said = _normalised(" ".join(previous))
        candidates = list(passages[:CANDIDATES])
        by_chunk = self.units.units_for([p.chunk_id for p in candidates])
        said_vectors = self._said_vectors(previous, by_chunk)
        qvec = np.asarray(query_vector, dtype=np.float32)
        qwords = content_words(question)
        said_words = content_words(re.sub(r"\[\d+\]", " ", " ".join(previous)))

        def relevance(unit: StoredUnit) -> tuple[float, float]:
            cosine = float(unit.vector @ qvec)
            overlap = _overlap(qwords, content_words(unit.text))
            return UNIT_SIM * cosine + (1 - UNIT_SIM) * overlap, cosine

        unit_scores: dict[int, list[tuple[float, float, StoredUnit]]] = {}
        headings: dict[int, StoredUnit] = {}
        for i, passage in enumerate(candidates):
            for unit in by_chunk.get(passage.chunk_id, []):
                if unit.kind == "heading":
                    headings[i] = unit
                elif _usable(unit.text) and not (said and _normalised(unit.text) in said):
                    if said_vectors is not None and float((said_vectors @ unit.vector).max()) > (
                        REPEAT_COS
                    ):
                        continue  # the previous answer said this in other words
                    unit_scores.setdefault(i, []).append((*relevance(unit), unit))
        if not unit_scores:
            return None
        heading_of = {i: float(u.vector @ qvec) for i, u in headings.items()}
        # each unit's fit to the question type, computed once (the section features, the lead
        # and the confidence signal all read it)
        fit = {id(u): sentence_fit(u.text, qtype) for units in unit_scores.values()
               for _, _, u in units}  # fmt: skip
        features = {
            i: self._section_features(i, candidates, unit_scores[i], headings.get(i), heading_of,
                                      qwords, fit, qtype, said_words)
            for i in unit_scores
        }  # fmt: skip
        for i, value in self._maxsim(token_text or question, candidates, features).items():
            features[i]["maxsim"] = value
        ranked = sorted(features, key=lambda i: (-self.section_ranker.score(features[i]), i))
        order = ranked + [i for i in range(len(candidates)) if i not in features]
        scored: list[tuple[float, float, int, StoredUnit]] = [
            (rel, cosine, rank, unit)
            for rank, i in enumerate(order)
            for rel, cosine, unit in unit_scores.get(i, [])
        ]
        heading_cos = max(heading_of.values(), default=0.0)
        dense_top = passages[0].dense_score or 0.0
        ranker = self.section_ranker
        hedge = len(ranked) > 1 and (
            ranker.beats(features[ranked[0]], features[ranked[1]]) < ranker.hedge_below
        )
        chosen, leads = self._choose(scored, qtype, qwords, fit, hedge)
        draft = self._render(chosen, [candidates[i] for i in order])
        draft.signals = {
            "dense": dense_top,
            "unit": max(s[1] for s in scored),
            "heading": heading_cos,
            "fit": max(fit[id(u)] for _, u in chosen),
            # how clearly one section answers: the section ranker's log-odds that the best
            # candidate beats the runner-up (0 when there is no runner-up to beat)
            "margin": (
                ranker.score(features[ranked[0]]) - ranker.score(features[ranked[1]])
                if len(ranked) > 1
                else 0.0
            ),
        }
        draft.sections = [(candidates[i].chunk_id, features[i]) for i in ranked]
        draft.leads = leads
        return draft

    def warm(
        self, passages: Iterable[Passage], batch: int = 16, stop: threading.Event | None = None
    ) -> int:
        """Compute now the token vectors of the passages' sections not yet kept (at most the
        cache's size), so that no question waits for them; returns how many were computed. The
        server does this for the whole knowledge base once it is ready; ``stop`` ends it after
        the batch in hand (a shutdown)."""
        with self._tokens_lock:
            todo = [p for p in passages if p.chunk_id not in self._section_tokens]
        todo = todo[:SECTION_TOKEN_CACHE]
        done = 0
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            if (stop is not None and stop.is_set()) or not self._keep(part):
                break
            done += len(part)
        return done

    def _keep(self, passages: Sequence[Passage]) -> bool:
        """Compute and keep the token vectors of the passages' sections (heading and text);
        False when the embeddings have none."""
        if self.token_vectors is None:
            return False
        fresh = self.token_vectors([f"{p.section}\n{p.text}" for p in passages])
        if fresh is None:
            return False
        with self._tokens_lock:
            for passage, vectors in zip(passages, fresh, strict=True):
                self._section_tokens[passage.chunk_id] = vectors.astype(np.float16)
            while len(self._section_tokens) > SECTION_TOKEN_CACHE:
                self._section_tokens.popitem(last=False)
        return True

    def _maxsim(
        self, text: str, candidates: Sequence[Passage], features: Mapping[int, object]
    ) -> dict[int, float]:
        """Late interaction (MaxSim, as in ColBERT: Khattab and Zaharia, SIGIR 2020): each token
        of the question meets its most similar token of the section (heading and text), and the
        similarities are averaged. One sentence vector per unit blurs a section's details; the
        tokens keep the one word that matches. The sections' token vectors are computed on
        first use and kept (bounded), the question's come with its embedding."""
        if self.token_vectors is None:
            return {}
        question = (self.token_vectors([text]) or [np.empty((0, 0))])[0]
        if not len(question):
            return {}
        with self._tokens_lock:
            missing = {candidates[i].chunk_id: candidates[i] for i in features
                       if candidates[i].chunk_id not in self._section_tokens}  # fmt: skip
        if missing and not self._keep(list(missing.values())):
            return {}
        with self._tokens_lock:
            sections = {i: self._section_tokens.get(candidates[i].chunk_id) for i in features}
        return {
            i: float((question @ found.astype(np.float32).T).max(axis=1).mean())
            for i, found in sections.items()
            if found is not None and len(found)
        }

    def _said_vectors(
        self, previous: Sequence[str], by_chunk: Mapping[str, Sequence[StoredUnit]]
    ) -> np.ndarray | None:
        """Unit-normalised vectors of the previous answer's sentences (None: nothing said).

        An extractive answer is made of the knowledge base's own sentences, and a follow-up
        retrieves the same sections: a sentence that is one of the candidates' units takes that
        unit's stored vector (embedded from the same text at ingest), so only sentences written
        elsewhere (an LLM answerer's, a client's) cost a model call."""
        sentences = [
            s for text in previous
            for s in _SAID_SPLIT.split(re.sub(r"\s*\[\d+\]", "", text)) if len(s.split()) >= 4
        ][:_SAID_MAX]  # fmt: skip
        if not sentences:
            return None
        stored = {_normalised(u.text): u.vector for units in by_chunk.values() for u in units}
        known = [stored.get(_normalised(s)) for s in sentences]
        new = [s for s, v in zip(sentences, known, strict=True) if v is None]
        if new and self.embed_texts is None:
            return None
        fresh = iter(self.embed_texts(new) if new and self.embed_texts is not None else [])
        vectors = np.asarray(
            [v if v is not None else next(fresh) for v in known], dtype=np.float32
        )
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    @staticmethod
    def _section_features(
        i: int,
        candidates: Sequence[Passage],
        units: list[tuple[float, float, StoredUnit]],
        heading: StoredUnit | None,
        heading_of: dict[int, float],
        qwords: AbstractSet[str],
        fit: dict[int, float],
        qtype: QType = "other",
        said_words: AbstractSet[str] = frozenset(),
    ) -> dict[str, float]:
        passage = candidates[i]
        words = set().union(*(content_words(u.text) for _, _, u in units))
        if heading is not None:
            words |= content_words(heading.text)
        return {
            "retrieval": passage.score,
            "dense": passage.dense_score or 0.0,
            "bm25": passage.bm25_score or 0.0,
            "rank": 1.0 / (1 + i),
            "heading": heading_of.get(i, 0.0),
            "heading_overlap": _overlap(qwords, content_words(heading.text)) if heading else 0.0,
            "unit_best": max(cosine for _, cosine, _ in units),
            "overlap": _overlap(qwords, words),
            "fit_best": max(fit[id(u)] for _, _, u in units),
            "same_article": float(passage.article_id == candidates[0].article_id),
            # a follow-up wants what the previous answer did not say
            "said": _overlap(words, said_words),
            # the heading asks the same kind of question ("How long does delivery take?" for
            # "how long will my order take?"): help-center headings are the questions they answer
            "heading_type": float(
                heading is not None and qtype != "other" and question_type(heading.text) == qtype
            ),
        }

    def _choose(
        self,
        scored: list[tuple[float, float, int, StoredUnit]],
        qtype: QType,
        qwords: AbstractSet[str],
        fit: dict[int, float],
        hedge: bool = False,
    ) -> tuple[list[tuple[int, StoredUnit]], list[tuple[str, dict[str, float]]]]:
        """One section: a help-article section is written as the answer to one question. The
        unit the lead ranker scores best leads; the section's other units follow in reading
        order, the least relevant dropped to fit the budget. Another passage adds one unit only
        when the section ranker could hardly tell the best section from the runner-up
        (``hedge``). It once also added one when the section gave no unit of the asked-for kind
        and another passage did; on the tune split that changed 8 answers and no fact or first
        sentence, and 7 of the 8 added lines were off the question ("Check that your gym allows
        barefoot training" in an answer about a shoe discount), so it went."""
        primary = min(rank for _, _, rank, _ in scored)
        own_scored = [(rel, cos, unit) for rel, cos, rank, unit in scored if rank == primary]
        own = [(rel, unit) for rel, _, unit in own_scored]
        relevance_of = {id(u): r for r, u in own}
        first = min(u.index for _, u in own)
        last = max(u.index for _, u in own)
        leads = [
            (unit.text, _lead_features(unit, cos, qwords, fit[id(unit)], first, last))
            for _, cos, unit in own_scored
        ]
        best = max(range(len(own)), key=lambda j: (self.lead_ranker.score(leads[j][1]), -j))
        # a sentence that carries on from the one before ("For example, ...") gives the lead to
        # that one, and what carries on from the lead reads right after it
        lead, *follow = _carried_on(own[best][1], {u.index: u for _, u in own})
        placed = {id(lead), *map(id, follow)}
        rest = follow + sorted((u for _, u in own if id(u) not in placed), key=lambda u: u.index)
        # A list of steps may run longer; a direct answer (a verdict, a duration, a dose) that
        # the lead already gives keeps to the short budget, its list trimmed by relevance.
        direct = fit[id(lead)] >= FITS and qtype != "steps"
        lists = not direct and any(u.kind == "item" for _, u in own)
        budget = self.max_list_words if lists else self.max_words
        chosen = [lead, *rest]
        if qtype == "steps" and _mid_procedure(lead, rest):
            # Asked how to do it, the numbered procedure reads from its first step, not from
            # the step that matched best; asked something else ("how long do I hold it?",
            # "arms or wrists?"), the matching step leads, as a sentence of its own (_render).
            chosen = sorted(chosen, key=lambda u: u.index)
        while _word_count(chosen) > budget and len(chosen) > 1:
            chosen.remove(min((u for u in chosen if u is not lead),
                              key=lambda u: relevance_of[id(u)]))  # fmt: skip
        chosen = _drop_orphan_intros(chosen)
        picked = [(primary, u) for u in chosen]
        if hedge:
            extra = self._secondary(scored, primary, chosen, fit, budget)
            if extra is not None:
                picked.append(extra)
        return picked, leads

    def _secondary(
        self,
        scored: list[tuple[float, float, int, StoredUnit]],
        primary: int,
        chosen: list[StoredUnit],
        fit: dict[int, float],
        budget: int,
    ) -> tuple[int, StoredUnit] | None:
        """One unit of another section, for a hedged answer: the runner-up's most relevant, or
        another passage's that gives the asked-for kind of answer."""
        top = max(r for r, _, rank, _ in scored if rank == primary)
        for relevance, _, rank, unit in sorted(scored, key=lambda s: (-s[0], s[2], s[3].index)):
            if rank == primary or relevance < SECOND_PASSAGE_RATIO * top:
                continue
            if unit.text.endswith(":") or len(unit.text.split()) < 6 or _POINTER.search(unit.text):
                continue  # an intro without its list, a fragment, or a pointer elsewhere
            if rank == primary + 1:
                pass  # the runner-up section, nearly as likely to be the one asked about
            elif fit[id(unit)] < FITS:
                continue
            if any(float(unit.vector @ u.vector) > REPEAT_COS for u in chosen):
                continue
            if _word_count([*chosen, unit]) > budget:
                continue
            return rank, unit
        return None

    def _render(self, chosen: list[tuple[int, StoredUnit]], candidates: Sequence[Passage]) -> Draft:
        order = chosen  # the lead first, then reading order, then a secondary unit
        numbers: dict[int, int] = {}
        for rank, _ in order:
            numbers.setdefault(rank, len(numbers) + 1)
        blocks: list[str] = []
        units: list[tuple[int, str]] = []
        previous: tuple[int, int, str] | None = None  # (rank, paragraph, kind)
        item_no = 0
        numbered = False
        for position, (rank, unit) in enumerate(order):
            n = numbers[rank]
            key = (rank, unit.paragraph, unit.kind)
            if position == 0 and _mid_procedure(unit, (u for r, u in order[1:] if r == rank)):
                # a step pulled ahead of its list, as the direct answer, reads as a sentence of
                # its own; the list follows as it stands
                blocks.append(with_marker(unit.text, n))
                units.append((n, unit.text))
                previous = (rank, unit.paragraph, "lead")
                continue
            if unit.kind == "item":
                if previous != key:
                    item_no = 0
                    # number a list only when it starts at its own first step
                    numbered = unit.marker in ("1.", "1)")
                item_no += 1
                # the article's own step numbers: a step left out (trimmed, or leading above)
                # shows as a gap rather than renumbering the steps after it
                prefix = f"{_step_number(unit) or item_no}. " if numbered else "- "
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
        # The confidence is the Assistant's (assistant/confidence.py), set from the signals.
        return Draft("\n\n".join(blocks), citations, 0.0, units)


_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|"
    r"half|once|twice|few|several)\b",
    re.I,
)


def _lead_features(
    unit: StoredUnit, cosine: float, qwords: AbstractSet[str], fit: float, first: int, last: int
) -> dict[str, float]:
    """The lead ranker's inputs for one unit (see assistant/ranking.py LEAD_FEATURES)."""
    return {
        "cosine": cosine,
        "overlap": _overlap(qwords, content_words(unit.text)),
        "fit": fit,
        "first": float(unit.index == first),
        "position": (unit.index - first) / (last - first) if last > first else 0.0,
        "item": float(unit.kind == "item"),
        "words": math.log1p(len(unit.text.split())),
        "colon": float(unit.text.rstrip().endswith(":")),
        "number": float(bool(_NUMBER.search(unit.text))),
    }


def _step_number(unit: StoredUnit) -> int | None:
    """The number a list item carries in its article ("3." or "3)"), None when it has none."""
    number = unit.marker.rstrip(".)")
    return int(number) if unit.kind == "item" and number.isdigit() else None


def _mid_procedure(lead: StoredUnit, others: Iterable[StoredUnit]) -> bool:
    """``lead`` is a numbered step with earlier steps of the same list among ``others``."""
    return (
        _step_number(lead) is not None
        and any(u.kind == "item" and u.paragraph == lead.paragraph and u.index < lead.index
                for u in others)
    )  # fmt: skip


def _normalised(text: str) -> str:
    """Lower-case words only, markers and punctuation dropped: for "was this said before"."""
    return " ".join(re.findall(r"[a-z0-9']+", re.sub(r"\[\d+\]", " ", text.lower())))


def _usable(text: str) -> bool:
    """Not a cross-reference ("See Calf raises.") nor an intro or marketing line."""
    return not _CROSS_REFERENCE.match(text) and not is_intro(text)


def _word_count(units: Sequence[StoredUnit]) -> int:
    return sum(len(u.text.split()) for u in units)


def _carried_on(unit: StoredUnit, by_index: Mapping[int, StoredUnit]) -> list[StoredUnit]:
    """The run of sentences ``unit`` belongs to, in reading order: back through each sentence
    that carries on from the one before it ("For example, ...", "Then ...") to the one it
    carries on from, then forward through those that carry on from it. ``by_index``: the
    section's units by position. A list item, or an intro ending in ":", starts no run back."""
    first = unit
    while first.kind == "sentence" and continues_previous(first.text):
        previous = by_index.get(first.index - 1)
        if previous is None or previous.kind != "sentence" or previous.text.endswith(":"):
            break
        first = previous
    run = [first]
    nxt = by_index.get(first.index + 1)
    while nxt is not None and nxt.kind == "sentence" and continues_previous(nxt.text):
        run.append(nxt)
        nxt = by_index.get(nxt.index + 1)
    return run


def _drop_orphan_intros(chosen: list[StoredUnit]) -> list[StoredUnit]:
    """An intro sentence ("The four points are:") whose list was dropped goes too."""
    if len(chosen) == 1:
        return chosen
    kept = {id(u) for u in chosen}
    return [
        u
        for u in chosen
        if not (
            u.kind == "sentence"
            and u.text.endswith(":")
            and not any(x.kind == "item" and x.index > u.index and id(x) in kept for x in chosen)
        )
    ] or chosen[:1]


def snippet(text: str, limit: int = 240) -> str:
    """The start of a passage as plain text, cut at a word boundary."""
    flat = plain(text.replace("\n", " "))
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + "..."
