"""The ``help-assistant`` command line: thin translations of argv into library calls.

Errors are one line on stderr and a non-zero exit; with ``--json`` they are one JSON object on
stdout instead, ``{"error": {"message": "...", "code": "..."}}`` (codes: :data:`ERROR_CODES`).
``--data-dir`` overrides ``ASSISTANT_DATA_DIR`` for one run. Output to a pipe or a file is not
wrapped at the console width.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer._click.core import Context
from typer._click.exceptions import UsageError
from typer.core import TyperCommand

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_core.embeddings import Embeddings

    from assistant.core import Assistant
    from assistant.settings import Settings
    from assistant.types import Turn
    from knowledge.ingest import IngestReport

P = ParamSpec("P")
R = TypeVar("R")

#: The ``code`` of a JSON error, by what went wrong (the exit status is 2 for all of them).
ERROR_CODES = {
    "empty_question": "the question (or search query, or stdin with `ask -`) is empty",
    "invalid_question": "the assistant refused the question (too long, unreadable)",
    "bad_history": "the --history file cannot be read or is not a list of turns",
    "index_missing": "the knowledge base index was never built: run `help-assistant ingest`",
    "invalid_setting": "an ASSISTANT_* setting is invalid (the message names it)",
    "startup_failed": "a file or service the settings name cannot be used (index, model)",
    "disk_full": "the disk under the data dir is full (the message names it): nothing published",
    "usage": "the command line itself is wrong (an unknown option, a value out of range)",
}

app = typer.Typer(
    help="Help-center assistant for runners: ingest articles, ask, search, serve, evaluate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console()

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        file_okay=False,
        help="Data directory for this run (index, record manager, answer log); overrides "
        "ASSISTANT_DATA_DIR.",
    ),
]


class CommandError(Exception):
    """An error a command reports as one line (one JSON object with ``--json``)."""

    def __init__(self, message: str, code: str = "usage", exit_code: int = 2) -> None:
        super().__init__(message)
        self.message, self.code, self.exit_code = message, code, exit_code


def fail(message: str, code: str = "usage", exit_code: int = 2) -> CommandError:
    """The error to raise: printed by :func:`reports_errors` without a traceback."""
    return CommandError(message, code, exit_code)


def print_error(message: str, code: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"error": {"message": message, "code": code}}, ensure_ascii=False))
    else:
        console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command so its :class:`CommandError`, ``SettingsError`` and ``StartupError`` are
    one line (JSON on stdout when the command was given ``--json``) and exit status 2."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from assistant.settings import SettingsError, StartupError

        as_json = bool(kwargs.get("as_json", False))
        try:
            return command(*args, **kwargs)
        except CommandError as exc:
            print_error(exc.message, exc.code, as_json)
            raise typer.Exit(exc.exit_code) from None
        except SettingsError as exc:
            print_error(str(exc), "invalid_setting", as_json)
            raise typer.Exit(2) from None
        except StartupError as exc:
            print_error(str(exc), "startup_failed", as_json)
            raise typer.Exit(2) from None

    return run


class JsonErrorsCommand(TyperCommand):
    """A command whose usage errors (unknown option, value out of range) are JSON on stdout
    when ``--json`` is on its command line, like every other error of that command."""

    # Typer 0.29 vendors Click as typer._click (its commands raise that copy's UsageError).
    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        wants_json = "--json" in args
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            if not wants_json:
                raise
            print_error(exc.format_message(), "usage", True)
            ctx.exit(2)


def load_settings(data_dir: Path | None = None) -> Settings:
    """The settings (``data_dir`` overriding ``ASSISTANT_DATA_DIR``), or a one-line error
    naming the bad ``ASSISTANT_*`` variable. The environment itself is never changed."""
    from assistant.settings import SettingsError
    from assistant.settings import load_settings as load

    try:
        settings = load()
    except SettingsError as exc:
        raise fail(str(exc), "invalid_setting") from None
    # data_dir has no validator, and chroma_dir, the record manager and the answers database
    # are properties derived from it, so a copy with the new value is a complete override.
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"help-assistant {version('help-assistant')}")
        except PackageNotFoundError:
            typer.echo("help-assistant (not installed: pip install -e .)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Help-center assistant for runners."""


