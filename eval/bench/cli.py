"""``help-assistant bench``: ingest, in-process and HTTP latency, scale to 100k chunks, cold start
and the textbook LangChain pipeline, measured in one run.

Registered in ``cli/main.py`` with ``app.command("bench")(bench_command)`` (imported from
:mod:`eval.bench`). It writes ``result.json`` and ``bench.png`` into the output directory and
rewrites the marked section of ``BENCHMARKS.md``. The stages live in ``eval/bench/measure.py``
(in process), ``eval/bench/http.py`` (uvicorn), ``eval/bench/scale.py`` (synthetic corpora) and
``eval/bench/report.py``, ``eval/bench/targets.py`` and ``eval/bench/plot.py`` (tables, targets,
plot).

Example::

    help-assistant bench                 # the full run, about 10 minutes on a laptop
    help-assistant bench --quick --out /tmp/bench --benchmarks-file /tmp/BENCHMARKS.md
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from assistant.settings import SettingsError, load_settings
from eval.bench.errors import BenchError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from assistant.settings import Settings
    from eval.dataset import Case

EVAL_DIR = Path(__file__).resolve().parents[1]
ROOT = EVAL_DIR.parent
DEFAULT_DATASET = EVAL_DIR / "datasets" / "dev.jsonl"
DEFAULT_BENCHMARKS = ROOT / "BENCHMARKS.md"
BACKENDS = ("onnx", "onnx-int8", "torch")
console = Console(stderr=True)


@dataclass
class Plan:
    """Counts of one run: the issue's for a full run, tiny ones for ``--quick`` (the test)."""

    questions: int | None  # None: every question of the dataset
    passes: int
    concurrency: list[int]
    requests: list[int]
    scale: list[int]
    cold_starts: int
    scale_passes: int
    #: (concurrency, requests) on the server whose answer and query-vector caches are off: every
    #: question new
    new_levels: list[tuple[int, int]] = field(default_factory=list)
    #: uvicorn worker counts also measured (at concurrency 32), beside the default one
    workers: list[int] = field(default_factory=list)
    #: HNSW ef_search values measured at the largest scale size, beside the product's own
    hnsw_sweep: list[int] = field(default_factory=list)

    @classmethod
    def full(cls) -> Plan:
        return cls(None, 3, [1, 8, 32], [200, 400, 800], [1_000, 10_000, 100_000], 3, 2,
                   [(1, 200), (32, 800)], [2], [50, 100, 200, 400, 800])  # fmt: skip

    @classmethod
    def quick(cls) -> Plan:
        return cls(8, 1, [1, 8, 32], [16, 32, 64], [100, 400], 1, 1, [(1, 8), (32, 64)], [],
                   [20, 200])  # fmt: skip


@dataclass
class BenchOptions:
    out: Path | None = None
    dataset: Path = DEFAULT_DATASET
    articles: list[Path] = field(default_factory=list)  # empty: the settings' articles_dir
    benchmarks_file: Path = DEFAULT_BENCHMARKS
    quick: bool = False
    scale: list[int] | None = None  # None: the plan's
    backends: list[str] = field(default_factory=lambda: list(BACKENDS))
    port: int = 0
    seed: int = 0
    keep_data: bool = False
    workers: list[int] | None = None  # None: the plan's (2 in a full run, none in --quick)


def _int_list(spec: str, name: str) -> list[int]:
    try:
        values = [int(part.replace("_", "")) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated integers, got {spec!r}", param_hint=name
        ) from None
    if not values or min(values) < 2:
        raise typer.BadParameter("every size must be at least 2", param_hint=name)
    return values


