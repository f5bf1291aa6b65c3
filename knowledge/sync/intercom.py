"""Pull an Intercom Help Center over its documented API.

``GET {base}/articles`` and ``GET {base}/help_center/collections``, page by page: follow
``pages.next`` (a URL, or a ``starting_after`` cursor) and else ``page`` up to
``pages.total_pages``. Auth is ``Authorization: Bearer <token>`` with the ``Intercom-Version``
header. Collections name each article's collection (``parent_id``).

Drafts (``state`` not "published") are dropped before the snapshot is written. Internal
articles live behind another endpoint (``/internal_articles``) that sync never reads, so an
article meant for teammates only is never indexed.

Example::

    with intercom_client(settings) as client:
        snapshot = fetch_intercom(client, "https://api.intercom.io")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.settings import Settings
from knowledge.sync.http import JsonClient, SyncError
from knowledge.sync.snapshot import Snapshot

BASE_URL = "https://api.intercom.io"
PER_PAGE = 50
MAX_PAGES = 10_000


def intercom_client(settings: Settings) -> JsonClient:
    if settings.intercom_token is None or not settings.intercom_token.get_secret_value():
        raise SyncError("intercom: no credentials: set ASSISTANT_INTERCOM_TOKEN")
    return JsonClient(
        "intercom",
        {
            "Authorization": f"Bearer {settings.intercom_token.get_secret_value()}",
            "Intercom-Version": settings.intercom_version,
        },
        auth_hint="check ASSISTANT_INTERCOM_TOKEN",
    )


def _pages(
    client: JsonClient, url: str, on_page: Callable[[int], None] | None
) -> tuple[list[Any], int]:
    """Every item of a paginated Intercom list, and the number of pages fetched."""
    items: list[Any] = []
    params: dict[str, Any] | None = {"page": 1, "per_page": PER_PAGE}
    target: str | None = url
    fetched, seen = 0, set()
    while target and fetched < MAX_PAGES:
        body = client.get(target, params)
        fetched += 1
        data = body.get("data")
        if not isinstance(data, list):
            raise SyncError(f"intercom: GET {target} returned no 'data' list")
        items.extend(data)
        if on_page:
            on_page(len(data))
        pages = body.get("pages") or {}
        nxt = pages.get("next")
        if isinstance(nxt, str) and nxt not in seen:
            seen.add(nxt)
            target, params = nxt, None
        elif isinstance(nxt, dict) and nxt.get("starting_after"):
            target = url
            params = {"per_page": nxt.get("per_page", PER_PAGE),
                      "starting_after": nxt["starting_after"]}  # fmt: skip
        elif isinstance(pages.get("page"), int) and pages["page"] < int(
            pages.get("total_pages") or 0
        ):
            target, params = url, {"page": pages["page"] + 1, "per_page": PER_PAGE}
        else:
            target = None
    return items, fetched


def fetch_intercom(
    client: JsonClient, base_url: str, *, on_page: Callable[[int], None] | None = None
) -> Snapshot:
    """Every published article, with the collections they sit in."""
    base_url = base_url.rstrip("/")
    collections, n_collections = _pages(client, f"{base_url}/help_center/collections", None)
    articles, n_articles = _pages(client, f"{base_url}/articles", on_page)
    snapshot = Snapshot(pages=n_collections + n_articles)
    for article in articles:
        if not isinstance(article, dict):
            continue
        if article.get("state", "published") != "published":
            snapshot.drafts += 1
        else:
            snapshot.articles.append(article)
    snapshot.articles.sort(key=lambda a: str(a.get("id")))
    snapshot.collections = sorted(
        (c for c in collections if isinstance(c, dict)), key=lambda c: str(c.get("id"))
    )
    return snapshot
