"""Load help-center articles from four formats into one LangChain ``Document`` shape.

Formats: Markdown with YAML front matter, a saved help-center HTML page, and Intercom or
Zendesk article exports (``.json``, see ``knowledge.exports`` for the shapes accepted). Every
Document has the same metadata keys (see ``METADATA_KEYS``). Broken input never raises: it is
reported as a ``Rejection``; drafts, restricted articles and other locales are reported as
skipped.

Example::

    result = load_paths(["knowledge/articles"])
    for bad in result.rejected:
        print(bad.path, bad.reason)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml
from langchain_core.documents import Document

from knowledge.documents import (
    DEFAULT_LOCALE,
    METADATA_KEYS,
    LoadResult,
    Reject,
    Rejection,
    Skip,
    iso_field,
    kind_of,
    make_document,
    tags_field,
    text_field,
)

__all__ = [
    "DEFAULT_LOCALE", "METADATA_KEYS", "SUPPORTED_SUFFIXES", "LoadResult", "Rejection",
    "dedupe", "load_file", "load_paths", "slugify",
]  # fmt: skip

_SUFFIXES = (".md", ".markdown", ".html", ".htm", ".txt", ".json")
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_SUFFIXES)
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_ATX_H1 = re.compile(r"#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")

# The names the loaders used before the shared pieces moved to knowledge.documents.
_Reject, _Skip, _kind, _document = Reject, Skip, kind_of, make_document
_text, _tags, _iso = text_field, tags_field, iso_field


def slugify(text: str) -> str:
    """A valid article id from free text: lowercase ASCII, digits, '.', '_' and '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9._-]+", "-", ascii_text.lower()).strip("-._")[:128].rstrip("-._")


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


#: libyaml's parser when PyYAML has it: the API reads every article's front matter at start-up
#: (the catalog), ~0.05 s of pure-Python parsing for the shipped 37, ~0.007 s with it; the
#: values are the constructor's either way (the same on every front matter in the repository).
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_front_matter(fm: str) -> Any:
    try:
        return yaml.load(fm, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        # Parsed again by the pure-Python parser: its messages and marks, as before.
        return yaml.safe_load(fm)


def _from_markdown(text: str, source: str) -> Document:
    fm, body = _split_front_matter(text)
    try:
        meta = _load_front_matter(fm)
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
    # imported here, as load_export below: BeautifulSoup and markdownify (~0.4 s to import) are
    # for HTML pages and exports only, not for a server serving Markdown articles
    from knowledge.html import parse_help_page

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


def dedupe(result: LoadResult) -> LoadResult:
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


def load_file(path: Path, *, locale: str = DEFAULT_LOCALE) -> LoadResult:
    """Load one file (a Markdown or HTML article, a plain-text page copy, or a JSON export of
    many); exports keep the articles in ``locale`` only (see ``knowledge.exports``)."""
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
            from knowledge.exports import load_export

            load_export(text, path, result, locale=locale)
        elif suffix in (".html", ".htm"):
            result.documents.append(_from_html(text, path))
        elif suffix == ".txt":
            # imported here: knowledge.textpage builds its Document with this module's helpers
            from knowledge.textpage import parse_text_page

            try:
                result.documents.append(parse_text_page(text, name))
            except ValueError as exc:
                raise _Reject(str(exc)) from None
        else:
            result.documents.append(_from_markdown(text, name))
    except _Skip as exc:
        result.skipped.append(Rejection(name, str(exc)))
    except _Reject as exc:
        result.rejected.append(Rejection(name, str(exc)))
    return dedupe(result)


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


def load_paths(
    paths: Iterable[str | Path] | str | Path, *, locale: str = DEFAULT_LOCALE
) -> LoadResult:
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
            result.extend(load_file(file, locale=locale))
    return dedupe(result)
