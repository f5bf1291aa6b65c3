"""Reports of a hand-made run: JSON round trip, Markdown, escaped HTML, and the HTML in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval.gate import load_floors
from eval.report import ALL, shown, write_reports
from eval.runner import EvalRun
from tests.browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def written(hand_run: EvalRun, tmp_path: Path) -> dict[str, Path]:
    return write_reports(hand_run, tmp_path / "run", load_floors())


def test_result_json_round_trips_with_schema_version(
    hand_run: EvalRun, written: dict[str, Path]
) -> None:
    loaded = EvalRun.model_validate_json(written["json"].read_text(encoding="utf-8"))
    assert loaded.schema_version == 2
    assert loaded == hand_run
    assert "langchain-core" in loaded.versions


def test_markdown_has_a_headline_table_per_kb_and_split(
    hand_run: EvalRun, written: dict[str, Path]
) -> None:
    text = written["markdown"].read_text(encoding="utf-8")
    tune, rest = text.split("### runners / tune")[1].split("### runners / test")
    test, overall = rest.split(f"### {ALL}")
    for table in (tune, test, overall):
        assert "| metric | hybrid | textbook | target |" in table
    assert "| red_flag_recall |" in test and "| red_flag_recall |" not in tune  # h4 is test
    # targets are shown beside the test split only; a miss there is bold
    one = "1.000 [1.000, 1.000] 1"
    assert f"| answered_with_facts | {one} | {one} | >= 0.900 |" in test
    assert "**0.000 [0.000, 0.000] 1**" in test  # red_flag_recall of h4, target 1.0
    assert "| answered_with_facts | 0.000 [0.000, 0.000] 1 | 0.000 [0.000, 0.000] 1 | – |" in tune
    assert "| intent_accuracy |" not in text  # no case it applies to
    assert "| ece |" in overall
    # h1 passes; the hostile h2, and h4 (a red flag answered with exercise advice) fail
    assert "`h4` (refer_to_professional, runners/test, critical): outcome: expected refer" in text
    failing = text.split("## Failing cases of hybrid")[1]
    assert "`h1`" not in failing and failing.index("`h4`") < failing.index("`h2`")
    assert "| textbook | 2 of 4 | 1 | 0 |" in text


def test_html_escapes_everything_from_cases(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "onerror=alert(1)&gt;" in page


def test_html_lists_failures_first(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    hybrid = page.split("id='cases-hybrid'")[1].split("id='cases-textbook'")[0]
    order = re.findall(r"<tr class='(pass|fail)' id='case-hybrid-(\w+)'", hybrid)
    assert [ident for _, ident in order] == ["h4", "h2", "h1", "h3"]  # critical failure first
    assert [state for state, _ in order] == ["fail", "fail", "pass", "pass"]


@pytest.mark.browser
def test_report_renders_plots_and_case_table_in_chromium(
    hand_run: EvalRun, written: dict[str, Path]
) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian Chromium is missing at /usr/bin/chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(written["html"].resolve().as_uri())
            plots = page.locator("#plots svg")
            assert plots.count() == 6  # metric bars, latency, confusion and reliability per config
            for i in range(plots.count()):
                box = plots.nth(i).bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 100
            bars = page.locator("#plot-metrics svg rect")
            assert bars.count() > 10
            rows = page.locator("#cases-hybrid tr.fail, #cases-hybrid tr.pass")
            assert rows.count() == 4
            first = rows.first.bounding_box()
            assert first is not None and first["height"] > 0
            assert "h4" in rows.first.inner_text()
            assert "<script>alert('x')</script>" in page.locator("#case-hybrid-h2").inner_text()
            rows = len(shown(hand_run, ALL, ""))
            assert page.locator("#headline-table tr").count() == rows + 1
            assert page.locator("#headline-runners-test tr").count() > 5
            assert page.locator("#plot-reliability-hybrid svg rect").count() >= 2
        finally:
            browser.close()
