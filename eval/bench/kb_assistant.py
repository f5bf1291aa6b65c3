"""The Assistant of one evaluation knowledge base, built as the API server builds it, for the
bench's single measurements (``eval.bench.gc_pause``, ``eval.bench.ask_first``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from eval.dataset import DEV
from eval.kbs import KBS, ingest, resolve_kbs

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from assistant.core import Assistant


def kb_parser(description: str) -> argparse.ArgumentParser:
    """``--dataset``, ``--kb`` and ``--data-dir``, the options every such measurement takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dataset", type=Path, default=DEV)
    parser.add_argument("--kb", default="runners")
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="root of the KB indexes (default: ASSISTANT_DATA_DIR/eval)",
    )  # fmt: skip
    return parser


def kb_assistant(
    args: argparse.Namespace, wrap: Callable[[Embeddings], Embeddings] | None = None
) -> tuple[Assistant, Embeddings]:
    """The knowledge base ``args.kb`` ingested (incrementally) under ``args.data_dir`` and its
    Assistant built with ``preload_index``, as the server's start-up does; ``wrap`` (the model
    in, an ``Embeddings`` out) sits between the Assistant and the model."""
    from assistant.embeddings import make_embeddings
    from assistant.factory import build_assistant
    from assistant.settings import load_settings

    settings = load_settings()
    embeddings = make_embeddings(settings)
    kb_settings = resolve_kbs([args.kb], KBS)[args.kb].settings(
        settings, args.data_dir or settings.data_dir / "eval"
    )
    ingest(kb_settings, embeddings)
    used = wrap(embeddings) if wrap is not None else embeddings
    return build_assistant(kb_settings, embeddings=used, preload_index=True), used
