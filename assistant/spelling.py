"""Typo correction against the knowledge base's own vocabulary ("calf rasies" -> "calf raises").

The dictionary is the words of the help center being served, with how often each occurs, so
the corrector works on any knowledge base and never invents a word the articles don't use. A
word is only corrected when it is *unknown twice over*: the knowledge base doesn't use it (nor
its plural, possessive, clipped or compound form) and it is not an English word. "protein",
"marathon", "stitch", "gels" or "shin splints" are real words the articles may simply not
cover; "correcting" them into a knowledge-base word ("gets", "splits") would answer a different
question. So a word is left alone when ``wordfreq`` rates it at :data:`REAL_WORD_ZIPF` or above,
or when it is in the English word list that ships with ``symspellpy`` (82,765 words, the
intersection of SCOWL and Google Books n-grams: real words only, no misspellings), which also
covers rare real words like "sagely" or "heeds" that would otherwise look like typos.

Guards against harmful corrections, each for a reason a test shows:

* the edit distance allowed grows with the word's length (:func:`max_distance`): short words
  have too many neighbours;
* a word ``wordfreq`` knows but rates rarer than that (a brand, jargon or a frequent misspelling:
  "soleus", "vivos", "runing") gets one edit at most, only towards a word at least
  :data:`MISSPELLING_GAP` Zipf points more common in English (the signature of a misspelling:
  "runing" 2.0 vs "running" 5.2, but "soleus" 1.7 vs "soles" 3.2), and never towards a stem or a
  derivation of itself ("stretchy" is not a typo of "stretch");
* the first letter must match (or be swapped with the second): typists rarely miss the first
  letter, and brand/jargon collisions mostly differ there ("asics" / "basics", "zwift" / "swift");
* numbers, words with digits, URLs, e-mail addresses, acronyms (all capitals, up to five
  letters), inner capitals ("iPhone") and words with non-English letters are left alone.

Among the closest candidates a swap of letters beats an added or dropped letter ("walsk" ->
"walks", not "walk"), a plural stays plural, and then the most frequent knowledge-base word wins.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from symspellpy import SymSpell, Verbosity

from assistant.confidence import zipf

#: Words at least this common in English (Zipf scale: about one per hundred million words) are
#: real words, slang or brands and never corrected: "gels" 3.0, "garmin" 2.9, "asics" 2.7,
#: "splints" 2.6, "parkrun" 2.2. The price: misspellings common enough to be counted by wordfreq
#: ("recieve" 2.8, "lenght" 2.0) stay as typed; the knowledge base's own jargon scores far lower.
REAL_WORD_ZIPF = 2.0
#: A word wordfreq knows (0 < Zipf < REAL_WORD_ZIPF) is corrected only into a word at least
#: this much more common in English (100 times): "runing" 1.96 -> "running" 5.23, "achillies"
#: 1.01 -> "achilles" 3.47; "soleus" 1.67 is not a typo of "soles" 3.18, nor "vivos" of "vivo".
MISSPELLING_GAP = 2.0
#: Words shorter than this are never corrected ("im", "pls", "abs"): too many neighbours.
MIN_LENGTH = 4
#: Longest edit distance (Damerau: a swap of two letters is one edit) the dictionary indexes.
MAX_EDITS = 2

#: symspellpy's English word list (a package data file): real words are not typos.
ENGLISH_DICTIONARY = "frequency_dictionary_en_82_765.txt"

_KB_WORD = re.compile(r"[a-z]+")
#: A token of the message: letters with inner apostrophes or hyphens ("calf's", "single-leg").
_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_PLURALS = ("es", "s")


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The real English words of symspellpy's dictionary, read once on first use."""
    data = resources.files("symspellpy").joinpath(ENGLISH_DICTIONARY).read_text("utf-8")
    return frozenset(line.split(" ", 1)[0] for line in data.splitlines() if line)


def max_distance(word: str) -> int:
    """Edits allowed for a word of this length: 0 below 4 letters, 1 up to 6, 2 beyond."""
    if len(word) < MIN_LENGTH:
        return 0
    return 1 if len(word) <= 6 else 2


