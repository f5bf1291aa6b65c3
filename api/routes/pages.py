"""GET /: the chat page (plain HTML, CSS and JS from api/static; no build step)."""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import SettingsDep

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def _template() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
async def chat_page(settings: SettingsDep) -> HTMLResponse:
    # The only server-side value on the page, escaped for an attribute.
    page = _template().replace("{{support_url}}", html.escape(settings.support_url, quote=True))
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
