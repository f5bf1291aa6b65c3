"""The FastAPI app: ``create_app()`` wires settings, the Assistant, storage and routes.

The Assistant (embedding model + indexes; ``python -m eval.bench.cold_start`` times a start)
is built once in the lifespan, unless one is passed in (tests share one per session). Serve it
with ``help-assistant serve`` (which applies ``api.server_options.uvicorn_options``), or::

    uvicorn api.main:create_app --factory --host 127.0.0.1 --port 8000 --no-proxy-headers

Behind a reverse proxy, name it in ``ASSISTANT_TRUSTED_PROXIES``; the app reads
``X-Forwarded-For`` itself (``api.ratelimit``), whatever uvicorn's own proxy settings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING

# Before the libraries, on purpose: the garbage collector pauses while they load, and resumes
# below, once they are in (~0.5 s of a cold start's CPU otherwise; see api/startup_gc.py).
from api import startup_gc  # isort: skip

# First of the libraries, on purpose: wordfreq (the answerer's word frequencies) finds its data
# with inspect.stack() when imported, which costs in proportion to the modules loaded by then:
# ~0.5 s once the app's imports are in, a few ms before them. The server needs it anyway.
import wordfreq  # noqa: F401  # isort: skip
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.answer_writer import AnswerLogBarrier, AnswerWriter, WriteBehindStorage
from api.articles import ArticleCatalog
from api.bodies import BodyLimitMiddleware, GzipRequestMiddleware
from api.errors import install_error_handlers
from api.metrics import Metrics, MetricsMiddleware
from api.middleware import (
    HeadAsGetMiddleware,
    HtmlSafeJsonMiddleware,
    RequestClockMiddleware,
    SecurityHeadersMiddleware,
    StartupErrorMiddleware,
)
from api.ratelimit import (
    RateLimitMiddleware,
    SharedFailureThrottle,
    SharedRateLimiter,
    TrustedProxies,
)
from api.routes import (
    admin,
    agent,
    agent_review,
    answer,
    articles,
    chat,
    feedback,
    health,
    pages,
    search,
)
from api.routes.pages import STATIC_DIR
from api.schemas import MAX_BODY_BYTES
from api.storage import Storage
from assistant.core import Assistant
from assistant.settings import Settings, StartupError, get_settings
from knowledge.diskfull import is_disk_full

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

startup_gc.resume()  # the app's modules are loaded: collect again (frozen, they are not scanned)

logger = logging.getLogger("api")


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The app for ``settings`` (default: the environment); ``assistant`` skips building one."""
    settings = settings or get_settings()
    _log_to_stderr()
    app = FastAPI(
        title="Help assistant for runners",
        version="1.0.0",
        summary="Grounded, cited answers from the help center; feedback; content gaps.",
        lifespan=lifespan,
        # /v1/answer/ is a 404, not a redirect: Starlette builds the redirect from the Host
        # header (an open redirect through a proxy), and a redirected POST loses its body in
        # many clients.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.trusted_proxies = TrustedProxies(settings.trusted_proxies)
    app.state.admin_throttle = SharedFailureThrottle.parse(
        settings.admin_failure_limit, settings.rate_limit_storage
    )
    app.state.assistant = assistant
    app.state.metrics = Metrics()
    # One reindex at a time per app (a second one is a 409); never shared between apps.
    app.state.reindex_lock = threading.Lock()
    _include_routes(app)
    install_error_handlers(app, MAX_BODY_BYTES)
    _add_middleware(app, settings, app.state.metrics)
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Builds the heavy objects once (the Assistant unless given, storage, the article catalog)
    on ``app.state``, and closes the storage at shutdown."""
    state = app.state
    # What the start-up builds lives as long as the process too (the model session, the index
    # snapshot, the vocabularies: tens of thousands of objects): no collection while it is made,
    # and frozen like the imports once it is, so a full collection under load, which holds the
    # GIL for every request, no longer scans them (the tail behind `help-assistant bench`'s
    # p99/p50 at 32 connections: 10.6x before, 2.4x).
    with startup_gc.paused():
        embeddings = await _start_up(app)
    try:
        yield
    finally:
        assistant = getattr(state, "assistant", None)
        if assistant is not None and hasattr(assistant, "stop_warming"):
            await run_in_threadpool(assistant.stop_warming)
        await run_in_threadpool(state.answer_writer.close)
        state.storage.close()
        if embeddings is not None and hasattr(embeddings, "close"):
            embeddings.close()


async def _start_up(app: FastAPI) -> Embeddings | None:
    """The lifespan's start-up: the Assistant unless given, storage, the article catalog, on
    ``app.state``; returns the embedding model it loaded (closed at shutdown), if any."""
    state, settings = app.state, app.state.settings
    embeddings: Embeddings | None = None
    if state.assistant is None:
        from assistant.embeddings import PendingEmbeddings, make_query_embeddings
        from assistant.factory import build_assistant, warm_up_libraries
        from assistant.store import make_chroma_client

        logger.info("loading the embedding model and indexes from %s", settings.data_dir)
        _check_data_dir(settings)
        # Micro-batched question embeddings when ASSISTANT_EMBED_BATCH_WINDOW_MS > 0. While the
        # model loads (mostly outside the GIL): the libraries' tables on a second thread
        # (build_assistant waits for it), and the index's client on a third (Chroma's start-up:
        # ~0.3 s, mostly imports), then the Assistant over it, which reads the index's snapshot
        # (~0.5 s) and embeds nothing: it gets the model as it will be (PendingEmbeddings).
        model = _on_a_thread(make_query_embeddings, settings)
        warm_up = asyncio.ensure_future(run_in_threadpool(warm_up_libraries, settings))
        client = asyncio.ensure_future(run_in_threadpool(make_chroma_client, settings))

        async def assemble() -> Assistant:
            return await run_in_threadpool(
                partial(build_assistant, settings, PendingEmbeddings(model), await client,
                        preload_index=True)
            )  # fmt: skip

        build = asyncio.ensure_future(assemble())
        try:
            # The model's error first, then the client's, then the build's: the order they
            # were shown in when the model loaded before anything else.
            embeddings = await asyncio.wrap_future(model)
            state.assistant = await build
        except ValueError as exc:  # the make_* factories' "unknown X; supported: ..."
            raise StartupError(str(exc)) from exc
        except OSError as exc:  # the ONNX export into <data dir>/models on a full disk
            if not is_disk_full(exc):
                raise
            raise StartupError(
                f"the disk is full: no space left in the data dir {settings.data_dir} "
                "(ASSISTANT_DATA_DIR) for the embedding model's ONNX export: free some space"
            ) from exc
        finally:
            await asyncio.wait([warm_up, client, build])  # a failed start leaves no thread behind
            # An error in the warm-up is build_assistant's too (it warms up again); the client's
            # is the build's; the build's was raised above, unless the model's was first.
            for task in (warm_up, client, build):
                if not task.cancelled():
                    task.exception()
    state.storage = await _open_storage(settings)
    # Answers are logged behind the response; the shutdown below writes what is queued.
    state.answer_writer = AnswerWriter(state.storage, state.metrics)
    state.catalog = await run_in_threadpool(ArticleCatalog.for_settings, settings)
    logger.info("ready: %d articles, answers stored in %s", len(state.catalog),
                state.storage.engine.url.render_as_string(hide_password=True))  # fmt: skip
    return embeddings


def _on_a_thread(load: Callable[[Settings], Embeddings], settings: Settings) -> Future[Embeddings]:
    """``load(settings)`` started on a thread of its own (which ends with it)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-load")
    try:
        return pool.submit(load, settings)
    finally:
        pool.shutdown(wait=False)


async def _open_storage(settings: Settings) -> Storage:
    """The answer log, migrated and pruned. Any failure is one logged line and the app serves
    anyway: answers go out unstored (counted), /readyz says degraded, feedback gets a 503."""
    storage = WriteBehindStorage(
        settings.answers_db_url, retention_days=settings.answer_retention_days
    )
    try:
        await run_in_threadpool(storage.create_schema)
    except SQLAlchemyError as exc:
        # storage.problem names the setting (a full disk, read-only); the driver's text says how
        logger.error("%s (%s)", storage.problem, getattr(exc, "orig", exc))
        return storage
    if storage.problem:
        logger.error("%s: answers are served but not stored", storage.problem)
        return storage
    try:
        await run_in_threadpool(storage.prune, older_than_days=settings.answer_retention_days)
    except SQLAlchemyError as exc:
        logger.error("pruning the answer log failed: %s", getattr(exc, "orig", exc))
    return storage


def _check_data_dir(settings: Settings) -> None:
    """A read-only data dir is one line naming it, not Chroma's traceback (``os.access`` sees a
    read-only mount even as root)."""
    if settings.chroma_host:
        return
    for path in (settings.chroma_dir, settings.data_dir):
        if path.exists():
            if not os.access(path, os.W_OK):
                raise StartupError(
                    f"the data dir {path} is read-only: the embedded index writes there "
                    "(mount it read-write, or serve the index from ASSISTANT_CHROMA_HOST)"
                )
            return


def _include_routes(app: FastAPI) -> None:
    for module in (
        answer, search, feedback, articles, chat, admin, agent, agent_review, health, pages
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _add_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Added innermost first: requests pass start-up errors -> request clock -> metrics ->
    HEAD as GET -> headers -> HTML-safe JSON -> body limit -> gzip -> CORS -> rate limit ->
    answer-log barrier -> routes, so 413s and 429s are counted, escaped and carry the security
    headers, 429s the CORS headers a browser needs to read them, a gzip body is bounded before
    and after decoding, and only requests that got past every check wait for the log."""
    app.add_middleware(AnswerLogBarrier)
    limiter = SharedRateLimiter.parse(settings.rate_limit, settings.rate_limit_storage)
    if limiter is not None:
        app.add_middleware(RateLimitMiddleware, limiter=limiter, proxies=app.state.trusted_proxies)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key"],
            expose_headers=["Retry-After"],
            max_age=600,
        )
    app.add_middleware(GzipRequestMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(HtmlSafeJsonMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestClockMiddleware)
    app.add_middleware(StartupErrorMiddleware)


def _log_to_stderr() -> None:
    """uvicorn configures only its own loggers: without this, the app's INFO records (answers,
    start-up) would be dropped. A process that set logging up itself (a root handler: pytest,
    a logging config) keeps its setup."""
    app_logger = logging.getLogger("api")
    if app_logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    app_logger.addHandler(handler)
    app_logger.setLevel(logging.INFO)
