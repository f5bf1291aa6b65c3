"""The agent console's JSON API under ``/agent/api``: log in, search, suggested replies and
corrections. The page itself is ``GET /agent`` (``api/routes/pages.py``); the review screen's
routes are in ``api/routes/agent_review.py``.

Every route is a 404 when no admin key is configured (as ``/v1/admin`` is). Reads need the
session cookie; writes need the cookie and the ``X-CSRF-Token`` header (``api/agent_session.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from api.agent_schemas import (
    AgentSearchRequest,
    CitationRef,
    CorrectionIn,
    CorrectionOut,
    CorrectionPatch,
    LoginRequest,
    SessionOut,
    SuggestRequest,
)
from api.agent_session import COOKIE, CSRF_HEADER, SESSION_SECONDS, AgentSession, issue, verify
from api.agent_session import csrf_ok as _csrf_ok
from api.articles import ArticleCatalog, safe_url
from api.correction_store import Correction, CorrectionStore
from api.corrections import with_markers
from api.deps import AnswerServiceDep, AssistantDep, CatalogDep, SettingsDep, StorageDep, keys_match
from api.ratelimit import FailureThrottle, TrustedProxies
from api.schemas import PassageOut
from assistant.types import Answer, Filters

COOKIE_PATH = "/agent"


def console_key(settings: SettingsDep) -> str:
    """The admin key; 404 when none is configured (the console does not exist)."""
    key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else ""
    if not key:
        raise HTTPException(status_code=404, detail="Not Found")
    return key


ConsoleKeyDep = Annotated[str, Depends(console_key)]


def current_session(request: Request, key: ConsoleKeyDep) -> AgentSession:
    session = verify(request.cookies.get(COOKIE), key=key)
    if session is None:
        raise HTTPException(401, detail="log in to the agent console (session missing or expired)")
    return session


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, detail="cross-origin requests to the agent console are refused")


def csrf_session(
    request: Request, session: Annotated[AgentSession, Depends(current_session)]
) -> AgentSession:
    """The session of a write: same origin, and the CSRF token of this session in the header."""
    _same_origin(request)
    if not _csrf_ok(session, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, detail=f"missing or wrong {CSRF_HEADER} header")
    return session


SessionDep = Annotated[AgentSession, Depends(current_session)]
WriterDep = Annotated[AgentSession, Depends(csrf_session)]

router = APIRouter(prefix="/agent/api", tags=["agent console"], include_in_schema=False,
                   dependencies=[Depends(console_key)])  # fmt: skip


def _session_out(session: AgentSession) -> SessionOut:
    expires = datetime.fromtimestamp(session.expires_at, UTC)
    return SessionOut(name=session.name, expires_at=expires, csrf_token=session.csrf)


@router.post("/login", response_model=SessionOut)
async def login(
    body: LoginRequest, request: Request, response: Response, key: ConsoleKeyDep
) -> SessionOut:
    """The admin key opens a session: an httpOnly, SameSite=Strict cookie for 8 hours. Wrong
    keys count against the admin routes' per-client limit (ASSISTANT_ADMIN_FAILURE_LIMIT)."""
    _same_origin(request)
    throttle: FailureThrottle | None = getattr(request.app.state, "admin_throttle", None)
    proxies: TrustedProxies | None = getattr(request.app.state, "trusted_proxies", None)
    client = proxies.client(request.scope) if proxies else str(request.client)
    wait = throttle.retry_after(client) if throttle is not None else 0
    if wait:
        raise HTTPException(429, detail=f"too many wrong admin keys; try again in {wait} s",
                            headers={"Retry-After": str(wait)})  # fmt: skip
    if not keys_match(body.key, key):
        if throttle is not None:
            throttle.fail(client)
        raise HTTPException(403, detail="wrong admin key")
    token = issue(body.name, key=key)
    response.set_cookie(
        COOKIE, token, max_age=SESSION_SECONDS, path=COOKIE_PATH, httponly=True,
        samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    session = verify(token, key=key)
    assert session is not None
    return _session_out(session)


@router.post("/logout", status_code=204)
async def logout(_: WriterDep, response: Response) -> Response:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    response.status_code = 204
    return response


@router.get("/session", response_model=SessionOut)
async def session_info(session: SessionDep) -> SessionOut:
    return _session_out(session)


@router.get("/filters")
async def filters(_: SessionDep, catalog: CatalogDep) -> dict[str, list[Any]]:
    """The collections, tags and articles of the knowledge base (search filters, citations)."""
    articles = catalog.list()
    return {
        "collections": sorted({a.collection for a in articles if a.collection}),
        "tags": sorted({t for a in articles for t in a.tags}),
        "articles": [{"article_id": a.article_id, "title": a.title} for a in articles],
    }


@router.post("/search", response_model=list[PassageOut])
async def search(
    body: AgentSearchRequest, _: WriterDep, service: AnswerServiceDep
) -> list[PassageOut]:
    wanted = Filters(collection=body.collection or None, tags=body.tags)
    passages = await service.search(body.query, body.k, None if wanted.is_empty() else wanted)
    return [PassageOut(rank=i, **p.model_dump()) for i, p in enumerate(passages, start=1)]


@router.post("/suggest", response_model=Answer)
async def suggest(body: SuggestRequest, _: WriterDep, service: AnswerServiceDep) -> Answer:
    """The answer a customer's message gets (a correction when one matches), to reply with."""
    return await service.answer(body.message, None, None, channel="agent")


# ----- corrections ---------------------------------------------------------------------------
def _cited(refs: list[CitationRef], catalog: ArticleCatalog) -> list[dict[str, str]]:
    cited = []
    for ref in refs:
        article = catalog.get(ref.article_id)
        if article is None:
            raise HTTPException(422, detail=f"citations: unknown article id {ref.article_id!r}")
        cited.append({
            "article_id": article.article_id, "title": article.title,
            "url": safe_url(article.url), "section": ref.section,
            "snippet": article.summary[:300],
        })  # fmt: skip
    return cited


def _answer_text(text: str, n: int) -> str:
    try:
        return with_markers(text, n)
    except ValueError as exc:
        raise HTTPException(422, detail=f"answer: {exc}") from None


def _facts(facts: list[str]) -> list[str]:
    return [f.strip() for f in facts if f.strip()][:10]


def _out(c: Correction) -> CorrectionOut:
    return CorrectionOut.model_validate(c, from_attributes=True)


@router.get("/corrections", response_model=list[CorrectionOut])
async def list_corrections(_: SessionDep, storage: StorageDep) -> list[CorrectionOut]:
    return [_out(c) for c in await run_in_threadpool(CorrectionStore(storage).all)]


@router.post("/corrections", response_model=CorrectionOut, status_code=201)
async def add_correction(
    body: CorrectionIn, session: WriterDep, storage: StorageDep, catalog: CatalogDep,
    assistant: AssistantDep,
) -> CorrectionOut:  # fmt: skip
    cited = _cited(body.citations, catalog)
    answer = _answer_text(body.answer, len(cited))
    vector = await run_in_threadpool(assistant.embed, body.question)
    saved = await run_in_threadpool(
        lambda: CorrectionStore(storage).add(
            question=body.question,
            vector=vector.tolist(),
            answer=answer,
            citations=cited,
            facts=_facts(body.facts),
            author=session.name,
            answer_id=body.answer_id,
        )  # fmt: skip
    )
    return _out(saved)


@router.put("/corrections/{correction_id}", response_model=CorrectionOut)
async def edit_correction(
    correction_id: int, body: CorrectionPatch, session: WriterDep, storage: StorageDep,
    catalog: CatalogDep, assistant: AssistantDep,
) -> CorrectionOut:  # fmt: skip
    store = CorrectionStore(storage)
    current = await run_in_threadpool(store.get, correction_id)
    if current is None:
        raise HTTPException(404, detail="unknown correction id")
    cited = _cited(body.citations, catalog) if body.citations is not None else None
    n = len(cited) if cited is not None else len(current.citations)
    answer = _answer_text(body.answer if body.answer is not None else current.answer, n)
    vector = None
    if body.question is not None:
        vector = (await run_in_threadpool(assistant.embed, body.question)).tolist()
    changed = await run_in_threadpool(
        lambda: store.update(
            correction_id,
            author=session.name,
            question=body.question,
            vector=vector,
            answer=answer,
            citations=cited,
            facts=_facts(body.facts) if body.facts is not None else None,
        )  # fmt: skip
    )
    if changed is None:
        raise HTTPException(404, detail="unknown correction id")
    return _out(changed)


@router.delete("/corrections/{correction_id}", status_code=204)
async def delete_correction(correction_id: int, _: WriterDep, storage: StorageDep) -> Response:
    if not await run_in_threadpool(CorrectionStore(storage).delete, correction_id):
        raise HTTPException(404, detail="unknown correction id")
    return Response(status_code=204)
