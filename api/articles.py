"""The help articles as served by ``/v1/articles``: metadata plus sanitized HTML.

Articles are loaded from the same recorded sources ingest reads (``knowledge.sources``: the
paths of the last ``help-assistant ingest PATH...``, the synced help centers, or
``ASSISTANT_ARTICLES_DIR`` when nothing was recorded), with the same loaders, so the API shows
exactly what the assistant cites. They are reloaded after a reindex, and when the sources
record changes (an ingest or sync run by the CLI): :meth:`ArticleCatalog.refresh` costs one
``stat`` when nothing changed. Markdown is rendered by markdown-it-py with raw
HTML disabled, then cleaned by nh3 (an allow-list sanitizer): an article can never inject
script into a page that displays it.

Example::

    catalog = ArticleCatalog.for_settings(settings)
    catalog.refresh(settings)  # before serving a request: picks up an ingest run elsewhere
    catalog.get("quadripod-balance").html
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import nh3
from langchain_core.documents import Document

from assistant.settings import Settings
from knowledge.sources import Source, SourceRecord, SourcesError, load_sources, path_sources

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

logger = logging.getLogger("api.articles")


@functools.cache
def _markdown() -> MarkdownIt:
    """The renderer; made (and markdown-it imported: ~0.1 s) on the first article rendered, not
    at the server's start-up, since answering never renders one. No raw HTML from articles (the
    "commonmark" preset would pass it through), tables on."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


_ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img",
    "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}


def safe_url(url: str) -> str:
    """``url`` when it is http(s), else "": a ``javascript:`` or ``data:`` URL from an article's
    metadata must never reach a client that puts it in a link."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in ("http", "https") else ""


def render_html(markdown: str) -> str:
    """Markdown -> HTML that is safe to insert into a page."""
    return nh3.clean(
        _markdown().render(markdown),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    collection: str
    url: str
    updated: str
    tags: list[str]
    summary: str
    markdown: str

    @property
    def html(self) -> str:
        return render_html(self.markdown)


#: What a catalog was loaded from: the articles dirs and the record file's (mtime_ns, size).
_Signature = tuple[tuple[str, ...], tuple[int, int] | None]


def _signature(settings: Settings) -> _Signature:
    try:
        stat = SourceRecord.file(settings.data_dir).stat()
        stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None
    return tuple(str(p) for p in settings.articles_dir), stamp


def _article(doc: Document) -> Article:
    meta = doc.metadata
    return Article(
        article_id=str(meta["article_id"]),
        title=str(meta.get("title") or ""),
        collection=str(meta.get("collection") or ""),
        url=safe_url(str(meta.get("url") or "")),
        updated=str(meta.get("updated") or ""),
        tags=[str(t) for t in meta.get("tags") or []],
        summary=str(meta.get("summary") or ""),
        markdown=doc.page_content,
    )


class ArticleCatalog:
    """Articles by id, in title order."""

    def __init__(self, articles: Iterable[Article]) -> None:
        ordered = sorted(articles, key=lambda a: (a.title.lower(), a.article_id))
        self._by_id = {a.article_id: a for a in ordered}
        self._signature: _Signature | None = None

    @classmethod
    def load(cls, paths: Iterable[Path] | Iterable[Source]) -> ArticleCatalog:
        """The articles of these sources (folders/files, or recorded sources)."""
        sources = [p if isinstance(p, Source) else path_sources([p])[0] for p in paths]
        existing = [s for s in sources if Path(s.path).exists()]
        if not existing:
            return cls([])
        result, _ = load_sources(existing)
        return cls(_article(doc) for doc in result.documents)

    @classmethod
    def for_settings(cls, settings: Settings) -> ArticleCatalog:
        """The articles of the recorded sources (what ingest and reindex read)."""
        signature = _signature(settings)
        record = SourceRecord.read(settings.data_dir)
        catalog = cls.load(record.active(settings.articles_dir))
        catalog._signature = signature
        return catalog

    def reload(self, paths: Iterable[Path] | Settings) -> None:
        """Replace the articles (after a reindex); readers see the old or the new set."""
        fresh = (
            ArticleCatalog.for_settings(paths)
            if isinstance(paths, Settings)
            else ArticleCatalog.load(paths)
        )
        self._by_id, self._signature = fresh._by_id, fresh._signature

    def refresh(self, settings: Settings) -> None:
        """Reload when the sources record changed since this catalog was loaded (or it was
        loaded from bare paths); a broken record keeps the articles served now."""
        if self._signature == _signature(settings):
            return
        try:
            self.reload(settings)
        except SourcesError as exc:
            logger.warning("articles not reloaded: %s", exc)
            self._signature = _signature(settings)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)

    def list(self, collection: str | None = None) -> list[Article]:
        articles = list(self._by_id.values())
        if collection:
            wanted = collection.strip().lower()
            articles = [a for a in articles if a.collection.lower() == wanted]
        return articles
