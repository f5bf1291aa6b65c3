"""Pull a Zendesk Help Center over its documented API.

``GET {base}/api/v2/help_center/{locale}/articles.json?page[size]=100&include=sections`` with
cursor pagination (follow ``links.next`` while ``meta.has_more``); the sideloaded sections
name each article's collection (``section_id``). Auth is Basic ``{email}/token:{api_token}``
when an email is set, else the token is an OAuth bearer token.

Drafts and restricted articles (``user_segment_id`` not null) are dropped here, before the
snapshot is written, so they never reach the disk, the index or an answer.

Example::

    with zendesk_client(settings) as client:
        snapshot = fetch_zendesk(client, "https://acme.zendesk.com", "en-us")
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from assistant.settings import Settings
from knowledge.sync.http import JsonClient, SyncError
from knowledge.sync.snapshot import Snapshot

PAGE_SIZE = 100  # the documented maximum of page[size]
MAX_PAGES = 10_000


def zendesk_base_url(settings: Settings, base_url: str | None) -> str:
    if base_url:
        return base_url.rstrip("/")
    if not settings.zendesk_subdomain:
        raise SyncError(
            "zendesk: no help center to sync: set ASSISTANT_ZENDESK_SUBDOMAIN or pass --base-url"
        )
    return f"https://{settings.zendesk_subdomain}.zendesk.com"


def zendesk_client(settings: Settings) -> JsonClient:
    """A client authenticated as the settings say (API token with email, or OAuth token)."""
    if settings.zendesk_token is None or not settings.zendesk_token.get_secret_value():
        raise SyncError("zendesk: no credentials: set ASSISTANT_ZENDESK_TOKEN")
    token = settings.zendesk_token.get_secret_value()
    if settings.zendesk_email:
        basic = base64.b64encode(f"{settings.zendesk_email}/token:{token}".encode()).decode()
        auth = f"Basic {basic}"
    else:
        auth = f"Bearer {token}"
    return JsonClient(
        "zendesk",
        {"Authorization": auth},
        auth_hint="check ASSISTANT_ZENDESK_EMAIL and ASSISTANT_ZENDESK_TOKEN",
    )


def fetch_zendesk(
    client: JsonClient,
    base_url: str,
    locale: str,
    *,
    on_page: Callable[[int], None] | None = None,
) -> Snapshot:
    """Every public, published article of one locale, with the sections they sit in."""
    url: str | None = f"{base_url}/api/v2/help_center/{locale}/articles.json"
    params: dict[str, Any] | None = {"page[size]": PAGE_SIZE, "include": "sections"}
    snapshot = Snapshot()
    sections: dict[str, Any] = {}
    seen: set[str] = set()
    while url and snapshot.pages < MAX_PAGES:
        page = client.get(url, params)
        snapshot.pages += 1
        articles = page.get("articles")
        if not isinstance(articles, list):
            raise SyncError(f"zendesk: GET {url} returned no 'articles' list")
        for section in page.get("sections") or []:
            if isinstance(section, dict) and "id" in section:
                sections[str(section["id"])] = section
        for article in articles:
            if not isinstance(article, dict):
                continue
            if article.get("draft") is True:
                snapshot.drafts += 1
            elif article.get("user_segment_id") is not None:
                snapshot.restricted += 1
            else:
                snapshot.articles.append(article)
        if on_page:
            on_page(len(articles))
        meta, links = page.get("meta") or {}, page.get("links") or {}
        nxt = links.get("next") if meta.get("has_more") else None
        url, params = (nxt, None) if isinstance(nxt, str) and nxt not in seen else (None, None)
        seen.add(str(nxt))
    snapshot.articles.sort(key=lambda a: str(a.get("id")))
    snapshot.collections = sorted(sections.values(), key=lambda s: str(s.get("id")))
    return snapshot


def zendesk_payload(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot in the API's own page shape (what ``knowledge.exports`` reads)."""
    return {"articles": snapshot.articles, "sections": snapshot.collections}
