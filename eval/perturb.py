"""Deterministic perturbations of a question, for invariance tests (CheckList, Ribeiro et al.,
ACL 2020): a runner who makes a typo, tells us their age first, types in lowercase without
punctuation, opens with filler, or writes "don't" for "do not" must get the same answer.

Every generator takes the question and the case id (the seed) and returns the variant, or
``None`` when it does not apply (no contraction to make, no word long enough for a typo).

Example::

    variants("how do I make calf raises harder?", "q012")
    # {"typo": "how do I make calf rasies harder?", "context": "I'm 47 and ... how do I ...", ...}
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from collections.abc import Callable

#: Common English function words and question words: never the "key content word".
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves really actually should also get got
anything something thing things much many way
""".split())  # fmt: skip
CONTEXTS = (
    "I'm 47 and have been running for about three years. ",
    "I'm training for my first half marathon this spring. ",
    "I'm a 32 year old mum getting back into running after my second kid. ",
    "I run about 25 km a week, mostly on roads. ",
)
FILLERS = ("hey so quick question, ", "hi! quick one: ", "ok so i was wondering, ", "um hello, ")
CONTRACTIONS = (
    ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("is not", "isn't"),
    ("are not", "aren't"), ("can not", "can't"), ("cannot", "can't"), ("should not", "shouldn't"),
    ("will not", "won't"), ("would not", "wouldn't"), ("I am", "I'm"), ("I have", "I've"),
    ("it is", "it's"), ("what is", "what's"), ("that is", "that's"), ("there is", "there's"),
    ("you are", "you're"), ("I will", "I'll"),
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z]+")
_PUNCT = re.compile(f"[{re.escape(string.punctuation.replace('-', '').replace('/', ''))}]")


def _rng(case_id: str, kind: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"{case_id}\0{kind}".encode()).hexdigest()[:16], 16))


def key_word(question: str) -> re.Match[str] | None:
    """The longest word of the question that is not a stopword (the first of equal length)."""
    best: re.Match[str] | None = None
    for match in _WORD.finditer(question):
        word = match.group()
        if word.lower() not in STOPWORDS and len(word) >= 4:
            if best is None or len(word) > len(best.group()):
                best = match
    return best


def typo(question: str, case_id: str) -> str | None:
    """One adjacent transposition or one deletion inside the key content word; the first
    letter stays (people rarely get it wrong), and the edit always changes the word."""
    match = key_word(question)
    if match is None:
        return None
    word, rng = match.group(), _rng(case_id, "typo")
    swaps = [i for i in range(1, len(word) - 1) if word[i] != word[i + 1]]
    if swaps and rng.random() < 0.5:
        i = rng.choice(swaps)
        changed = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    else:
        i = rng.randrange(1, len(word))
        changed = word[:i] + word[i + 1 :]
    return question[: match.start()] + changed + question[match.end() :]


def _lower_first(question: str) -> str:
    if re.match(r"I\b", question):
        return question  # "I" stays a capital
    return question[:1].lower() + question[1:]


def context(question: str, case_id: str) -> str | None:
    """Personal context that changes nothing about the question, prepended."""
    return _rng(case_id, "context").choice(CONTEXTS) + question


def lowercase(question: str, case_id: str = "") -> str | None:
    """All lowercase, punctuation removed (hyphens and slashes become spaces)."""
    text = _PUNCT.sub("", question.lower().replace("\u2019", "'"))
    text = " ".join(re.sub(r"[-/]", " ", text).split())
    return None if text == question else text


def filler(question: str, case_id: str) -> str | None:
    """A chatty opening ("hey so quick question, ") before the question."""
    return _rng(case_id, "filler").choice(FILLERS) + _lower_first(question)


def _swap(question: str, pairs: list[tuple[str, str]]) -> str | None:
    text = question
    for old, new in pairs:
        pattern = re.compile(rf"\b{re.escape(old)}\b", re.IGNORECASE)

        def keep_case(m: re.Match[str], new: str = new) -> str:
            return new[0].upper() + new[1:] if m.group()[0].isupper() else new

        text = pattern.sub(keep_case, text)
    return None if text == question else text


def contractions(question: str, case_id: str = "") -> str | None:
    """ "do not" -> "don't", "I am" -> "I'm"...; when there is nothing to contract, the
    question's own contractions are expanded instead; ``None`` when neither applies."""
    contracted = _swap(question, list(CONTRACTIONS))
    if contracted is not None:
        return contracted
    expanded = [(short, long) for long, short in CONTRACTIONS if long != "cannot"]
    return _swap(question.replace("\u2019", "'"), expanded)


Perturbation = Callable[[str, str], "str | None"]
PERTURBATIONS: dict[str, Perturbation] = {
    "typo": typo,
    "context": context,
    "lowercase": lowercase,
    "filler": filler,
    "contractions": contractions,
}


def variants(question: str, case_id: str) -> dict[str, str]:
    """Every perturbation that applies, by name (deterministic for a given case id)."""
    out = {}
    for name, perturb in PERTURBATIONS.items():
        variant = perturb(question, case_id)
        if variant is not None and variant != question:
            out[name] = variant
    return out
