"""Write an :class:`~eval.runner.EvalRun` as result JSON, a Markdown summary and an HTML report.

The HTML report is one self-contained file: inline CSS and inline SVG plots, no scripts, no
network. Every piece of case text (questions, answers, passages) is ``html.escape``d.

Example::

    write_reports(run, Path("eval/runs/2026-01-01T120000"), floors=DEFAULT_FLOORS)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from eval.runner import HEADLINE, CaseResult, ConfigResult, Dataset, EvalRun, Headline

TEMPLATE = Path(__file__).parent / "templates" / "report.html"
COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1")
STAGES = ("embed", "safety", "retrieve", "answer", "total")
OUTCOME_LABELS = ("answered", "no_answer", "refer_to_professional", "error")
SHORT = {"citation_precision": "citation prec.", "outcome_accuracy": "outcome acc.",
         "outcome_accuracy.answerable": "acc. answerable", "outcome_accuracy.no_answer":
         "acc. no_answer", "outcome_accuracy.refer_to_professional": "acc. refer",
         "refer_to_professional": "refer", "no_answer": "no answer"}  # fmt: skip


def write_reports(run: EvalRun, out_dir: Path, floors: Mapping[str, float]) -> dict[str, Path]:
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


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def below(h: Headline, floor: float | None) -> bool:
    return floor is not None and h.value is not None and h.value < floor


def write_export(run: EvalRun, dataset: Dataset, fmt_: str, out_dir: Path) -> Path:
    """One JSONL per configuration, rows in dataset order: ragas ``SingleTurnSample`` fields or
    deepeval ``LLMTestCase`` fields."""
    if fmt_ not in ("ragas", "deepeval"):
        raise ValueError(f"unknown export format {fmt_!r}; supported: ragas, deepeval")
    path = out_dir / fmt_
    path.mkdir(parents=True, exist_ok=True)
    questions = {c.id: c for c in dataset.cases}
    for config in run.configs:
        lines = []
        for r in config.cases:
            contexts = [p.text for p in r.run.passages]
            reference = run.references.get(r.id)
            gold = _split(reference) if questions[r.id].kind == "answerable" else []
            if fmt_ == "ragas":
                row: dict[str, Any] = {"user_input": r.question, "retrieved_contexts": contexts,
                                       "response": r.run.answer, "reference": reference,
                                       "reference_contexts": gold}  # fmt: skip
            else:
                row = {"input": r.question, "actual_output": r.run.answer,
                       "expected_output": reference, "retrieval_context": contexts,
                       "context": gold}  # fmt: skip
            lines.append(json.dumps(row, ensure_ascii=False))
        (path / f"{config.name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _split(reference: str | None) -> list[str]:
    return [p for p in (reference or "").split("\n\n") if p.strip()]


# ----- Markdown -----------------------------------------------------------------------------------
def markdown(run: EvalRun, floors: Mapping[str, float]) -> str:
    names = [c.name for c in run.configs]
    lines = [
        f"# Evaluation {run.created}",
        "",
        f"Dataset `{run.dataset['path']}`: {run.dataset['cases']} cases "
        f"{run.dataset.get('kinds', {})}, sha256 `{run.dataset['sha256'][:12]}`; knowledge base "
        f"{run.knowledge_base.get('version', '?')}; default config `{run.default_config}`; "
        f"bootstrap {run.resamples} resamples, seed {run.seed}.",
        "",
        "## Headline (value [95% CI] n; **bold** = below floor)",
        "",
        "| metric | " + " | ".join(names) + " | floor |",
        "|---" * (len(names) + 2) + "|",
    ]
    for metric in HEADLINE:
        cells = []
        for config in run.configs:
            h = config.headline[metric]
            cell = f"{fmt(h.value)} [{fmt(h.low)}, {fmt(h.high)}] {h.n}"
            cells.append(f"**{cell}**" if below(h, floors.get(metric)) else cell)
        floor = floors.get(metric)
        lines.append(f"| {metric} | " + " | ".join(cells) + f" | {fmt(floor)} |")
    lines += ["", "## Latency (ms, p50 / p95)", "", "| stage | " + " | ".join(names) + " |",
              "|---" * (len(names) + 1) + "|"]  # fmt: skip
    for stage in STAGES:
        cells = [
            f"{c.latency_ms[stage]['p50']:.1f} / {c.latency_ms[stage]['p95']:.1f}"
            if stage in c.latency_ms else "–"
            for c in run.configs
        ]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines += ["", "## Cases", "", "| config | failing | critical failing | passing with warnings |",
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
        f"- `{r.id}` ({r.kind}{', critical' if r.critical else ''}): "
        + "; ".join(f.replace("|", "\\|") for f in r.failures)
        for r in failed
    ]
    return "\n".join(lines) + "\n"


# ----- HTML ----------------------------------------------------------------------------------
def html(run: EvalRun, floors: Mapping[str, float]) -> str:
    kb = run.knowledge_base
    meta = (
        f"<p class='meta'>{escape(run.created)} · dataset {escape(str(run.dataset['path']))} "
        f"({run.dataset['cases']} cases, sha256 {escape(run.dataset['sha256'][:12])}) · "
        f"knowledge base {escape(str(kb.get('version', '?')))} · bootstrap {run.resamples} "
        f"resamples, seed {run.seed}</p><p class='meta'>"
        + " · ".join(f"{escape(k)} {escape(v)}" for k, v in run.versions.items())
        + "</p>"
    )
    plots = [
        _figure("plot-metrics", metric_bars(run.configs, floors), "Headline metrics per "
                "configuration (whiskers: bootstrap 95% interval; dashes: floors)."),  # fmt: skip
        _figure("plot-latency", latency_histogram(run.configs), "Total latency per case "
                "(the last bin holds everything slower)."),  # fmt: skip
        *(
            _figure(f"plot-confusion-{c.name}", confusion_svg(c), f"Outcomes of {c.name}: "
                    "expected (rows) by actual (columns).")  # fmt: skip
            for c in run.configs
        ),
    ]
    cases = "".join(
        f"<details id='cases-{escape(c.name)}'{' open' if c.name == run.default_config else ''}>"
        f"<summary><b>{escape(c.name)}</b>: {sum(not r.passed for r in c.cases)} failing of "
        f"{len(c.cases)}</summary>{case_table(c.cases, c.name)}</details>"
        for c in run.configs
    )
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title="Help assistant evaluation",
        meta=meta,
        headline=headline_table(run.configs, floors),
        latency=latency_table(run.configs),
        plots="\n".join(plots),
        cases=cases,
    )


def _figure(ident: str, svg: str, caption: str) -> str:
    return f"<figure id='{ident}'>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def headline_table(configs: Sequence[ConfigResult], floors: Mapping[str, float]) -> str:
    head = "".join(f"<th title='{escape(c.description)}'>{escape(c.name)}</th>" for c in configs)
    rows = []
    for metric in HEADLINE:
        cells = []
        for c in configs:
            h = c.headline[metric]
            cls = "num below" if below(h, floors.get(metric)) else "num"
            cells.append(f"<td class='{cls}'>{fmt(h.value)} <span class='ci'>[{fmt(h.low)}, "
                         f"{fmt(h.high)}]</span> <span class='n'>n={h.n}</span></td>")  # fmt: skip
        rows.append(f"<tr><th>{escape(metric)}</th>{''.join(cells)}"
                    f"<td class='num'>{fmt(floors.get(metric))}</td></tr>")  # fmt: skip
    return (f"<table id='headline-table'><tr><th>metric</th>{head}<th>floor</th></tr>"
            f"{''.join(rows)}</table>")  # fmt: skip


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


def case_table(results: Sequence[CaseResult], config: str) -> str:
    ordered = sorted(results, key=lambda r: (r.passed, not r.critical, r.id))
    rows = []
    for r in ordered:
        badges = f"<span class='badge'>{escape(r.kind)}</span>" + (
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


# ----- SVG plots --------------------------------------------------------------------------------
def _svg(width: int, height: int, body: str, label: str) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(label)}' "
            f"font-family='system-ui, sans-serif' font-size='11'>{body}</svg>")  # fmt: skip


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' {extra}>{escape(text)}</text>"


def _legend(names: Sequence[str], x: float, y: float) -> str:
    return "".join(
        f"<rect x='{x}' y='{y + 16 * i}' width='10' height='10' fill='{COLORS[i % len(COLORS)]}'/>"
        + _text(x + 14, y + 16 * i + 9, name, "start")
        for i, name in enumerate(names)
    )


def metric_bars(configs: Sequence[ConfigResult], floors: Mapping[str, float] | None = None) -> str:
    metrics = [m for m in HEADLINE if m != "red_flag_recall"]  # same numbers as refer accuracy
    bar, gap, left, top, plot_h = 11, 14, 34, 10, 180
    group = bar * len(configs) + gap
    width, height = left + group * len(metrics) + 130, top + plot_h + 110
    body = []
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - tick)
        body.append(f"<line x1='{left}' x2='{left + group * len(metrics)}' y1='{y}' y2='{y}' "
                    "stroke='#eaecf0'/>" + _text(left - 4, y + 4, f"{tick:g}", "end"))  # fmt: skip
    for g, metric in enumerate(metrics):
        x0 = left + g * group + gap / 2
        if (floor := (floors or {}).get(metric)) is not None:
            y = top + plot_h * (1 - floor)
            body.append(f"<line x1='{x0 - 3:.1f}' x2='{x0 + bar * len(configs) + 2:.1f}' "
                        f"y1='{y:.1f}' y2='{y:.1f}' stroke='#b42318' stroke-dasharray='3 2'/>")
        for i, c in enumerate(configs):
            h = c.headline[metric]
            if h.value is None:
                continue
            x, y = x0 + i * bar, top + plot_h * (1 - h.value)
            body.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar - 1}' "
                        f"height='{max(plot_h * h.value, 0.5):.1f}' "
                        f"fill='{COLORS[i % len(COLORS)]}'><title>{escape(c.name)} "
                        f"{escape(metric)} {fmt(h.value)}</title></rect>")  # fmt: skip
            if h.low is not None and h.high is not None:
                cx = x + bar / 2 - 0.5
                y1, y2 = top + plot_h * (1 - h.low), top + plot_h * (1 - h.high)
                body.append(f"<line x1='{cx:.1f}' x2='{cx:.1f}' y1='{y1:.1f}' y2='{y2:.1f}' "
                            "stroke='#101828'/>")  # fmt: skip
        label_x, label_y = x0 + bar * len(configs) / 2, top + plot_h + 8
        body.append(_text(label_x, label_y, SHORT.get(metric, metric), "end",
                          f"transform='rotate(-40 {label_x:.1f} {label_y:.1f})'"))  # fmt: skip
    body.append(_legend([c.name for c in configs], left + group * len(metrics) + 12, top))
    return _svg(width, height, "".join(body), "headline metrics per configuration")


def latency_histogram(configs: Sequence[ConfigResult], bins: int = 24) -> str:
    totals = [[r.run.timings_ms["total"] for r in c.cases if "total" in r.run.timings_ms]
              for c in configs]  # fmt: skip
    # The axis ends at 1.5 x the slowest p95 so one cold outlier does not squash the rest; slower
    # cases land in the last bin.
    p95 = [c.latency_ms["total"]["p95"] for c in configs if "total" in c.latency_ms]
    top_ms = min(max((max(t) for t in totals if t), default=1.0), 1.5 * max(p95, default=1.0))
    step = top_ms / bins if top_ms > 0 else 1.0
    left, row_h, plot_w = 90, 64, 480
    width, height = left + plot_w + 20, row_h * len(configs) + 30
    body = []
    for i, (c, values) in enumerate(zip(configs, totals, strict=True)):
        counts = [0] * bins
        for v in values:
            counts[min(bins - 1, int(v / step))] += 1
        peak, y0 = max(counts, default=0) or 1, 8 + row_h * (i + 1) - 10
        body.append(_text(left - 6, y0 - 20, c.name, "end"))
        for b, n in enumerate(counts):
            if n:
                h = (row_h - 16) * n / peak
                body.append(f"<rect x='{left + b * plot_w / bins:.1f}' y='{y0 - h:.1f}' "
                            f"width='{plot_w / bins - 1:.1f}' height='{h:.1f}' "
                            f"fill='{COLORS[i % len(COLORS)]}'><title>{n} cases, "
                            f"{b * step:.0f}–{(b + 1) * step:.0f} ms</title></rect>")  # fmt: skip
        body.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{y0}' y2='{y0}' "
                    "stroke='#98a2b3'/>")
    axis_y = row_h * len(configs) + 18
    for tick in range(0, 5):
        label = f"{top_ms * tick / 4:.0f} ms" + ("+" if tick == 4 else "")
        body.append(_text(left + plot_w * tick / 4, axis_y, label))
    return _svg(width, height, "".join(body), "latency histogram")


def confusion_svg(config: ConfigResult) -> str:
    expected = [e for e in OUTCOME_LABELS if e in config.confusion]
    actual = [a for a in OUTCOME_LABELS if any(config.confusion[e].get(a) for e in expected)
              or a != "error"]  # fmt: skip
    cell, left, top = 66, 130, 44
    title = f"{config.name}: actual"
    body = [_text(left + cell * len(actual) / 2, 12, title, extra="font-weight='600'")]
    for j, a in enumerate(actual):
        body.append(_text(left + j * cell + cell / 2, top - 8, SHORT.get(a, a)))
    for i, e in enumerate(expected):
        row = config.confusion[e]
        total = sum(row.values()) or 1
        y = top + i * cell
        body.append(_text(left - 6, y + cell / 2 + 4, f"expected {SHORT.get(e, e)}", "end"))
        for j, a in enumerate(actual):
            n = row.get(a, 0)
            hue = "22, 163, 74" if a == e else "220, 38, 38"
            alpha = 0.08 + 0.85 * n / total if n else 0.03
            x = left + j * cell
            body.append(f"<rect x='{x}' y='{y}' width='{cell - 2}' height='{cell - 2}' "
                        f"fill='rgba({hue}, {alpha:.2f})'><title>expected {e}, got {a}: {n}</title>"
                        f"</rect>" + _text(x + cell / 2 - 1, y + cell / 2 + 4, str(n)))
    width = left + cell * len(actual) + 10
    return _svg(width, top + cell * len(expected) + 10, "".join(body), f"confusion {config.name}")
