"""The knowledge bases cases are evaluated against (a case's ``kb`` field names one).

``runners`` is our own help center; ``app-help-center`` is a running app's help center indexed
together with our articles, so a question about the app must find the app's article among
ours (and a question about barefoot running must still find ours). Each knowledge base is
ingested into its own data directory.

Example::

    kb = KBS["app-help-center"]
    settings = kb.settings(base, data_root=Path(".data/eval"))
    run_ingest(settings, embeddings)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from assistant.settings import Settings
    from knowledge.ingest import IngestReport

ROOT = Path(__file__).resolve().parents[1]
RUNNERS_ARTICLES = ROOT / "knowledge" / "articles"
RUNNERS_SYNONYMS = ROOT / "knowledge" / "synonyms.yml"
APP_DIR = ROOT / "eval" / "kb" / "app-help-center"


@dataclass(frozen=True)
class KnowledgeBase:
    """Article folders indexed together, and the synonyms file searched with them."""

    name: str
    articles: tuple[Path, ...]
    synonyms: Path | None = None

    def present(self) -> list[Path]:
        """The article folders that exist and hold at least one file (others are skipped)."""
        return [p for p in self.articles if p.is_dir() and any(p.iterdir())]

    def synonyms_file(self) -> Path:
        """The KB's synonyms, or ours while its own file does not exist yet."""
        return self.synonyms if self.synonyms and self.synonyms.is_file() else RUNNERS_SYNONYMS

    def settings(self, base: Settings, data_root: Path) -> Settings:
        """``base`` pointed at this KB: its own data dir, article folders and synonyms."""
        return base.model_copy(update={
            "data_dir": data_root / self.name,
            "articles_dir": self.present(),
            "synonyms_file": self.synonyms_file(),
        })  # fmt: skip


KBS: dict[str, KnowledgeBase] = {
    kb.name: kb
    for kb in (
        KnowledgeBase("runners", (RUNNERS_ARTICLES,), RUNNERS_SYNONYMS),
        KnowledgeBase("app-help-center", (APP_DIR / "articles", RUNNERS_ARTICLES),
                      APP_DIR / "synonyms.yml"),  # fmt: skip
    )
}


def resolve_kbs(
    names: Sequence[str], registry: Mapping[str, KnowledgeBase] = KBS
) -> dict[str, KnowledgeBase]:
    """The registry entries for ``names``; an unknown name raises a ``ValueError``."""
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(
            f"unknown knowledge base {', '.join(unknown)}; supported: {', '.join(registry)}"
        )
    return {n: registry[n] for n in names}


def ingest(settings: Settings, embeddings: Embeddings) -> IngestReport:
    """Bring one KB's index in step with its articles (incremental: a no-op when unchanged)."""
    from knowledge.ingest import run_ingest

    return run_ingest(settings, embeddings)
