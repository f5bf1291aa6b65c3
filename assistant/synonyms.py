"""Search synonyms: runners' words mapped to the words the articles use.

The list lives with the content (``knowledge/synonyms.yml``) and is applied to the keyword
(BM25) query and to sentence matching, never to the dense query, whose model handles
paraphrase on its own. Example::

    synonyms = Synonyms.load(path)
    synonyms.expand("heel raises with a bent knee")  # "... calf raises"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "knowledge" / "synonyms.yml"


@dataclass(frozen=True)
class Synonyms:
    """Phrase patterns, each with the canonical words it adds to a query."""

    rules: tuple[tuple[re.Pattern[str], str], ...] = ()

    @classmethod
    def load(cls, path: Path | None = None) -> Synonyms:
        path = path or DEFAULT_FILE
        if not path.exists():
            return cls()
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"synonyms file {path} is not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError(f"synonyms file {path} must map canonical words to lists")
        rules = []
        for canonical, variants in raw.items():
            if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
                raise ValueError(f"synonyms file {path}: {canonical!r} needs a list of phrases")
            alternatives = "|".join(re.escape(v.lower()) for v in sorted(variants, key=len)[::-1])
            rules.append((re.compile(rf"\b(?:{alternatives})\b"), str(canonical)))
        return cls(tuple(rules))

    def strip(self, text: str) -> str:
        """``text`` without the synonym phrases in it: words the content team has mapped are
        known words, whatever the articles call them."""
        lowered = text.lower()
        for pattern, _ in self.rules:
            lowered = pattern.sub(" ", lowered)
        return lowered

    def expand(self, text: str) -> str:
        """``text`` plus the canonical words of every synonym phrase it contains."""
        lowered = text.lower()
        extra = [canonical for pattern, canonical in self.rules if pattern.search(lowered)]
        return f"{text} {' '.join(extra)}" if extra else text
