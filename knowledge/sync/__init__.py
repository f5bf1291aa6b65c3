"""Live sync of a Zendesk or Intercom help center into the index, scoped to that source.

A sync fetches the published, public articles over the vendor's API, writes them as a
snapshot in the vendor's own export shape in ``<data_dir>/sources/<kind>-<host>-<locale>/``
(``articles.json``: a Zendesk page with its sideloaded sections, or an Intercom list beside
its ``collections.json``), records the snapshot as a source, and runs the
normal incremental ingest over that one source (``run_ingest(sources=[...])``):

* the record manager re-embeds only the articles whose content changed upstream;
* articles gone upstream are removed, but only those this source produced before: another
  source, the shipped articles or another help center are never touched;
* a later ``help-assistant ingest`` or ``POST /v1/admin/reindex`` re-reads the snapshot
  offline, so the synced articles stay until the next sync;
* an upstream that comes back empty never wipes the synced articles without ``allow_empty``
  (and the previous snapshot is kept).

Example::

    report = run_sync(settings, embeddings, "zendesk", base_url=None, locale="en-us")
    print(report.snapshot.pages, report.ingest.articles_changed)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from langchain_core.embeddings import Embeddings

from assistant.settings import Settings
from knowledge.documents import DEFAULT_LOCALE
from knowledge.ingest import IngestReport, Progress, run_ingest
from knowledge.sources import (
    EmptySourceError,
    Source,
    SourceRecord,
    sync_snapshot_path,
)
from knowledge.sync.http import SyncError
from knowledge.sync.intercom import BASE_URL, fetch_intercom, intercom_client
from knowledge.sync.snapshot import Snapshot, write_json
from knowledge.sync.zendesk import (
    fetch_zendesk,
    zendesk_base_url,
    zendesk_client,
    zendesk_payload,
)

__all__ = ["SyncError", "SyncReport", "run_sync"]


@dataclass
class SyncReport:
    """What was fetched (and left out) upstream, and what the ingest of it did."""

    source: Source
    snapshot: Snapshot
    ingest: IngestReport


def run_sync(
    settings: Settings,
    embeddings: Embeddings,
    kind: str,
    *,
    base_url: str | None = None,
    locale: str = DEFAULT_LOCALE,
    allow_empty: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_page: Callable[[int], None] | None = None,
) -> SyncReport:
    """Fetch one help center (``kind`` "zendesk" or "intercom"), snapshot it, ingest it."""
    if kind == "zendesk":
        base = zendesk_base_url(settings, base_url)
        with zendesk_client(settings) as client:
            snapshot = fetch_zendesk(client, base, locale, on_page=on_page)
    elif kind == "intercom":
        base = (base_url or BASE_URL).rstrip("/")
        with intercom_client(settings) as client:
            snapshot = fetch_intercom(client, base, on_page=on_page)
    else:
        raise SyncError(f"unknown help center {kind!r} (supported: zendesk, intercom)")

    host = urlsplit(base).netloc or base
    path = sync_snapshot_path(settings.data_dir, kind, host, locale)
    source = Source(path=path.absolute(), kind=kind, locale=locale, base_url=base)
    record = SourceRecord.read(settings.data_dir)
    owned = record.owned([source])
    if not snapshot.articles and owned and not allow_empty:
        raise EmptySourceError([(source, len(owned))])  # keep the previous snapshot

    articles = path / "articles.json"
    if kind == "intercom":
        write_json(path / "collections.json", {"type": "list", "data": snapshot.collections})
    if not snapshot.articles:  # allowed to be empty: an empty folder removes its articles
        path.mkdir(parents=True, exist_ok=True)
        articles.unlink(missing_ok=True)
    elif kind == "zendesk":
        write_json(articles, zendesk_payload(snapshot))
    else:
        write_json(articles, {"type": "list", "data": snapshot.articles})
    report = run_ingest(
        settings,
        embeddings,
        sources=[source],
        allow_empty=allow_empty,
        progress=progress,
        on_plan=on_plan,
    )
    return SyncReport(source=source, snapshot=snapshot, ingest=report)
