"""The PNG of one ``help-assistant bench`` run: four panels (ask latency by backend, HTTP,
scale, ours against the textbook pipeline), drawn with matplotlib's Agg backend (no display).

Example::

    plot(result, out / "bench.png")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(result: dict[str, Any], path: Path) -> None:
    """Four panels: ask latency per backend, HTTP, scale, and ours against the textbook."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    ax = axes[0][0]
    names = list(result["backends"])
    width = 0.13
    series = [
        ("first", "p50_ms"),
        ("first", "p95_ms"),
        ("first", "p99_ms"),
        ("repeat", "p50_ms"),
        ("repeat", "p95_ms"),
        ("repeat", "p99_ms"),
    ]
    for i, (kind, key) in enumerate(series):
        values = [result["backends"][n][kind][key] or 0.0 for n in names]
        xs = [j + (i - 2.5) * width for j in range(len(names))]
        ax.bar(xs, values, width, label=f"{kind} {key.removesuffix('_ms')}")
    ax.set_xticks(range(len(names)), names)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log scale)")
    ax.set_title("In-process ask latency by embedding backend")
    ax.legend(fontsize=7, ncol=2)

    ax = axes[0][1]
    levels = result["http"]["levels"]
    conc = [str(lv["concurrency"]) for lv in levels]
    ax.bar(conc, [lv["answers_per_s"] for lv in levels], color="#4e79a7", label="answers/s")
    ax.set_xlabel("concurrency")
    ax.set_ylabel("answers/s")
    twin = ax.twinx()
    twin.plot(conc, [lv["p95_ms"] or 0.0 for lv in levels], "o-", color="#e15759", label="p95 ms")
    twin.set_ylabel("p95 ms")
    ax.set_title(f"HTTP POST /v1/answer (cold start {result['http']['cold_start_s']:.1f} s)")
    ax.legend(loc="upper left", fontsize=8)
    twin.legend(loc="upper center", fontsize=8)

    ax = axes[1][0]
    scale = [row for row in result["scale"] if row["retrieval"]["p50_ms"] is not None]
    sizes = [row["chunks"] for row in scale]
    for key, style in (("p50_ms", "o-"), ("p95_ms", "s-"), ("p99_ms", "^-")):
        ax.plot(sizes, [row["retrieval"][key] for row in scale], style, label=f"retrieval {key}")
    ax.set_xscale("log")
    ax.set_xlabel("chunks")
    ax.set_ylabel("ms")
    twin = ax.twinx()
    twin.plot(sizes, [row["rss_mb"] or 0.0 for row in scale], "d--", color="grey", label="RSS MB")
    twin.set_ylabel("RSS MB")
    ax.set_title("Retrieval latency and memory against corpus size")
    ax.legend(loc="upper left", fontsize=8)
    twin.legend(loc="lower right", fontsize=8)

    ax = axes[1][1]
    ask, textbook = result["ask"], result["textbook"]
    labels = ["ours new", "ours repeated", "textbook"]
    values = [ask["first"]["per_s"], ask["repeat"]["per_s"], textbook["latency"]["per_s"]]
    ax.bar(labels, [v or 0.0 for v in values], color=["#4e79a7", "#76b7b2", "#f28e2b"])
    ax.set_ylabel("answers/s (sequential, in process)")
    ax.set_title("Ours against the textbook LangChain pipeline")

    mode = " (quick mode)" if result["quick"] else ""
    fig.suptitle(f"help-assistant bench {result['machine']['date']}{mode}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
