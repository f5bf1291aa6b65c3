"""The one article ``Document`` shape every loader produces, and the field readers they share.

Loaders (``knowledge.loaders`` for files, ``knowledge.exports`` for help-center exports) build
documents with :func:`make_document`, report broken input by raising :class:`Reject` and
unpublished input by raising :class:`Skip`; both messages become a :class:`Rejection` reason.

Example::

    try:
        doc = make_document(body, "a.md", "markdown", article_id="a", title="A", collection="",
                            url="", updated="", tags=[], summary="")
    except Reject as exc:
        print("rejected:", exc)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from langchain_core.documents import Document

METADATA_KEYS = ("article_id", "title", "collection", "url", "updated", "tags", "summary",
                 "source", "format")  # fmt: skip
#: The locale indexed when a source names none (the assistant answers in English).
DEFAULT_LOCALE = "en-us"


@dataclass(frozen=True)
class Rejection:
    """An input that produced no document, and why."""

    path: str
    reason: str


@dataclass
class LoadResult:
    """Documents loaded, inputs rejected (broken) or skipped (drafts...), files looked at."""

    documents: list[Document] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[Rejection] = field(default_factory=list)
    files_seen: int = 0

    def extend(self, other: LoadResult) -> None:
        self.files_seen += other.files_seen
        self.documents += other.documents
        self.rejected += other.rejected
        self.skipped += other.skipped


class Reject(Exception):
    """Broken input; the message is the Rejection reason."""


class Skip(Exception):
    """Not published, restricted or in another locale; the message is the skip reason."""


def kind_of(value: object) -> str:
    """The JSON/YAML name of a value's type, for error messages."""
    names = {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null",
             int: "number", float: "number", date: "date", datetime: "timestamp"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def text_field(meta: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    """A string field, stripped; "" when absent unless ``required``."""
    value = meta.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Reject(f"{where}missing field '{key}'")
        return ""
    if not isinstance(value, str):
        raise Reject(f"{where}field '{key}' must be a string, got {kind_of(value)}")
    return value.strip()


def tags_field(value: object, where: str, key: str = "tags") -> list[str]:
    """Tags as a list of strings: a list, a comma-separated string, objects with a name
    (``[{"name": "ankle"}]``) or Intercom's ``{"type": "tag.list", "tags": [...]}``."""
    if value is None:
        return []
    if isinstance(value, dict) and isinstance(value.get("tags", value.get("data")), list):
        value = value.get("tags", value.get("data"))
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, list):
        items = [t.get("name") if isinstance(t, dict) else t for t in items]
    if not isinstance(items, list) or not all(isinstance(t, str | int) for t in items):
        raise Reject(f"{where}field '{key}' must be a list or a comma-separated string")
    return list(dict.fromkeys(str(t).strip() for t in items if str(t).strip()))


def iso_field(value: object, where: str = "", *, strict: bool = False) -> str:
    """ISO date/timestamp as found (YAML dates converted); "" if absent or (lenient) unusable."""
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, str) and value.strip():
        try:
            datetime.fromisoformat(value.strip())
            return value.strip()
        except ValueError:
            pass
    if strict and value not in (None, ""):
        raise Reject(f"{where}field 'updated' is not an ISO date: {value!r}")
    return ""


def make_document(body: str, source: str, fmt: str, **meta: Any) -> Document:
    """The Document with exactly :data:`METADATA_KEYS`; an empty body is a rejection."""
    if not body.strip():
        raise Reject("empty article body")
    meta.update(source=source, format=fmt)
    return Document(page_content=body.strip(), metadata={k: meta[k] for k in METADATA_KEYS})


def normalise_locale(locale: object) -> str:
    """``"en_US"`` -> ``"en-us"``; "" for anything that is not a non-empty string."""
    return locale.strip().lower().replace("_", "-") if isinstance(locale, str) else ""


def locale_matches(found: str, wanted: str) -> bool:
    """Whether an article in locale ``found`` belongs to an index of locale ``wanted``.

    Equal locales match, and so do a bare language and a regional form of it ("en" and
    "en-us"); two different regions ("en-gb", "en-us") do not.
    """
    found, wanted = normalise_locale(found), normalise_locale(wanted)
    if not found or not wanted or found == wanted:
        return True
    if "-" in found and "-" in wanted:
        return False
    return found.split("-")[0] == wanted.split("-")[0]
