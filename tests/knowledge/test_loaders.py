"""knowledge.loaders: four help-center formats in, one Document shape out; bad input reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from langchain_core.documents import Document

from knowledge.loaders import SUPPORTED_SUFFIXES, LoadResult, Rejection, load_file, load_paths

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "loaders"
KEYS = set("article_id title collection url updated tags summary source format".split())

GOOD_MD = """---
id: {id}
title: {title}
---

Keep the knee soft and land under the hips.
"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def good_md(path: Path, article_id: str = "good-article", title: str = "Good article") -> Path:
    return write(path, GOOD_MD.format(id=article_id, title=title))


def by_id(result: LoadResult) -> dict[str, Document]:
    return {doc.metadata["article_id"]: doc for doc in result.documents}


def reasons(rejections: list[Rejection]) -> dict[str, str]:
    return {r.path: r.reason for r in rejections}


# --- every format: metadata -------------------------------------------------------------------


def test_markdown_article_gives_full_metadata_and_drops_the_title_heading() -> None:
    path = FIXTURES / "markdown" / "toe-yoga.md"
    result = load_file(path)

    assert result.rejected == [] and result.skipped == [] and result.files_seen == 1
    [doc] = result.documents
    assert doc.metadata == {
        "article_id": "toe-yoga",
        "title": "Toe yoga",
        "collection": "Foot strength",
        "url": "https://help.stride.example/articles/toe-yoga",
        "updated": "2026-04-20",  # YAML reads this as a date; it comes back as ISO text
        "tags": ["toes", "foot-strength", "mobility"],
        "summary": "Lift the big toe and the small toes on their own to wake up the small "
        "muscles of the foot.",
        "source": path.as_posix(),
        "format": "markdown",
    }
    assert doc.page_content.startswith("## What is toe yoga?")
    assert "# Toe yoga" not in doc.page_content
    assert "1. Sit on a chair" in doc.page_content
    assert "[short foot exercise](https://help.stride.example/articles/short-foot)" in (
        doc.page_content
    )


def test_markdown_optional_fields_default_and_accept_comma_tags_and_timestamps(
    tmp_path: Path,
) -> None:
    write(
        tmp_path / "a.md",
        "---\nid: pogo-hops\ntitle: Pogo hops\ntags: 'plyometrics, ankles , ,hops'\n"
        "updated: 2026-05-02T10:11:12Z\n---\n# Not the title\n\nSmall quick hops.\n",
    )
    write(tmp_path / "b.md", "---\nid: 1234\ntitle: Numbered article\n---\nBody text.\n")

    docs = by_id(load_paths([tmp_path]))

    hops = docs["pogo-hops"].metadata
    assert hops["tags"] == ["plyometrics", "ankles", "hops"]
    assert hops["updated"].startswith("2026-05-02T10:11:12")
    assert (hops["collection"], hops["url"], hops["summary"]) == ("", "", "")
    # an H1 that is not the title is body text and stays
    assert docs["pogo-hops"].page_content.startswith("# Not the title")
    assert docs["1234"].metadata["tags"] == [] and docs["1234"].metadata["updated"] == ""


def test_saved_html_page_metadata() -> None:
    path = FIXTURES / "html" / "short-foot-exercise.html"
    [doc] = load_file(path).documents

    assert doc.metadata == {
        "article_id": "8812345-short-foot-exercise",  # last segment of the canonical url
        "title": "The short foot exercise",
        "collection": "Foot strength",  # last breadcrumb that is not the article itself
        "url": "https://help.stride.example/en/articles/8812345-short-foot-exercise",
        "updated": "2026-03-14T23:59:00Z",
        "tags": ["short foot", "arch", "foot-strength"],
        "summary": "Shorten the foot by pulling the ball of the foot toward the heel, "
        "without curling the toes.",
        "source": path.as_posix(),
        "format": "html",
    }


