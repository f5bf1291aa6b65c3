"""GET /: the chat page; GET /agent: the agent console (plain HTML, CSS and JS from api/static;
no build step, no inline script). Both load base.css and render.js, shared, before their own
chat.* or agent.* files. The pages are sent no-cache; StaticFiles serves /static."""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from api.deps import SettingsDep

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=4)
def _template(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
async def chat_page(settings: SettingsDep) -> HTMLResponse:
    # The only server-side value on the page, escaped for an attribute.
    page = _template("index.html")
    page = page.replace("{{support_url}}", html.escape(settings.support_url, quote=True))
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/agent", response_class=HTMLResponse)
async def agent_console(settings: SettingsDep) -> HTMLResponse:
    """The console page; its data comes from /agent/api after login. 404 without an admin key."""
    if settings.admin_api_key is None or not settings.admin_api_key.get_secret_value():
        raise HTTPException(status_code=404, detail="Not Found")
    return HTMLResponse(_template("agent.html"), headers={"Cache-Control": "no-cache"})
