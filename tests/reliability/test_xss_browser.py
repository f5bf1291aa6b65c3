"""The chat page in headless Chromium: questions full of XSS payloads, and answers quoted from a
poisoned article, show up as text; no dialog opens and no injected element exists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Page, expect

from api.main import create_app
from tests.api.conftest import LiveServer
from tests.reliability.conftest import KnowledgeBase
from tests.reliability.payloads import XSS_PAYLOADS

pytestmark = [pytest.mark.browser, pytest.mark.server]

#: Anything a payload could have created in the page (the page has none of these but its form;
#: its only scripts are /static/render.js and /static/chat.js and its only SVGs are the feedback
#: icons, no handlers).
INJECTED = (
    "script:not([src='/static/render.js']):not([src='/static/chat.js']), iframe, object, embed, "
    "img, math, style, "
    "form:not(#ask-form), meta[http-equiv], base, details, [onerror], [onload], [onclick], "
    "[ontoggle], [onmouseover], [style], [srcdoc], a[href^='javascript:' i], "
    "a[href^='data:' i], a[href^='vbscript:' i]"
)


@pytest.fixture(scope="module")
def poisoned_server(poisoned_kb: KnowledgeBase) -> Iterator[LiveServer]:
    with LiveServer(create_app(poisoned_kb.settings, assistant=poisoned_kb.assistant)) as server:
        yield server


def ask(page: Page, question: str) -> None:
    answers = page.locator(".msg--assistant[data-answer-id]")
    before = answers.count()
    box = page.get_by_role("textbox", name="Your question")
    box.fill(question)
    box.press("Enter")
    expect(answers).to_have_count(before + 1)


def test_payloads_render_as_text_only(page: Page, poisoned_server: LiveServer) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(poisoned_server.url + "/")

    # An answer copied from the poisoned Markdown article (raw HTML in its sentences)...
    ask(page, "How do I do the zebra drill?")
    answer = page.locator(".msg--assistant").last
    expect(answer.locator(".msg__text")).to_contain_text("<")  # the payload, shown as text
    links = answer.locator("a.sources__link")
    expect(links.first).to_be_visible()
    for href in links.evaluate_all("els => els.map(e => e.getAttribute('href'))"):
        assert href.startswith(("https://", "/v1/articles/")), href
    expect(answer.locator("a.sources__link").first).to_contain_text("<img")  # title as text

    # ... answers from the HTML exports, and questions that are nothing but payloads.
    ask(page, "How do I do the intercom marble pickup?")
    for payload in XSS_PAYLOADS[:12]:
        ask(page, f"How do I do the zebra drill? {payload}")
    ask(page, " ".join(XSS_PAYLOADS[12:]))
    expect(page.locator(".msg--user").last).to_contain_text("<meta http-equiv")

    page.wait_for_timeout(500)  # let any stray handler or timer fire before looking
    assert dialogs == []
    assert page.locator(INJECTED).count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
