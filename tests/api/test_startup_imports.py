"""The server's start-up stays light (issue 15): importing the app loads none of the libraries
that only some paths use (ingest and reindex, HTML pages and exports, migrations, torch)."""

from __future__ import annotations

import subprocess
import sys

#: Loaded on first use only: reindex (LangChain's indexing API), HTML (BeautifulSoup,
#: markdownify), a schema migration (Alembic), the torch backend or an ONNX export.
LAZY = (
    "knowledge.ingest", "knowledge.html", "knowledge.exports", "langchain_classic", "bs4",
    "markdownify", "alembic", "torch", "transformers", "sentence_transformers",
    "langchain_huggingface",
)  # fmt: skip


def test_importing_the_app_loads_none_of_the_lazy_libraries() -> None:
    code = f"import sys, api.main; print(sorted(m for m in {LAZY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
