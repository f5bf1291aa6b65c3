"""Split a passage into answer units: sentences of paragraphs, and whole list items.

The extractive answerer composes replies from these units, and their vectors are computed at
ingest time (see :mod:`knowledge.ingest`) so that answering a question embeds only the question.
A small rule-based splitter is enough here: the articles are our own, written in complete
sentences; NLTK's punkt would need a data download that is not possible offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.chunks import plain

_LIST_ITEM = re.compile(r"^\s*(?P<marker>[-*+]|\d{1,3}[.)])\s+(?P<text>.+)$")
# A sentence ends at . ! or ? (optionally closed by a quote or bracket) followed by space and an
# upper-case letter, digit or quote. Common abbreviations are protected below.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "min.", "sec.", "Dr.", "St.")


@dataclass(frozen=True)
class Unit:
    """One extractable piece of a passage, in reading order."""

    index: int
    text: str  # plain text (links and emphasis removed)
    kind: str  # "sentence" | "item"
    marker: str  # "1." / "-" for list items, "" for sentences
    paragraph: int  # units with the same paragraph number belong to one paragraph or list


def split_sentences(paragraph: str) -> list[str]:
    protected = paragraph
    for i, abbr in enumerate(_ABBREVIATIONS):
        protected = protected.replace(abbr, f"\x00{i}\x00")
    parts = _SENTENCE_END.split(protected)
    out = []
    for part in parts:
        for i, abbr in enumerate(_ABBREVIATIONS):
            part = part.replace(f"\x00{i}\x00", abbr)
        if part.strip():
            out.append(part.strip())
    return out


def _flush(prose: list[str], units: list[Unit], paragraph: int) -> None:
    """Turn the pending prose lines into sentence units."""
    if prose:
        for sentence in split_sentences(plain(" ".join(prose))):
            units.append(Unit(len(units), sentence, "sentence", "", paragraph))
        prose.clear()


def split_units(body: str) -> list[Unit]:
    """Units of a Markdown passage body; headings and code fences are not answer material."""
    units: list[Unit] = []
    paragraph = 0
    in_fence = False
    for block in re.split(r"\n\s*\n", body):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        paragraph += 1
        prose: list[str] = []

        for line in lines:
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
                continue
            if in_fence or line.lstrip().startswith("#") or set(line.strip()) <= {"-", "*", "_"}:
                continue
            match = _LIST_ITEM.match(line)
            if match:
                _flush(prose, units, paragraph)
                text = plain(match.group("text"))
                if text:
                    units.append(Unit(len(units), text, "item", match.group("marker"), paragraph))
            elif units and units[-1].kind == "item" and line.startswith((" ", "\t")) and not prose:
                # continuation line of a list item
                last = units[-1]
                units[-1] = Unit(
                    last.index, f"{last.text} {plain(line)}", "item", last.marker, last.paragraph
                )
            else:
                prose.append(line.strip())
        _flush(prose, units, paragraph)
    return units