def test_saved_html_page_loses_its_chrome_but_keeps_structure() -> None:
    [doc] = load_file(FIXTURES / "html" / "short-foot-exercise.html").documents
    body = doc.page_content

    for chrome in (
        "Skip to main content", "Stride Help Center", "Search for articles", "All Collections",
        "Written by", "Sam Park", "avatar", "Updated over a week ago", "March 14, 2026",
        "Did this answer your question", "Related articles", "Calf raises", "Popular: marathon",
        "All rights reserved", "We use cookies", "Accept", "tracking-script-marker",
        "hidden-css-marker", "intercomSettings",
    ):  # fmt: skip
        assert chrome not in body, chrome
    assert "The short foot exercise\n" not in body and not body.startswith("#")  # no H1 repeat
    assert body.startswith("The short foot exercise builds the arch")
    assert "## How to do the short foot exercise" in body
    assert "### Common mistakes" in body
    assert "1. Sit with your foot flat" in body
    assert "2. Pull the ball of the foot toward the heel so the arch **rises**." in body
    assert "- Curling the toes instead of lifting the arch." in body
    # a relative link is made absolute against the page's canonical url
    assert "[toe yoga](https://help.stride.example/en/articles/8812346-toe-yoga)" in body


def test_chrome_rules_leave_article_text_alone(tmp_path: Path) -> None:
    page = write(
        tmp_path / "easy-runs.html",
        "<html><body><article><h1>Easy runs</h1><h1>Warm-up</h1>"
        "<div><p>Written by Sam</p><p>Run easy for ten minutes</p></div>"
        '<p>See the <a href="/a/pacing">related articles</a> on pacing.</p>'
        "<p>Updated guidance for 2026 races</p></article></body></html>",
    )

    body = load_file(page).documents[0].page_content

    assert "Written by Sam" not in body
    assert "Run easy for ten minutes" in body
    assert "See the [related articles](/a/pacing) on pacing." in body
    assert "Updated guidance for 2026 races" in body
    assert "## Warm-up" in body  # a second H1 in the body becomes a section heading
    assert "Easy runs" not in body


def test_html_id_comes_from_meta_then_url_then_file_name(tmp_path: Path) -> None:
    write(
        tmp_path / "one.html",
        '<html><head><meta name="article-id" content="Hill Sprints!"><title>x</title></head>'
        "<body><h1>Hill sprints</h1><p>Eight seconds, all out.</p></body></html>",
    )
    write(
        tmp_path / "two.htm",
        '<html><head><title>Strides | Stride Help</title><meta property="og:url" '
        'content="https://help.example/en/articles/Strides-After-Easy-Runs.html"></head>'
        "<body><p>Four relaxed strides after an easy run.</p></body></html>",
    )
    write(tmp_path / "Cool Down Walk.html", "<h1>Cool-down walk</h1><p>Walk five minutes.</p>")

    docs = by_id(load_paths([tmp_path]))

    assert set(docs) == {"hill-sprints", "strides-after-easy-runs", "cool-down-walk"}
    strides = docs["strides-after-easy-runs"].metadata
    assert strides["title"] == "Strides"  # from <title>, without the site name
    assert strides["collection"] == "" and strides["updated"] == ""


def test_intercom_export_list_shape() -> None:
    path = FIXTURES / "intercom" / "articles-list.json"
    result = load_file(path)
    docs = by_id(result)

    assert set(docs) == {"intercom-9001001", "intercom-9001002"}
    heel = docs["intercom-9001001"]
    assert heel.metadata == {
        "article_id": "intercom-9001001",
        "title": "Heel drops for the Achilles",
        "collection": "Achilles and calves",
        "url": "https://help.stride.example/en/articles/9001001-heel-drops",
        "updated": "2026-05-02",  # updated_at 1777716672 in UTC
        "tags": [],
        "summary": "Slow heel drops off a step to load the Achilles tendon.",
        "source": f"{path.as_posix()}#9001001",
        "format": "intercom",
    }
    assert heel.page_content.startswith("Heel drops put a slow")  # body H1 == title is dropped
    assert "## How to do heel drops" in heel.page_content
    assert "3. Lift one foot and lower the other heel **slowly** below the step." in (
        heel.page_content
    )
    assert "[calf raises](https://help.stride.example/en/articles/8812347-calf-raises)" in (
        heel.page_content
    )
    balance = docs["intercom-9001002"].metadata
    assert (balance["collection"], balance["url"], balance["summary"]) == ("Balance", "", "")
    # the item without a title is reported by its position; the others still load
    assert result.rejected == [Rejection(f"{path.as_posix()}#2", "missing field 'title'")]


