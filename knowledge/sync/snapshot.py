"""What a sync fetched, and how it is kept on disk: in the vendors' own export shapes.

The snapshot is rewritten whole on every sync (atomically); unchanged articles give identical
chunks, so the incremental ingest that follows re-embeds only what changed upstream.

Example::

    write_json(path, {"articles": snapshot.articles, "sections": snapshot.collections})
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Snapshot:
    """Articles kept (published and public), and what was left out."""

    articles: list[dict[str, Any]] = field(default_factory=list)
    collections: list[dict[str, Any]] = field(default_factory=list)
    drafts: int = 0
    restricted: int = 0
    pages: int = 0


def write_json(path: Path, data: object) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
