"""The server's start-up stays light (issue 15): importing the app loads none of the libraries
that only some paths use (ingest and reindex, HTML pages and exports, migrations, torch)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from assistant.langid_model import ensure_decoded

#: Loaded on first use only: reindex (LangChain's indexing API), HTML (BeautifulSoup,
#: markdownify), a schema migration (Alembic), the torch backend or an ONNX export, an
#: article rendered as HTML (markdown-it), LangChain's vector-store and retriever classes (the
#: retriever's LangChain wrapper; their runnables, tracers and langsmith: ~0.8 s).
LAZY = (
    "knowledge.ingest", "knowledge.html", "knowledge.exports", "langchain_classic", "bs4",
    "markdownify", "alembic", "torch", "transformers", "sentence_transformers",
    "langchain_huggingface", "markdown_it", "langchain_chroma", "langchain_core.vectorstores",
    "langchain_core.retrievers", "langsmith",
)  # fmt: skip


def test_importing_the_app_loads_none_of_the_lazy_libraries() -> None:
    # the app, and what its lifespan imports to build the Assistant
    code = (
        "import sys, api.main, assistant.factory, assistant.embeddings, assistant.store\n"
        f"print(sorted(m for m in {LAZY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_warm_up_reads_the_decoded_language_model_without_lzma(tmp_path: Path) -> None:
    """The server's warm-up makes the language identifier from the decoded copy in the data dir
    (assistant.langid_model), not by decoding py3langid's LZMA file again (~0.7 s of CPU)."""
    ensure_decoded(tmp_path / "models")
    code = (
        "import lzma, sys\n"
        "def refuse(*args, **kwargs): raise AssertionError('LZMA decoding at start-up')\n"
        "lzma.open = lzma.LZMAFile = lzma.decompress = refuse\n"
        "from assistant.factory import warm_up_libraries\n"
        "from assistant.settings import Settings\n"
        f"warm_up_libraries(Settings(data_dir={str(tmp_path)!r}))\n"
        "from assistant.conversation import detect_language\n"
        "print(detect_language('bonjour, je voudrais courir demain matin'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "fr"


def test_the_collector_pauses_while_the_app_loads_and_runs_again_after() -> None:
    """api.startup_gc: no full collection while the app's libraries load (each re-scans all
    that is loaded: ~0.5 s of start-up), then the loaded objects are frozen and the collector
    is on again for what the server makes later."""
    code = (
        "import gc, api.main\n"
        "print(gc.isenabled(), gc.get_stats()[2]['collections'], gc.get_freeze_count() > 100_000)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "0", "True"]


def test_what_the_start_up_built_is_frozen_too(make_client) -> None:  # type: ignore[no-untyped-def]
    """After the lifespan's start-up, its objects (index snapshot, model session, storage) are
    frozen as well: a full collection under load scans only what requests made since."""
    import gc

    gc.unfreeze()  # what earlier tests froze (this process imported the app long ago)
    before = gc.get_freeze_count()
    client = make_client()
    assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() > before + 1_000