def _say(text: str, **kwargs: Any) -> None:
    """Print to stdout; hard-wrapped at the width only on a terminal, so a pipe or a file gets
    each answer and passage as one unbroken line."""
    out.print(text, soft_wrap=not out.is_terminal, **kwargs)


@app.command()
@reports_errors
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
    data_dir: DataDir = None,
) -> None:
    """Index help articles incrementally: only new or changed chunks are embedded."""
    from knowledge.ingest import run_ingest

    settings = load_settings(data_dir)
    run_ingest_command(
        settings,
        lambda embeddings, bars: run_ingest(
            settings,
            embeddings,
            paths or None,
            prune=prune,
            strict=strict,
            allow_empty=allow_empty,
            progress=bars.advance,
            on_plan=bars.plan,
        ),
    )


def run_ingest_command(
    settings: Settings,
    run: Callable[[Embeddings, _IngestBars], IngestReport],
    *,
    what: str = "ingest",
    before_summary: Callable[[], None] | None = None,
) -> None:
    """Run an ingest (or sync) with progress bars, print its summary, exit 1 on rejections.
    A full disk under the data dir is one line naming it (code ``disk_full``)."""
    from assistant.embeddings import LazyEmbeddings, resolve_model_path
    from knowledge.diskfull import DiskFullError, disk_full_error

    try:
        resolve_model_path(settings.embedding_model)
    except ValueError as exc:
        raise fail(str(exc)) from None
    # Loaded on first use: a re-ingest with nothing new never loads the model weights.
    embeddings = LazyEmbeddings(settings)
    with _IngestBars() as bars:
        try:
            report = run(embeddings, bars)
        except DiskFullError as exc:
            raise fail(str(exc), "disk_full") from None
        except Exception as exc:
            full = disk_full_error(exc, settings)  # a sync's snapshot, written before the ingest
            if full is not None:
                raise fail(str(full), "disk_full") from None
            if isinstance(exc, OSError | ValueError):
                raise fail(f"{what} failed: {exc}") from None
            raise
    # The language identifier's model, decoded for the servers that will read this data dir
    # (the first to start would otherwise write it); best effort. Here, not in run_ingest: it is
    # no part of indexing (nor of the ingest's timing), and the eval and tests ingest in process.
    from assistant.langid_model import ensure_decoded

    ensure_decoded(settings.data_dir / "models")
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


