"""Load help-center articles from four formats into one LangChain ``Document`` shape.

Formats: Markdown with YAML front matter, a saved help-center HTML page, an Intercom Articles
API export and a Zendesk Help Center articles export (both ``.json``). Every Document has the
same metadata keys (see ``METADATA_KEYS``). Broken input never raises: it is reported as a
``Rejection``; drafts and unpublished articles are reported as skipped.

Example::

    result = load_paths(["knowledge/articles"])
    for bad in result.rejected:
        print(bad.path, bad.reason)
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml
from langchain_core.documents import Document

from knowledge.html import html_to_markdown, parse_help_page

_SUFFIXES = (".md", ".markdown", ".html", ".htm", ".json")
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_SUFFIXES)
METADATA_KEYS = ("article_id", "title", "collection", "url", "updated", "tags", "summary",
                 "source", "format")  # fmt: skip
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_ATX_H1 = re.compile(r"#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")
_UNRECOGNISED = "unrecognised JSON export (expected an Intercom or Zendesk articles export)"


@dataclass(frozen=True)
class Rejection:
    """An input that produced no document, and why."""

    path: str
    reason: str


@dataclass
class LoadResult:
    """Documents loaded, inputs rejected (broken) or skipped (drafts), files looked at."""

    documents: list[Document] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[Rejection] = field(default_factory=list)
    files_seen: int = 0


class _Reject(Exception):
    """Broken input; the message is the Rejection reason."""


class _Skip(Exception):
    """Not published; the message is the skip reason."""


def _kind(value: object) -> str:
    names = {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null",
             int: "number", float: "number", date: "date", datetime: "timestamp"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _text(meta: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = meta.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Reject(f"{where}missing field '{key}'")
        return ""
    if not isinstance(value, str):
        raise _Reject(f"{where}field '{key}' must be a string, got {_kind(value)}")
    return value.strip()


def _tags(value: object, where: str, key: str = "tags") -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str | int) for t in items):
        raise _Reject(f"{where}field '{key}' must be a list or a comma-separated string")
    return list(dict.fromkeys(str(t).strip() for t in items if str(t).strip()))


def _iso(value: object, where: str = "", *, strict: bool = False) -> str:
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
        raise _Reject(f"{where}field 'updated' is not an ISO date: {value!r}")
    return ""


def slugify(text: str) -> str:
    """A valid article id from free text: lowercase ASCII, digits, '.', '_' and '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9._-]+", "-", ascii_text.lower()).strip("-._")[:128].rstrip("-._")


def _document(body: str, source: str, fmt: str, **meta: Any) -> Document:
    if not body.strip():
        raise _Reject("empty article body")
    meta.update(source=source, format=fmt)
    return Document(page_content=body.strip(), metadata={k: meta[k] for k in METADATA_KEYS})


def _decode(data: bytes) -> str:
    if not data.strip():
        raise _Reject("empty file")
    if b"\x00" in data:
        raise _Reject("binary file")
    bom = len(b"\xef\xbb\xbf") if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[bom + exc.start]
        raise _Reject(f"not valid UTF-8 (byte 0x{bad:02x} at offset {bom + exc.start})") from None
    if not text.strip():
        raise _Reject("empty file")
    return text.replace("\r\n", "\n")


def _split_front_matter(text: str) -> tuple[str, str]:
    lines = text.lstrip().splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise _Reject("front matter: missing (the file must start with a '---' YAML block)")
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            return "".join(lines[1:end]), "".join(lines[end + 1 :])
    raise _Reject("front matter: no closing '---' line")