def test_intercom_export_api_list_shape_skips_drafts() -> None:
    path = FIXTURES / "intercom" / "articles-api.json"
    result = load_file(path)

    assert [d.metadata["article_id"] for d in result.documents] == ["intercom-9002001"]
    doc = result.documents[0]
    assert doc.metadata["collection"] == "Running form"
    assert doc.metadata["updated"] == "2026-04-20"
    assert "2. Run up the hill for 10 seconds" in doc.page_content
    assert result.skipped == [Rejection(f"{path.as_posix()}#9002002", "draft")]
    assert result.rejected == []


def test_zendesk_export() -> None:
    path = FIXTURES / "zendesk" / "articles.json"
    result = load_file(path)
    docs = by_id(result)

    assert set(docs) == {"zendesk-360001", "zendesk-360003"}
    ankle = docs["zendesk-360001"]
    assert ankle.metadata == {
        "article_id": "zendesk-360001",
        "title": "Ankle mobility before a run",
        "collection": "Warm-up",
        "url": "https://stride.zendesk.com/hc/en-us/articles/360001-Ankle-mobility-before-a-run",
        "updated": "2026-05-02T10:11:12Z",
        "tags": ["ankle", "warm-up", "mobility"],
        "summary": "",
        "source": f"{path.as_posix()}#360001",
        "format": "zendesk",
    }
    assert "## Knee-to-wall drill" in ankle.page_content
    assert "1. Face a wall" in ankle.page_content
    assert "[choosing a cadence](https://stride.zendesk.com/hc/en-us/articles/360003)" in (
        ankle.page_content
    )
    assert docs["zendesk-360003"].metadata["collection"] == ""
    assert "- Change it by no more than 5% at a time." in docs["zendesk-360003"].page_content
    assert result.skipped == [Rejection(f"{path.as_posix()}#360002", "draft")]


def test_zendesk_and_intercom_as_bare_lists(tmp_path: Path) -> None:
    body = "<h2>Why</h2><ul><li>Strong feet</li></ul>"
    write(
        tmp_path / "zd.json",
        json.dumps([{"id": 7, "title": "Z", "body": body, "draft": False, "label_names": []}]),
    )
    write(
        tmp_path / "ic.json",
        json.dumps({"type": "list", "data": [{"id": 7, "title": "I", "body": body}]}),
    )

    docs = by_id(load_paths([tmp_path]))

    assert docs["zendesk-7"].metadata["format"] == "zendesk"
    assert docs["intercom-7"].metadata["format"] == "intercom"
    # one shared converter: the same HTML gives the same Markdown in both exports
    expected = "## Why\n\n- Strong feet"
    assert docs["zendesk-7"].page_content == docs["intercom-7"].page_content == expected


def test_every_document_has_exactly_the_same_metadata_shape() -> None:
    result = load_paths([FIXTURES])

    assert {d.metadata["format"] for d in result.documents} == {
        "markdown", "html", "intercom", "zendesk",
    }  # fmt: skip
    for doc in result.documents:
        assert set(doc.metadata) == KEYS
        assert isinstance(doc.metadata["tags"], list)
        assert all(isinstance(doc.metadata[k], str) for k in KEYS - {"tags"})
        assert doc.page_content == doc.page_content.strip() and doc.page_content
    assert result.files_seen == 5
    assert len(result.documents) == 7


# --- drafts -----------------------------------------------------------------------------------


def test_markdown_drafts_are_skipped_not_rejected(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "---\nid: a\ntitle: A\ndraft: true\n---\nSoon.\n")
    write(tmp_path / "b.md", "---\nid: b\ntitle: B\nstatus: unpublished\n---\nSoon.\n")
    write(tmp_path / "c.md", "---\nid: c\ntitle: C\nstatus: Draft\n---\nSoon.\n")
    write(tmp_path / "d.md", "---\nid: d\ntitle: D\ndraft: false\nstatus: published\n---\nNow.\n")

    result = load_paths([tmp_path])

    assert [d.metadata["article_id"] for d in result.documents] == ["d"]
    assert reasons(result.skipped) == {
        (tmp_path / "a.md").as_posix(): "draft",
        (tmp_path / "b.md").as_posix(): "unpublished",
        (tmp_path / "c.md").as_posix(): "draft",
    }
    assert result.rejected == []


