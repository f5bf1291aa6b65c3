"""``help-assistant sync zendesk|intercom``: pull a live help center into the index.

Thin: argv -> :func:`knowledge.sync.run_sync`, with the progress bars and summary of
``ingest``. A bad token, an unreachable server or an empty upstream is one line naming the
service (and the HTTP status), and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

sync_app = typer.Typer(
    help="Pull a live help center (Zendesk or Intercom) into the index, incrementally.",
    no_args_is_help=True,
)

_ALLOW_EMPTY = typer.Option(
    help="Let an upstream that returns no articles remove this help center's articles."
)
# cli.main imports this module while it is being imported, so nothing of it is imported here
# at module level (``python -m cli.main`` would find this module half-initialized).
_DATA_DIR = typer.Option(
    "--data-dir",
    file_okay=False,
    help="Data directory for this run (index, record manager, snapshots); overrides "
    "ASSISTANT_DATA_DIR.",
)


def _sync(
    kind: str, base_url: str | None, locale: str, allow_empty: bool, data_dir: Path | None
) -> None:
    from cli.main import reports_errors

    reports_errors(_run_sync)(kind, base_url, locale, allow_empty, data_dir)


def _run_sync(
    kind: str, base_url: str | None, locale: str, allow_empty: bool, data_dir: Path | None
) -> None:
    from cli.main import console, load_settings, run_ingest_command
    from knowledge.sync import SyncReport, run_sync

    settings = load_settings(data_dir)
    done: list[SyncReport] = []

    def run(embeddings, bars):  # type: ignore[no-untyped-def]
        report = run_sync(
            settings,
            embeddings,
            kind,
            base_url=base_url,
            locale=locale,
            allow_empty=allow_empty,
            progress=bars.advance,
            on_plan=bars.plan,
            on_page=bars.fetched,
        )
        done.append(report)
        return report.ingest

    def fetched_line() -> None:
        if done:
            snap = done[0].snapshot
            console.print(
                f"{kind}: {len(snap.articles)} published articles fetched in {snap.pages} "
                f"page(s); left out {snap.drafts} draft(s) and {snap.restricted} "
                "restricted article(s)",
                highlight=False,
            )

    run_ingest_command(settings, run, what=f"sync {kind}", before_summary=fetched_line)


@sync_app.command("zendesk")
def zendesk(
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Help center URL (default: https://ASSISTANT_ZENDESK_SUBDOMAIN.zendesk.com)."
        ),  # fmt: skip
    ] = None,
    locale: Annotated[str, typer.Option(help="Help center locale to index.")] = "en-us",
    allow_empty: Annotated[bool, _ALLOW_EMPTY] = False,
    data_dir: Annotated[Path | None, _DATA_DIR] = None,
) -> None:
    """Sync a Zendesk Help Center (ASSISTANT_ZENDESK_SUBDOMAIN, _EMAIL, _TOKEN)."""
    _sync("zendesk", base_url, locale, allow_empty, data_dir)


@sync_app.command("intercom")
def intercom(
    base_url: Annotated[
        str | None, typer.Option(help="API base URL (default: https://api.intercom.io).")
    ] = None,
    allow_empty: Annotated[bool, _ALLOW_EMPTY] = False,
    data_dir: Annotated[Path | None, _DATA_DIR] = None,
) -> None:
    """Sync an Intercom Help Center (ASSISTANT_INTERCOM_TOKEN, ASSISTANT_INTERCOM_VERSION)."""
    from knowledge.documents import DEFAULT_LOCALE

    _sync("intercom", base_url, DEFAULT_LOCALE, allow_empty, data_dir)