def _from_markdown(text: str, source: str) -> Document:
    fm, body = _split_front_matter(text)
    try:
        meta = yaml.safe_load(fm)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot parse"
        raise _Reject(f"front matter: invalid YAML ({problem}{where})") from None
    if not isinstance(meta, dict):
        raise _Reject(f"front matter: expected a mapping of fields, got {_kind(meta)}")
    status = str(meta.get("status") or "").strip().lower()
    if meta.get("draft") is True or status in ("draft", "unpublished"):
        raise _Skip(status or "draft")
    where = "front matter: "
    raw_id = meta.get("id")
    article_id = str(raw_id) if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    article_id = article_id or _text(meta, "id", where, required=True)
    if not _ID_RE.match(article_id):
        raise _Reject(
            f"{where}invalid id {article_id!r} (use lowercase letters, digits, '.', '_', '-')"
        )
    title = _text(meta, "title", where, required=True)
    first, _, rest = body.lstrip().partition("\n")
    heading = _ATX_H1.fullmatch(first.strip())
    if heading and " ".join(heading.group(1).split()).casefold() == title.casefold():
        body = rest
    return _document(
        body, source, "markdown", article_id=article_id, title=title,
        collection=_text(meta, "collection", where), url=_text(meta, "url", where),
        updated=_iso(meta.get("updated"), where, strict=True),
        tags=_tags(meta.get("tags"), where), summary=_text(meta, "summary", where),
    )  # fmt: skip


def _from_html(text: str, path: Path) -> Document:
    page = parse_help_page(text)
    if not page.title:
        raise _Reject("no title found (expected an <h1> or a <title>)")
    url_slug = PurePosixPath(urlsplit(page.url).path).name
    url_slug = re.sub(r"\.html?$", "", url_slug)
    article_id = page.article_id if _ID_RE.match(page.article_id) else slugify(page.article_id)
    article_id = article_id or slugify(url_slug) or slugify(path.stem)
    if not article_id:
        raise _Reject("cannot derive an article id (no article-id meta, url or usable file name)")
    return _document(
        page.body, path.as_posix(), "html", article_id=article_id, title=page.title,
        collection=page.collection, url=page.url, updated=_iso(page.updated),
        tags=page.tags, summary=page.summary,
    )  # fmt: skip


def _from_intercom(item: dict[str, Any], raw_id: str, source: str) -> Document:
    if item.get("type", "article") != "article":
        raise _Reject(f"not an article (type {item.get('type')!r})")
    state = item.get("state", "published")  # exports without a state hold published articles
    if state != "published":
        raise _Skip(str(state))
    title = _text(item, "title", "", required=True)
    url = _text(item, "url", "")
    stamp = item.get("updated_at")  # unix seconds; an ISO string is accepted too
    updated = _iso(stamp)
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        try:
            updated = datetime.fromtimestamp(stamp, tz=UTC).date().isoformat()
        except (OverflowError, OSError, ValueError):
            updated = ""
    return _document(
        html_to_markdown(_text(item, "body", "", required=True), base_url=url, title=title),
        source, "intercom", article_id=f"intercom-{raw_id}", title=title,
        collection=_text(item, "collection", "") or _text(item, "parent_name", ""), url=url,
        updated=updated, tags=_tags(item.get("tags"), ""),
        summary=_text(item, "description", ""),
    )  # fmt: skip


def _from_zendesk(item: dict[str, Any], raw_id: str, source: str) -> Document:
    if item.get("draft") is True:
        raise _Skip("draft")
    title = _text(item, "title", "", required=True)
    url = _text(item, "html_url", "")
    return _document(
        html_to_markdown(_text(item, "body", "", required=True), base_url=url, title=title),
        source, "zendesk", article_id=f"zendesk-{raw_id}", title=title,
        collection=_text(item, "section_name", ""), url=url, updated=_iso(item.get("updated_at")),
        tags=_tags(item.get("label_names"), "", "label_names"), summary="",
    )  # fmt: skip


_Parser = Callable[[dict[str, Any], str, str], Document]


def _detect_export(data: object) -> tuple[_Parser, list[Any]]:
    if isinstance(data, dict):
        if "articles" in data:
            parser, key = _from_zendesk, "articles"
        elif data.get("type") == "list" or "data" in data:
            parser, key = _from_intercom, "data"
        else:
            raise _Reject(_UNRECOGNISED)
        if not isinstance(data.get(key), list):
            raise _Reject(f"{_UNRECOGNISED}: '{key}' is not a list")
        items: list[Any] = data[key]
    elif isinstance(data, list) and not data:
        raise _Reject("export holds no articles")
    elif isinstance(data, list):
        items = data
        dicts = [item for item in data if isinstance(item, dict)]
        if any(k in d for d in dicts for k in ("html_url", "label_names", "draft")):
            parser = _from_zendesk
        elif any(d.get("type") == "article" or "state" in d for d in dicts):
            parser = _from_intercom
        else:
            raise _Reject(_UNRECOGNISED)
    else:
        raise _Reject(f"{_UNRECOGNISED}, got a JSON {_kind(data)}")
    if not items:
        raise _Reject("export holds no articles")
    return parser, items


