"""knowledge.textpage: a help-center page copied as plain text becomes a clean Document."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.documents import Document

from assistant.chunks import body_of
from assistant.embeddings import load_tokenizer
from assistant.settings import PACKAGED_MODEL
from knowledge.chunking import Chunker, split_sections, tokenizer_length
from knowledge.loaders import METADATA_KEYS
from knowledge.sentences import split_units
from knowledge.textpage import parse_text_page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "textpages"
SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / "000_380b2dabecee87c4.txt"
# Lines of page chrome found in the fixtures and the seed; none may survive into a body.
CHROME = re.compile(
    r"skip to main content|all collections|avatar|written by|updated (?:over|today|yesterday|\d)"
    r"|did this answer|was this article helpful|found this helpful|submit a request|sign in"
    r"|articles in this section|return to top|^follow$|😞|😐|😃",
    re.IGNORECASE | re.MULTILINE,
)


def page(name: str) -> Document:
    path = FIXTURES / name
    return parse_text_page(path.read_text(encoding="utf-8"), path.as_posix())


def headings(doc: Document) -> list[str]:
    return [s.path[-1] for s in split_sections(doc.page_content) if s.path]


def units(doc: Document) -> list[str]:
    return [u.text for u in split_units(doc.page_content)]


@pytest.mark.parametrize(
    ("name", "title", "collection"),
    [
        ("intercom_billing.txt", "Why was my card charged twice?", "Billing & Payments"),
        ("zendesk_table.txt", "Comparing membership plans", "Plans and prices"),
        ("intro_emoji.txt", "Your first week with Loopline 🏃", "Getting started"),
        ("nested_bullets.txt", "Building a long-run routine", "Training"),
        ("no_breadcrumb.txt", "Resetting a frozen heart-rate strap", ""),
    ],
)
def test_page_metadata_comes_from_title_and_breadcrumb(
    name: str, title: str, collection: str
) -> None:
    doc = page(name)
    assert tuple(doc.metadata) == METADATA_KEYS
    meta = doc.metadata
    assert (meta["title"], meta["collection"], meta["format"]) == (title, collection, "text")
    assert meta["article_id"] == re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    assert meta["url"] == "" and meta["updated"] == "" and meta["tags"] == []
    assert meta["source"].endswith(name)
    assert not CHROME.search(doc.page_content), CHROME.search(doc.page_content)
    assert title not in doc.page_content  # the title is metadata, printed twice on the page


def test_question_and_plain_headings_become_sections() -> None:
    assert headings(page("intercom_billing.txt")) == [
        "Is the second charge a pending hold?",
        "How do I check which charge is real?",
        "Can I get the duplicate refunded?",
    ]
    assert headings(page("no_breadcrumb.txt")) == ["Reset steps", "When to replace the battery"]


def test_numbered_steps_are_list_items_and_wrapped_lines_are_joined() -> None:
    doc = page("intercom_billing.txt")
    items = [(u.marker, u.text) for u in split_units(doc.page_content) if u.kind == "item"]
    assert items == [
        ("1.", "Open Pacebook and go to Profile > Membership > Billing history."),
        ("2.", "Compare the dates with your bank statement."),
        ("3.", "If both charges appear in Billing history, contact us from the Help tab."),
    ]
    # "...disappears by itself" / "within five working days..." were two lines on the page
    assert "The hold disappears by itself within five working days and no money is taken." in (
        units(doc)
    )


def test_a_wrapped_list_item_stays_one_item() -> None:
    items = [u.text for u in split_units(page("no_breadcrumb.txt").page_content) if u.marker]
    assert items[1] == "Hold the sensor's button for ten seconds until the light blinks red."
    assert len(items) == 3


@pytest.mark.parametrize(
    "crumb",
    ["All CollectionsRace day", "All Collections > Race day", "All Collections › Race day",
     "All Collections\nRace day", "Pacebook Help > Guides > Race day",
     "Pacebook Help > Race day > Taper week"],
)  # fmt: skip
def test_breadcrumb_forms_give_the_collection(crumb: str) -> None:
    text = f"Skip to main content\n{crumb}\nTaper week\nUpdated today\n\nRun less, not slower.\n"
    doc = parse_text_page(text, "taper.txt")
    assert (doc.metadata["title"], doc.metadata["collection"]) == ("Taper week", "Race day")
    assert doc.page_content == "Run less, not slower."


def test_nested_bullets_stay_nested_under_their_item() -> None:
    lines = page("nested_bullets.txt").page_content.splitlines()
    dinner = lines.index("- Eat a normal dinner with some extra rice, pasta or bread.")
    assert lines[dinner + 1 : dinner + 3] == [
        "    - Skip new foods the night before.",
        "    - Drink a glass of water with each meal.",
    ]
    drink = lines.index("2. Take a drink every twenty minutes:")
    assert lines[drink + 1] == "    - water for runs under ninety minutes"
    assert lines[drink + 3] == "3. Walk for a minute on steep climbs."
    assert "- Stretch your calves gently for five minutes." in lines


def test_intro_goes_to_summary_and_never_becomes_an_answer_unit() -> None:
    doc = page("intro_emoji.txt")
    assert doc.metadata["summary"].startswith("In this article we’ll walk through")
    assert "In this article" not in doc.page_content
    assert not any("In this article" in text for text in units(doc))
    assert headings(doc) == ["Pair your watch first", "Keep the first runs easy 🐢"]


def test_subtitle_under_the_title_goes_to_summary() -> None:
    doc = page("intercom_billing.txt")
    assert doc.metadata["summary"] == "What a pending charge is, and when a second charge is real"
    assert "pending charge is, and when" not in doc.page_content


def test_emoji_curly_quotes_and_dashes_survive() -> None:
    body = page("intro_emoji.txt").page_content
    assert "Go to Settings — Devices and tap “Add a watch” ⌚." in body
    assert "It’s fine to walk" in body and "enjoy it! 🎉" in body
    assert "â€" not in body and "\ufffd" not in body


def test_table_rows_keep_their_column_labels() -> None:
    doc = page("zendesk_table.txt")
    assert "Plan: Pathfinder; Monthly price: £6.50" in units(doc)
    assert "Plan: Summit; Monthly price: £12 with live coaching" in units(doc)
    assert "Plan\tMonthly price" not in doc.page_content


def test_zendesk_footer_and_related_articles_are_dropped() -> None:
    body = page("zendesk_table.txt").page_content
    assert body.endswith("a downgrade starts at the next renewal.")
    assert "Gift memberships" not in body and "Dana Whitfield" not in body


@pytest.mark.parametrize(
    ("line", "expected"),
    [("Updated on March 3, 2025", "2025-03-03"), ("Updated 2025-11-20", "2025-11-20"),
     ("Updated over 2 weeks ago", ""), ("Updated yesterday", "")],
)  # fmt: skip
def test_only_absolute_update_dates_are_kept(line: str, expected: str) -> None:
    doc = parse_text_page(f"Hill repeats\nWritten by Sam\n{line}\n\nRun up hard.\n", "h.txt")
    assert doc.metadata["updated"] == expected
    assert doc.page_content == "Run up hard."


FEEDBACK = "Did this answer your question?\n😞😐😃\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no title"),
        ("Skip to main content\nAll CollectionsBilling\n\n" + FEEDBACK, "no title"),
        ("Cadence drills\nCadence drills\nWritten by Sam\nUpdated today\n\n" + FEEDBACK, "no body"),
        ("  1. Jog for five minutes.\n  2. Stretch.\n", "no title"),
        ("You should always warm up before a hard session. " * 5 + "\n\nMore text.\n", "no title"),
    ],
)  # fmt: skip
def test_pages_without_title_or_body_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_text_page(text, "broken.txt")


@pytest.fixture(scope="module")
def seed() -> Document:
    if not SEED.is_file():
        pytest.skip(f"seed page not found at {SEED}")
    return parse_text_page(SEED.read_text(encoding="utf-8"), SEED.as_posix())


def test_seed_page_parses_into_clean_sections(seed: Document) -> None:
    assert seed.metadata["title"] == "Foot Strength and Mobility for Runners: Unlock Your Potential"
    assert seed.metadata["collection"] == "Strength movements"
    assert not CHROME.search(seed.page_content), CHROME.search(seed.page_content)
    found = headings(seed)
    assert "Essential Foot Strengthening Exercises" in found
    assert "Plyometrics: The Ultimate Foot Strength Builder" in found
    assert "Warm-Up and Cool-Down Essentials" in found
    lines = seed.page_content.splitlines()
    assert lines[lines.index("1. Toe Splay and Squish") + 1].startswith("    - Practice spreading")
    assert seed.page_content.rstrip().endswith("begin! 🌟")


def test_seed_chunks_hold_no_chrome_and_carry_their_heading(seed: Document) -> None:
    chunker = Chunker(tokenizer_length(load_tokenizer(PACKAGED_MODEL)), max_tokens=256)
    chunks = chunker.split_one(seed)
    assert len(chunks) >= 5
    for chunk in chunks:
        assert not CHROME.search(chunk.page_content), chunk.page_content
    jumping = [c for c in chunks if "Jumping is the gold standard" in body_of(c.page_content)]
    assert [c.metadata["section"] for c in jumping] == [
        "Plyometrics: The Ultimate Foot Strength Builder"
    ]


def test_txt_files_load_through_the_loaders_and_a_broken_one_is_a_rejection(tmp_path) -> None:
    from knowledge.loaders import load_paths

    good = FIXTURES / "intercom_billing.txt"
    (tmp_path / "good.txt").write_bytes(good.read_bytes())
    (tmp_path / "chrome-only.txt").write_text(
        "Skip to main content\nDid this answer your question?\n", encoding="utf-8"
    )
    result = load_paths(tmp_path)
    assert [d.metadata["format"] for d in result.documents] == ["text"]
    assert [r.path.rsplit("/", 1)[-1] for r in result.rejected] == ["chrome-only.txt"]
    assert result.rejected[0].reason  # a reason a person can act on
