"""Zendesk and Intercom exports as people save them: pages back to back, JSONL, arrays of
pages, sideloaded sections, a collections.json beside the articles, two locales."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.loaders import load_paths

BODY = "<p>Keep the knee soft and land under the hips.</p>"


def zd(ident: int, locale: str = "en-us", **extra: object) -> dict[str, object]:
    return {"id": ident, "title": f"Article {ident} {locale}", "body": BODY, "locale": locale,
            "section_id": 7, "draft": False, "user_segment_id": None, **extra}  # fmt: skip


def page(*articles: dict[str, object]) -> dict[str, object]:
    return {"articles": list(articles), "sections": [{"id": 7, "name": "Form"}],
            "meta": {"has_more": False}, "links": {"next": None}}  # fmt: skip


def ids(path: Path) -> list[str]:
    return sorted(d.metadata["article_id"] for d in load_paths([path]).documents)


def test_zendesk_pages_concatenated_jsonl_and_arrays(tmp_path: Path) -> None:
    (tmp_path / "concat.json").write_text(
        json.dumps(page(zd(1))) + json.dumps(page(zd(2))), encoding="utf-8"
    )
    (tmp_path / "lines.json").write_text(
        json.dumps(page(zd(3))) + "\n" + json.dumps(zd(4)) + "\n", encoding="utf-8"
    )
    (tmp_path / "array.json").write_text(json.dumps([page(zd(5)), page(zd(6))]), "utf-8")
    result = load_paths([tmp_path])
    assert result.rejected == [] and result.files_seen == 3
    assert ids(tmp_path) == [f"zendesk-{i}" for i in range(1, 7)]
    assert {d.metadata["collection"] for d in result.documents if d.metadata["article_id"]
            != "zendesk-4"} == {"Form"}  # fmt: skip


def test_two_locales_are_not_duplicates_and_restricted_is_never_loaded(tmp_path: Path) -> None:
    path = tmp_path / "hc.json"
    path.write_text(json.dumps([
        page(zd(1), zd(2, body=None), zd(3, user_segment_id=99, body="<p>code X1</p>")),
        page(zd(1, "de", title="Deutsch")),
    ]), encoding="utf-8")  # fmt: skip
    result = load_paths([path])
    assert [d.metadata["title"] for d in result.documents] == ["Article 1 en-us"]
    assert [r.reason for r in result.rejected] == [
        "field 'body' is null: the export holds no article text"
    ]
    reasons = sorted(r.reason for r in result.skipped)
    assert reasons[0] == "locale 'de' (this index holds en-us)"
    assert reasons[1].startswith("restricted (user_segment_id 99)")
    german = load_paths([path], locale="de")
    assert [d.metadata["title"] for d in german.documents] == ["Deutsch"]


def test_intercom_collections_json_beside_the_articles(tmp_path: Path) -> None:
    (tmp_path / "collections.json").write_text(json.dumps({"type": "list", "data": [
        {"id": "50", "type": "collection", "name": "Strength"}]}), encoding="utf-8")  # fmt: skip
    (tmp_path / "articles.json").write_text(json.dumps({"type": "list", "data": [
        {"id": "1", "type": "article", "title": "Squats", "body": BODY, "state": "published",
         "parent_id": 50, "tags": [{"name": "legs"}, {"name": "strength"}]},
        {"id": "2", "type": "article", "title": "Lunges", "body": BODY, "state": "draft"},
        {"id": "3", "type": "article", "title": "Planche", "body": BODY, "state": "published",
         "default_locale": "fr", "translated_content": {"type": "article_translated_content",
         "en": {"title": "Plank", "body": BODY, "state": "published"}}},
    ]}), encoding="utf-8")  # fmt: skip
    result = load_paths([tmp_path])
    assert result.rejected == [] and result.files_seen == 2  # collections.json: no rejection
    docs = {d.metadata["article_id"]: d.metadata for d in result.documents}
    assert docs["intercom-1"]["collection"] == "Strength"
    assert docs["intercom-1"]["tags"] == ["legs", "strength"]
    assert docs["intercom-3"]["title"] == "Plank"
    assert [r.reason for r in result.skipped] == ["draft"]
