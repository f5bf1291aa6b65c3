"""Zendesk and Intercom article exports, in the shapes people actually save them.

One ``.json`` file may hold one API page (Zendesk ``{"articles": [...], "sections": [...]}``,
Intercom ``{"type": "list", "data": [...]}``), several pages back to back or one per line
(concatenated JSON, JSONL), a JSON array of pages, or a bare list of articles. Collection
names come from Zendesk's sideloaded ``sections`` (by ``section_id``) and from an Intercom
``collections.json`` beside the articles (by ``parent_id``); that file holds no articles and
is never a rejection.

Locales: an index holds one locale (``DEFAULT_LOCALE``, "en-us", unless the source names
another), because the assistant answers in that language and the chunk format has no locale
key to filter on. The same article in another locale is therefore not a duplicate: it is
skipped with the reason. Intercom articles are read in the wanted locale from
``translated_content`` when their default language is another one.

Never indexed: drafts and unpublished articles, and restricted ones (Zendesk
``user_segment_id`` not null: visible to signed-in users or agents only).

Example::

    result = LoadResult()
    load_export(path.read_text(), path, result, locale="en-us")
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from knowledge.documents import (
    LoadResult,
    Reject,
    Rejection,
    Skip,
    iso_field,
    kind_of,
    locale_matches,
    make_document,
    normalise_locale,
    tags_field,
    text_field,
)
from knowledge.html import html_to_markdown

COLLECTIONS_FILE = "collections.json"
UNRECOGNISED = "unrecognised JSON export (expected an Intercom or Zendesk articles export)"

#: (item, raw id, source, names of sections/collections by id, wanted locale) -> Document
_Parser = Callable[[dict[str, Any], str, str, dict[str, str], str], Document]


def _body(item: dict[str, Any]) -> str:
    if "body" in item and item["body"] is None:
        raise Reject("field 'body' is null: the export holds no article text")
    return text_field(item, "body", "", required=True)


def _unix_or_iso(stamp: object) -> str:
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        try:
            return datetime.fromtimestamp(stamp, tz=UTC).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return ""
    return iso_field(stamp)


def _intercom_content(item: dict[str, Any], wanted: str) -> dict[str, Any]:
    """The article's fields in the wanted locale: its own (default-language) fields, or the
    matching entry of ``translated_content``."""
    translations = item.get("translated_content")
    translations = translations if isinstance(translations, dict) else {}
    matching = [
        v for k, v in translations.items()
        if k != "type" and isinstance(v, dict) and locale_matches(k, wanted)
    ]  # fmt: skip
    default = normalise_locale(item.get("default_locale"))
    own_fits = not default or locale_matches(default, wanted)
    if own_fits and (item.get("body") is not None or not matching):
        return item
    if matching:
        return {**item, **{k: v for k, v in matching[0].items() if v is not None}}
    raise Skip(f"locale '{default}' (no {wanted} translation; this index holds {wanted})")


def _from_intercom(
    item: dict[str, Any], raw_id: str, source: str, names: dict[str, str], wanted: str
) -> Document:
    if item.get("type", "article") != "article":
        raise Reject(f"not an article (type {item.get('type')!r})")
    content = _intercom_content(item, wanted)
    state = content.get("state", "published")  # exports without a state hold published ones
    if state != "published":
        raise Skip(str(state))
    title = text_field(content, "title", "", required=True)
    url = text_field(content, "url", "")
    parent = item.get("parent_id")
    parents = [parent, *(item.get("parent_ids") or [])]
    collection = text_field(item, "collection", "") or text_field(item, "parent_name", "")
    collection = collection or next((names[str(p)] for p in parents if str(p) in names), "")
    return make_document(
        html_to_markdown(_body(content), base_url=url, title=title),
        source, "intercom", article_id=f"intercom-{raw_id}", title=title,
        collection=collection, url=url, updated=_unix_or_iso(content.get("updated_at")),
        tags=tags_field(item.get("tags"), ""), summary=text_field(content, "description", ""),
    )  # fmt: skip


def _from_zendesk(
    item: dict[str, Any], raw_id: str, source: str, names: dict[str, str], wanted: str
) -> Document:
    if item.get("draft") is True:
        raise Skip("draft")
    if item.get("user_segment_id") is not None:
        raise Skip(
            f"restricted (user_segment_id {item['user_segment_id']}): only signed-in users "
            "or agents may see it, so it is never indexed"
        )
    found = normalise_locale(item.get("locale"))
    if not locale_matches(found, wanted):
        raise Skip(f"locale '{found}' (this index holds {wanted})")
    title = text_field(item, "title", "", required=True)
    url = text_field(item, "html_url", "")
    collection = text_field(item, "section_name", "") or names.get(str(item.get("section_id")), "")
    return make_document(
        html_to_markdown(_body(item), base_url=url, title=title),
        source, "zendesk", article_id=f"zendesk-{raw_id}", title=title,
        collection=collection, url=url, updated=iso_field(item.get("updated_at")),
        tags=tags_field(item.get("label_names"), "", "label_names"), summary="",
    )  # fmt: skip


def _values(text: str) -> list[Any]:
    """Every JSON value in ``text``: one document, several back to back, or one per line."""
    decoder, pos = json.JSONDecoder(), 0
    values: list[Any] = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return values
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise Reject(
                f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        values.append(value)


def _names(entries: object) -> dict[str, str]:
    """id -> name of Zendesk sections or Intercom collections."""
    out: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and "id" in entry:
            out[str(entry["id"])] = entry["name"].strip()
    return out


def _is_page(value: object) -> bool:
    return isinstance(value, dict) and (
        "articles" in value or value.get("type") == "list" or "data" in value
    )


def _looks_zendesk(items: list[Any]) -> _Parser:
    dicts = [item for item in items if isinstance(item, dict)]
    zendesk_keys = ("html_url", "label_names", "draft", "section_id", "user_segment_id")
    if any(k in d for d in dicts for k in zendesk_keys):
        return _from_zendesk
    if any(d.get("type") == "article" or "state" in d for d in dicts):
        return _from_intercom
    raise Reject(UNRECOGNISED)


def _batches(values: list[Any], names: dict[str, str]) -> list[tuple[_Parser, list[Any]]]:
    """(parser, articles) per page or run of bare articles; sections/collections into names."""
    pages: list[Any] = []
    bare: list[Any] = []
    for value in values:
        if isinstance(value, list) and value and all(_is_page(v) for v in value):
            pages.extend(value)  # a JSON array of pages
        elif isinstance(value, list):
            bare.extend(value)
        elif _is_page(value):
            pages.append(value)
        elif isinstance(value, dict) and "id" in value:
            bare.append(value)  # JSONL of articles
        elif isinstance(value, dict):
            raise Reject(UNRECOGNISED)
        else:
            raise Reject(f"{UNRECOGNISED}, got a JSON {kind_of(value)}")
    out: list[tuple[_Parser, list[Any]]] = []
    for page in pages:
        zendesk = "articles" in page
        key, parser = ("articles", _from_zendesk) if zendesk else ("data", _from_intercom)
        items = page.get(key)
        if not isinstance(items, list):
            raise Reject(f"{UNRECOGNISED}: '{key}' is not a list")
        names.update(_names(page.get("sections")))
        if (
            parser is _from_intercom
            and items
            and all(isinstance(i, dict) and i.get("type") == "collection" for i in items)
        ):
            names.update(_names(items))  # a page of collections, not articles
            continue
        out.append((parser, items))
    if bare:
        out.append((_looks_zendesk(bare), bare))
    if not any(items for _, items in out):
        raise Reject("export holds no articles")
    return out


def read_collections(path: Path) -> dict[str, str]:
    """Collection names by id from an Intercom ``collections.json`` ({} when absent/broken)."""
    try:
        values = _values(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, Reject):
        return {}
    names: dict[str, str] = {}
    for value in values:
        entries = value.get("data") if isinstance(value, dict) else value
        names.update(_names(entries))
    return names


def load_export(text: str, path: Path, result: LoadResult, *, locale: str) -> None:
    """Append the articles of one export file to ``result`` (bad ones as rejections)."""
    name = path.as_posix()
    if path.name == COLLECTIONS_FILE:
        _values(text)  # invalid JSON is still reported; the names are read by the articles
        return
    names = read_collections(path.parent / COLLECTIONS_FILE)
    index = 0
    for parser, items in _batches(_values(text), names):
        for item in items:
            raw_id = str(index)
            try:
                if not isinstance(item, dict):
                    raise Reject(f"article is not an object (got {kind_of(item)})")
                ident = item.get("id")
                if (
                    isinstance(ident, bool)
                    or not isinstance(ident, int | str)
                    or not str(ident).strip()
                ):
                    raise Reject("missing field 'id'")
                raw_id = str(ident).strip()
                doc = parser(item, raw_id, f"{name}#{raw_id}", names, locale)
                result.documents.append(doc)
            except Skip as exc:
                result.skipped.append(Rejection(f"{name}#{raw_id}", str(exc)))
            except Reject as exc:
                result.rejected.append(Rejection(f"{name}#{index}", str(exc)))
            index += 1
