"""Is the app ready to answer? The model is loaded, the index store answers, the index has chunks.

``GET /readyz`` maps the result to a 200 or a 503; ready but with the answer log down (answers
go out unstored) is a 200 with status ``degraded``. Example::

    readiness = check_readiness(assistant, storage)
    readiness.ready, readiness.kb_version, readiness.problem, readiness.degraded
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.errors import INDEX_EMPTY
from api.storage import Storage
from assistant.core import Assistant
from assistant.store import StoreUnavailableError

logger = logging.getLogger("api.health")


@dataclass(frozen=True)
class Readiness:
    """``problem`` says why not ready (safe to show a client); ``None`` when ready."""

    kb_version: str = ""
    problem: str | None = None
    #: why answers are not being stored (the answer log is down), when ready otherwise
    degraded: str | None = None

    @property
    def ready(self) -> bool:
        return self.problem is None


def check_readiness(assistant: Assistant, storage: Storage | None = None) -> Readiness:
    """Blocking (it asks the stores): call it from a worker thread."""
    try:
        assistant.current_version()  # always asks the store, whatever is cached
        version = assistant.kb_version
        ready = assistant.ready()
    except StoreUnavailableError as exc:
        logger.warning("readiness check: %s", exc)
        return Readiness(problem=str(exc))
    except Exception as exc:  # noqa: BLE001 - any store failure means "not ready"
        # The exception's text may name paths: it goes to the log, not to the client.
        logger.warning("readiness check: the index store raised %s: %s", type(exc).__name__, exc)
        return Readiness(problem=f"the index store is unavailable ({type(exc).__name__})")
    if not ready:
        return Readiness(problem=INDEX_EMPTY)
    degraded = storage.probe() if storage is not None else None
    return Readiness(kb_version=version, degraded=degraded)
