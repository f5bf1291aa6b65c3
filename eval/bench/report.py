"""Reporting of ``help-assistant bench``: the machine it ran on, and the Markdown tables
written between the markers of ``BENCHMARKS.md``.

Example::

    write_section(Path("BENCHMARKS.md"), markdown(result))
"""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from eval.bench.stats import STAGES
from eval.bench.targets import status_mark, targets

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"
VERSIONS = ("onnxruntime", "torch", "chromadb", "bm25s", "langchain-core", "fastapi", "uvicorn")
PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")
HEADER = """# Benchmarks

Speed and memory of the help assistant, measured by `help-assistant bench` (see
`eval/bench/`). The section below is rewritten by every full run.
"""


# ----- the machine -------------------------------------------------------------------------------
def _proc_field(path: str, key: str) -> str | None:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() == key:
            return value.strip()
    return None


def machine() -> dict[str, Any]:
    """CPU, cores, RAM, Python and library versions, and the load when the bench started (the
    figures are only comparable between runs on a similarly idle machine)."""
    mem_kb = _proc_field("/proc/meminfo", "MemTotal")
    versions: dict[str, str | None] = {}
    for name in VERSIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "ram_gb": round(int(mem_kb.split()[0]) / 1024**2, 1) if mem_kb else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "load_average_start": _load_average(),
    }


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ----- Markdown ----------------------------------------------------------------------------------
def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(result: dict[str, Any], plot_path: Path | None = None) -> str:
    """The section between the markers: machine, targets and the detail tables."""
    m = result["machine"]
    v = m["versions"]
    load = m.get("load_average_start")
    lines = [
        f"## Latest run: {m['date']}"
        + (" (quick mode: tiny counts, not for comparison)" if result["quick"] else ""),
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; Python {m['python']}, "
        f"onnxruntime {v.get('onnxruntime')}, torch {v.get('torch')}, chromadb {v.get('chromadb')}"
        f", bm25s {v.get('bm25s')}."
        + (
            f" Load average (1 min) {load[0]:.2f} when the run started and "
            f"{(m.get('load_average_end') or [0.0])[0]:.2f} when it ended"
            + (", so other processes shared the CPU." if load[0] > 0.5 else ".")
            if load
            else ""
        ),
        "",
        "### Targets",
        "",
        *_table(
            ["Measure", "Result", "Target", "Status"],
            [[t.name, t.value, t.goal, status_mark(t.passed)] for t in targets(result)],
        ),
    ]
    lines += ["", *_ingest_lines(result["ingest"]), "", *_ceiling_lines(result)]
    lines += ["", *_ask_lines(result)]
    lines += ["", *_textbook_lines(result), "", *_http_lines(result["http"])]
    lines += ["", *_scale_lines(result["scale"])]
    if plot_path is not None:
        lines += [
            "",
            f"Plot of this run: `{plot_path}` (bench output directories are not committed).",
        ]
    return "\n".join(lines) + "\n"


def _ingest_lines(ingest: dict[str, Any]) -> list[str]:
    cli, error = ingest.get("cli_noop_s"), ingest.get("cli_noop_error")
    cli_text = (
        f", {cli:.2f} s as a new `help-assistant ingest` process (imports included)."
        if cli is not None
        else f"; the CLI run failed: {error}."
        if error
        else "; the CLI run was skipped (quick mode)."
    )
    return [
        "### Ingest",
        "",
        f"Cold ingest of {ingest['articles']} articles: {ingest['chunks']} chunks and "
        f"{ingest['units']} sentences embedded in {ingest['cold_s']:.1f} s "
        f"({ingest['chunks_per_s']:.1f} chunks/s, {ingest['texts_per_s']:.1f} texts/s), after "
        f"{ingest['model_load_s']:.1f} s loading the model (first use in a fresh data dir, ONNX "
        f"export included). No-op re-ingest: {ingest['noop_s']:.2f} s in process{cli_text}",
        *(
            [
                "",
                f"Embedding inside the ingest: {ingest['embedded_texts']} texts in "
                f"{ingest['embed_batches']} calls, {ingest['embed_s']:.1f} s of its "
                f"{ingest['cold_s']:.1f} s. The bare model on the same texts in the same "
                f"batches: {ingest['raw_texts_per_s']:.1f} texts/s; the ingest reached "
                f"{ingest['ingest_texts_per_s']:.1f} texts/s, {ingest['embedding_share']:.2f} of "
                "it.",
            ]
            if ingest.get("raw_texts_per_s")
            else []
        ),
    ]


