"""A full disk under the data dir, told apart from other storage failures.

Ingest, the reindex route and ``serve`` turn a full disk into one line that names the data dir
and its setting (:class:`DiskFullError`), wherever it was hit: Chroma's SQLite or its vector
files, the record managers' SQLite, the sources record, the ONNX export in ``models/``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.settings import Settings

#: SQLite's own text for SQLITE_FULL (code 13): Chroma's Rust core passes the error on as text.
SQLITE_FULL_TEXT = "database or disk is full"
#: Chroma reports some failed writes without their cause ("Error in compaction: Failed to apply
#: logs to the metadata segment"); such a failure counts as a full disk when the data dir's
#: file system has less than this free afterwards.
LOW_SPACE_BYTES = 32 * 1024 * 1024


class DiskFullError(OSError):
    """An ingest stopped because the disk under the data dir is full (ENOSPC, SQLITE_FULL).

    ``str()`` is one line naming the data dir and its setting (and the file, when the error
    gave one); the version published before, if any, is still the one served."""

    def __init__(self, data_dir: Path, filename: str | None = None) -> None:
        where = f" (writing {filename})" if filename else ""
        self.message = (
            f"the disk is full: no space left in the data dir {data_dir} "
            f"(ASSISTANT_DATA_DIR){where}; the new index version was not published: free some "
            "space and try again"
        )
        super().__init__(errno.ENOSPC, self.message)

    def __str__(self) -> str:
        return self.message


def _chain(exc: BaseException) -> Iterable[BaseException]:
    """``exc``, its causes and contexts, and a SQLAlchemy error's driver error (``orig``)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        for linked in (error.__cause__, error.__context__, getattr(error, "orig", None)):
            if isinstance(linked, BaseException):
                todo.append(linked)


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk: an ``OSError`` with ENOSPC, SQLite's
    SQLITE_FULL (its error code, or its text from Chroma's Rust core)."""
    for error in _chain(exc):
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
        if isinstance(error, sqlite3.Error):
            code = getattr(error, "sqlite_errorcode", None)
            if code is not None and code & 0xFF == sqlite3.SQLITE_FULL:
                return True
        if type(error).__module__.startswith("chromadb") and SQLITE_FULL_TEXT in str(error):
            return True
    return False


def _low_space(path: Path) -> bool:
    try:
        stat = os.statvfs(path)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < LOW_SPACE_BYTES


def disk_full_error(exc: BaseException, settings: Settings) -> DiskFullError | None:
    """The :class:`DiskFullError` ``exc`` amounts to, or None when it is something else.

    A Chroma error that names no cause counts when the embedded store's file system is nearly
    full (:data:`LOW_SPACE_BYTES`)."""
    full = is_disk_full(exc)
    if not full and not settings.chroma_host:
        chroma = any(type(e).__module__.startswith("chromadb") for e in _chain(exc))
        full = chroma and _low_space(settings.data_dir)
    if not full:
        return None
    names = (getattr(e, "filename", None) for e in _chain(exc) if isinstance(e, OSError))
    return DiskFullError(settings.data_dir, next((str(n) for n in names if n), None))
