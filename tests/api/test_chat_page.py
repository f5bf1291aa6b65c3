"""The chat page in headless Debian Chromium against a real uvicorn: ask, follow up, rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import ADMIN, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCREENSHOT = Path("/tmp/chat.png")


def ask(page: Page, question: str) -> dict[str, Any]:
    """Type the question, press Enter, wait for the streamed answer; the request body sent."""
    answers = page.locator(".msg--assistant[data-answer-id]")
    before = answers.count()
    with page.expect_response("**/v1/answer/stream") as response_info:
        box = page.get_by_role("textbox", name="Your question")
        box.fill(question)
        box.press("Enter")
    response = response_info.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    expect(answers).to_have_count(before + 1)
    body = response.request.post_data_json
    assert isinstance(body, dict)
    return body


def test_chat_page_end_to_end(page: Page, live_server: LiveServer) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(live_server.url + "/")
    expect(page).to_have_title("Ask our running help center")

    first = ask(page, "What are pogo hops?")
    assert first["history"] == []
    answer = page.locator(".msg--assistant").last
    expect(answer.locator(".msg__text")).to_contain_text("[1]")
    source = answer.locator("a.sources__link").first
    expect(source).to_have_attribute("href", "https://help.example.com/articles/pogo-hops")

    follow_up = ask(page, "How do I make them harder?")
    history = follow_up["history"]
    assert isinstance(history, list) and [t["role"] for t in history] == ["user", "assistant"]
    assert history[0]["content"] == "What are pogo hops?"
    second = page.locator(".msg--assistant").last
    expect(second.locator("a.sources__link").first).to_have_attribute(
        "href", "https://help.example.com/articles/pogo-hops"
    )
    expect(second).to_contain_text("Did this answer your question?")

    second.get_by_role("button", name="Yes, this answered my question").click()
    expect(second.get_by_role("status")).to_have_text("Thanks for your feedback.")
    answer_id = second.get_attribute("data-answer-id")
    feedback = httpx.get(live_server.url + "/v1/admin/feedback", headers=ADMIN).json()
    assert any(f["answer_id"] == answer_id and f["helpful"] is True for f in feedback)

    ask(page, "How do I get a refund for my subscription?")
    handoff = page.locator(".msg--assistant").last.get_by_role("link", name="Talk to a person")
    expect(handoff).to_have_attribute("href", "https://help.example.com/contact")

    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert problems == []  # no script errors and no CSP violations


def test_keyboard_only_and_labels(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_have_attribute("aria-live", "polite")

    page.keyboard.press("Tab")  # first focusable element: the question box
    expect(page.get_by_role("textbox", name="Your question")).to_be_focused()
    page.keyboard.type("How do I do calf raises?")
    page.keyboard.press("Enter")

    expect(log.locator(".msg--assistant[data-answer-id]")).to_have_count(1)
    expect(page.get_by_role("textbox", name="Your question")).to_have_value("")


TYPING_WATCH = """() => {
  window.typingSeen = false;
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) {
      if (node.nodeType !== 1) continue;
      const dots = node.matches(".typing") ? node : node.querySelector(".typing");
      if (dots && dots.getBoundingClientRect().width > 0) window.typingSeen = true;
    }
  }).observe(document.getElementById("log"), { childList: true, subtree: true });
}"""


def test_lists_typing_indicator_and_follow_ups(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    page.evaluate(TYPING_WATCH)
    ask(page, "What is the weekly foot strength routine?")
    assert page.evaluate("window.typingSeen") is True  # dots shown while the answer streamed
    expect(page.locator(".typing")).to_have_count(0)  # and gone once it is complete
    routine = page.locator(".msg--assistant").last
    steps = routine.locator("ol > li")
    expect(steps.first).to_be_visible()
    assert steps.count() >= 5
    texts = routine.locator(".msg__text").all_inner_texts()[0]
    assert "\n1. " not in texts and not texts.startswith("1. ")  # numbers are list markers now

    first = ask(page, "What are pogo hops?")
    assert first["question"] == "What are pogo hops?"
    first_text = page.locator(".msg--assistant").last.locator(".msg__text").inner_text()
    ask(page, "How do I make them harder?")
    follow = page.locator(".msg--assistant").last
    items = follow.locator("ul > li")
    expect(items.first).to_be_visible()
    assert all(not t.startswith("- ") for t in items.all_inner_texts())
    follow_text = follow.locator(".msg__text").inner_text()
    assert "- " not in follow_text.splitlines()[0]
    first_sentence = first_text.split(" [1]")[0]
    assert first_sentence not in follow_text  # the follow-up shows only its own answer
    # the answer is text, never markup: no element but paragraphs and lists in the message
    tags = follow.locator(".msg__text *").evaluate_all(
        "els => [...new Set(els.map(e => e.tagName))]"
    )
    assert set(tags) <= {"P", "UL", "OL", "LI"}


@pytest.mark.parametrize("width", [375, 1200])
def test_layout_at_phone_and_desktop_width(
    browser: Browser, live_server: LiveServer, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(live_server.url + "/")
    ask(page, "What is the weekly foot strength routine?")
    ask(page, "How do I do calf raises?")
    ask(page, "What are pogo hops?")
    box = page.get_by_role("textbox", name="Your question")
    expect(box).to_be_in_viewport()  # long answers scroll inside the log, not the page
    expect(page.get_by_role("button", name="Ask")).to_be_in_viewport()
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width  # no horizontal scroll
    bounds = box.bounding_box()
    assert bounds is not None and bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= width
    page.screenshot(path=f"/tmp/chat-{width}.png")
    context.close()
