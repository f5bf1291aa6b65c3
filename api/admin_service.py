"""What the admin routes do: reindex the articles, list feedback, report content gaps.

The routes only translate HTTP into these calls and back. Reindexing is one at a time: per app
(a lock made in ``create_app``, kept on ``app.state``) and across processes and workers (the
data dir's writer lock, which ``help-assistant ingest`` takes too, tried without waiting), so a
second reindex gets a 409 instead of running alongside. Example::

    service = AdminService(settings, assistant, storage, catalog, reindex_lock=threading.Lock())
    report = await service.reindex()  # ReindexInProgressError while another one runs
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from api.admin_schemas import AdminFeedbackItem, ReindexReport, UnansweredGroup, UnansweredReport
from api.articles import ArticleCatalog
from api.gaps import group_gaps
from api.storage import Storage
from assistant.core import Assistant
from assistant.settings import Settings
from assistant.store import WriterBusyError, writer_active

if TYPE_CHECKING:
    from knowledge.ingest import IngestReport


class ReindexInProgressError(RuntimeError):
    """Another reindex (this app's, another worker's) or an ingest is writing the index; this
    one was not started (no queueing)."""

    def __init__(self) -> None:
        super().__init__("a reindex is already running")


class AdminService:
    """Reindex, feedback and content gaps; blocking work runs in a worker thread."""

    def __init__(
        self,
        settings: Settings,
        assistant: Assistant,
        storage: Storage,
        catalog: ArticleCatalog,
        *,
        reindex_lock: threading.Lock,
    ) -> None:
        self.settings = settings
        self.assistant = assistant
        self.storage = storage
        self.catalog = catalog
        self.reindex_lock = reindex_lock

    async def reindex(self) -> ReindexReport:
        """Incremental ingest of the recorded sources (``knowledge.sources``: the paths of the
        last ``ingest PATH...``, synced help centers, else the configured articles dir), then
        the article catalog reloaded and the new version loaded by this process's Assistant
        before the reply (the caller reads its own write; other workers pick it up within
        ``refresh_seconds``). A source that came up empty raises ``EmptySourceError`` and
        nothing is changed (only ``help-assistant ingest --allow-empty`` may empty it)."""
        if not self.reindex_lock.acquire(blocking=False):
            raise ReindexInProgressError
        try:
            if writer_active(self.settings.data_dir):
                # another process ingests: refuse at once, not after loading the ingest pipeline
                # (a second or so on the first reindex), by when that ingest may be done
                raise WriterBusyError(self.settings.data_dir)
            # Imported here: the ingest pipeline (LangChain's indexing API, the tokenizer) is
            # not needed to answer, so a server does not load it at start-up.
            from knowledge.ingest import run_ingest

            report = await run_in_threadpool(
                run_ingest, self.settings, self.assistant.embeddings, wait=False
            )
            await run_in_threadpool(self.catalog.reload, self.settings)
            # The answer cache and /readyz read the served snapshot without waiting for the
            # store: load what was just published now rather than at the next due check.
            await run_in_threadpool(self.assistant.retriever.refresh)
        except WriterBusyError:
            raise ReindexInProgressError from None
        finally:
            self.reindex_lock.release()
        return reindex_report(report)

    async def feedback(
        self, *, limit: int, offset: int, helpful: bool | None
    ) -> list[AdminFeedbackItem]:
        """Stored feedback, newest first, with the rated answer's question and outcome."""
        items = await run_in_threadpool(
            self.storage.list_feedback, limit=limit, offset=offset, helpful=helpful
        )
        return [AdminFeedbackItem.model_validate(i, from_attributes=True) for i in items]

    async def content_gaps(self, limit: int) -> UnansweredReport:
        """The newest ``limit`` unanswered or down-rated questions, grouped by similarity."""
        return await run_in_threadpool(self._content_gaps, limit)

    def _content_gaps(self, limit: int) -> UnansweredReport:
        questions = self.storage.gap_questions(limit)
        groups = group_gaps(questions, self.assistant.embeddings)
        return UnansweredReport(
            questions=len(questions),
            groups=[UnansweredGroup.model_validate(g, from_attributes=True) for g in groups],
        )


def reindex_report(report: IngestReport) -> ReindexReport:
    """The ingest report as the API shows it (rejected files as ``{path, reason}``)."""
    fields = {name: getattr(report, name) for name in ReindexReport.model_fields}
    fields["rejected"] = [{"path": r.path, "reason": r.reason} for r in report.rejected]
    return ReindexReport(**fields)
