"""The ``help-assistant`` command line: thin translations of argv into library calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_core.embeddings import Embeddings

    from assistant.core import Assistant
    from assistant.settings import Settings
    from assistant.types import Turn
    from knowledge.ingest import IngestReport

app = typer.Typer(
    help="Help-center assistant for runners: ingest articles, ask, search, serve, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console()


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error (no traceback) and return the Exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def load_settings() -> Settings:
    """The settings, or a one-line error naming the bad ``ASSISTANT_*`` variable."""
    from assistant.settings import SettingsError
    from assistant.settings import load_settings as load

    try:
        return load()
    except SettingsError as exc:
        raise fail(str(exc)) from None


@app.callback()
def _root() -> None:
    """Help-center assistant for runners."""


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders of articles; recorded as the sources (default: the "
            "recorded sources, else ASSISTANT_ARTICLES_DIR)."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit non-zero and prune nothing on any rejected file.")
    ] = False,
    prune: Annotated[
        bool, typer.Option(help="Remove articles that are no longer among the sources.")
    ] = True,
    allow_empty: Annotated[
        bool, typer.Option(help="Let a source that came up empty remove its articles.")
    ] = False,
) -> None:
    """Index help articles incrementally: only new or changed chunks are embedded."""
    from knowledge.ingest import run_ingest

    run_ingest_command(
        lambda embeddings, bars: run_ingest(
            load_settings(),
            embeddings,
            paths or None,
            prune=prune,
            strict=strict,
            allow_empty=allow_empty,
            progress=bars.advance,
            on_plan=bars.plan,
        )
    )


def run_ingest_command(
    run: Callable[[Embeddings, _IngestBars], IngestReport],
    *,
    what: str = "ingest",
    before_summary: Callable[[], None] | None = None,
) -> None:
    """Run an ingest (or sync) with progress bars, print its summary, exit 1 on rejections."""
    from assistant.embeddings import LazyEmbeddings, resolve_model_path

    settings = load_settings()
    try:
        resolve_model_path(settings.embedding_model)
    except ValueError as exc:
        raise fail(str(exc)) from None
    # Loaded on first use: a re-ingest with nothing new never loads the model weights.
    embeddings = LazyEmbeddings(settings)
    with _IngestBars() as bars:
        try:
            report = run(embeddings, bars)
        except (OSError, ValueError) as exc:
            raise fail(f"{what} failed: {exc}") from None
    if before_summary:
        before_summary()
    _print_ingest_report(report)
    if report.rejected:
        raise typer.Exit(1)


class _IngestBars:
    """Rich progress bars for the two embedding stages of an ingest."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskID,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bars = Progress(
            TextColumn("[bold]{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def fetched(self, n: int) -> None:
        """Articles received from a help center's API (no total known in advance)."""
        if "fetch" not in self.tasks:
            self.tasks["fetch"] = self.bars.add_task("fetching articles", total=None)
        self.bars.advance(self.tasks["fetch"], n)

    def plan(self, chunks: int, units: int) -> None:
        self.tasks["chunks"] = self.bars.add_task("embedding chunks", total=chunks)
        self.tasks["units"] = self.bars.add_task("embedding sentences", total=units)

    def advance(self, stage: str, n: int) -> None:
        self.bars.advance(self.tasks[stage], n)

    def __enter__(self) -> _IngestBars:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for key in self.tasks.values():
            done = self.bars.tasks[key].total or self.bars.tasks[key].completed
            self.bars.update(key, total=done, completed=done)
        self.bars.__exit__(None, None, None)


def _print_ingest_report(report: IngestReport) -> None:
    for rejection in report.rejected:
        console.print(f"[yellow]rejected[/] {rejection.path}: {rejection.reason}", highlight=False)
    if report.aborted:
        raise fail(f"{len(report.rejected)} file(s) rejected with --strict: nothing was ingested")
    for draft in report.drafts:
        console.print(f"[dim]skipped {draft.path}: {draft.reason}[/]", highlight=False)
    for source in report.sources:
        console.print(f"[dim]source {source}[/]", highlight=False)
    table = Table(title="Ingest summary", show_header=False)
    rows = [
        ("files seen / rejected", f"{report.files_seen} / {report.files_rejected}"),
        (
            "articles indexed / rejected / skipped",
            f"{report.articles} / {report.articles_rejected} / {len(report.drafts)}",
        ),
        ("chunks (sentences)", f"{report.chunks} ({report.units})"),
        ("chunks added", report.chunks_added),
        ("chunks unchanged (skipped)", report.chunks_skipped),
        ("chunks deleted", report.chunks_deleted),
        (
            "articles new / updated / removed",
            f"{len(report.articles_new)} / {len(report.articles_changed)} / "
            f"{len(report.articles_removed)}",
        ),
        ("seconds", f"{report.seconds:.1f}"),
    ]
    if report.chunks_restored or report.units_restored:
        rows.insert(
            -1,
            (
                "re-added (lost from the store)",
                f"{report.chunks_restored} chunks, {report.units_restored} sentences",
            ),
        )
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    if report.pruning_skipped:
        console.print(
            "[yellow]Articles missing from the sources were kept because some files were "
            "rejected; fix them and ingest again.[/]"
        )


def _build() -> Assistant:
    from assistant.factory import build_assistant

    settings = load_settings()
    try:
        assistant = build_assistant(settings)
    except (ValueError, OSError) as exc:
        raise fail(f"cannot start the assistant: {exc}") from None
    if not assistant.ready():
        raise fail(
            "the knowledge base index is empty or was never built: run `help-assistant ingest`"
        )
    return assistant


def _read_history(path: Path | None) -> list[Turn]:
    from pydantic import TypeAdapter, ValidationError

    from assistant.types import Turn

    if path is None:
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return TypeAdapter(list[Turn]).validate_python(raw)
    except OSError as exc:
        raise fail(f"cannot read history file {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(f"history file {path} is not valid JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise fail(
            f"history file {path}: {where}: {first['msg']} "
            '(expected [{"role": "user"|"assistant", "content": "..."}])'
        ) from None


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The runner's question.")],
    history: Annotated[
        Path | None, typer.Option(help="JSON file with earlier turns, oldest first.")
    ] = None,
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only articles with this tag.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer contract JSON.")
    ] = False,
) -> None:
    """Answer a question with cited sources (or say it is not covered)."""
    from assistant.core import InvalidQuestionError
    from assistant.types import Filters

    if not question.strip():
        raise fail(
            'the question is empty; ask something, e.g. help-assistant ask "how do I warm up?"'
        )
    turns = _read_history(history)
    assistant = _build()
    try:
        answer = assistant.answer(question, turns, Filters(collection=collection, tags=tag or []))
    except InvalidQuestionError as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(answer.model_dump_json())
        return
    out.print(answer.answer, highlight=False)
    if answer.citations:
        out.print("\n[bold]Sources[/]")
        for c in answer.citations:
            out.print(f"[{c.n}] {c.title} > {c.section}  {c.url}", highlight=False)
    if answer.handoff.offered:
        out.print("\n[dim]Talk to a person: our support team is one message away.[/]")
    out.print(f"\n[dim]{answer.outcome} · confidence {answer.confidence:.2f}[/]")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="How many passages.")] = 5,
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only articles with this tag.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Ranked passages with article, section, url and score (for support agents)."""
    from assistant.core import InvalidQuestionError
    from assistant.types import Filters

    if not query.strip():
        raise fail("the query is empty")
    assistant = _build()
    try:
        passages = assistant.search(
            query, k=k, filters=Filters(collection=collection, tags=tag or [])
        )
    except InvalidQuestionError as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps([p.model_dump() for p in passages]))
        return
    if not passages:
        out.print("No passages match.")
    for rank, p in enumerate(passages, start=1):
        out.print(
            f"[bold]{rank}. {p.title}[/] > {p.section}  [dim]{p.score:.3f}  {p.url}[/]",
            highlight=False,
        )
        out.print(f"   {p.text[:400]}", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API and the chat page (http://HOST:PORT/)."""
    import uvicorn

    from api.server_options import uvicorn_options

    settings = load_settings()  # fail fast on bad settings, before uvicorn starts
    if not settings.chroma_host and not settings.chroma_dir.exists():
        raise fail("the knowledge base index was never built: run `help-assistant ingest`")
    console.print(f"Serving the help assistant on http://{host}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        **uvicorn_options(settings),
    )


def _register_sync() -> None:
    """``help-assistant sync zendesk|intercom`` lives in cli/sync.py."""
    from cli.sync import sync_app

    app.add_typer(sync_app, name="sync")


_register_sync()


def _register_tools() -> None:
    """The evaluation and benchmark commands live in eval/; the CLI only mounts them."""
    from eval.bench import bench_command
    from eval.cli import eval_command

    app.command("eval")(eval_command)
    app.command("bench")(bench_command)


_register_tools()


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