def _ask_lines(result: dict[str, Any]) -> list[str]:
    ask = result["ask"]
    rows = []
    for backend, b in result["backends"].items():
        f, r = b["first"], b["repeat"]
        load = "–" if b["load_s"] is None else f"{b['load_s']:.1f}"
        percentiles = [_ms(f[k]) for k in PERCENTILES] + [f"{f['per_s']:.0f}"]
        rows.append([backend, load, *percentiles, *(_ms(r[k]) for k in PERCENTILES)])
    stage_rows = [
        [label, *(_ms(ask["stages_ms"][label].get(s)) for s in STAGES)]
        for label in ("first", "repeat")
    ]
    return [
        "### In-process ask",
        "",
        f"`Assistant.answer` over {ask['questions']} questions of the evaluation set (with their "
        "history). Untimed first: one warm-up answer, a preload of every chunk's sentences "
        "into the answerer's cache and the sections' token vectors, which a server computes "
        "once started (the state a server reaches after its first requests). Then "
        "a *first* pass (each question new to the process: its query vector is computed) and "
        f"{ask['passes']} *repeat* pass(es). The Assistant caches query vectors by normalised "
        "question text (LRU, 10,000 entries), so a repeated question skips the embedding; there "
        "is no answer cache. Latency in ms; "
        "load = model load in s (– = already loaded). Answer quality per backend is compared by "
        "`help-assistant eval`, not here.",
        "",
        *_table(
            [
                "Backend",
                "load s",
                "first p50",
                "first p95",
                "first p99",
                "first answers/s",
                "repeat p50",
                "repeat p95",
                "repeat p99",
            ],
            rows,
        ),
        "",
        f"Where the time goes ({result['config']['backend']}, mean ms per stage of "
        "`Answer.timings_ms`):",
        "",
        *_table(["Pass", *STAGES], stage_rows),
    ]


def _textbook_lines(result: dict[str, Any]) -> list[str]:
    t, c = result["textbook"], result["textbook"]["comparison"]
    ours = result["ask"]
    rows = [
        [
            f"ours ({result['config']['backend']}), new questions",
            _ms(ours["first"]["p50_ms"]),
            _ms(ours["first"]["p95_ms"]),
            f"{ours['first']['per_s']:.1f}",
        ],
        [
            f"ours ({result['config']['backend']}), repeated",
            _ms(ours["repeat"]["p50_ms"]),
            _ms(ours["repeat"]["p95_ms"]),
            f"{ours['repeat']['per_s']:.1f}",
        ],
        [
            "textbook (torch, k=4)",
            _ms(t["latency"]["p50_ms"]),
            _ms(t["latency"]["p95_ms"]),
            f"{t['latency']['per_s']:.1f}",
        ],
    ]
    return [
        "### Against the textbook LangChain pipeline",
        "",
        "Same run, same questions: the tutorial pipeline is `RecursiveCharacterTextSplitter` "
        f"1000/200 ({t['chunks']} chunks, indexed in {t['index_s']:.1f} s) in Chroma with "
        "`HuggingFaceEmbeddings` (PyTorch), queried with `similarity_search(question, k=4)`; it "
        "only retrieves, it composes no answer. Ours is the whole `Assistant.answer`.",
        "",
        *_table(["Pipeline", "p50 ms", "p95 ms", "answers/s"], rows),
        "",
        f"Throughput ours/textbook: {c['throughput_ratio_first']}x on new questions (both embed "
        f"every question), {c['throughput_ratio_repeat']}x on repeated ones. p50 ours/textbook: "
        f"{c['p50_ratio_first']} (new), {c['p50_ratio_repeat']} (repeated); lower is better.",
    ]


def _level_rows(levels: list[dict[str, Any]], kind: str) -> list[list[str]]:
    return [
        [
            kind,
            str(lv["concurrency"]),
            str(lv["requests"]),
            str(lv["errors"]),
            f"{lv['answers_per_s']:.1f}",
            _ms(lv["p50_ms"]),
            _ms(lv["p95_ms"]),
            _ms(lv["p99_ms"]),
        ]
        for lv in levels
    ]


