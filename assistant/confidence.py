"""How sure we are that the knowledge base answers a question: a calibrated probability.

Four signals, all computed on the way to an answer: the top passage's dense similarity (d), the
best sentence's similarity (u), the best section heading's similarity (h), and the number of
*unknown key terms* (n): words of the question that the knowledge base never uses, that are not
everyday English (Zipf frequency below 4.5 in ``wordfreq``), and that are not a typo or a
prefix of a word it does use ("marathon", "garmin", "taper" but not "calf raisses" or "plyo").
A logistic model over them was fitted on ``eval/datasets/dev.jsonl`` (answerable vs not
covered, class-balanced) by ``python -m eval.calibrate``. In 5-fold cross-validation at the
default threshold 0.4 it keeps 96% of answerable questions and refuses 82% of not-covered ones
(at 0.5: 94% / 100%); similarity alone managed 89% / 88%. Words the synonyms file maps
(``knowledge/synonyms.yml``) are known words. The unknown-term count is what
separates "marathon taper" from "calf raisses". Refit with that command when the
dataset grows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

#: Logistic coefficients for (d, u, h, n) and the intercept, from the dev-set fit above.
COEFFICIENTS = (6.201, 6.207, 5.262, -1.877)
INTERCEPT = -7.713
#: Words at least this common in English are never "unknown key terms" (Zipf scale: 4.5 is
#: about 30 per million words: "idea", "really", "bad" are above it; "marathon" is below).
COMMON_ZIPF = 4.5
_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=65536)
def zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


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


def answerability(dense: float, unit: float, heading: float, unknown: int) -> float:
    """The calibrated probability that the knowledge base answers the question."""
    z = INTERCEPT + sum(
        c * x for c, x in zip(COEFFICIENTS, (dense, unit, heading, float(unknown)), strict=True)
    )
    return 1.0 / (1.0 + math.exp(-z))
