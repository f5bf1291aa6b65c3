"""The stored chunk format: the contract between the ingestion path and the answering path.

Ingest (``knowledge/``) writes chunks and answer units in this shape; retrieval and answering
(``assistant/``) read them back. It lives here, below both, so neither path imports the other.

* A chunk's embedded text is ``"<title> > <section>" + HEADER_SEPARATOR + body``.
* Tags are boolean metadata keys (:func:`tag_key`), so Chroma can filter on them.
* Answer units (sentences, list items, headings) live in the collection ``<name> + UNITS_SUFFIX``.
"""

from __future__ import annotations

import re

HEADER_SEPARATOR = "\n\n"
UNITS_SUFFIX = "_units"
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|`)(.+?)\1")


def embed_header(title: str, section_path: tuple[str, ...]) -> str:
    """``"Calf raises > How do I do them?"``: the context embedded with a chunk's body."""
    return " > ".join((title, *section_path))


def body_of(page_content: str) -> str:
    """The passage text without the title/section header that was embedded with it."""
    _, sep, body = page_content.partition(HEADER_SEPARATOR)
    return body if sep else page_content


def tag_key(tag: str) -> str:
    """Metadata key that marks a tag, so Chroma can filter with ``{"tag:x": True}``."""
    return f"tag:{tag.strip().lower()}"


def units_collection(collection: str) -> str:
    """The name of the collection that holds the answer units of ``collection``'s chunks."""
    return collection + UNITS_SUFFIX


def plain(text: str) -> str:
    """Markdown inline markup removed: ``[text](url)`` -> ``text``, ``**b**`` -> ``b``."""
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    return re.sub(r"\s+", " ", text).strip()