def _worker_counts(spec: str) -> list[int]:
    try:
        values = [int(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected worker counts, got {spec!r}", param_hint="--workers"
        ) from None
    if not values or min(values) < 1 or max(values) > 16:
        raise typer.BadParameter("worker counts go from 1 to 16", param_hint="--workers")
    return sorted(set(values))


def _backends(spec: str) -> list[str]:
    names = list(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise typer.BadParameter(
            f"unknown backend {', '.join(unknown) or '(none)'}; supported: {', '.join(BACKENDS)}",
            param_hint="--backends",
        )
    return names


def bench_command(
    out: Annotated[
        Path | None, typer.Option(help="Output directory [default: eval/runs/bench-<timestamp>/].")
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny counts (a smoke run, about a minute).")
    ] = False,
    scale: Annotated[
        str | None,
        typer.Option(
            help="Synthetic corpus sizes in chunks [default: 1000,10000,100000]; add 1000000 "
            "for the 1M-chunk figures (about 27 more minutes)."
        ),
    ] = None,
    backends: Annotated[
        str, typer.Option(help="Embedding backends to compare for ask latency.")
    ] = ",".join(BACKENDS),
    dataset: Annotated[Path, typer.Option(help="JSONL questions.")] = DEFAULT_DATASET,
    articles: Annotated[
        list[Path] | None,
        typer.Option(help="Articles to ingest [default: ASSISTANT_ARTICLES_DIR]; repeatable."),
    ] = None,
    benchmarks_file: Annotated[
        Path, typer.Option(help="Markdown file whose bench section is rewritten.")
    ] = DEFAULT_BENCHMARKS,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the API server (0: a free one).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic corpora.")] = 0,
    keep_data: Annotated[
        bool, typer.Option("--keep-data", help="Keep the indexes built in the output directory.")
    ] = False,
    workers: Annotated[
        str | None,
        typer.Option(
            help="uvicorn worker counts to compare with one worker, e.g. 2 or 2,4; 1 = none "
            "[default: 2; none with --quick]."
        ),
    ] = None,
) -> None:
    """Measure ingest, ask and HTTP latency, scale, cold start and the textbook pipeline."""
    options = BenchOptions(
        out=out,
        dataset=dataset,
        articles=articles or [],
        benchmarks_file=benchmarks_file,
        quick=quick,
        scale=_int_list(scale, "--scale") if scale else None,
        backends=_backends(backends),
        port=port,
        seed=seed,
        keep_data=keep_data,
        workers=_worker_counts(workers) if workers else None,
    )
    code = run_bench(options)
    if code:
        raise typer.Exit(code)


def run_bench(options: BenchOptions) -> int:
    """The whole command; returns the exit code (0 done, 2 could not run: one line on stderr)."""
    try:
        _run(options)
    except (BenchError, SettingsError) as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    return 0


@contextmanager
def _stage(title: str) -> Iterator[Callable[[str], None]]:
    """A Rich status line while a stage runs, and a one-line record of it when done."""
    started = time.perf_counter()
    with console.status(f"[bold]{title}[/]") as status:
        yield lambda detail: status.update(f"[bold]{title}[/]: {detail}")
    console.print(f"[green]✓[/] {title} [dim]({time.perf_counter() - started:.1f} s)[/]")


def bench_settings(data_dir: Path, articles: Sequence[Path] | None = None) -> Settings:
    """The settings every bench measurement runs on: ``data_dir`` and ``articles`` (default:
    the configured ones) as absolute paths, the embedded store, a SQLite answer log, no rate
    limit and the extractive answerer."""
    settings = load_settings().model_copy(
        update={
            "data_dir": data_dir.resolve(),
            "chroma_host": None,
            "database_url": None,
            "rate_limit": "off",
            "llm": None,
        }
    )
    # Absolute paths: chunk metadata records the source path as spelled, so the CLI re-ingest
    # (another process, maybe another cwd) must name the articles exactly as this one does.
    return settings.model_copy(
        update={"articles_dir": [p.resolve() for p in (articles or settings.articles_dir)]}
    )


def _prepare(options: BenchOptions) -> tuple[Settings, list[Case], Plan, Path]:
    try:
        import matplotlib  # noqa: F401 - the plot is part of the output; fail before measuring
    except ImportError:
        raise BenchError("the plot needs matplotlib: .venv/bin/pip install matplotlib") from None
    from eval.dataset import load_dataset

    try:
        cases = load_dataset(options.dataset).cases
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read the dataset: {exc}") from None
    plan = Plan.quick() if options.quick else Plan.full()
    if options.scale:
        plan.scale = sorted(set(options.scale))
    if options.workers is not None:
        plan.workers = [n for n in options.workers if n > 1]
    if plan.questions:
        cases = cases[: plan.questions]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = options.out or EVAL_DIR / "runs" / f"bench-{stamp}"
    data_dir = out / "data"
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BenchError(f"{data_dir} is not empty; the cold ingest needs a fresh directory")
    settings = bench_settings(data_dir, options.articles)
    missing = [p for p in settings.articles_dir if not p.exists()]
    if missing:
        raise BenchError(f"articles not found: {', '.join(map(str, missing))}")
    if options.port:
        from eval.bench.server import free_port

        free_port(options.port)  # a busy port fails now, not after ten minutes of measuring
    return settings, cases, plan, out


def _run(options: BenchOptions) -> dict[str, Any]:
    from eval.bench import report as bench_report
    from eval.bench.plot import plot
    from eval.bench.targets import targets_json

    settings, cases, plan, out = _prepare(options)
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"bench: {len(cases)} questions, output {out}", highlight=False)
    result: dict[str, Any] = {
        "schema_version": 1,
        "quick": options.quick,
        "machine": bench_report.machine(),
        "config": {
            "backend": settings.embedding_backend,
            "fusion": settings.fusion,
            "top_k": settings.top_k,
            "questions": len(cases),
            "dataset": str(options.dataset),
            "plan": asdict(plan),
            "seed": options.seed,
        },
    }
    embeddings = _ingest(settings, result, options.quick)
    with _stage("Embedding ceiling: the bare model on the same questions"):
        from eval.bench.measure import measure_ceiling

        questions = [c.question for c in cases]
        result["ceiling"] = measure_ceiling(embeddings, questions, passes=plan.passes)
    result["http"] = _http(settings, cases, plan, options.port, out)
    _in_process(settings, cases, plan, options.backends, embeddings, result)
    with _stage("Scale: synthetic corpora of " + ", ".join(f"{n:,}" for n in plan.scale)) as step:
        from eval.bench.scale import measure_scale

        result["scale"] = measure_scale(
            settings,
            embeddings,
            cases,
            plan.scale,
            seed=options.seed,
            passes=plan.scale_passes,
            work=out / "scale",
            status=step,
            keep=options.keep_data,
            ef_sweep=plan.hnsw_sweep,
        )
    result["machine"]["load_average_end"] = bench_report.machine()["load_average_start"]
    result["targets"] = targets_json(result)
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    plot(result, out / "bench.png")
    bench_report.write_section(
        options.benchmarks_file, bench_report.markdown(result, _shown(out / "bench.png"))
    )
    if not options.keep_data:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
    _print_summary(result, out, options.benchmarks_file)
    return result


def _shown(path: Path) -> Path:
    try:
        return path.resolve().relative_to(ROOT)
    except ValueError:
        return path


def _ingest(settings: Settings, result: dict[str, Any], quick: bool) -> Embeddings:
    from assistant.embeddings import make_embeddings
    from eval.bench.measure import measure_ingest

    with _stage(f"Loading the {settings.embedding_backend} model into a fresh data dir"):
        started = time.perf_counter()
        embeddings = make_embeddings(settings)
        load_s = time.perf_counter() - started
    with _stage("Ingest: cold, then a no-op re-ingest") as step:
        done = {"chunks": 0, "units": 0}

        def progress(kind: str, n: int) -> None:
            done[kind] += n
            step(f"embedded {done['chunks']} chunks, {done['units']} sentences")

        measured = measure_ingest(settings, embeddings, progress, cli=not quick)
        result["ingest"] = {"model_load_s": round(load_s, 3), **measured}
    return embeddings


def _http(
    settings: Settings, cases: list[Case], plan: Plan, port: int, out: Path
) -> dict[str, Any]:
    from eval.bench.http import measure_http

    payloads = [
        {"question": c.question, "history": [t.model_dump() for t in c.history]} for c in cases
    ]
    return measure_http(
        settings, payloads, port=port, log=out / "server.log", cold_starts=plan.cold_starts,
        levels=list(zip(plan.concurrency, plan.requests, strict=True)),
        new_levels=plan.new_levels, workers=plan.workers, stage=_stage,
    )  # fmt: skip


def _in_process(
    settings: Settings,
    cases: list[Case],
    plan: Plan,
    backends: list[str],
    embeddings: Embeddings,
    result: dict[str, Any],
) -> None:
    from assistant.store import make_chroma_client
    from eval.bench.measure import compare, measure_backends, measure_textbook

    client = make_chroma_client(settings)
    loaded: dict[str, Embeddings] = {settings.embedding_backend: embeddings}
    order = [settings.embedding_backend, *(b for b in backends if b != settings.embedding_backend)]
    with _stage(f"In-process ask: {', '.join(order)}") as step:
        result["backends"] = measure_backends(
            settings, client, cases, plan.passes, order, loaded, step
        )
        result["backends"][settings.embedding_backend]["load_s"] = result["ingest"]["model_load_s"]
    result["ask"] = result["backends"][settings.embedding_backend]
    with _stage("Textbook LangChain pipeline (torch embeddings)") as step:
        if "torch" not in loaded:
            from assistant.embeddings import make_embeddings

            step("loading the torch model")
            loaded["torch"] = make_embeddings(
                settings.model_copy(update={"embedding_backend": "torch"})
            )
        textbook = measure_textbook(settings, loaded["torch"], client, cases, plan.passes, step)
        textbook["comparison"] = compare(result["ask"], textbook)
        result["textbook"] = textbook


def _print_summary(result: dict[str, Any], out: Path, benchmarks: Path) -> None:
    from eval.bench.targets import status_mark, targets

    quick = " (quick mode: not for comparison)" if result["quick"] else ""
    table = Table(title="Targets" + quick)
    for column in ("measure", "result", "target", "status"):
        table.add_column(column)
    for t in targets(result):
        table.add_row(t.name, t.value, t.goal, status_mark(t.passed).replace("**", ""))
    console.print(table)
    m = result["machine"]
    start, end = m.get("load_average_start"), m.get("load_average_end")
    console.print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; load average (1, 5, "
        f"15 min) {start} at the start, {end} at the end",
        highlight=False,
    )
    paths = {"json": out / "result.json", "plot": out / "bench.png", "markdown": benchmarks}
    for name, path in paths.items():
        console.print(f"{name:>8}: {path}", highlight=False)
