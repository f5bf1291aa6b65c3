"""In-process measurements of ``help-assistant bench``: ingest, ask, embedding backends, and the
textbook LangChain pipeline, each through the same public calls a user makes.

Latencies are wall-clock ``time.perf_counter`` around one call on the calling thread; a summary
(:func:`eval.bench.stats.summarize`) reports milliseconds and the sequential throughput (calls
per second of summed call time).

Example::

    ask = measure_ask(assistant, cases, passes=3)
    print(ask["repeat"]["p50_ms"], ask["first"]["p95_ms"])
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from eval.bench.errors import BenchError
from eval.bench.server import INGEST_COMMAND, child_env
from eval.bench.stats import stage_means, summarize

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from assistant.core import Assistant
    from assistant.settings import Settings
    from eval.dataset import Case
    from knowledge.ingest import Progress

#: Answered before any timed call, to load what the Assistant loads lazily on its first
#: requests (the corpus, BM25, model kernels, the word-frequency table for unknown terms, the
#: gate's and the follow-up paths). None is a dataset question: every dataset question stays
#: new to the process.
WARM_UPS: tuple[tuple[str, list[dict[str, str]]], ...] = (
    ("How often should I stretch my calves after running?", []),
    ("How should I taper before my first marathon with a Garmin watch?", []),
    ("I have sharp chest pain when I run, what should I do?", []),
    ("How do I cancel my subscription?", []),
    ("Can I make that one harder?", [{"role": "user", "content": "What are calf raises?"},
                                     {"role": "assistant", "content": "Rise onto your toes."}]),
)  # fmt: skip
#: Status callback: one line describing what is being timed now.
Status = Callable[[str], None]


def _noop(_: str) -> None:
    return None


# ----- ingest -----------------------------------------------------------------------------------
def measure_ingest(
    settings: Settings,
    embeddings: Embeddings,
    progress: Progress | None = None,
    *,
    cli: bool = True,
) -> dict[str, Any]:
    """A cold ingest into an empty data dir, then a no-op re-ingest of the same articles: in
    this process and, with ``cli``, as a new ``help-assistant ingest`` process."""
    from knowledge.ingest import run_ingest

    recorder = RecordingEmbeddings(embeddings)
    cold = run_ingest(settings, recorder, progress=progress)
    if not cold.chunks:
        raise BenchError(
            "no articles were indexed from "
            + ", ".join(str(p) for p in settings.articles_dir)
            + (f" ({len(cold.rejected)} rejected)" if cold.rejected else "")
        )
    noop = run_ingest(settings, embeddings)
    return {
        "articles": cold.articles,
        "chunks": cold.chunks,
        "units": cold.units,
        "rejected": len(cold.rejected),
        "cold_s": round(cold.seconds, 3),
        # Every chunk also yields its sentences (units), embedded in the same ingest; chunks/s is
        # the unit, texts/s the embedding work actually done.
        "chunks_per_s": round(cold.chunks / cold.seconds, 2),
        "texts_per_s": round((cold.chunks_added + cold.units_added) / cold.seconds, 2),
        **_ingest_ceiling(embeddings, recorder, cold.seconds),
        "noop_s": round(noop.seconds, 3),
        "noop_chunks_added": noop.chunks_added,
        "noop_units_added": noop.units_added,
        **(_cli_noop(settings) if cli else {"cli_noop_s": None, "cli_noop_error": None}),
    }


class RecordingEmbeddings(Embeddings):
    """Passes every call to ``inner`` and keeps the texts and the seconds spent embedding them
    (the ingest's own embedding work, to re-run on the bare model afterwards)."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.batches: list[list[str]] = []
        self.seconds = 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        vectors = self.inner.embed_documents(texts)
        self.seconds += time.perf_counter() - started
        self.batches.append(list(texts))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def _ingest_ceiling(
    embeddings: Embeddings, recorder: RecordingEmbeddings, cold_s: float
) -> dict[str, Any]:
    """The model's raw batch throughput on the very texts the cold ingest embedded, in the
    ingest's own batches, straight after it: what the ingest would reach if embedding were all
    it did. ``embedding_share`` = the ingest's texts/s over that (target: at least 0.8)."""
    texts = sum(len(batch) for batch in recorder.batches)
    if not texts:
        return {"embedded_texts": 0, "embed_s": 0.0, "raw_texts_per_s": None,
                "ingest_texts_per_s": None, "embedding_share": None}  # fmt: skip
    started = time.perf_counter()
    for batch in recorder.batches:
        embeddings.embed_documents(batch)
    raw_s = time.perf_counter() - started
    raw, ingest = texts / raw_s, texts / cold_s
    return {
        "embedded_texts": texts,
        "embed_batches": len(recorder.batches),
        "embed_s": round(recorder.seconds, 3),
        "raw_texts_per_s": round(raw, 2),
        "ingest_texts_per_s": round(ingest, 2),
        "embedding_share": round(ingest / raw, 3),
    }


# ----- the embedding ceiling --------------------------------------------------------------------
CEILING_BATCH = 16


def measure_ceiling(
    embeddings: Embeddings, questions: Sequence[str], passes: int = 1
) -> dict[str, Any]:
    """The embedding backend's raw throughput on the bench's own questions, in this process:
    ``embed_query`` one question at a time, and ``embed_documents`` in batches of 16. No
    answer can be served faster than its question is embedded, so this is the ceiling the
    HTTP new-question figure is measured against (as a share of the better of the two)."""
    inner = getattr(embeddings, "inner", embeddings)  # a micro-batcher's bare model
    questions = list(questions)
    inner.embed_documents(questions[:CEILING_BATCH])  # warm: kernels, allocator
    one: list[float] = []
    for _ in range(passes):
        for question in questions:
            started = time.perf_counter()
            inner.embed_query(question)
            one.append(time.perf_counter() - started)
    batched_s = 0.0
    for _ in range(passes):
        for lo in range(0, len(questions), CEILING_BATCH):
            started = time.perf_counter()
            inner.embed_documents(questions[lo : lo + CEILING_BATCH])
            batched_s += time.perf_counter() - started
    single = summarize(one)
    batched = len(questions) * passes / batched_s if batched_s else None
    best = max(v for v in (single["per_s"], batched) if v is not None)
    return {
        "questions": len(questions),
        "passes": passes,
        "one_per_s": single["per_s"],
        "one_p50_ms": single["p50_ms"],
        "batch_size": CEILING_BATCH,
        "batch_per_s": round(batched, 2) if batched else None,
        "ceiling_per_s": round(float(best), 2),
    }


def _cli_noop(settings: Settings) -> dict[str, Any]:
    """``help-assistant ingest`` as a user runs it again: a new process, imports included."""
    started = time.perf_counter()
    done = subprocess.run(
        INGEST_COMMAND,
        env=child_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    seconds = round(time.perf_counter() - started, 3)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"cli_noop_s": None, "cli_noop_error": f"exit {done.returncode}: {last}"}
    return {"cli_noop_s": seconds, "cli_noop_error": None}


# ----- ask --------------------------------------------------------------------------------------
def measure_ask(
    assistant: Assistant, cases: Sequence[Case], passes: int, status: Status = _noop
) -> dict[str, Any]:
    """Ask every question once ("first": a question new to the process, so its query vector is
    computed), then ``passes`` more times ("repeat": the Assistant's query-vector cache hits, as
    for any repeated question).

    Before timing, one warm-up answer, a preload of every chunk's sentences into the
    answerer's cache and the sections' token vectors (which a server computes once it has
    started) put the process in the state a server reaches after its first few requests;
    without the preload the first pass would mostly time Chroma fetching sentences.
    """
    warm_up(assistant)
    preload_s = preload_sentences(assistant)
    # as a server does once it has started (assistant/factory.py)
    started = time.perf_counter()
    assistant.warm_answerer()
    warm_s = time.perf_counter() - started
    first: list[float] = []
    repeat: list[float] = []
    stages: dict[str, list[dict[str, float]]] = {"first": [], "repeat": []}
    outcomes: Counter[str] = Counter()
    for pass_no in range(passes + 1):
        label = "first" if pass_no == 0 else "repeat"
        samples = first if pass_no == 0 else repeat
        for i, case in enumerate(cases):
            if i % 20 == 0:
                status(f"pass {pass_no + 1}/{passes + 1} ({label}), question {i + 1}/{len(cases)}")
            started = time.perf_counter()
            answer = assistant.answer(case.question, case.history)
            samples.append(time.perf_counter() - started)
            stages[label].append(answer.timings_ms)
            if pass_no == 0:
                outcomes[answer.outcome] += 1
    return {
        "questions": len(cases),
        "passes": passes,
        "sentence_preload_s": round(preload_s, 3),
        "section_tokens_s": round(warm_s, 3),
        "first": summarize(first),
        "repeat": summarize(repeat),
        "stages_ms": {label: stage_means(rows) for label, rows in stages.items()},
        "outcomes": dict(sorted(outcomes.items())),
    }


def preload_sentences(assistant: Assistant) -> float:
    """Every chunk's sentences read into the answerer's cache, as a server's first requests
    leave it; returns the seconds it took."""
    corpus = assistant.retriever.corpus()
    # Units are keyed by the chunk_id metadata (Chroma's ids are the record manager's hashes).
    chunk_ids = [str(m.get("chunk_id", i)) for m, i in zip(corpus.metas, corpus.ids, strict=True)]
    started = time.perf_counter()
    assistant.fallback.units.units_for(chunk_ids)
    return time.perf_counter() - started


def warm_up(assistant: Assistant) -> None:
    from assistant.types import Turn

    for question, history in WARM_UPS:
        assistant.answer(question, [Turn.model_validate(t) for t in history])


def measure_backends(
    settings: Settings,
    client: ClientAPI,
    cases: Sequence[Case],
    passes: int,
    backends: Sequence[str],
    loaded: dict[str, Embeddings],  # by backend name
    status: Status = _noop,
) -> dict[str, Any]:
    """In-process ask latency per embedding backend over the same index and questions.

    The index was embedded with the configured backend; the other backends only embed the
    questions (same model, compatible vectors). Answer quality per backend is compared by
    ``help-assistant eval``, not here. Loaded models are added to ``loaded`` for reuse.
    """
    from assistant.embeddings import make_embeddings
    from assistant.factory import build_assistant

    out: dict[str, Any] = {}
    for backend in backends:
        backend_settings = settings.model_copy(update={"embedding_backend": backend})
        load_s = None
        if backend not in loaded:
            status(f"{backend}: loading the model")
            started = time.perf_counter()
            loaded[backend] = make_embeddings(backend_settings)
            load_s = round(time.perf_counter() - started, 3)
        assistant = build_assistant(backend_settings, embeddings=loaded[backend], client=client)
        result = measure_ask(assistant, cases, passes, _prefixed(status, backend))
        out[backend] = {"load_s": load_s, **result}
    return out


def _prefixed(status: Status, prefix: str) -> Status:
    return lambda detail: status(f"{prefix}: {detail}")


# ----- the textbook pipeline -----------------------------------------------------------------
def measure_textbook(
    settings: Settings,
    embeddings: Embeddings,
    client: ClientAPI,
    cases: Sequence[Case],
    passes: int,
    status: Status = _noop,
) -> dict[str, Any]:
    """LangChain's tutorial RAG (``eval.systems.TextbookBaseline``: RecursiveCharacterTextSplitter
    1000/200 chunks, Chroma) queried as the tutorial does: ``similarity_search(question, k=4)``.

    It embeds every question (no cache) and ignores the history, as the tutorial does; one
    untimed pass warms it up, then ``passes`` passes are timed.
    """
    from eval.systems import CONFIGS, TEXTBOOK_CONTEXTS, TextbookBaseline

    status("indexing 1000/200 character chunks")
    started = time.perf_counter()
    baseline = TextbookBaseline(CONFIGS["textbook"], settings, embeddings, client)
    index_s = time.perf_counter() - started
    chunks = len(baseline.store.get(include=[])["ids"])
    samples: list[float] = []
    for pass_no in range(passes + 1):  # pass 0 warms up: the pipeline has no cache to fill
        status(f"pass {pass_no + 1}/{passes + 1}" + (" (warm-up)" if pass_no == 0 else ""))
        for case in cases:
            started = time.perf_counter()
            baseline.store.similarity_search(case.question, k=TEXTBOOK_CONTEXTS)
            if pass_no:
                samples.append(time.perf_counter() - started)
    return {
        "chunks": chunks,
        "index_s": round(index_s, 3),
        "chunks_per_s": round(chunks / index_s, 2) if index_s else None,
        "latency": summarize(samples),
    }


def compare(ours: dict[str, Any], textbook: dict[str, Any]) -> dict[str, float | None]:
    """Ratios against the textbook: throughput ours/textbook (higher is better) and p50
    ours/textbook (lower is better), for our first-time and repeated questions."""

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    theirs = textbook["latency"]
    return {
        "throughput_ratio_first": ratio(ours["first"]["per_s"], theirs["per_s"]),
        "throughput_ratio_repeat": ratio(ours["repeat"]["per_s"], theirs["per_s"]),
        "p50_ratio_first": ratio(ours["first"]["p50_ms"], theirs["p50_ms"]),
        "p50_ratio_repeat": ratio(ours["repeat"]["p50_ms"], theirs["p50_ms"]),
    }