#: Server-Timing stages in request order, with what each covers (see api/routes/answer.py).
HTTP_STAGES = (
    ("outside", "outside the app: socket, h11 parsing, event loop"),
    ("parse", "body read, JSON, validation, dependencies"),
    ("queue", "waiting for a worker"),
    ("corrections", "agents' corrections looked up"),
    ("cache", "answer cache: lookup and copy"),
    ("embed", "embedding"),
    ("safety", "safety gate"),
    ("retrieve", "retrieval"),
    ("answer", "answering"),
    ("store", "answer-log hand-over"),
    ("json", "JSON encoding"),
)


def _stage_lines(http: dict[str, Any]) -> list[str]:
    new = http.get("new_levels", [])
    picked = [("repeated", _pick(http["levels"], 32)), ("new", _pick(new, 32)),
              ("repeated", _pick(http["levels"], 1)), ("new", _pick(new, 1))]  # fmt: skip
    columns = [(kind, lv) for kind, lv in picked if lv and lv.get("stages_ms")]
    if not columns:
        return []
    header = ["Stage", *(f"{kind}, {lv['concurrency']} conn." for kind, lv in columns)]
    rows = [
        [f"{label} (`{name}`)", *(_ms(lv["stages_ms"].get(name)) for _, lv in columns)]
        for name, label in HTTP_STAGES
    ]
    rows.append(
        ["client latency (mean)", *(_ms(lv["stages_ms"].get("client")) for _, lv in columns)]
    )
    return [
        "",
        "Where a request's milliseconds go (mean ms per request, from the `Server-Timing` header "
        "each answer carries when `ASSISTANT_SERVER_TIMING` is on; `outside` = the client's "
        "latency minus the app's own time):",
        "",
        *_table(header, rows),
    ]