# --- broken input -----------------------------------------------------------------------------

BROKEN: list[tuple[str, str | bytes, str]] = [
    ("latin1.md", "---\nid: x\ntitle: Caf\xe9\n---\nBody\n".encode("latin-1"),
     "not valid UTF-8 (byte 0xe9 at offset 20)"),
    ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    ("empty.md", b"", "empty file"),
    ("blank.html", " \n\t\n", "empty file"),
    ("bad-yaml.md", "---\nid: x\ntitle: [unclosed\n---\nBody\n", "front matter: invalid YAML"),
    ("no-title.md", "---\nid: x\n---\nBody\n", "front matter: missing field 'title'"),
    ("list-title.md", "---\nid: x\ntitle: [a, b]\n---\nBody\n",
     "front matter: field 'title' must be a string, got list"),
    ("not-mapping.md", "---\n- id\n- title\n---\nBody\n",
     "front matter: expected a mapping of fields, got list"),
    ("bad-id.md", "---\nid: Calf Raises\ntitle: Calf raises\n---\nBody\n",
     "front matter: invalid id 'Calf Raises'"),
    ("bad-date.md", "---\nid: x\ntitle: X\nupdated: last week\n---\nBody\n",
     "field 'updated' is not an ISO date"),
    ("bad-tags.md", "---\nid: x\ntitle: X\ntags: {a: 1}\n---\nBody\n", "field 'tags' must be"),
    ("no-front-matter.md", "# Calf raises\n\nJust text.\n", "front matter: missing"),
    ("unclosed.md", "---\nid: x\ntitle: X\nBody\n", "front matter: no closing '---' line"),
    ("no-body.md", "---\nid: x\ntitle: X\n---\n# X\n\n", "empty article body"),
    ("notes.docx", "Not an article",
     "unknown format '.docx' (supported: .md, .markdown, .html, .htm, .txt, .json)"),
    ("README", "no suffix at all", "unknown format 'README'"),
    ("broken.json", "", "empty file"),
    ("trunc.json", "[{", "invalid JSON: Expecting property name enclosed in double quotes"),
    ("text.json", "hello", "invalid JSON: Expecting value at line 1 column 1"),
    ("number.json", "42", "unrecognised JSON export (expected an Intercom or Zendesk"),
    ("other.json", '{"users": []}', "unrecognised JSON export"),
    ("nothing.json", '{"articles": []}', "export holds no articles"),
    ("no-title.html", "<html><body><p>Orphan text.</p></body></html>", "no title found"),
    ("chrome-only.html", "<h1>T</h1><nav>Home</nav><p>Did this answer your question?</p>",
     "empty article body"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "reason"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_is_rejected_and_its_neighbours_still_load(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    good_md(tmp_path / "good.md")
    bad = write(tmp_path / name, content)

    result = load_paths([tmp_path])

    assert [d.metadata["article_id"] for d in result.documents] == ["good-article"]
    assert len(result.rejected) == 1, result.rejected
    assert result.rejected[0].path == bad.as_posix()
    assert reason in result.rejected[0].reason
    assert result.skipped == []
    assert result.files_seen == 2


def test_bad_export_items_are_rejected_one_by_one(tmp_path: Path) -> None:
    items = [
        "not an object",
        {"type": "article", "title": "No id", "body": "<p>x</p>", "state": "published"},
        {"id": 5, "type": "article", "title": "No body", "state": "published"},
        {"id": 6, "type": "article", "title": "Empty body", "body": "<p> </p>"},
        {"id": 7, "type": "article", "title": ["list"], "body": "<p>x</p>"},
        {"id": 8, "type": "article", "title": "Fine", "body": "<p>Easy run, then strides.</p>"},
    ]
    path = write(tmp_path / "export.json", json.dumps(items))

    result = load_file(path)

    assert [d.metadata["article_id"] for d in result.documents] == ["intercom-8"]
    assert reasons(result.rejected) == {
        f"{path.as_posix()}#0": "article is not an object (got string)",
        f"{path.as_posix()}#1": "missing field 'id'",
        f"{path.as_posix()}#2": "missing field 'body'",
        f"{path.as_posix()}#3": "empty article body",
        f"{path.as_posix()}#4": "field 'title' must be a string, got list",
    }


def test_missing_path_is_reported_and_others_load(tmp_path: Path) -> None:
    good = good_md(tmp_path / "good.md")
    missing = tmp_path / "nope"

    result = load_paths([missing, good])

    assert result.rejected == [Rejection(missing.as_posix(), "no such file or directory")]
    assert len(result.documents) == 1
    assert result.files_seen == 1


# --- duplicates, walking order, hidden files --------------------------------------------------


def test_duplicate_ids_keep_the_first_in_sorted_order(tmp_path: Path) -> None:
    first = good_md(tmp_path / "a" / "calf-raises.md", "calf-raises", "Calf raises")
    second = good_md(tmp_path / "b" / "calf-raises.md", "calf-raises", "Calf raises again")
    write(
        tmp_path / "c.html",
        '<meta name="article-id" content="calf-raises"><h1>Calf raises (page)</h1><p>Text.</p>',
    )

    result = load_paths([tmp_path])

    [doc] = result.documents
    assert doc.metadata["title"] == "Calf raises"
    assert doc.metadata["source"] == first.as_posix()
    expected = f"duplicate article id 'calf-raises' (first seen in {first.as_posix()})"
    assert result.rejected == [
        Rejection(second.as_posix(), expected),
        Rejection((tmp_path / "c.html").as_posix(), expected),
    ]


def test_duplicate_ids_across_load_paths_arguments_follow_argument_order(tmp_path: Path) -> None:
    later = good_md(tmp_path / "z" / "x.md", "same", "From z")
    earlier = good_md(tmp_path / "a" / "x.md", "same", "From a")

    result = load_paths([later, tmp_path / "a"])

    assert [d.metadata["title"] for d in result.documents] == ["From z"]
    assert result.rejected[0].path == earlier.as_posix()
    assert later.as_posix() in result.rejected[0].reason


def test_directories_are_walked_recursively_in_sorted_order(tmp_path: Path) -> None:
    for rel in ("m.md", "b/z.md", "b/a/deep.md", "a.md", "c/y.md"):
        good_md(tmp_path / rel, rel.replace("/", "-").removesuffix(".md"))

    result = load_paths([tmp_path])

    sources = [Path(d.metadata["source"]).relative_to(tmp_path) for d in result.documents]
    assert [s.as_posix() for s in sources] == ["a.md", "b/a/deep.md", "b/z.md", "c/y.md", "m.md"]


def test_hidden_files_and_directories_are_ignored(tmp_path: Path) -> None:
    good_md(tmp_path / "visible.md")
    write(tmp_path / ".draft.md", b"\x00 would be a binary rejection")
    write(tmp_path / ".git" / "notes.md", "not front matter")
    good_md(tmp_path / ".cache" / "copy.md")

    result = load_paths([tmp_path])

    assert [d.metadata["article_id"] for d in result.documents] == ["good-article"]
    assert result.rejected == [] and result.files_seen == 1


def test_the_same_file_named_twice_is_loaded_once(tmp_path: Path) -> None:
    good = good_md(tmp_path / "good.md")

    result = load_paths([tmp_path, good, str(good)])

    assert len(result.documents) == 1 and result.rejected == [] and result.files_seen == 1


def test_fixture_folder_loads_cleanly_when_copied(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "kb")

    result = load_paths([str(tmp_path / "kb")])

    assert len(result.documents) == 7
    assert [r.reason for r in result.rejected] == ["missing field 'title'"]
    assert sorted(r.reason for r in result.skipped) == ["draft", "draft"]


def test_supported_suffixes() -> None:
    assert {".md", ".markdown", ".html", ".htm", ".txt", ".json"} == SUPPORTED_SUFFIXES
