"""The cyclic garbage collector, paused while the server's libraries load (issue 15, cold start).

Importing the app creates ~330k objects that live as long as the process (modules, classes,
functions, pydantic schemas, Chroma's and LangChain's tables). While they load, CPython runs
four full collections and ~500 younger ones, each re-scanning what was loaded before: measured,
~0.5-1 s of CPU of a cold start on the 2-core bench machine, and the collections found ~3k
unreachable objects in all. So ``api.main`` imports this module before anything else, which
pauses collection, and calls :func:`resume` once its imports are done: the objects loaded so far
are frozen (``gc.freeze``: left out of every later collection, which they would all survive
anyway; the few unreachable ones are kept, a one-off of a few hundred kB) and the collector
runs as before, for the objects made after. A process that had collection off keeps it off.

The lifespan's start-up (the model session, the index snapshot, the vocabularies) is the same
kind of object: :func:`paused` keeps collection off while it is built and freezes what it built
(measured: ~35 collections, ~0.1 s of a cold start's CPU, found 92 unreachable objects).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: Whether this import paused the collector (it was running), until :func:`resume`.
_paused = gc.isenabled()
if _paused:
    gc.disable()


def resume() -> None:
    """Freeze what is loaded and collect again, if this module paused collection; idempotent."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No collection inside the block; what it made is frozen when it ends without an error
    (a failed start-up keeps its objects collectable). Collection is then on again, unless it
    was off before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
