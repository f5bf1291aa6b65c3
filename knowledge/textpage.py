"""Help-center pages saved as plain text (select-all + copy on an Intercom/Zendesk page).

The copy has no markup, so structure is read from layout: page chrome (skip link, breadcrumb,
author and "Updated ..." lines, the "Did this answer your question?" footer) is recognised by
its position and by the few UI phrases these products print; a short stand-alone line that
introduces a paragraph or list becomes a ``##`` heading; indented "1." / "•" / "-" / "◦" lines
become Markdown lists (nesting follows indentation); a paragraph's wrapped lines are joined.

Intro text (a subtitle under the title, or an opening "In this article ..." paragraph) goes to
the ``summary`` metadata instead of the body. Answer units are cut from chunk bodies only
(``knowledge.ingest.unit_documents``) and ``assistant/`` never reads ``summary``, so an intro
can never become an answer sentence, while the article list still shows it as the blurb.

A table (rows of tab- or 2+-space-separated cells, column labels first) becomes one list item
per row, "- Label: value; Label: value": each row stays one answer unit that keeps its labels,
where a Markdown table's pipes would be joined into one unreadable sentence by the unit splitter.

Hand-written: no maintained library recovers headings and lists from a plain-text copy
(boilerplate removers such as jusText or trafilatura need the HTML).

Example::

    doc = parse_text_page(Path("page.txt").read_text(encoding="utf-8"), "page.txt")
    doc.metadata["title"], doc.metadata["collection"], doc.metadata["format"]  # ..., "text"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from langchain_core.documents import Document

from knowledge.loaders import _document, slugify

_WHEN = r"""(?:today|yesterday|this\ (?:week|month|year)
    | (?:(?:over|about|almost|more\ than|less\ than)\ )?(?:a|an|one|\d+)\ \w+\ ago
    | (?=.*\d)\S+(?:\ \S+){0,3})"""  # last: an absolute date, parsed with _DATE_FORMATS
# Whole lines of page chrome above the article body: product UI text, not topic words.
_HEADER_CHROME = re.compile(
    rf"""skip\ to\ (?:the\ )?(?:main\ )?content | sign\ in | submit\ a\ request | search
    | follow | not\ yet\ followed\ by\ anyone | print | share | \d+\ min(?:ute)?s?\ read
    | written\ by\ .{{1,100}} | .{{1,60}}\ avatars? | (?:last\ )?updated(?:\ on)?:?\ {_WHEN}""",
    re.IGNORECASE | re.VERBOSE,
)
_UPDATED = re.compile(r"(?:last )?updated(?: on)?:? (.+)", re.IGNORECASE)
_DATE_FORMATS = ("%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y")
# The first line of the page footer: it and everything after it (reaction emoji, related
# articles, "Powered by ...") is dropped.
_FOOTER = re.compile(
    r"""did\ this\ answer\ your\ question\b.* | was\ this\ article\ helpful\b.*
    | \d+\ out\ of\ \d+\ found\ this\ helpful | related\ articles? | articles\ in\ this\ section
    | recently\ viewed\ articles? | have\ more\ questions\b.* | return\ to\ top
    | powered\ by\ \w+ | we\ run\ on\ intercom""",
    re.IGNORECASE | re.VERBOSE,
)
_ALL_COLLECTIONS = re.compile(r"all collections\s*(?:[>›»/|]\s*)?(.*)", re.IGNORECASE)
_CRUMB_SEP = re.compile(r"\s+[>›»]\s+")
_ITEM = re.compile(r"\s*(?P<marker>\d{1,3}[.)]|[•◦▪‣·*-])\s+(?P<text>\S.*)")
_CELLS = re.compile(r"\t+|\s{2,}")
_INTRO = re.compile(
    r"(?:in this (?:article|guide|post|page)\b|this (?:article|guide) (?:explains|covers|shows))",
    re.IGNORECASE,
)
# A letter, digit or closing bracket/quote: a line ending in one of these has no final
# punctuation (emoji and symbols at the end are ignored, see _ends_bare).
_BARE_END = re.compile(r"[\w)\]\"'’”]$")
_SHORT = 90  # chars: the longest heading of our articles is 74; a heading is one short line
_SUBTITLE_MAX = 160


@dataclass
class _Block:
    """Consecutive non-blank lines, with the number of blank lines in front of them."""

    gap: int
    lines: list[str]


def parse_text_page(text: str, source: str) -> Document:
    """Parse a saved plain-text help-center page into a Document (``format="text"``).

    ``article_id`` is ``slugify(title)`` (the file stem if the title has no ASCII letters);
    ``url`` and ``tags`` are empty: a text copy does not carry them. Raises ``ValueError``
    when the page has no title or no body.
    """
    lines = [_clean(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    start, collection = _skip_to_title(lines)
    if start is None:
        raise ValueError("no title: the page has no text outside help-center chrome")
    title = lines[start].strip()
    if len(title) > _SUBTITLE_MAX or _ITEM.fullmatch(lines[start]):
        raise ValueError(f"no title: the page starts with a paragraph or list ({title[:40]!r}...)")
    body_start, subtitle, updated = _read_header(lines, start + 1, title)
    footer = (i for i in range(body_start, len(lines)) if _FOOTER.fullmatch(lines[i].strip()))
    blocks = _blocks(lines[body_start : next(footer, None)])
    intro = ""
    if blocks and _INTRO.match(blocks[0].lines[0].strip()):
        intro = " ".join(line.strip() for line in blocks.pop(0).lines)
    body = _to_markdown(blocks)
    if not body.strip():
        raise ValueError("no body: nothing is left after the title and page chrome")
    article_id = slugify(title) or slugify(PurePath(source).stem)
    if not article_id:
        raise ValueError("no article id: neither the title nor the file name gives one")
    return _document(
        body, source, "text", article_id=article_id, title=title, collection=collection,
        url="", updated=updated, tags=[], summary=" ".join(p for p in (subtitle, intro) if p),
    )  # fmt: skip


def _clean(line: str) -> str:
    # Non-breaking and zero-width spaces come with copied web text; they are not content.
    return line.replace("\xa0", " ").replace("\u200b", "").replace("\ufeff", "").rstrip()


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _is_chrome(line: str) -> bool:
    """A header UI line, or a line of emoji only (the reaction row under the feedback line)."""
    s = line.strip()
    return _HEADER_CHROME.fullmatch(s) is not None or bool(s and not re.search(r"\w", s))


def _crumbs(line: str) -> list[str] | None:
    """The items of a breadcrumb line, or None if the line is not a breadcrumb."""
    s = line.strip()
    match = _ALL_COLLECTIONS.fullmatch(s)
    if match:  # Intercom: "All CollectionsBilling" (copied without a gap) or "All Collections > X"
        return [c for c in _CRUMB_SEP.split(match.group(1)) if c.strip()]
    parts = _CRUMB_SEP.split(s)
    return parts if len(parts) > 1 and all(len(p) <= 60 for p in parts) else None


def _skip_to_title(lines: list[str]) -> tuple[int | None, str]:
    """Index of the title line, and the collection from a breadcrumb above it.

    The title is the line printed twice (Intercom prints the trail's last item and the page
    heading), else the first non-chrome line after the breadcrumb, else the first real line.
    """
    filled = [i for i, line in enumerate(lines) if line.strip()]
    text = [lines[i].strip() for i in filled] + ["", ""]
    start, collection = 0, ""
    for pos, i in enumerate(filled[:8]):  # the header is a few short lines at the top
        s, nxt, after = text[pos : pos + 3]
        if _same(s, nxt):
            return i, collection
        if len(s) > 100 or s[-1] in ".!?":
            break  # a sentence: the body has begun
        crumbs = None if _is_chrome(s) else _crumbs(s)
        if crumbs is None:
            continue
        start, following = i + 1, nxt
        if not crumbs and nxt and not _same(nxt, after):  # "All Collections", then "Billing"
            crumbs, start, following = [nxt], filled[pos + 1] + 1, after
        named = [c.strip() for c in crumbs if not _same(c, following)]  # trail ends at the page
        collection = named[-1] if named else ""
        break
    chrome = (_is_chrome(lines[i]) or _FOOTER.fullmatch(lines[i].strip()) for i in filled)
    title = next((i for i, bad in zip(filled, chrome, strict=True) if i >= start and not bad), None)
    return title, collection


def _read_header(lines: list[str], i: int, title: str) -> tuple[int, str, str]:
    """Skip the header under the title; return where the body starts, the subtitle, updated."""
    subtitle: list[str] = []
    updated = ""
    seen_blank = False
    while i < len(lines):
        s = lines[i].strip()
        if not s:
            seen_blank = True
        elif _same(s, title):
            pass  # the title printed twice (breadcrumb tail and page heading)
        elif _is_chrome(s) or _is_author_before_chrome(lines, i):
            updated = updated or _iso_updated(s)
        elif (
            len(s) <= _SUBTITLE_MAX
            and not _ITEM.fullmatch(lines[i])
            and (not seen_blank or _is_chrome(next((t for t in lines[i + 1 :] if t.strip()), "")))
        ):
            subtitle.append(s)
        else:
            break
        i += 1
    return i, " ".join(subtitle), updated


def _is_author_before_chrome(lines: list[str], i: int) -> bool:
    """Zendesk prints the author's bare name ("Sam Lee") right above the "Updated" line."""
    words = lines[i].split()
    return (
        1 <= len(words) <= 3
        and all(w[:1].isupper() and w.isalpha() for w in words)
        and i + 1 < len(lines)
        and _UPDATED.fullmatch(lines[i + 1].strip()) is not None
    )


