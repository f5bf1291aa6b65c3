"""How sure we are that the knowledge base answers a question: a calibrated probability.

The inputs are computed on the way to an answer and named (see :data:`FEATURES`): the top
passage's dense similarity, the best sentence's and heading's similarity, how well the lead
sentence gives the kind of answer asked for, how clearly the section ranker prefers the best
section to the runner-up (``margin``), the share of the question's informative words that
the answer's section contains, the weight of the most informative question word that the chosen
section never mentions (``missing``: "polar" in a question answered from a Garmin section), and
the number of *unknown key terms*: words of the question that
the knowledge base never uses, that are not everyday English (Zipf frequency below 4.5 in
``wordfreq``), and that are not a typo or a prefix of a word it does use.

The weights are data, not code: a logistic model fitted by ``python -m eval.calibrate`` on the
``tune`` split of every knowledge base in the evaluation (answerable vs not covered) and written
to ``assistant/models/answerability.json`` with its threshold, training-set hash and
cross-validated figures. ``Settings.answer_threshold`` overrides the fitted threshold when set.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: The model's inputs, by name: what an AnswerTrace's ``features`` holds.
FEATURES = ("dense", "unit", "heading", "fit", "margin", "overlap", "missing", "unknown")
MODEL_PATH = Path(__file__).parent / "models" / "answerability.json"
#: Words at least this common in English are never "unknown key terms" (Zipf scale: 4.5 is
#: about 30 per million words: "idea", "really", "bad" are above it; "marathon" is below).
COMMON_ZIPF = 4.5
_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=65536)
def zipf(word: str) -> float:
    """The word's Zipf frequency in English (wordfreq)."""
    return zipf_in(word, "en")


def zipf_in(word: str, language: str) -> float:
    """The word's Zipf frequency in ``language`` (wordfreq), without wordfreq's raw tables.

    wordfreq builds each language's word -> frequency dict from its raw bucket lists and keeps
    both (lru-cached). Every lookup reads only the dict, which holds only strings and floats,
    so CPython's cyclic collector does not track it; the lists are tracked, about 400k
    references a language, and they load on the first message of that language, after the
    server's start-up objects were frozen (api/startup_gc.py): every later full collection
    walked them with the GIL held (``python -m eval.bench.gc_pause``, BENCHMARKS.md). So the
    lists are dropped once a lookup has built the dict.
    """
    from wordfreq import get_frequency_list, zipf_frequency

    value = float(zipf_frequency(word, language))
    if get_frequency_list.cache_info().currsize:
        get_frequency_list.cache_clear()
    return value


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass(frozen=True)
class Vocabulary:
    """The words of the knowledge base, with a one-edit index for typo-tolerant lookups."""

    words: frozenset[str]
    one_edit: frozenset[str]
    prefixes: frozenset[str]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocabulary:
        words = {w for text in texts for w in _WORD.findall(text.lower())}
        one_edit = {d for w in words if len(w) >= 4 for d in _deletes(w)}
        prefixes = {w[:i] for w in words for i in range(4, len(w))}
        return cls(frozenset(words), frozenset(one_edit), frozenset(prefixes))

    def knows(self, word: str) -> bool:
        if word in self.words or any(
            word.endswith(end) and word[: -len(end)] in self.words for end in ("s", "es")
        ):
            return True
        if len(word) >= 4 and (word in self.prefixes or word in self.one_edit):
            return True  # "plyo" (prefix), "fexor" (a deletion of "flexor")
        if any(word[:i] in self.words and word[i:] in self.words for i in range(2, len(word) - 1)):
            return True  # "cooldown", "warmup", "workout"
        return len(word) >= 5 and any(d in self.words or d in self.one_edit for d in _deletes(word))

    def unknown_terms(self, question: str) -> list[str]:
        return [
            w for w in _WORD.findall(question.lower())
            if len(w) >= 3 and not self.knows(w) and zipf(w) < COMMON_ZIPF
        ]


def informative_overlap(question_words: Iterable[str], section_words: AbstractSet[str]) -> float:
    """Share of the question's information (``6 - zipf`` per word: rare words weigh most) that
    the section contains; "protein after long runs" against a mileage section scores low."""
    weights = {w: max(0.5, 6.0 - zipf(w)) for w in question_words}
    total = sum(weights.values())
    return sum(v for w, v in weights.items() if w in section_words) / total if total else 0.0


def missing_information(question_words: Iterable[str], section_words: AbstractSet[str]) -> float:
    """The information (``6 - zipf``) of the rarest question word the section never mentions:
    one absent key word ("student" discount, "kids" sizes) can make a close section the wrong
    one, however much else matches. Numbers are left out (a section rarely repeats them)."""
    return max(
        (max(0.0, 6.0 - zipf(w)) for w in question_words if w not in section_words
         and not w.isdigit()),
        default=0.0,
    )  # fmt: skip


@dataclass(frozen=True)
class AnswerabilityModel:
    """Logistic regression over named features, loaded from JSON (see the module docstring)."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    threshold: float

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> AnswerabilityModel:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                tuple(raw["features"]),
                tuple(float(c) for c in raw["coefficients"]),
                float(raw["intercept"]),
                float(raw["threshold"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"cannot read the answerability model {path}: {exc}; refit it with "
                "`python -m eval.calibrate`"
            ) from exc

    def probability(self, features: Mapping[str, float]) -> float:
        """The calibrated probability that the knowledge base answers the question."""
        z = self.intercept + sum(
            c * features.get(name, 0.0)
            for name, c in zip(self.features, self.coefficients, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