def _pick(levels: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    return next((lv for lv in levels if lv["concurrency"] == concurrency), {})


def _http_lines(http: dict[str, Any]) -> list[str]:
    rows = _level_rows(http["levels"], "repeated") + _level_rows(http.get("new_levels", []), "new")
    for n, row in http.get("workers", {}).items():
        for kind, label in (("repeat", "repeated"), ("new", "new")):
            if kind in row:
                rows += _level_rows([row[kind]], f"{label}, {n} workers")
    runs = ", ".join(f"{s:.2f}" for s in http["cold_start_runs_s"])
    return [
        "### HTTP",
        "",
        "A real `help-assistant serve` (the product's uvicorn options, `api/server_options.py`: "
        f"h11 with its guards, the {http.get('server_loop', 'asyncio')} event loop; one worker "
        "unless said, rate limit off) on 127.0.0.1, `POST /v1/answer` over keep-alive "
        "connections from the bench's own lean "
        "HTTP/1.1 client (`eval/bench/loadgen.py`; it shares the CPU with the server). One "
        "untimed pass over the questions first. *repeated*: the answer cache serves them "
        "(`api/answer_cache.py`), as any repeated question. *new*: a server with the answer "
        "and query-vector caches off (`ASSISTANT_ANSWER_CACHE_SIZE=0`, "
        "`ASSISTANT_QUERY_CACHE_SIZE=0`), so every question is embedded and answered, as one new "
        "to the process is. Every answer is also stored in the server's SQLite answers table.",
        "",
        *_table(
            [
                "Questions",
                "Concurrency",
                "Requests",
                "Errors",
                "answers/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
            ],
            rows,
        ),  # fmt: skip
        *_stage_lines(http),
        "",
        f"Cold start (spawn to `/readyz` = 200, index present): {runs} s "
        f"(median {http['cold_start_s']:.2f} s). Server RSS after the load: "
        f"{http['server_rss_mb']} MB.",
    ]


def _ceiling_lines(result: dict[str, Any]) -> list[str]:
    c = result.get("ceiling")
    if not c:
        return []
    new32 = _pick(result["http"].get("new_levels", []), 32)
    share = (
        f" HTTP at 32 connections with every question new: {new32['answers_per_s']:.1f} "
        f"answers/s, {new32['answers_per_s'] / c['ceiling_per_s']:.2f} of the ceiling."
        if new32 and c.get("ceiling_per_s")
        else ""
    )
    return [
        "### Embedding ceiling",
        "",
        f"The bare embedding model ({result['config']['backend']}) on the same "
        f"{c['questions']} questions in this run, in process: {c['one_per_s']:.1f} questions/s "
        f"one at a time (p50 {c['one_p50_ms']:.2f} ms), {c['batch_per_s']:.1f}/s in batches "
        f"of {c['batch_size']}; the ceiling is the better, {c['ceiling_per_s']:.1f}/s.{share}",
    ]


def _scale_lines(scale: list[dict[str, Any]]) -> list[str]:
    def seconds(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    rows = [
        [
            f"{row['chunks']:,}",
            seconds(row["add_s"]),
            seconds(row["load_s"]),
            *(_ms(row["retrieval"][k]) for k in PERCENTILES),
            _ms(row["dense_only"]["p95_ms"]),
            _ms(row["bm25_only"]["p95_ms"]),
            "–" if row["rss_mb"] is None else f"{row['rss_mb']:.0f}",
            {True: "exact", False: "HNSW", None: "–"}[row.get("in_memory")],
            _ms(row.get("exact_dense", {}).get("p95_ms")),
            _ms(row.get("hnsw_dense", {}).get("p95_ms")),
            "–" if row.get("hnsw_recall") is None else f"{row['hnsw_recall']:.3f}",
        ]
        for row in scale
    ]
    header = ["Chunks", "insert s", "load s", "p50 ms", "p95 ms", "p99 ms", "dense-only p95",
              "BM25-only p95", "RSS MB", "dense used", "exact p95", "HNSW p95",
              "HNSW recall@20"]  # fmt: skip
    base = scale[0]["base_chunks"] if scale else 0
    failures = [
        f"- {row['chunks']:,} chunks failed: {row['error']}" for row in scale if row["error"]
    ]
    return [
        "### Scale",
        "",
        f"Synthetic corpora generated at run time: {base:,} chunks of real article sentences "
        "embedded for real, larger sizes derived by recombining them (texts spliced, vectors "
        "summed and normalised; see `eval/bench/scale.py`). Latency of `HybridRetriever.search` "
        "(dense search over the vectors read from Chroma, exact and in memory for the "
        "embedded store, + BM25 + fusion, k = top_k) with precomputed query vectors; "
        "dense-only and BM25-only switch one side off. Load = the retriever reading every chunk "
        "and building its BM25 index. RSS is that of a fresh process serving the corpus "
        "(without the embedding model). Where exact search gives way to an approximate index: "
        "the same query vectors through the exact in-memory product (`assistant/dense.py`, "
        "used up to `MAX_IN_MEMORY` chunks) and through Chroma's HNSW index (used above, at "
        "the product's `ASSISTANT_HNSW_EF_SEARCH`), with the HNSW recall of the exact top 20, "
        "counted by distance as ann-benchmarks does (a returned chunk counts when it is as near "
        "as the exact 20th: the derived corpora repeat vectors, and among equal neighbours "
        "which ones fill a top 20 is arbitrary).",
        "",
        *_table(header, rows),
        *_sweep_lines(scale),
        *([""] + failures if failures else []),
    ]


def _sweep_lines(scale: list[dict[str, Any]]) -> list[str]:
    """The HNSW ``ef_search`` sweep at the largest size, when one was measured."""
    row = next((r for r in reversed(scale) if r.get("hnsw_sweep")), None)
    if row is None:
        return []
    product = row.get("hnsw_ef_search")
    rows = [
        [
            f"{point['ef_search']}" + (" (product)" if point["ef_search"] == product else ""),
            *(_ms(point["hnsw_dense"][k]) for k in PERCENTILES),
            f"{point['recall']:.3f}",
        ]
        for point in row["hnsw_sweep"]
    ]
    distinct = row.get("distinct_vectors")
    return [
        "",
        f"Chroma's HNSW index at {row['chunks']:,} chunks"
        + (f" ({distinct:,} distinct vectors)" if distinct else "")
        + " by `ef_search` (the candidates it explores per query), each in a fresh process, "
        "against the exact top 20 (exact search: p95 "
        f"{_ms(row['exact_dense']['p95_ms'])} ms):",
        "",
        *_table(["ef_search", "p50 ms", "p95 ms", "p99 ms", "recall@20"], rows),
    ]


def write_section(path: Path, section: str) -> None:
    """Replace the text between the markers of ``path`` (created, or markers appended)."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    block = f"{START}\n{section.rstrip()}\n{END}"
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
