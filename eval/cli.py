"""``help-assistant eval``: run configurations on every knowledge base, write reports, gate.

Mounted by ``cli/main.py`` with ``app.command("eval")(eval_command)``. The work is in
:func:`run_eval`, which tests call with an already loaded embedding model and their own
knowledge-base registry.

Agents' corrections (``api/corrections.py``, stored in the answers database of the data dir)
run as extra cases tagged ``correction``, on the runners knowledge base unless the row names
another; ``--no-corrections`` leaves them out.

Example::

    help-assistant eval --configs hybrid --gate
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from assistant.settings import Settings
    from eval.dataset import Dataset
    from eval.gate import Floors
    from eval.kbs import KnowledgeBase
    from eval.runner import EvalRun

# This module is imported by every `help-assistant` command (cli/main.py mounts it), so it
# imports the evaluation machinery (LangChain, Chroma, bm25s) only when `eval` actually runs.
EVAL_DIR = Path(__file__).parent
DEFAULT_DATASET = EVAL_DIR / "datasets" / "dev.jsonl"
DEFAULT_BASELINE = EVAL_DIR / "baseline.json"
DEFAULT_FLOORS = EVAL_DIR / "datasets" / "floors.yml"
DEFAULT_CONFIG = "hybrid"  # the product's default; the one the gate checks
DEFAULT_CONFIGS = "hybrid,dense,bm25,textbook"  # eval.systems.DEFAULT_CONFIGS (a test checks)
console = Console(stderr=True)


class ExportFormat(StrEnum):
    """Dataset formats of LLM-judge frameworks, for teams that run one."""

    ragas = "ragas"
    deepeval = "deepeval"


@dataclass
class EvalOptions:
    dataset: Path = DEFAULT_DATASET
    configs: str = DEFAULT_CONFIGS
    out: Path | None = None
    gate: bool = False
    update_baseline: bool = False
    baseline: Path = DEFAULT_BASELINE
    export: list[ExportFormat] = field(default_factory=list)
    data_dir: Path | None = None
    ingest: bool = True
    limit: int | None = None
    resamples: int = 1000
    seed: int = 0
    floors: Path = DEFAULT_FLOORS
    perturb: bool | None = None  # None: on with --gate or --update-baseline
    kbs: str | None = None
    corrections: bool = True

    @property
    def perturbing(self) -> bool:
        return self.perturb if self.perturb is not None else self.gate or self.update_baseline


def eval_command(
    dataset: Annotated[Path, typer.Option(help="JSONL dataset.")] = DEFAULT_DATASET,
    configs: Annotated[
        str, typer.Option(help="Comma-separated: hybrid, dense, bm25, rrf, textbook.")
    ] = DEFAULT_CONFIGS,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: eval/runs/<UTC timestamp>/).")
    ] = None,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit 1 when hybrid misses a target or the baseline.")
    ] = False,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", "--write-baseline",
                           help="Write the baseline from this hybrid run.")  # fmt: skip
    ] = False,
    baseline: Annotated[Path, typer.Option(help="Baseline JSON.")] = DEFAULT_BASELINE,
    floors: Annotated[Path, typer.Option(help="The gate's targets (YAML).")] = DEFAULT_FLOORS,
    perturb: Annotated[
        bool | None, typer.Option("--perturb/--no-perturb", help="Invariance tests of hybrid "
                                  "(default: on with --gate and --update-baseline).")
    ] = None,  # fmt: skip
    kb: Annotated[
        str | None, typer.Option(help="Only the cases of these knowledge bases (comma-separated).")
    ] = None,
    export: Annotated[
        list[ExportFormat] | None, typer.Option(help="Also write the run as ragas/deepeval JSONL.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Root of the KB indexes (default: ASSISTANT_DATA_DIR/eval).")
    ] = None,
    ingest: Annotated[
        bool, typer.Option(help="Bring each KB's index in step with its articles (incremental).")
    ] = True,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases.")] = None,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    corrections: Annotated[
        bool, typer.Option(help="Also run agents' corrections (the answers database) as cases "
                           "tagged correction; --limit does not apply to them.")
    ] = True,  # fmt: skip
) -> None:
    """Evaluate configurations side by side per knowledge base and split; write result JSON,
    Markdown and an HTML report."""
    options = EvalOptions(dataset, configs, out, gate, update_baseline, baseline, export or [],
                          data_dir, ingest, limit, resamples, seed, floors, perturb,
                          kb, corrections)  # fmt: skip
    code = run_eval(options)
    if code:
        raise typer.Exit(code)


def _error(message: str) -> int:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return 2


def _load(options: EvalOptions, registry: Mapping[str, KnowledgeBase]) -> tuple[
    list[str], Dataset, Floors, dict[str, KnowledgeBase]
]:  # fmt: skip
    """Everything that can be checked before a model loads (raises ``ValueError``/``OSError``)."""
    from eval.dataset import load_dataset
    from eval.gate import load_floors
    from eval.kbs import resolve_kbs
    from eval.systems import parse_configs

    names = parse_configs(options.configs)
    dataset = load_dataset(options.dataset)
    floors = load_floors(options.floors)
    if options.kbs:
        wanted = [k.strip() for k in options.kbs.split(",") if k.strip()]
        resolve_kbs(wanted, registry)
        dataset = dataset.model_copy(update={"cases": [c for c in dataset.cases if c.kb in wanted]})
    if options.limit:
        dataset = dataset.model_copy(update={"cases": dataset.cases[: options.limit]})
    if not dataset.cases:
        raise ValueError("no cases left to evaluate")
    if (options.gate or options.update_baseline) and DEFAULT_CONFIG not in names:
        raise ValueError(f"--gate and --update-baseline need the {DEFAULT_CONFIG} configuration")
    return names, dataset, floors, resolve_kbs(dataset.kbs(), registry)


def run_eval(
    options: EvalOptions,
    embeddings: Embeddings | None = None,
    registry: Mapping[str, KnowledgeBase] | None = None,
) -> int:
    """The whole command; returns the exit code (0 ok, 1 gate failed, 2 usage error)."""
    from eval.gate import baseline_from, check, load_baseline
    from eval.kbs import KBS, resolve_kbs
    from eval.report import write_reports

    try:
        names, dataset, floors, kbs = _load(options, registry or KBS)
        old = load_baseline(options.baseline) if options.baseline.exists() else None
    except (OSError, ValueError) as exc:
        return _error(str(exc))
    if options.gate and old is None:
        return _error(f"no baseline at {options.baseline}: run with --update-baseline first")
    from assistant.settings import load_settings

    settings = load_settings()
    if options.corrections:
        dataset = with_corrections(dataset, correction_rows(settings), registry or KBS,
                                   options.kbs)  # fmt: skip
        kbs = resolve_kbs(dataset.kbs(), registry or KBS)
    if embeddings is None:
        from assistant.embeddings import make_embeddings

        with console.status("Loading the embedding model..."):
            embeddings = make_embeddings(settings)
    root = options.data_dir or settings.data_dir / "eval"
    run = _measure(options, names, dataset, kbs, settings, root, embeddings)
    out_dir = options.out or EVAL_DIR / "runs" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    paths = write_reports(run, out_dir, floors)
    paths.update(_exports(options, run, dataset, out_dir))
    _print_summary(run, floors)
    for kind, path in paths.items():
        console.print(f"{kind:>8}: {path}", highlight=False)
    code = 0
    if options.gate:
        result = check(run.config(DEFAULT_CONFIG), old, floors, run.dataset["sha256"],
                       run.versions.get("product_code"))  # fmt: skip
        for line in result.lines():
            console.print(line, highlight=False, markup=False)
        code = 0 if result.passed else 1
    if options.update_baseline:
        new = baseline_from(run, old, DEFAULT_CONFIG)
        options.baseline.write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")
        console.print(f"baseline written to {options.baseline}", highlight=False)
    return code


def correction_rows(settings: Settings) -> list[dict[str, Any]]:
    """Agents' corrections as case rows (``api.corrections.corrections_as_cases``); none when
    the answers database was never created, and a warning line when it cannot be read."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from api.corrections import corrections_as_cases

    url = make_url(settings.answers_db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return []  # reading would create an empty database (and fail without the data dir)
    try:
        return corrections_as_cases(settings)
    except SQLAlchemyError as exc:
        console.print(f"[yellow]corrections not read[/] ({url.render_as_string()}): "
                      f"{type(exc).__name__}", highlight=False)  # fmt: skip
        return []


def with_corrections(
    dataset: Dataset,
    rows: list[dict[str, Any]],
    registry: Mapping[str, KnowledgeBase],
    kbs: str | None = None,
) -> Dataset:
    """``dataset`` plus the correction rows as cases (after its own, in the rows' order). A row
    runs on the default knowledge base (runners) unless it names one; rows for a knowledge base
    not in ``registry`` or not among ``kbs``, with an id the dataset has, or that do not load as
    a case are left out with a warning. The fingerprint covers the added rows."""
    from pydantic import ValidationError

    from eval.dataset import DEFAULT_KB, Case, dataset_sha256

    wanted = {k.strip() for k in kbs.split(",") if k.strip()} if kbs else None
    seen = {c.id for c in dataset.cases}
    added: list[Case] = []
    for row in rows:
        row = {"kb": DEFAULT_KB, **row}
        why = None
        if row["kb"] not in registry:
            why = f"knowledge base {row['kb']!r} is not one of {', '.join(registry)}"
        elif wanted is not None and row["kb"] not in wanted:
            continue
        elif row.get("id") in seen:
            why = "the dataset has a case with that id"
        if why is None:
            try:
                added.append(Case.model_validate(row))
                seen.add(added[-1].id)
                continue
            except ValidationError as exc:
                why = str(exc.errors()[0]["msg"])
        console.print(f"[yellow]correction {row.get('id')} left out[/]: {why}", highlight=False)
    if not added:
        return dataset
    console.print(f"corrections: {len(added)} run as cases (tag correction)", highlight=False)
    extra = json.dumps([c.model_dump(mode="json") for c in added], sort_keys=True)
    sha = dataset_sha256((dataset.sha256 + extra).encode())
    return dataset.model_copy(update={"cases": [*dataset.cases, *added], "sha256": sha})


def _exports(options: EvalOptions, run: EvalRun, dataset: Dataset, out_dir: Path) -> dict:
    from eval.export import write_export

    return {e.value: write_export(run, dataset, e.value, out_dir) for e in options.export}


def _measure(
    options: EvalOptions,
    names: list[str],
    dataset: Dataset,
    kbs: Mapping[str, KnowledgeBase],
    settings: Settings,
    root: Path,
    embeddings: Embeddings,
) -> EvalRun:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.store import make_chroma_client
    from eval.export import references
    from eval.kbs import ingest
    from eval.runner import evaluate
    from eval.systems import build_systems, knowledge_base

    systems, info = {}, {}
    for name, kb in kbs.items():
        kb_settings = kb.settings(settings, root)
        if options.ingest:
            with console.status(f"Bringing the {name} index in step with its articles..."):
                report = ingest(kb_settings, embeddings)
            console.print(f"{name}: {report.articles} articles, {report.chunks} chunks "
                          f"({report.chunks_added} re-embedded)", highlight=False)  # fmt: skip
        with console.status(f"Building the configurations on {name}..."):
            systems[name] = build_systems(names, kb_settings, embeddings,
                                          make_chroma_client(kb_settings))  # fmt: skip
        info[name] = knowledge_base(systems[name])
    bars = Progress(TextColumn("[bold]{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)  # fmt: skip
    with bars:
        tasks = {n: bars.add_task(n, total=len(dataset.cases)) for n in names}
        return evaluate(
            dataset, systems, seed=options.seed, resamples=options.resamples,
            knowledge_base=info, references=references(dataset.cases, systems),
            perturb={DEFAULT_CONFIG} if options.perturbing else set(),
            on_case=lambda name: bars.advance(tasks[name]),
        )  # fmt: skip


def _print_summary(run: EvalRun, floors: Floors) -> None:
    """The default configuration per knowledge base and split; intervals are in the reports."""
    from rich.table import Table

    from eval.report import ALL, SHORT, fmt, misses, shown, slice_headline, slices, target

    config = run.config(run.default_config)
    keys = slices(run)
    table = Table(title=f"Evaluation of {config.name}: {run.dataset['cases']} cases")
    table.add_column("metric", no_wrap=True)
    for kb, split in keys:
        table.add_column(kb if kb == ALL else f"{kb}\n{split}", justify="right")
    table.add_column(f"target\n({floors.split})", justify="right")
    for metric in dict.fromkeys(m for kb, split in keys for m in shown(run, kb, split)):
        cells: list[Any] = []
        for kb, split in keys:
            h = (slice_headline(config, kb, split) or {}).get(metric)
            low = h is not None and misses(h, metric, floors, split)
            cells.append(f"[red]{fmt(h.value)}[/]" if low and h else fmt(h.value if h else None))
        table.add_row(SHORT.get(metric, metric), *cells, target(metric, floors, floors.split))
    console.print(table)
