"""The one place that wires components together."""

from __future__ import annotations

import contextlib
import logging
import threading
from functools import partial
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from assistant.answering import ExtractiveAnswerer
from assistant.chunks import units_collection
from assistant.confidence import zipf
from assistant.core import Answerer, Assistant
from assistant.embeddings import token_vectors
from assistant.ranking import LinearRanker
from assistant.retrieval import HybridRetriever
from assistant.safety import SafetyGate
from assistant.settings import Settings
from assistant.store import make_chroma_client, make_collection_store
from assistant.synonyms import Synonyms
from assistant.units import LiveUnitIndex, UnitIndex

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from langchain_core.language_models import BaseChatModel


def build_assistant(
    settings: Settings,
    embeddings: Embeddings | None = None,
    client: ClientAPI | None = None,
    chat_model: BaseChatModel | None = None,
    retriever: HybridRetriever | None = None,
    section_ranker: LinearRanker | None = None,
    *,
    preload_index: bool = False,
) -> Assistant:
    """Build the Assistant described by ``settings``; heavy parts may be passed in to share.

    ``chat_model`` (or the ``llm`` setting, ``provider:model``) selects the chat-model answerer;
    without either the grounded extractive answerer answers. ``retriever`` replaces the hybrid
    retriever (evaluation compares retrievers through it); ``section_ranker`` replaces the
    fitted section ranker (``python -m eval.choose_hedge`` compares hedges through it).
    ``preload_index`` (the API server) loads the embedded index's snapshot and builds what
    answering derives from it (:meth:`Assistant.prepare`) now, rather than on the first
    ``/readyz`` or question; a failure is left to those, as before (the server starts and is
    not ready).
    """
    limit_blas_threads(settings.blas_threads)
    if embeddings is None:
        from assistant.embeddings import make_embeddings

        embeddings = make_embeddings(settings)
    client = client or make_chroma_client(settings)
    chunks = make_collection_store(settings, client)
    units = make_collection_store(settings, client, units_collection(settings.collection))
    if retriever is None:
        # Snapshots of chunks and units together: see assistant/retrieval.py.
        retriever = HybridRetriever(chunks, embeddings, settings, units_store=units)
    unit_index = (
        LiveUnitIndex(retriever, units)
        if isinstance(retriever, HybridRetriever) and retriever.units_store is not None
        else UnitIndex(units)
    )
    extractive = ExtractiveAnswerer(
        unit_index,
        max_words=settings.max_answer_words,
        max_list_words=settings.max_list_words,
        embed_texts=embeddings.embed_documents,
        token_vectors=partial(token_vectors, embeddings),
        section_ranker=section_ranker,
    )
    answerer: Answerer = extractive
    if chat_model is None and settings.llm:
        chat_model = make_chat_model(settings.llm)
    if chat_model is not None:
        from assistant.llm import ChatModelAnswerer

        answerer = ChatModelAnswerer(chat_model, extractive)
    _quiet_libraries()
    gate = SafetyGate(embeddings)
    _warm_up(gate, settings)
    assistant = Assistant(
        settings=settings,
        embeddings=embeddings,
        retriever=retriever,
        answerer=answerer,
        fallback=extractive,
        gate=gate,
        synonyms=Synonyms.load(settings.synonyms_file),
    )
    if preload_index and isinstance(retriever, HybridRetriever) and not settings.chroma_host:
        with contextlib.suppress(Exception):  # noqa: BLE001 - readiness reports it
            assistant.prepare()
        assistant.start_warming()  # the section ranker's token vectors, on a thread
    return assistant


def limit_blas_threads(threads: int) -> None:
    """numpy's BLAS thread pool for the whole process (``Settings.blas_threads``; 0: as is)."""
    if threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")  # kept: not used as a context


def _warm_up(gate: SafetyGate, settings: Settings) -> None:
    """Load now, once, what the first question would otherwise wait for: the libraries' tables
    (:func:`warm_up_libraries`) and the red-flag model."""
    warm_up_libraries(settings)
    gate.model  # noqa: B018 - the property loads the model file


_WARM_UP_LOCK = threading.Lock()


def warm_up_libraries(settings: Settings | None = None) -> None:
    """Load the tables the answerer's libraries load on first use: the language identifier
    (from its decoded copy in ``settings``' data dir, written there when missing: ~0.05 s
    instead of ~0.7 s of LZMA decoding; see :mod:`assistant.langid_model`), wordfreq's
    (~0.5 s) and symspellpy's English word list. Once per process: a second caller waits for
    the first and finds them loaded. The API's lifespan starts it on a thread of its own while
    the model and the index load (:func:`build_assistant` then only waits for it)."""
    from assistant.conversation import detect_language, load_identifier
    from assistant.spelling import english_words

    with _WARM_UP_LOCK:
        load_identifier(settings.data_dir / "models" if settings is not None else None)
        detect_language("warm up the language identifier")
        zipf("warmup")
        english_words()


def _quiet_libraries() -> None:
    # bm25s sets its logger to DEBUG; its index-building messages are not ours to print.
    logging.getLogger("bm25s").setLevel(logging.WARNING)


def make_chat_model(spec: str) -> BaseChatModel:
    """``provider:model`` -> a LangChain chat model (the provider's package must be installed)."""
    from langchain_classic.chat_models import init_chat_model

    provider, _, model = spec.partition(":")
    try:
        return init_chat_model(model, model_provider=provider, temperature=0)
    except (ImportError, ValueError) as exc:
        raise ValueError(
            f"cannot build chat model {spec!r}: {exc}. Supported providers are those of "
            "LangChain's init_chat_model (e.g. openai, anthropic, ollama), with their package "
            "installed."
        ) from exc
