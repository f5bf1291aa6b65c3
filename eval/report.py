"""Write an :class:`~eval.runner.EvalRun` as result JSON, a Markdown summary and an HTML report.

Every figure is shown per knowledge base and split (the headline table per (kb, split), with
the gate's targets beside the split they apply to), then over all cases. The HTML report is
one self-contained file: inline CSS and inline SVG plots, no scripts, no network. Every piece
of case text (questions, answers, passages) is ``html.escape``d.

Example::

    write_reports(run, Path("eval/runs/2026-01-01T120000"), floors=load_floors())
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from string import Template

from assistant.types import TIMING_STAGES
from eval.gate import Floors
from eval.headline import ALL_METRICS, Headline
from eval.plots import (
    SHORT,
    confusion_svg,
    fmt,
    latency_histogram,
    metric_bars,
    reliability_svg,
)
from eval.runner import CaseResult, ConfigResult, EvalRun, VariantResult

TEMPLATE = Path(__file__).parent / "templates" / "report.html"
STAGES = TIMING_STAGES
ALL = "all cases"
__all__ = ["SHORT", "fmt", "html", "markdown", "write_reports"]


def write_reports(run: EvalRun, out_dir: Path, floors: Floors) -> dict[str, Path]:
    """Write ``result.json``, ``summary.md`` and ``report.html`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "result.json",
        "markdown": out_dir / "summary.md",
        "html": out_dir / "report.html",
    }
    paths["json"].write_text(run.model_dump_json(indent=2), encoding="utf-8")
    paths["markdown"].write_text(markdown(run, floors), encoding="utf-8")
    paths["html"].write_text(html(run, floors), encoding="utf-8")
    return paths


def misses(h: Headline, metric: str, floors: Floors, split: str) -> bool:
    """Whether a figure of the floors' split misses its target."""
    bound = floors.bound(metric) if split == floors.split else None
    if bound is None or h.value is None:
        return False
    op, value = bound
    return h.value < value if op == ">=" else h.value > value


def target(metric: str, floors: Floors, split: str) -> str:
    bound = floors.bound(metric) if split == floors.split else None
    return f"{bound[0]} {bound[1]:.3f}" if bound else "–"


def slices(run: EvalRun) -> list[tuple[str, str]]:
    """(kb, split) of every group, in the order of the first configuration, then all cases."""
    keys = dict.fromkeys((g.kb, g.split) for c in run.configs for g in c.groups)
    return [*keys, (ALL, "")]


def slice_headline(config: ConfigResult, kb: str, split: str) -> dict[str, Headline] | None:
    if kb == ALL:
        return config.headline
    found = [g for g in config.groups if (g.kb, g.split) == (kb, split)]
    return found[0].headline if found else None


def shown(run: EvalRun, kb: str, split: str) -> list[str]:
    """The metrics with at least one case in this slice in some configuration."""
    out = []
    for metric in ALL_METRICS:
        for config in run.configs:
            h = (slice_headline(config, kb, split) or {}).get(metric)
            if h is not None and h.n:
                out.append(metric)
                break
    return out


def _title(kb: str, split: str) -> str:
    return kb if kb == ALL else f"{kb} / {split}"


# ----- Markdown -----------------------------------------------------------------------------------
def _md_headline(run: EvalRun, kb: str, split: str, floors: Floors) -> list[str]:
    names = [c.name for c in run.configs]
    lines = [f"### {_title(kb, split)}", "", "| metric | " + " | ".join(names) + " | target |",
             "|---" * (len(names) + 2) + "|"]  # fmt: skip
    for metric in shown(run, kb, split):
        cells = []
        for config in run.configs:
            h = (slice_headline(config, kb, split) or {}).get(metric)
            if h is None:
                cells.append("–")
                continue
            cell = f"{fmt(h.value)} [{fmt(h.low)}, {fmt(h.high)}] {h.n}"
            cells.append(f"**{cell}**" if misses(h, metric, floors, split) else cell)
        lines.append(f"| {metric} | " + " | ".join(cells) + f" | {target(metric, floors, split)} |")
    return [*lines, ""]


def markdown(run: EvalRun, floors: Floors) -> str:
    names = [c.name for c in run.configs]
    kbs = ", ".join(f"{k} {v.get('version', '?')}" for k, v in run.knowledge_base.items()
                    if isinstance(v, dict))  # fmt: skip
    lines = [
        f"# Evaluation {run.created}", "",
        f"Dataset `{run.dataset['path']}`: {run.dataset['cases']} cases "
        f"{run.dataset.get('kinds', {})} {run.dataset.get('splits', {})}, sha256 "
        f"`{run.dataset['sha256'][:12]}`; knowledge bases {kbs or '?'}; default config "
        f"`{run.default_config}`; bootstrap {run.resamples} resamples, seed {run.seed}.", "",
        f"## Headline per knowledge base and split (value [95% CI] n; **bold** = misses the "
        f"gate's target on `{floors.split}`)", "",
    ]  # fmt: skip
    for kb, split in slices(run):
        lines += _md_headline(run, kb, split, floors)
    lines += ["## Latency (ms, p50 / p95)", "", "| stage | " + " | ".join(names) + " |",
              "|---" * (len(names) + 1) + "|"]  # fmt: skip
    for stage in STAGES:
        cells = [
            f"{c.latency_ms[stage]['p50']:.1f} / {c.latency_ms[stage]['p95']:.1f}"
            if stage in c.latency_ms else "–"
            for c in run.configs
        ]  # fmt: skip
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines + _md_cases(run)) + "\n"


def _md_cases(run: EvalRun) -> list[str]:
    lines = ["", "## Cases", "", "| config | failing | critical failing | passing with warnings |",
             "|---|---|---|---|"]  # fmt: skip
    for c in run.configs:
        failed = [r for r in c.cases if not r.passed]
        warned = [r for r in c.cases if r.passed and r.warnings]
        critical = sum(r.critical for r in failed)
        lines.append(f"| {c.name} | {len(failed)} of {len(c.cases)} | {critical} | {len(warned)} |")
    config = run.config(run.default_config)
    failed = sorted((r for r in config.cases if not r.passed), key=lambda r: (not r.critical, r.id))
    lines += ["", f"## Failing cases of {config.name} (critical first; all configs in report.html)",
              ""]  # fmt: skip
    lines += [
        f"- `{r.id}` ({r.kind}, {r.kb}/{r.split}{', critical' if r.critical else ''}): "
        + "; ".join(f.replace("|", "\\|") for f in r.failures)
        for r in failed
    ]
    broken = [v for v in config.variants if v.value < 1.0]
    if config.variants:
        lines += ["", f"## Perturbations of {config.name} that changed the answer "
                  f"({len(broken)} of {len(config.variants)})", ""]  # fmt: skip
        lines += [f"- `{v.case_id}` {v.perturbation} ({v.kb}/{v.split}): {v.detail}: "
                  f"{_md_quote(v.question)}" for v in broken]  # fmt: skip
    return lines


def _md_quote(text: str) -> str:
    return '"' + text.replace("|", "\\|") + '"'


# ----- HTML ----------------------------------------------------------------------------------
def html(run: EvalRun, floors: Floors) -> str:
    kbs = " · ".join(
        f"{escape(k)} {escape(str(v.get('version', '?')))} ({v.get('articles', '?')} articles)"
        for k, v in run.knowledge_base.items() if isinstance(v, dict)
    )  # fmt: skip
    meta = (
        f"<p class='meta'>{escape(run.created)} · dataset {escape(str(run.dataset['path']))} "
        f"({run.dataset['cases']} cases, sha256 {escape(run.dataset['sha256'][:12])}) · "
        f"knowledge bases {kbs or '?'} · bootstrap {run.resamples} "
        f"resamples, seed {run.seed}</p><p class='meta'>"
        + " · ".join(f"{escape(k)} {escape(v)}" for k, v in run.versions.items())
        + "</p>"
    )
    cases = "".join(
        f"<details id='cases-{escape(c.name)}'{' open' if c.name == run.default_config else ''}>"
        f"<summary><b>{escape(c.name)}</b>: {sum(not r.passed for r in c.cases)} failing of "
        f"{len(c.cases)}</summary>{case_table(c.cases, c.name)}</details>"
        for c in run.configs
    )
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title="Help assistant evaluation",
        meta=meta,
        headline="".join(headline_table(run, kb, split, floors) for kb, split in slices(run)),
        latency=latency_table(run.configs),
        plots="\n".join(_plots(run, floors)),
        cases=cases,
        variants=variant_table(run.config(run.default_config)),
    )


def _plots(run: EvalRun, floors: Floors) -> list[str]:
    return [
        _figure("plot-metrics", metric_bars(run.configs, floors.floors), "Headline metrics over "
                "all cases per configuration (whiskers: bootstrap 95% interval; dashes: the "
                f"targets of the {floors.split} split)."),  # fmt: skip
        _figure("plot-latency", latency_histogram(run.configs), "Total latency per case "
                "(the last bin holds everything slower)."),  # fmt: skip
        *(
            _figure(f"plot-confusion-{c.name}", confusion_svg(c), f"Outcomes of {c.name}: "
                    "expected (rows) by actual (columns).")  # fmt: skip
            for c in run.configs
        ),
        *(
            _figure(f"plot-reliability-{c.name}", reliability_svg(c), f"Reliability of "
                    f"{c.name}'s confidence (10 bins, answerable and not-covered cases): bars "
                    "are the share answered correctly, dots the mean confidence, dashes perfect "
                    "calibration.")  # fmt: skip
            for c in run.configs
        ),
    ]


def _figure(ident: str, svg: str, caption: str) -> str:
    return f"<figure id='{ident}'>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def headline_table(run: EvalRun, kb: str, split: str, floors: Floors) -> str:
    configs = run.configs
    head = "".join(f"<th title='{escape(c.description)}'>{escape(c.name)}</th>" for c in configs)
    rows = []
    for metric in shown(run, kb, split):
        cells = []
        for c in configs:
            h = (slice_headline(c, kb, split) or {}).get(metric)
            if h is None:
                cells.append("<td class='num'>–</td>")
                continue
            cls = "num below" if misses(h, metric, floors, split) else "num"
            cells.append(f"<td class='{cls}'>{fmt(h.value)} <span class='ci'>[{fmt(h.low)}, "
                         f"{fmt(h.high)}]</span> <span class='n'>n={h.n}</span></td>")  # fmt: skip
        rows.append(f"<tr><th>{escape(metric)}</th>{''.join(cells)}"
                    f"<td class='num'>{escape(target(metric, floors, split))}</td></tr>")
    ident = "headline-table" if kb == ALL else escape(f"headline-{kb}-{split}")
    return (f"<h3>{escape(_title(kb, split))}</h3><table id='{ident}' class='headline'><tr>"
            f"<th>metric</th>{head}<th>target</th></tr>{''.join(rows)}</table>")  # fmt: skip


def latency_table(configs: Sequence[ConfigResult]) -> str:
    head = "".join(f"<th>{s}</th>" for s in STAGES)
    rows = "".join(
        f"<tr><th>{escape(c.name)}</th>"
        + "".join(
            f"<td class='num'>{c.latency_ms[s]['p50']:.1f} / {c.latency_ms[s]['p95']:.1f}</td>"
            if s in c.latency_ms else "<td class='num'>–</td>"
            for s in STAGES
        )
        + "</tr>"
        for c in configs
    )
    return f"<table><tr><th>config</th>{head}</tr>{rows}</table>"


def variant_table(config: ConfigResult) -> str:
    """The perturbed questions of the default configuration, changed answers first."""
    if not config.variants:
        return "<p class='meta'>No perturbations in this run (<code>--perturb</code>).</p>"
    ordered: list[VariantResult] = sorted(config.variants, key=lambda v: (v.value, v.case_id))
    rows = "".join(
        f"<tr class='{'pass' if v.value == 1.0 else 'fail'}'><td>{escape(v.case_id)}<br>"
        f"<span class='badge'>{escape(v.kb)}/{escape(v.split)}</span></td>"
        f"<td>{escape(v.perturbation)}</td><td>{escape(v.question)}</td>"
        f"<td>{escape(str(v.outcome))}</td><td>{escape(', '.join(v.cited))}</td>"
        f"<td>{escape(v.detail) or 'unchanged'}</td></tr>"
        for v in ordered
    )
    return (f"<table class='cases' id='variants-table'><tr><th>case</th><th>perturbation</th>"
            f"<th>question</th><th>outcome</th><th>cited</th><th>verdict</th></tr>{rows}</table>")


def case_table(results: Sequence[CaseResult], config: str) -> str:
    ordered = sorted(results, key=lambda r: (r.passed, not r.critical, r.id))
    rows = []
    for r in ordered:
        badges = (f"<span class='badge'>{escape(r.kind)}</span>"
                  f"<span class='badge'>{escape(r.kb)}/{escape(r.split)}</span>") + (
            "<span class='badge critical'>critical</span>" if r.critical else ""
        )
        history = "".join(
            f"<div class='history'>{escape(t.role)}: {escape(t.content)}</div>" for t in r.history
        )
        resolved = (f"<div class='history'>retrieved with: {escape(r.run.resolved_question)}</div>"
                    if r.run.resolved_question else "")  # fmt: skip
        ok = "ok" if r.scores.get("outcome") == 1.0 else "bad"
        outcome = (f"<span class='{ok}'>{escape(str(r.run.outcome))}</span><br>"
                   f"<span class='n'>expected {escape(r.expected)} · confidence "
                   f"{r.run.confidence:.2f}</span>")  # fmt: skip
        cites = "".join(
            f"<li>[{c.n}] {escape(c.article_id)} › {escape(c.section)}</li>"
            for c in r.run.citations
        )
        passages = "".join(
            f"<li><details><summary>{escape(p.article_id)} › {escape(p.section)} "
            f"<span class='n'>{p.score:.3f}</span></summary><div class='text'>{escape(p.text)}"
            "</div></details></li>"
            for p in r.run.passages
        ) or "<li class='n'>none (stopped before retrieval)</li>"
        ranking = ", ".join(escape(a) for a in r.run.ranking)
        failures = "".join(f"<li>{escape(f)}</li>" for f in r.failures)
        warnings = "".join(f"<li>{escape(w)}</li>" for w in r.warnings)
        verdict = f"<ul class='failures'>{failures}</ul>" if failures else "pass"
        verdict += f"<ul class='warnings'>{warnings}</ul>" if warnings else ""
        state, ident = ("pass" if r.passed else "fail"), escape(f"case-{config}-{r.id}")
        rows.append(
            f"<tr class='{state}' id='{ident}'>"
            f"<td>{escape(r.id)}<br>{badges}</td>"
            f"<td>{history}{escape(r.question)}{resolved}</td><td>{outcome}</td>"
            f"<td><div class='answer'>{escape(r.run.answer)}</div>"
            f"<ul class='n cites'>{cites}</ul></td>"
            f"<td><ol class='passages'>{passages}</ol><div class='n'>ranking: {ranking}</div></td>"
            f"<td>{verdict}</td></tr>"
        )
    return (
        "<table class='cases'><colgroup><col style='width:10%'><col style='width:17%'>"
        "<col style='width:10%'><col style='width:28%'><col style='width:20%'>"
        "<col style='width:15%'></colgroup><tr><th>case</th><th>question</th><th>outcome</th>"
        "<th>answer</th><th>retrieved passages</th><th>what failed</th></tr>"
        + "".join(rows) + "</table>"
    )


