"""HTML -> Markdown for help-center content: saved pages (with chrome) and API article bodies.

One converter serves every HTML source so the Markdown looks the same whether an article came
from a saved page, an Intercom export or a Zendesk export: ``##`` headings, ``-`` bullets,
``1.`` numbered lists, ``[text](url)`` links and ``**bold**``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString, Tag
from markdownify import ATX, MarkdownConverter

# Never content: dropped from saved pages and API bodies alike.
_NOISE_TAGS = (
    "head", "title", "meta", "link", "script", "style", "noscript", "template", "iframe",
    "object", "embed", "svg", "canvas", "img", "picture", "video", "audio", "source",
    "button", "input", "select", "textarea", "form",
)  # fmt: skip
# Page furniture around the article on a saved page.
_CHROME_TAGS = ("nav", "header", "footer", "aside", "dialog")
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog"}
# class/id/aria-label words that mark widgets rather than article text
_CHROME_WORDS = {
    "breadcrumb", "breadcrumbs", "cookie", "cookies", "consent", "gdpr", "reaction",
    "reactions", "feedback", "related", "relatives", "avatar", "author", "authors", "skip",
    "share", "social", "vote", "votes", "rating", "toolbar",
}  # fmt: skip
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_WHEN = rf"""(?:yesterday|today
    | (?:(?:over|about|almost|more\ than|less\ than)\ )?(?:a|an|one|\d+)\ \w+\ ago
    | \d{{4}}-\d\d-\d\d\S* | \d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}
    | (?:\w+,?\ )?{_MONTH}\ \d{{1,2}}(?:,?\ \d{{4}})? | \d{{1,2}}\ {_MONTH}(?:\ \d{{4}})?)"""
# The whole (short) text of a standalone block that is page chrome.
_CHROME_TEXT = re.compile(
    rf"""skip\ to\ (?:the\ )?(?:main\ )?content
    | written\ by\ [^.!?]{{1,80}} | [^.!?]{{1,60}}\ avatar
    | (?:last\ )?updated(?:\ on)?:?\ {_WHEN}(?:\ {_WHEN})?
    | did\ this\ answer\ your\ question\b.* | was\ this\ article\ helpful\b.*
    | \d+\ out\ of\ \d+\ found\ this\ helpful | related\ articles? | recently\ viewed\ articles?
    | have\ more\ questions\b.* | return\ to\ top
    | (?:we|this\ (?:site|website))\ uses?\ cookies\b.*""",
    re.IGNORECASE | re.VERBOSE,
)
_CHROME_TEXT_MAX = 160
_BLOCKS = {
    "address", "article", "blockquote", "dd", "div", "dl", "dt", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "li", "main", "ol", "p", "pre", "section", "table", "ul",
}  # fmt: skip
_KEEP = {"html", "body", "main", "article"}
_SUBHEADINGS, _LISTS = {"h2", "h3", "h4", "h5", "h6"}, {"ul", "ol"}
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass
class HtmlPage:
    """What a saved help-center page says about itself, plus its body as Markdown."""

    title: str = ""
    url: str = ""
    article_id: str = ""
    collection: str = ""
    updated: str = ""
    tags: list[str] = field(default_factory=list)
    summary: str = ""
    body: str = ""


def _text(tag: Tag | None) -> str:
    return " ".join(tag.get_text(" ").split()) if tag is not None else ""


def _attr(tag: Tag | None, name: str) -> str:
    value = tag.get(name) if tag is not None else None
    if isinstance(value, list):
        value = " ".join(value)
    return (value or "").strip()


def _words(tag: Tag) -> set[str]:
    raw = " ".join(_attr(tag, name) for name in ("class", "id", "aria-label"))
    return set(re.split(r"[^a-z0-9]+", raw.lower()))


def _meta(soup: BeautifulSoup, key: str, value: str) -> str:
    return _attr(soup.find("meta", attrs={key: value}), "content")


def _standalone(tag: Tag) -> bool:
    """A block, or an inline element that is not part of a sentence around it."""
    if tag.name in _BLOCKS or tag.parent is None:
        return True
    return not any(
        isinstance(node, NavigableString) and node.strip()
        for node in tag.parent.children
        if node is not tag
    )


def _is_chrome(tag: Tag) -> bool:
    if tag.name in _KEEP:
        return False
    if tag.name in _CHROME_TAGS or _attr(tag, "role").lower() in _CHROME_ROLES:
        return True
    if _words(tag) & _CHROME_WORDS:
        return True
    if tag.find(_BLOCKS) is not None or not _standalone(tag):
        return False  # only leaf blocks and lone inline bits are judged by their text
    text = _text(tag)
    return len(text) <= _CHROME_TEXT_MAX and _CHROME_TEXT.fullmatch(text) is not None


def _strip_chrome(root: Tag) -> None:
    for tag in list(root.find_all(True)):
        if tag.decomposed or not _is_chrome(tag):
            continue
        following = tag.find_next_sibling()
        if tag.name in _SUBHEADINGS and following is not None and following.name in _LISTS:
            following.decompose()  # the list under a "Related articles" heading
        tag.decompose()


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _to_markdown(root: Tag, *, base_url: str, title: str, chrome: bool) -> str:
    for tag in list(root.find_all(_NOISE_TAGS)):
        if not tag.decomposed:
            tag.decompose()
    for tag in list(root.find_all(True, attrs={"aria-hidden": "true"})):
        tag.decompose()
    if chrome:
        _strip_chrome(root)
    for h1 in root.find_all("h1"):
        if title and _same(_text(h1), title):
            h1.decompose()  # the title is metadata, not body
        else:
            h1.name = "h2"
    for link in root.find_all("a"):
        href = _attr(link, "href")
        if not href or href.startswith(("#", "javascript:")):
            link.unwrap()
        elif base_url:
            link["href"] = urljoin(base_url, href)
    converter = MarkdownConverter(
        heading_style=ATX,
        bullets="-",
        autolinks=False,
        escape_asterisks=False,
        escape_underscores=False,
    )
    markdown = converter.convert_soup(root)
    lines = [line.rstrip() for line in markdown.replace("\xa0", " ").splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_markdown(html: str, *, base_url: str = "", title: str = "") -> str:
    """Convert an article body (an API export's HTML) to Markdown; an H1 equal to ``title``
    is dropped, relative links are resolved against ``base_url``."""
    soup = BeautifulSoup(html, "html.parser")
    return _to_markdown(soup, base_url=base_url, title=title, chrome=False)


def _breadcrumb_tail(soup: BeautifulSoup, title: str) -> str:
    def is_trail(tag: Tag) -> bool:
        marked = _words(tag) & {"breadcrumb", "breadcrumbs"}
        return bool(marked) or "BreadcrumbList" in _attr(tag, "itemtype")

    trail = soup.find(is_trail)
    if trail is None:
        return ""
    items = [_text(t) for t in trail.find_all("li")] or [_text(t) for t in trail.find_all("a")]
    items = [item for item in items if item and not _same(item, title)]
    return items[-1] if items else ""


def parse_help_page(html: str) -> HtmlPage:
    """Read metadata from a saved help-center page and convert its article to Markdown."""
    soup = BeautifulSoup(html, "html.parser")
    title = _text(soup.find("h1")) or _text(soup.find("title")).split(" | ")[0].strip()
    canonical = soup.find("link", rel="canonical")
    url = _attr(canonical, "href") or _meta(soup, "property", "og:url")
    time_tag = soup.find("time", datetime=True)
    page = HtmlPage(
        title=title,
        url=url,
        article_id=_meta(soup, "name", "article-id"),
        collection=_meta(soup, "name", "collection") or _breadcrumb_tail(soup, title),
        updated=_meta(soup, "property", "article:modified_time") or _attr(time_tag, "datetime"),
        tags=[t.strip() for t in _meta(soup, "name", "keywords").split(",") if t.strip()],
        summary=_meta(soup, "name", "description"),
    )
    root = soup.find("article") or soup.find("main") or soup.body or soup
    page.body = _to_markdown(root, base_url=url, title=title, chrome=True)
    return page