def _build(settings: Settings) -> Assistant:
    from assistant.factory import build_assistant

    try:
        assistant = build_assistant(settings)
    except (ValueError, OSError) as exc:
        raise fail(f"cannot start the assistant: {exc}", "startup_failed") from None
    if not assistant.ready():
        raise fail(
            "the knowledge base index is empty or was never built: run `help-assistant ingest`",
            "index_missing",
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
        raise fail(
            f"cannot read history file {path}: {exc.strerror or exc}", "bad_history"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(f"history file {path} is not valid JSON: {exc}", "bad_history") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise fail(
            f"history file {path}: {where}: {first['msg']} "
            '(expected [{"role": "user"|"assistant", "content": "..."}])',
            "bad_history",
        ) from None


def _question_from(argument: str) -> str:
    """The question argument, or all of stdin when it is ``-``."""
    if argument != "-":
        return argument
    text = sys.stdin.read()
    if not text.strip():
        raise fail(
            "stdin is empty: pipe the question in, e.g. echo 'how do I warm up?' | "
            "help-assistant ask -",
            "empty_question",
        )
    return text.strip()


@app.command(cls=JsonErrorsCommand)
@reports_errors
def ask(
    question: Annotated[str, typer.Argument(help="The runner's question; - reads it from stdin.")],
    history: Annotated[
        Path | None, typer.Option(help="JSON file with earlier turns, oldest first.")
    ] = None,
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only articles with this tag.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer contract JSON (errors as JSON too).")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Answer a question with cited sources (or say it is not covered)."""
    from assistant.core import InvalidQuestionError
    from assistant.types import Filters

    question = _question_from(question)
    if not question.strip():
        raise fail(
            'the question is empty; ask something, e.g. help-assistant ask "how do I warm up?"',
            "empty_question",
        )
    settings = load_settings(data_dir)
    turns = _read_history(history)
    assistant = _build(settings)
    try:
        answer = assistant.answer(question, turns, Filters(collection=collection, tags=tag or []))
    except InvalidQuestionError as exc:
        raise fail(str(exc), "invalid_question") from None
    if as_json:
        out.print_json(answer.model_dump_json())
        return
    _say(answer.answer, highlight=False, markup=False)
    if answer.citations:
        _say("\n[bold]Sources[/]")
        for c in answer.citations:
            _say(f"[{c.n}] {c.title} > {c.section}  {c.url}", highlight=False, markup=False)
    if answer.handoff.offered:
        _say("\n[dim]Talk to a person: our support team is one message away.[/]")
    _say(f"\n[dim]{answer.outcome} · confidence {answer.confidence:.2f}[/]")


@app.command(cls=JsonErrorsCommand)
@reports_errors
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="How many passages.")] = 5,
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only articles with this tag.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (errors as JSON too).")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Ranked passages with article, section, url and score (for support agents)."""
    from assistant.core import InvalidQuestionError
    from assistant.types import Filters

    if not query.strip():
        raise fail("the query is empty", "empty_question")
    assistant = _build(load_settings(data_dir))
    try:
        passages = assistant.search(
            query, k=k, filters=Filters(collection=collection, tags=tag or [])
        )
    except InvalidQuestionError as exc:
        raise fail(str(exc), "invalid_question") from None
    if as_json:
        out.print_json(json.dumps([p.model_dump() for p in passages]))
        return
    if not passages:
        _say("No passages match.")
    for rank, p in enumerate(passages, start=1):
        _say(f"[bold]{rank}. {p.title}[/] > {p.section}  [dim]{p.score:.3f}  {p.url}[/]",
             highlight=False)  # fmt: skip
        _say(f"   {p.text[:400]}", highlight=False, markup=False)


@app.command()
@reports_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Serve the HTTP API and the chat page (http://HOST:PORT/)."""
    import os

    import uvicorn

    from api.main import create_app
    from api.metrics import prepare_multiprocess
    from api.server_options import uvicorn_options

    settings = load_settings(data_dir)  # fail fast on bad settings, before uvicorn starts
    if not settings.chroma_host and not settings.chroma_dir.exists():
        raise fail(
            f"the knowledge base index in {settings.data_dir} was never built: run "
            "`help-assistant ingest`",
            "index_missing",
        )
    app_factory: Any = functools.partial(create_app, settings)
    if workers > 1:
        # uvicorn's worker processes import the app by name and build their settings from the
        # environment they inherit: the one way to hand them --data-dir. This process only
        # supervises them from here on.
        app_factory = "api.main:create_app"
        if data_dir:
            os.environ["ASSISTANT_DATA_DIR"] = str(data_dir)
    console.print(f"Serving the help assistant on http://{host}:{port}/ (Ctrl+C to stop)")
    # several workers share /metrics through prometheus_client's multiprocess directory
    with prepare_multiprocess(workers):
        uvicorn.run(
            app_factory,
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

    # Their own errors are already one line; settings and start-up errors become one too.
    app.command("eval")(reports_errors(eval_command))
    app.command("bench")(reports_errors(bench_command))


_register_tools()


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
