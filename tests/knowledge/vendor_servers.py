"""Loopback Zendesk Help Center and Intercom API servers with the vendors' documented shapes.

Real HTTP on 127.0.0.1 (``http.server`` in a thread): the network edge is the only fake.

* Zendesk: ``GET /api/v2/help_center/{locale}/articles.json`` with cursor pagination
  (``page[size]``, capped at 2 here so pagination is exercised; ``meta.has_more``,
  ``links.next``), ``include=sections`` sideloading, Basic ``{email}/token:{token}`` auth
  (401 otherwise), and one 429 with ``Retry-After: 1`` when ``throttle_once`` is set.
* Intercom: ``GET /articles`` (page numbers, ``pages.next`` as a URL) and
  ``GET /help_center/collections`` (``pages.total_pages`` only), Bearer auth with an
  ``Intercom-Version`` header.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

ZENDESK_EMAIL, ZENDESK_TOKEN = "agent@stride.example", "zd-token-123"
INTERCOM_TOKEN = "ic-token-456"
VOUCHER = "RUNSTAFF50"


@dataclass
class VendorState:
    """What the servers serve (tests edit it between syncs) and the requests they saw."""

    zendesk: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    sections: dict[int, dict[str, Any]] = field(default_factory=dict)
    intercom: dict[str, dict[str, Any]] = field(default_factory=dict)
    collections: list[dict[str, Any]] = field(default_factory=list)
    throttle_once: bool = False
    requests: list[tuple[float, str, int]] = field(default_factory=list)


def zendesk_article(ident: int, title: str, body: str, section: int, **extra: Any) -> dict:
    locale = extra.pop("locale", "en-us")
    return {
        "id": ident, "url": f"https://stride.zendesk.com/api/v2/help_center/{locale}/articles/"
        f"{ident}.json", "html_url": f"https://stride.zendesk.com/hc/{locale}/articles/{ident}",
        "title": title, "body": body, "locale": locale, "source_locale": "en-us",
        "section_id": section, "draft": False, "user_segment_id": None,
        "label_names": ["running"], "updated_at": "2026-05-02T10:11:12Z", **extra,
    }  # fmt: skip


def default_state() -> VendorState:
    state = VendorState()
    state.sections = {
        9001: {"id": 9001, "name": "Warm-up", "locale": "en-us"},
        9002: {"id": 9002, "name": "Running form", "locale": "en-us"},
    }
    for art in [
        zendesk_article(101, "Ankle mobility before a run", "<p>Stiff ankles shorten your "
                        "stride.</p><h2>Knee-to-wall drill</h2><ol><li>Face a wall.</li><li>Push"
                        " the knee toward the wall.</li></ol>", 9001),
        zendesk_article(102, "Choosing a cadence", "<p>Cadence is the number of steps you take "
                        "per minute.</p><p>Change it by no more than 5% at a time.</p>", 9002),
        zendesk_article(103, "Barefoot strides", "<p>Draft notes.</p>", 9002, draft=True),
        zendesk_article(104, "Staff discount", f"<p>Agents: the voucher code is {VOUCHER}.</p>",
                        9002, user_segment_id=777),
        zendesk_article(105, "Cooling down after a run", "<p>Walk for five minutes after a "
                        "run so your heart rate comes down gently.</p>", 9001),
        zendesk_article(101, "Knöchelmobilität vor dem Lauf", "<p>Steife Knöchel verkürzen "
                        "den Schritt.</p>", 9001, locale="de"),
    ]:  # fmt: skip
        state.zendesk[(art["id"], art["locale"])] = art
    state.collections = [
        {"id": "443", "type": "collection", "name": "Strength", "parent_id": None},
        {"id": "444", "type": "collection", "name": "Recovery", "parent_id": None},
        {"id": "445", "type": "collection", "name": "Mobility", "parent_id": None},
    ]
    for art in [
        {"id": "9001", "title": "Hill strides", "body": "<p>Hill strides are short fast runs "
         "up a gentle hill.</p><h2>How to run them</h2><ol><li>Warm up for ten minutes."
         "</li><li>Run up for ten seconds.</li></ol>", "parent_id": 443},
        {"id": "9002", "title": "Foam rolling", "body": "<p>Roll each calf slowly for one "
         "minute.</p>", "parent_id": 444, "tags": {"type": "tag.list",
         "tags": [{"type": "tag", "name": "recovery"}]}},
        {"id": "9003", "title": "Downhill running", "body": "<p>Not finished.</p>",
         "parent_id": 443, "state": "draft"},
        {"id": "9004", "title": "Mobilité des hanches", "body": "<p>Texte français.</p>",
         "parent_id": 445, "default_locale": "fr", "translated_content": {
             "type": "article_translated_content",
             "en": {"type": "article_content", "title": "Hip mobility", "body": "<p>Swing "
                    "each leg forward and back ten times before a run.</p>",
                    "state": "published", "url": "https://help.stride.example/en/9004"}}},
        {"id": "9005", "title": "Rest days", "body": "<p>Take at least one rest day each "
         "week.</p>", "parent_id": 444},
    ]:  # fmt: skip
        art = {"type": "article", "state": "published", "default_locale": "en",
               "updated_at": 1776664800, "url": f"https://help.stride.example/{art['id']}",
               **art}  # fmt: skip
        state.intercom[art["id"]] = art
    return state


class _Handler(BaseHTTPRequestHandler):
    state: VendorState
    base: str

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        auth = self.headers.get("Authorization", "")
        if url.path.startswith("/api/v2/help_center/"):
            status = self._zendesk(url.path, query, auth)
        elif url.path in ("/articles", "/help_center/collections"):
            status = self._intercom(url.path, query, auth)
        else:
            status = 404
            self._send(404, {"error": "InvalidEndpoint"})
        self.state.requests.append((time.monotonic(), self.path, status))

    def _zendesk(self, path: str, query: dict[str, str], auth: str) -> int:
        expected = base64.b64encode(f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode()
        if auth != f"Basic {expected}":
            self._send(401, {"error": "Couldn't authenticate you"})
            return 401
        if self.state.throttle_once:
            self.state.throttle_once = False
            self._send(429, {"error": "TooManyRequests"}, {"Retry-After": "1"})
            return 429
        locale = path.split("/")[4]
        size = min(int(query.get("page[size]", "30")), 2)
        after = int(query.get("page[after]", "0"))
        rows = sorted((a for (i, loc), a in self.state.zendesk.items() if loc == locale),
                      key=lambda a: a["id"])  # fmt: skip
        page = rows[after : after + size]
        more = after + size < len(rows)
        nxt = f"{self.base}{path}?" + urlencode(
            {"page[size]": size, "page[after]": after + size, "include": query.get("include", "")}
        )
        body: dict[str, Any] = {
            "articles": page,
            "meta": {"has_more": more, "after_cursor": str(after + size), "before_cursor": ""},
            "links": {"next": nxt if more else None, "prev": None},
        }
        if "sections" in query.get("include", ""):
            ids = {a["section_id"] for a in page}
            body["sections"] = [s for i, s in self.state.sections.items() if i in ids]
        self._send(200, body)
        return 200

    def _intercom(self, path: str, query: dict[str, str], auth: str) -> int:
        if auth != f"Bearer {INTERCOM_TOKEN}" or not self.headers.get("Intercom-Version"):
            self._send(401, {"type": "error.list", "errors": [
                {"code": "unauthorized", "message": "Access Token Invalid"}]})  # fmt: skip
            return 401
        page, per_page = int(query.get("page", "1")), min(int(query.get("per_page", "25")), 2)
        rows: list[Any] = (
            self.state.collections if path.endswith("collections")
            else sorted(self.state.intercom.values(), key=lambda a: a["id"])
        )  # fmt: skip
        total = max(1, -(-len(rows) // per_page))
        pages: dict[str, Any] = {"type": "pages", "page": page, "per_page": per_page,
                                 "total_pages": total}  # fmt: skip
        if page < total and path == "/articles":
            pages["next"] = f"{self.base}{path}?page={page + 1}&per_page={per_page}"
        data = rows[(page - 1) * per_page : page * per_page]
        self._send(200, {"type": "list", "pages": pages, "total_count": len(rows), "data": data})
        return 200


class VendorServer:
    """Both vendors on one free loopback port, serving ``state``, in a daemon thread."""

    def __init__(self, state: VendorState) -> None:
        self.state = state
        handler = type("Handler", (_Handler,), {"state": state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        handler.base = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> VendorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
