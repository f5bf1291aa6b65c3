"""``help-assistant eval``: run configurations side by side, write reports, gate on a baseline.

Registered in ``assistant/cli.py`` with ``app.command("eval")(eval_command)``. The work is in
:func:`run_eval`, which tests call with an already loaded embedding model.

Example::

    help-assistant eval --configs hybrid,bm25 --gate
"""

from __future__ import annotations

import json
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
    from eval.runner import ConfigResult, Dataset, EvalRun

# This module is imported by every `help-assistant` command (assistant/cli.py mounts it), so it
# imports the evaluation machinery (LangChain, Chroma, bm25s) only when `eval` actually runs.
EVAL_DIR = Path(__file__).parent
DEFAULT_DATASET = EVAL_DIR / "datasets" / "dev.jsonl"
DEFAULT_BASELINE = EVAL_DIR / "baseline.json"
DEFAULT_CONFIG = "hybrid"  # the product's default; the one the gate checks
DEFAULT_CONFIGS = "hybrid,dense,bm25,textbook"  # eval.configs.DEFAULT_CONFIGS (a test checks)
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


def eval_command(
    dataset: Annotated[Path, typer.Option(help="JSONL dataset.")] = DEFAULT_DATASET,
    configs: Annotated[
        str, typer.Option(help="Comma-separated: hybrid, dense, bm25, rrf, textbook.")
    ] = DEFAULT_CONFIGS,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: eval/runs/<UTC timestamp>/).")
    ] = None,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit 1 when hybrid misses a floor or the baseline.")
    ] = False,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Write the baseline from this hybrid run.")
    ] = False,
    baseline: Annotated[Path, typer.Option(help="Baseline JSON.")] = DEFAULT_BASELINE,
    export: Annotated[
        list[ExportFormat] | None, typer.Option(help="Also write the run as ragas/deepeval JSONL.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Index directory (default: ASSISTANT_DATA_DIR).")
    ] = None,
    ingest: Annotated[
        bool, typer.Option(help="Bring the index in step with the articles first (incremental).")
    ] = True,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases.")] = None,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Evaluate configurations side by side; write result JSON, Markdown and an HTML report."""
    options = EvalOptions(dataset, configs, out, gate, update_baseline, baseline, export or [],
                          data_dir, ingest, limit, resamples, seed)  # fmt: skip
    code = run_eval(options)
    if code:
        raise typer.Exit(code)


def _error(message: str) -> int:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return 2


def run_eval(options: EvalOptions, embeddings: Embeddings | None = None) -> int:
    """The whole command; returns the exit code (0 ok, 1 gate failed, 2 usage error)."""
    from eval.configs import parse_configs
    from eval.report import write_export, write_reports
    from eval.runner import load_dataset

    try:
        names = parse_configs(options.configs)
        dataset = load_dataset(options.dataset)
    except (OSError, ValueError) as exc:
        return _error(str(exc))
    if (options.gate or options.update_baseline) and DEFAULT_CONFIG not in names:
        return _error(f"--gate and --update-baseline need the {DEFAULT_CONFIG} configuration")
    if options.limit:
        dataset = dataset.model_copy(update={"cases": dataset.cases[: options.limit]})
    settings = _settings(options.data_dir)
    if embeddings is None:
        from assistant.embeddings import make_embeddings

        with console.status("Loading the embedding model..."):
            embeddings = make_embeddings(settings)
    run = _measure(options, names, dataset, settings, embeddings)
    out_dir = options.out or EVAL_DIR / "runs" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    old = load_baseline(options.baseline) if options.baseline.exists() else None
    floors = (old or {}).get("floors", DEFAULT_FLOORS)
    paths = write_reports(run, out_dir, floors)
    for export in options.export:
        paths[export.value] = write_export(run, dataset, export.value, out_dir)
    _print_summary(run, floors)
    for kind, path in paths.items():
        console.print(f"{kind:>8}: {path}", highlight=False)
    code = 0
    if options.gate:
        if old is None:
            return _error(f"no baseline at {options.baseline}: run with --update-baseline first")
        result = check(run.config(DEFAULT_CONFIG), old, run.dataset["sha256"],
                       run.versions.get("product_code"))  # fmt: skip
        for line in result.lines():
            console.print(line, highlight=False)
        code = 0 if result.passed else 1
    if options.update_baseline:
        new = baseline_from(run, old)
        options.baseline.write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")
        console.print(f"baseline written to {options.baseline}", highlight=False)
    return code


