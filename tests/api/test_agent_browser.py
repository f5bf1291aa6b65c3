"""The agent console in headless Debian Chromium against a real uvicorn: log in, search, get a
suggested reply, correct it, see the correction served through /v1/answer, export the gaps."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from api.main import create_app
from api.middleware import CHAT_PAGE_CSP
from assistant.core import Assistant
from assistant.settings import Settings
from tests.api.conftest import ADMIN_KEY, LiveServer, settings_with

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCREENSHOT = Path("/tmp/agent-console.png")
CUSTOMER = "How many calf raises should I do?"
RIGHT = "Do 2 sets of 12 slow calf raises, three times a week [1]."


@pytest.fixture(scope="module")
def console_server(
    api_settings: Settings, assistant: Assistant, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Its own app and answers database (corrections must not reach the other tests' apps)."""
    db = tmp_path_factory.mktemp("console") / "answers.sqlite"
    settings = settings_with(api_settings, database_url=f"sqlite:///{db}")
    app = create_app(settings, assistant=assistant)
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def agent_page(browser: Browser, console_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 1000}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console_server.url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def log_in(page: Page, name: str = "Sam") -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Admin key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


def test_console_end_to_end(agent_page: Page, console_server: LiveServer) -> None:
    page, url = agent_page, console_server.url
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url + "/agent")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Your name").fill("Sam")
    page.get_by_label("Admin key").fill("not-the-key")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_have_text("wrong admin key")
    log_in(page)

    # search with a collection filter: each hit links to its article, with section and score
    page.get_by_label("Search for").fill("calf raises")
    collection = page.get_by_label("Collection")
    expect(collection.locator("option")).not_to_have_count(1)
    page.get_by_role("button", name="Search", exact=True).click()
    hits = page.get_by_role("list", name="Passages").locator("li")
    expect(hits.first.get_by_role("link", name="Calf raises")).to_have_attribute(
        "href", "https://help.example.com/articles/calf-raises"
    )
    expect(hits.first).to_contain_text("score 0.")

    # suggested reply, copied as a reply
    page.get_by_label("Customer's message").fill(CUSTOMER)
    page.get_by_role("button", name="Suggest a reply").click()
    expect(page.locator("#suggestion-outcome")).to_have_text("answered")
    expect(page.locator("#suggestion-citations a").first).to_contain_text("Calf raises")
    page.get_by_role("button", name="Copy as reply").click()
    expect(page.locator("#copy-status")).to_have_text("Reply copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Sources:\n[1] Calf raises: https://help.example.com/articles/calf-raises" in copied

    # this answer is wrong -> a correction, listed with its author
    page.get_by_role("button", name="This answer is wrong").click()
    answer_box = page.get_by_label("The right answer")
    expect(answer_box).to_be_focused()
    expect(page.get_by_label("Question", exact=True)).to_have_value(CUSTOMER)
    expect(page.get_by_label("Cited article ids")).to_have_value("calf-raises")
    answer_box.fill(RIGHT)
    page.get_by_role("button", name="Save correction").click()
    stored = page.get_by_role("list", name="Stored corrections").locator("li.correction")
    expect(stored).to_have_count(1)
    expect(stored.first).to_contain_text("By Sam")

    # served through /v1/answer for a near-identical question, and in the console
    served = httpx.post(url + "/v1/answer", json={"question": "how many calf raises should i do?"})
    assert served.json()["answerer"] == "correction" and served.json()["answer"] == RIGHT
    page.get_by_role("button", name="Suggest a reply").click()
    expect(page.locator("#suggestion-source")).to_have_text("(an agent's correction)")

    # edit it (keyboard-reachable buttons named after the question)
    stored.first.get_by_role("button", name=f"Edit the correction for “{CUSTOMER}”").click()
    page.get_by_label("Must mention").fill("2 sets of 12")
    page.get_by_role("button", name="Save correction").click()
    expect(page.locator("#corrections-status")).to_have_text("Correction updated.")
    expect(stored.first).to_contain_text("edited by Sam")

    # review: a question nobody covers, grouped, exported as CSV
    gap = httpx.post(
        url + "/v1/answer", json={"question": "Which pizza topping is best in Naples?"}
    )
    assert gap.json()["outcome"] == "no_answer"
    page.get_by_role("button", name="Refresh review").click()
    groups = page.get_by_role("list", name="Content gaps")
    expect(groups).to_contain_text("Which pizza topping is best in Naples?")
    expect(groups.get_by_role("img").first).to_have_attribute(
        "aria-label", "1 in the last 30 days, 1 in the last 7"
    )
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export gaps (CSV)").click()
    rows = list(csv.DictReader(Path(download_info.value.path()).open(encoding="utf-8")))
    assert any(r["gap"] == "Which pizza topping is best in Naples?" for r in rows)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export article briefs").click()
    assert "Example questions" in Path(download_info.value.path()).read_text(encoding="utf-8")

    # delete it: no longer served
    page.once("dialog", lambda dialog: dialog.accept())
    stored.first.get_by_role("button", name=f"Delete the correction for “{CUSTOMER}”").click()
    expect(page.locator("#corrections-status")).to_have_text("Correction deleted.")
    again = httpx.post(url + "/v1/answer", json={"question": CUSTOMER}).json()
    assert again["answerer"] != "correction"

    page.screenshot(path=str(SCREENSHOT), full_page=True)
    # no script errors, no CSP violations; the 401 (no session yet) and 403 (wrong key) are
    # the responses the test asked for
    expected = ("status of 401 (Unauthorized)", "status of 403 (Forbidden)")
    assert [p for p in problems if not p.endswith(expected)] == []
    assert len(problems) == 2


def test_keyboard_login_and_narrow_screen(browser: Browser, console_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(console_server.url + "/agent")
    expect(page.get_by_label("Your name")).to_be_focused()
    page.keyboard.type("Kim")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Admin key")).to_be_focused()
    page.keyboard.type(ADMIN_KEY)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Signed in as Kim")).to_be_visible()
    expect(page.get_by_label("Search for")).to_be_focused()
    page.keyboard.type("toe yoga")
    page.keyboard.press("Enter")
    expect(page.get_by_role("list", name="Passages").locator("li").first).to_be_visible()
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width  # no horizontal scroll at 375 px
    page.screenshot(path="/tmp/agent-console-375.png", full_page=True)
    context.close()


def test_console_page_gets_the_strict_page_csp(
    api_settings: Settings, assistant: Assistant
) -> None:
    app = create_app(api_settings, assistant=assistant)
    with TestClient(app) as client:
        assert client.get("/agent").headers["content-security-policy"] == CHAT_PAGE_CSP