@dataclass(frozen=True)
class Correction:
    """A corrected message and the (wrong, right) word pairs that were changed, in order."""

    text: str
    changes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _match_case(original: str, word: str) -> str:
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class SpellCorrector:
    """Corrects misspelled key words of a question into words of the knowledge base.

    Example::

        corrector = SpellCorrector.from_texts(article_texts)
        fixed = corrector.correct("how do i do calf rasies?")
        fixed.text     # "how do i do calf raises?"
        fixed.changes  # [("rasies", "raises")]
    """

    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts
        self._symspell = SymSpell(max_dictionary_edit_distance=MAX_EDITS, prefix_length=7)
        for word, count in counts.items():
            if len(word) >= MIN_LENGTH - 1:
                self._symspell.create_dictionary_entry(word, count)
        # Clipped forms ("plyo" for "plyometrics") are the knowledge base's words too.
        self._prefixes = frozenset(
            w[:i] for w in counts if len(w) > MIN_LENGTH for i in range(MIN_LENGTH, len(w))
        )
        # A word's suggestion depends only on the word and this vocabulary: cached per corrector
        # (a new knowledge-base version gets a new corrector), bounded like the query cache.
        self._cached = lru_cache(maxsize=65536)(self._suggest)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> SpellCorrector:
        """Build the dictionary from the knowledge base's texts (articles, chunks, titles)."""
        return cls(Counter(w for text in texts for w in _KB_WORD.findall(text.lower())))

    def known(self, word: str) -> bool:
        """Whether the knowledge base uses this word, or its plural/singular or possessive."""
        word = word.lower().replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        if word in self.counts:
            return True
        return any(
            word.endswith(end) and len(word) - len(end) >= 2 and word[: -len(end)] in self.counts
            for end in _PLURALS
        )

    def _familiar(self, word: str) -> bool:
        """Known, or a clipped form or a two-word compound of known words ("warmup")."""
        if self.known(word) or word in self._prefixes:
            return True
        return any(
            self.known(word[:i]) and self.known(word[i:]) for i in range(3, len(word) - 2)
        )

    def suggest(self, word: str) -> str | None:
        """The knowledge-base word this (lower-case) word is a typo of, or None."""
        return self._cached(word)

    def _suggest(self, word: str) -> str | None:
        if len(word) < MIN_LENGTH or not word.isalpha() or self._familiar(word):
            return None
        frequency = zipf(word)
        if frequency >= REAL_WORD_ZIPF or word in english_words():
            return None
        limit = max_distance(word)
        if frequency > 0:
            limit = min(limit, 1)  # a rare real word or a brand: only an obvious slip
        # (distance, plural mismatch, -count, candidate); the word itself and its stem
        # ("streches" -> "strech" -> "stretch" + "es") are both looked up.
        options: list[tuple[int, bool, bool, int, str]] = []
        stems = [(word, "")] + [
            (word[: -len(end)], end)
            for end in _PLURALS
            if word.endswith(end) and len(word) - len(end) >= MIN_LENGTH
        ]
        for stem, end in stems:
            for item in self._symspell.lookup(stem, Verbosity.CLOSEST, max_edit_distance=limit):
                candidate = item.term + end
                if end and candidate not in self.counts and item.term.endswith("s"):
                    continue  # "raisse" -> "raises" + "s" is no word
                if not self._plausible(word, candidate, frequency):
                    continue
                swap = sorted(word) == sorted(candidate)
                plural_mismatch = word.endswith("s") != candidate.endswith("s")
                count = self.counts.get(candidate, item.count)
                options.append((item.distance, not swap, plural_mismatch, -count, candidate))
        if not options:
            return None
        return min(options)[-1]

    @staticmethod
    def _plausible(word: str, candidate: str, frequency: float) -> bool:
        if candidate == word:
            return False
        swapped_start = len(candidate) == len(word) and candidate[:2] == word[1::-1]
        if candidate[0] != word[0] and not swapped_start:
            return False  # first letter wrong (unless the first two letters were swapped)
        if frequency > 0:
            if candidate.startswith(word) or word.startswith(candidate):
                return False  # "stretchy" / "stretch": a derivation of a real word, not a typo
            if zipf(candidate) - frequency < MISSPELLING_GAP:
                return False
        return True

    def correct(self, question: str) -> Correction:
        """The question with unknown, non-English words replaced by their knowledge-base word.

        Everything else (case, punctuation, spacing, numbers, known words) is kept as typed.
        """
        pieces: list[str] = []
        changes: list[tuple[str, str]] = []
        last = 0
        for match in _TOKEN.finditer(question):
            token = match.group()
            start, end = match.span()
            if _skip_token(question, start, end):
                continue
            if not token.isascii():
                continue  # "cuéntame": another language, not a typo
            for part in re.finditer(r"[A-Za-z]+", token):
                original = part.group()
                if "'" in token[: part.start()] or "’" in token[: part.start()]:
                    continue  # the "s" of "calf's", the "t" of "don't"
                if (original.isupper() and len(original) <= 5) or (
                    any(c.isupper() for c in original[1:]) and not original.isupper()
                ):
                    continue  # an acronym ("DOMS") or a brand's inner capital ("iPhone")
                fixed = self.suggest(original.lower())
                if fixed is None:
                    continue
                fixed = _match_case(original, fixed)
                pieces.append(question[last : start + part.start()])
                pieces.append(fixed)
                last = start + part.end()
                changes.append((original, fixed))
        pieces.append(question[last:])
        return Correction("".join(pieces), changes)


def _skip_token(text: str, start: int, end: int) -> bool:
    """Tokens glued to digits ("3x15", "week5"), or parts of URLs, e-mail addresses, paths,
    handles and hashtags."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before and (before.isdigit() or before in "@/\\_#."):
        return True
    if after and (after.isdigit() or after in "@/\\_"):
        return True
    if after == "." and end + 1 < len(text) and text[end + 1].isalnum():
        return True  # "example.com"
    return text.startswith("://", end)