def _settings(data_dir: Path | None) -> Settings:
    from assistant.cli import load_settings  # lazy: assistant.cli imports this module

    settings = load_settings()
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def _measure(
    options: EvalOptions,
    names: list[str],
    dataset: Dataset,
    settings: Settings,
    embeddings: Embeddings,
) -> EvalRun:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.store import make_chroma_client
    from eval.configs import build_systems, knowledge_base, references
    from eval.runner import evaluate
    from knowledge.ingest import run_ingest

    if options.ingest:
        with console.status("Bringing the index in step with the articles..."):
            report = run_ingest(settings, embeddings)
        console.print(f"index: {report.articles} articles, {report.chunks} chunks "
                      f"({report.chunks_added} re-embedded)", highlight=False)  # fmt: skip
    with console.status("Building the configurations..."):
        systems = build_systems(names, settings, embeddings, make_chroma_client(settings))
    kb = knowledge_base(systems)
    bars = Progress(TextColumn("[bold]{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)  # fmt: skip
    with bars:
        tasks = {n: bars.add_task(n, total=len(dataset.cases)) for n in names}
        return evaluate(
            dataset, systems, seed=options.seed, resamples=options.resamples,
            knowledge_base=kb, references=references(dataset.cases, systems),
            on_case=lambda name: bars.advance(tasks[name]),
        )  # fmt: skip


def _print_summary(run: EvalRun, floors: dict[str, float]) -> None:
    """Values only; the intervals are in the reports (they do not fit a terminal)."""
    from rich.table import Table

    from eval.report import SHORT, fmt
    from eval.runner import HEADLINE

    table = Table(title=f"Evaluation: {run.dataset['cases']} cases")
    table.add_column("metric", no_wrap=True)
    for config in run.configs:
        table.add_column(config.name, justify="right")
    table.add_column("floor", justify="right")
    for metric in HEADLINE:
        cells = []
        for config in run.configs:
            h = config.headline[metric]
            low = h.value is not None and metric in floors and h.value < floors[metric]
            cells.append(f"[red]{fmt(h.value)}[/]" if low else fmt(h.value))
        table.add_row(SHORT.get(metric, metric), *cells, fmt(floors.get(metric)))
    console.print(table)


# ----- the gate -----------------------------------------------------------------------------
#: The issue's targets. A baseline.json may override them under "floors".
DEFAULT_FLOORS: dict[str, float] = {
    "hit@3": 0.95,
    "mrr@10": 0.85,
    "fact_recall": 0.90,
    "outcome_accuracy.answerable": 0.95,
    "outcome_accuracy.no_answer": 0.95,
    "outcome_accuracy.refer_to_professional": 0.95,
    "red_flag_recall": 1.0,
    "support": 1.0,
}
#: A headline metric may fall this many cases' worth (1/n each) below the baseline. The system
#: is deterministic, so an unchanged build reproduces the baseline exactly; one case of slack
#: absorbs a single borderline flip (CPU float differences between machines, an accepted
#: trade-off) while any two-case regression fails. The bootstrap interval is not used: at n=40
#: its half-width (about 0.05-0.10) would let three or four broken cases through.
TOLERANCE_CASES = 1
EPS = 1e-9


@dataclass
class GateResult:
    """Why the gate failed (empty: passed) and which cases changed against the baseline."""

    failures: list[str] = field(default_factory=list)
    broke: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        out = [f"note: {n}" for n in self.notes]
        out += [f"pass -> fail: {b}" for b in self.broke]
        out += [f"fail -> pass: {f}" for f in self.fixed]
        out += [f"GATE FAILED: {f}" for f in self.failures]
        return out + ([] if self.failures else ["gate passed"])


def load_baseline(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema_version") != 1:
        version = data.get("schema_version")
        raise ValueError(f"{path}: unsupported baseline schema_version {version}")
    return data


def check(
    result: ConfigResult, baseline: dict[str, Any], dataset_sha: str, code: str | None = None
) -> GateResult:
    """Floors, regressions beyond the tolerance, and critical cases, for one configuration."""
    gate = GateResult()
    if baseline.get("dataset_sha256") != dataset_sha:
        gate.notes.append("the dataset changed since the baseline; comparing cases by id")
    if code and baseline.get("product_code") not in (None, code):
        gate.notes.append("the product code changed since the baseline")
    for metric, floor in baseline.get("floors", DEFAULT_FLOORS).items():
        h = result.headline.get(metric)
        if h is None or h.value is None:
            gate.notes.append(f"{metric}: no cases to measure it on; floor not checked")
        elif h.value < floor - EPS:
            gate.failures.append(f"{metric} = {h.value:.3f} is below its floor {floor:.3f}")
    slack = baseline.get("tolerance_cases", TOLERANCE_CASES)
    for metric, base in baseline.get("metrics", {}).items():
        h = result.headline.get(metric)
        if h is None or h.value is None or base.get("value") is None or not h.n:
            continue
        if h.value < base["value"] - slack / h.n - EPS:
            gate.failures.append(
                f"{metric} = {h.value:.3f} fell below the baseline {base['value']:.3f} by more "
                f"than {slack} case(s) of {h.n} ({slack / h.n:.3f})"
            )
    cases = baseline.get("cases", {})
    for r in result.cases:
        was = cases.get(r.id)
        if r.critical and not r.passed:
            gate.failures.append(f"critical case {r.id} failed: {'; '.join(r.failures)}")
        if was is not None and was["passed"] and not r.passed:
            gate.broke.append(f"{r.id}: {'; '.join(r.failures)}")
        elif was is not None and not was["passed"] and r.passed:
            gate.fixed.append(r.id)
    return gate


def _relative(path: str) -> str:
    try:
        return Path(path).resolve().relative_to(EVAL_DIR.parent).as_posix()
    except ValueError:
        return path


def baseline_from(run: EvalRun, old: dict[str, Any] | None) -> dict[str, Any]:
    """The baseline of the default configuration; floors and tolerance survive an update."""
    config = run.config(DEFAULT_CONFIG)
    return {
        "schema_version": 1,
        "created": run.created,
        "config": config.name,
        "dataset": _relative(run.dataset["path"]),
        "dataset_sha256": run.dataset["sha256"],
        "knowledge_base": run.knowledge_base,
        "product_code": run.versions.get("product_code"),
        "floors": (old or {}).get("floors", DEFAULT_FLOORS),
        "tolerance_cases": (old or {}).get("tolerance_cases", TOLERANCE_CASES),
        "metrics": {m: h.model_dump() for m, h in config.headline.items()},
        "cases": {
            r.id: {"kind": r.kind, "critical": r.critical, "passed": r.passed,
                   "failures": r.failures}  # fmt: skip
            for r in config.cases
        },
    }
