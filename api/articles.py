"""The help articles as served by ``/v1/articles``: metadata plus sanitized HTML.

Articles are loaded once (at startup and after a reindex) with the same loaders ingest uses, so
the API shows exactly what the assistant cites. Markdown is rendered by markdown-it-py with raw
HTML disabled, then cleaned by nh3 (an allow-list sanitizer): an article can never inject
script into a page that displays it.

Example::

    catalog = ArticleCatalog.load([Path("knowledge/articles")])
    catalog.get("quadripod-balance").html
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

from knowledge.loaders import load_paths

# No raw HTML from articles (the "commonmark" preset would pass it through), tables on.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
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
        _MARKDOWN.render(markdown),
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


class ArticleCatalog:
    """Articles by id, in title order."""

    def __init__(self, articles: Iterable[Article]) -> None:
        ordered = sorted(articles, key=lambda a: (a.title.lower(), a.article_id))
        self._by_id = {a.article_id: a for a in ordered}

    @classmethod
    def load(cls, paths: Iterable[Path]) -> ArticleCatalog:
        existing = [p for p in paths if Path(p).exists()]
        if not existing:
            return cls([])
        result = load_paths(existing)
        return cls(
            Article(
                article_id=str(doc.metadata["article_id"]),
                title=str(doc.metadata.get("title") or ""),
                collection=str(doc.metadata.get("collection") or ""),
                url=safe_url(str(doc.metadata.get("url") or "")),
                updated=str(doc.metadata.get("updated") or ""),
                tags=[str(t) for t in doc.metadata.get("tags") or []],
                summary=str(doc.metadata.get("summary") or ""),
                markdown=doc.page_content,
            )
            for doc in result.documents
        )

    def reload(self, paths: Iterable[Path]) -> None:
        """Replace the articles (after a reindex); readers see the old or the new set."""
        self._by_id = ArticleCatalog.load(paths)._by_id

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