def _load_export(text: str, name: str, result: LoadResult) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Reject(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    parser, items = _detect_export(data)
    for index, item in enumerate(items):
        raw_id = str(index)
        try:
            if not isinstance(item, dict):
                raise _Reject(f"article is not an object (got {_kind(item)})")
            ident = item.get("id")
            if (
                isinstance(ident, bool)
                or not isinstance(ident, int | str)
                or not str(ident).strip()
            ):
                raise _Reject("missing field 'id'")
            raw_id = str(ident).strip()
            result.documents.append(parser(item, raw_id, f"{name}#{raw_id}"))
        except _Skip as exc:
            result.skipped.append(Rejection(f"{name}#{raw_id}", str(exc)))
        except _Reject as exc:
            result.rejected.append(Rejection(f"{name}#{index}", str(exc)))


def _dedupe(result: LoadResult) -> LoadResult:
    """Keep the first document per article_id; later ones become rejections."""
    first: dict[str, str] = {}
    kept = []
    for doc in result.documents:
        article_id, source = doc.metadata["article_id"], doc.metadata["source"]
        if article_id in first:
            reason = f"duplicate article id '{article_id}' (first seen in {first[article_id]})"
            result.rejected.append(Rejection(source, reason))
        else:
            first[article_id] = source
            kept.append(doc)
    result.documents = kept
    return result


def load_file(path: Path) -> LoadResult:
    """Load one file (a Markdown or HTML article, or a JSON export of many)."""
    path = Path(path)
    name, suffix = path.as_posix(), path.suffix.lower()
    result = LoadResult(files_seen=1)
    try:
        if suffix not in SUPPORTED_SUFFIXES:
            raise _Reject(
                f"unknown format '{suffix or path.name}' (supported: {', '.join(_SUFFIXES)})"
            )
        try:
            text = _decode(path.read_bytes())
        except OSError as exc:
            raise _Reject(f"cannot read file: {exc.strerror or exc}") from None
        if suffix == ".json":
            _load_export(text, name, result)
        elif suffix in (".html", ".htm"):
            result.documents.append(_from_html(text, path))
        else:
            result.documents.append(_from_markdown(text, name))
    except _Skip as exc:
        result.skipped.append(Rejection(name, str(exc)))
    except _Reject as exc:
        result.rejected.append(Rejection(name, str(exc)))
    return _dedupe(result)


def _walk(directory: Path, errors: list[Rejection], seen: set[Path]) -> Iterator[Path]:
    """Files under ``directory`` in sorted order, skipping hidden names and symlink loops."""
    real = directory.resolve()
    if real in seen:
        return
    seen.add(real)
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        errors.append(Rejection(directory.as_posix(), f"cannot list directory: {exc.strerror}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, errors, seen)
        elif entry.is_file():
            yield entry


def load_paths(paths: Iterable[str | Path] | str | Path) -> LoadResult:
    """Load files and directories (walked recursively, sorted, hidden names ignored)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    result = LoadResult()
    loaded: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files: Iterable[Path] = _walk(path, result.rejected, set())
        elif path.is_file():
            files = [path]
        else:
            reason = "no such file or directory" if not path.exists() else "not a regular file"
            result.rejected.append(Rejection(path.as_posix(), reason))
            continue
        for file in files:
            if file.resolve() in loaded:
                continue  # the same file named twice (e.g. a file and its directory)
            loaded.add(file.resolve())
            one = load_file(file)
            result.files_seen += one.files_seen
            result.documents += one.documents
            result.rejected += one.rejected
            result.skipped += one.skipped
    return _dedupe(result)