def _iso_updated(line: str) -> str:
    """An ISO date from an absolute "Updated <date>" line.

    Relative dates ("Updated over 2 weeks ago", "Updated yesterday") give "": a text copy does
    not say when it was copied, so there is nothing reliable to count back from.
    """
    match = _UPDATED.fullmatch(line)
    when = match.group(1).strip() if match else ""
    for fmt in _DATE_FORMATS if when else ():
        try:
            return datetime.strptime(when, fmt).date().isoformat()
        except ValueError:
            continue
    return ""


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    gap = 0
    for line in lines:
        if not line.strip():
            gap += 1
        elif blocks and gap == 0:
            blocks[-1].lines.append(line)
        else:
            blocks.append(_Block(gap, [line]))
            gap = 0
    return blocks


def _indent(line: str) -> int:
    return len(line[: len(line) - len(line.lstrip())].expandtabs(4))


def _ends_bare(text: str) -> bool:
    """True if ``text`` has no final punctuation (., !, ?, :, ;, ,), trailing emoji ignored."""
    core = re.sub(r"[^\w.!?:;,)\]\"'’”]+$", "", text)
    return bool(core) and _BARE_END.search(core) is not None


def _table(block: _Block) -> list[str] | None:
    """A table block as "- Label: value; ..." lines, or None if ``block`` is not a table."""
    rows = [_CELLS.split(line.strip()) for line in block.lines]
    width = len(rows[0])
    if len(rows) < 2 or width < 2 or any(len(r) != width for r in rows):
        return None
    if any(len(cell) > 80 for row in rows for cell in row) or _ITEM.fullmatch(block.lines[0]):
        return None
    labels = rows[0]
    return ["- " + "; ".join(f"{lab}: {val}" for lab, val in zip(labels, r, strict=True))
            for r in rows[1:]]  # fmt: skip


