"""Inline SVG plots of the HTML report: metric bars, latency histogram, confusion matrix and
the reliability diagram. Text in them is ``html.escape``d.

Example::

    svg = reliability_svg(run.config("hybrid"))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from eval.headline import HEADLINE
from eval.runner import ConfigResult

COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1")
OUTCOME_LABELS = ("answered", "no_answer", "refer_to_professional", "error")
SHORT = {"citation_precision": "citation prec.", "outcome_accuracy": "outcome acc.",
         "outcome_accuracy.answerable": "acc. answerable", "outcome_accuracy.no_answer":
         "acc. no_answer", "outcome_accuracy.refer_to_professional": "acc. refer",
         "refer_to_professional": "refer", "no_answer": "no answer",
         "answered_with_facts": "answered+facts", "no_answer_precision": "no-ans. prec.",
         "no_answer_recall": "no-ans. recall", "false_referral_rate": "false referrals",
         "billing_covered_answered": "billing covered"}  # fmt: skip
#: The bars of the metric plot (higher is better, one bar per configuration).
BAR_METRICS = ("hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "fact_recall",
               "citation_precision", "support", "outcome_accuracy.answerable",
               "outcome_accuracy.no_answer", "outcome_accuracy.refer_to_professional",
               "answered_with_facts", "no_answer_precision")  # fmt: skip


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


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
    metrics = [m for m in BAR_METRICS if m in HEADLINE]
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


def reliability_svg(config: ConfigResult) -> str:
    """Reliability diagram: per confidence bin, the share answered correctly (bars) against the
    diagonal of perfect calibration; bar labels give the number of cases."""
    left, top, size = 40, 22, 220
    ece = config.headline.get("ece")
    title = f"{config.name}: ECE {fmt(ece.value if ece else None)}"
    body = [_text(left + size / 2, 12, title, extra="font-weight='600'"),
            f"<rect x='{left}' y='{top}' width='{size}' height='{size}' fill='none' "
            "stroke='#98a2b3'/>",
            f"<line x1='{left}' y1='{top + size}' x2='{left + size}' y2='{top}' "
            "stroke='#98a2b3' stroke-dasharray='4 3'/>"]  # fmt: skip
    for tick in (0, 0.5, 1.0):
        body.append(_text(left - 4, top + size * (1 - tick) + 4, f"{tick:g}", "end"))
        body.append(_text(left + size * tick, top + size + 14, f"{tick:g}"))
    for b in config.reliability:
        if not b["n"] or b["accuracy"] is None:
            continue
        x, w = left + size * b["low"], size * (b["high"] - b["low"]) - 1
        h = size * b["accuracy"]
        body.append(f"<rect x='{x:.1f}' y='{top + size - h:.1f}' width='{w:.1f}' "
                    f"height='{max(h, 0.5):.1f}' fill='{COLORS[0]}' fill-opacity='0.75'>"
                    f"<title>confidence {b['low']:.1f}–{b['high']:.1f}: {b['n']} cases, mean "
                    f"{b['confidence']:.2f}, correct {b['accuracy']:.2f}</title></rect>")
        cy = top + size * (1 - b["confidence"])
        body.append(f"<circle cx='{x + w / 2:.1f}' cy='{cy:.1f}' r='2.5' fill='#b42318'/>")
        body.append(_text(x + w / 2, top + size - h - 3, str(b["n"]), extra="font-size='9'"))
    body.append(_text(left + size / 2, top + size + 28, "confidence"))
    body.append(_text(12, top + size / 2, "answered correctly", extra=(
        f"transform='rotate(-90 12 {top + size / 2:.1f})'")))  # fmt: skip
    return _svg(left + size + 20, top + size + 36, "".join(body), f"reliability {config.name}")