def _is_heading(block: _Block, index: int, blocks: list[_Block]) -> bool:
    """One short unindented line that introduces the block after it.

    Without final punctuation it is a heading; a question ("How do I pause my plan?") is one
    when a section gap (2+ blank lines, as the copy prints before a heading) or the start of
    the body sets it apart, since FAQ pages phrase their headings as questions.
    """
    if len(block.lines) != 1 or index + 1 >= len(blocks):
        return False
    line = block.lines[0]
    s = line.strip()
    if len(s) > _SHORT or _indent(line) > 1 or _ITEM.fullmatch(line) or _CELLS.search(s):
        return False
    if _ends_bare(s):
        return True
    return s.endswith("?") and (block.gap >= 2 or index == 0)


def _to_markdown(blocks: list[_Block]) -> str:
    out: list[list[str]] = []
    stack: list[int] = []  # effective indents of the open list levels; empty: not in a list
    for index, block in enumerate(blocks):
        rows = _table(block)
        if rows is not None:
            out.append(rows)
            stack = []
            continue
        if _is_heading(block, index, blocks):
            out.append([f"## {block.lines[0].strip()}"])
            stack = []
            continue
        prose: list[str] = []
        for n, line in enumerate(block.lines):
            item = _ITEM.fullmatch(line)
            if item:
                if prose:
                    out.append([" ".join(prose)])
                    prose = []
                opened = bool(stack)  # out[-1] is the open list
                # "◦" is the nested bullet glyph; count it one deeper than "•" at the same indent
                where = _indent(line) + (item["marker"] in "◦▪‣")
                while stack and stack[-1] > where:
                    stack.pop()
                if not stack or stack[-1] < where:
                    stack.append(where)
                marker = item["marker"] if item["marker"][0].isdigit() else "-"
                entry = "    " * (len(stack) - 1) + f"{marker} {item['text'].strip()}"
                if opened:
                    out[-1].append(entry)
                else:
                    out.append([entry])
            elif stack and (n > 0 or _indent(line) >= 2):
                out[-1][-1] += " " + line.strip()  # a wrapped or indented list-item line
            else:
                stack = []
                prose.append(line.strip())
        if prose:
            out.append([" ".join(prose)])
    return "\n\n".join("\n".join(lines) for lines in out)
