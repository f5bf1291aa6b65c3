"""Scale part of ``help-assistant bench``: retrieval latency and process memory against synthetic
corpora of 1k to 100k chunks, generated at run time (nothing is committed).

The corpora are deterministic (``seed``) and made of real text. The smallest size is the *base*:
chunks of 3 to 6 consecutive sentences sampled from the real articles, embedded for real with
the configured model. Every larger corpus is the base plus derived chunks: the first half of one
base chunk followed by the second half of another, with the normalized sum of their two real
vectors as its vector. Embedding 100k chunks would take over an hour on a laptop CPU; the sum
keeps the vectors on the real-text manifold (queries find plausible neighbours at realistic
similarities), which is what HNSW and BM25 latency and memory depend on. These corpora are for
latency and memory only, never for quality claims.

Each size is built by one child process and measured by a fresh one, so the memory figure is
that of a process serving that corpus alone: Chroma's HNSW index, the chunk texts and metadata
the retriever keeps, and the BM25 index (not the embedding model: the queries' vectors are
computed once by the parent).

Example::

    rows = measure_scale(settings, embeddings, cases, [1000, 10000], seed=0, passes=2, work=tmp)
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from eval.bench.errors import BenchError
from eval.bench.stats import peak_rss_mb, rss_mb, summarize

if TYPE_CHECKING:
    from assistant.settings import Settings
    from eval.dataset import Case

COLLECTION = "bench_scale"
#: At most this many chunks are embedded for real; larger sizes are derived from them.
BASE_MAX = 1000
EMBED_BATCH = 64
#: A million chunks take 20 to 22 minutes to insert into Chroma on two cores, 3 to 4 to load.
CHILD_TIMEOUT_S = 3600
#: Candidates the exact/HNSW comparison asks for (the retriever's dense pool is of this order).
POOL = 20


class PrecomputedOnly(Embeddings):
    """The scale children never embed: every query comes with its vector."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the scale test passes precomputed vectors; nothing is embedded here")

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("the scale test passes precomputed vectors; nothing is embedded here")


# ----- the synthetic corpus ----------------------------------------------------------------------
def base_chunks(articles: Sequence[Path], n: int, seed: int) -> list[list[str]]:
    """``n`` chunks, each 3-6 consecutive sentences (or list items) of one real article."""
    from knowledge.loaders import load_paths
    from knowledge.sentences import split_units

    articles_units = [
        units
        for doc in load_paths(list(articles)).documents
        if len(units := [u.text for u in split_units(doc.page_content)]) >= 3
    ]
    if not articles_units:
        raise BenchError("the articles have no paragraphs to build the synthetic corpus from")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        units = rng.choice(articles_units)
        size = rng.randint(3, 6)
        start = rng.randrange(max(1, len(units) - size + 1))
        out.append(units[start : start + size])
    return out


def corpus(
    base: Sequence[Sequence[str]], vectors: np.ndarray, n: int, seed: int
) -> tuple[list[str], np.ndarray]:
    """The first ``n`` chunks (texts, unit vectors) of the synthetic corpus; every size is a
    prefix of the next, and the same seed always gives the same corpus."""
    texts = [" ".join(units) for units in base[:n]]
    out = np.empty((n, vectors.shape[1]), dtype=np.float32)
    out[: len(texts)] = vectors[: len(texts)]
    rng = random.Random(seed + 1)
    for i in range(len(texts), n):
        a, b = rng.sample(range(len(base)), 2)
        first, second = base[a], base[b]
        texts.append(" ".join([*first[: (len(first) + 1) // 2], *second[len(second) // 2 :]]))
        mixed = vectors[a] + vectors[b]
        out[i] = mixed / max(float(np.linalg.norm(mixed)), 1e-9)
    return texts, out


def _settings(work: Path, n: int, **extra: Any) -> Settings:
    from assistant.settings import Settings

    return Settings(
        data_dir=work / f"scale-{n}", collection=COLLECTION, refresh_seconds=3600, **extra
    )


# ----- child processes ---------------------------------------------------------------------------
def build_child(work: Path, n: int, seed: int) -> dict[str, Any]:
    """Insert the size-``n`` corpus straight into a new Chroma collection (product settings)."""
    from assistant.store import make_chroma_client, make_vectorstore

    base = json.loads((work / "base.json").read_text(encoding="utf-8"))
    texts, vectors = corpus(base, np.load(work / "base.npy"), n, seed)
    settings = _settings(work, n)
    client = make_chroma_client(settings)
    make_vectorstore(settings, PrecomputedOnly(), client=client)  # creates it as the product does
    collection = client.get_collection(settings.collection)
    batch = client.get_max_batch_size()
    started = time.perf_counter()
    for lo in range(0, n, batch):
        hi = min(n, lo + batch)
        ids = [f"syn-{i:06d}" for i in range(lo, hi)]
        collection.add(
            ids=ids,
            embeddings=vectors[lo:hi],
            documents=texts[lo:hi],
            metadatas=[
                {
                    "chunk_id": cid,
                    "article_id": f"synthetic-{i // 8}",
                    "title": f"Synthetic {i // 8}",
                    "section": f"Part {i % 8}",
                    "url": f"https://help.example.com/synthetic/{i // 8}",
                    "collection": "Synthetic",
                }
                for i, cid in zip(range(lo, hi), ids, strict=True)
            ],
        )
    add_s = time.perf_counter() - started
    collection.modify(metadata={"kb_version": f"synthetic-{n}-{seed}"})
    return {"chunks": n, "add_s": round(add_s, 3), "add_chunks_per_s": round(n / add_s, 1)}


def query_child(work: Path, n: int, passes: int) -> dict[str, Any]:
    """Load the collection into a HybridRetriever and time searches with precomputed vectors."""
    from assistant.retrieval import HybridRetriever
    from assistant.store import make_chroma_client, make_vectorstore

    queries = json.loads((work / "queries.json").read_text(encoding="utf-8"))
    vectors = np.load(work / "queries.npy").tolist()
    settings = _settings(work, n)
    rss_start = rss_mb()
    store = make_vectorstore(settings, PrecomputedOnly(), client=make_chroma_client(settings))
    retriever = HybridRetriever(store, PrecomputedOnly(), settings)
    started = time.perf_counter()
    loaded = len(retriever.corpus())  # every chunk's text and metadata, and the BM25 index
    load_s = time.perf_counter() - started
    if loaded != n:
        raise RuntimeError(f"the collection holds {loaded} chunks, expected {n}")

    def timed(rounds: int) -> list[float]:
        samples = []
        for _ in range(rounds):
            for text, vector in zip(queries, vectors, strict=True):
                t0 = time.perf_counter()
                retriever.search(text, settings.top_k, None, vector)
                samples.append(time.perf_counter() - t0)
        return samples

    timed(1)  # warm: HNSW pages, BM25 arrays, allocator
    hybrid = timed(passes)
    rss_hybrid = rss_mb()
    # Where retrieval time goes: the same corpus with one side switched off.
    parts = {}
    for fusion in ("dense", "bm25"):
        retriever.fusion = fusion
        parts[fusion] = summarize(timed(1))
    retriever.fusion = settings.fusion
    return {
        "chunks": n,
        "load_s": round(load_s, 3),
        "retrieval": summarize(hybrid),
        "dense_only": parts["dense"],
        "bm25_only": parts["bm25"],
        "rss_mb": rss_hybrid,
        "rss_start_mb": rss_start,
        "peak_rss_mb": peak_rss_mb(),
        "in_memory": retriever.corpus().matrix is not None,
        **exact_vs_hnsw(work, n, settings, vectors),
    }


def exact_vs_hnsw(
    work: Path, n: int, settings: Settings, queries: list[list[float]]
) -> dict[str, Any]:
    """Where exact search gives way to an approximate index: the same queries through the
    exact in-memory product (:class:`assistant.dense.MatrixIndex`, what the retriever uses up
    to ``MAX_IN_MEMORY`` chunks) and through Chroma's HNSW index (what it uses above, at the
    product's ``hnsw_ef_search``), with the HNSW recall of the exact top ``POOL``. The exact
    ``POOL``-th similarity of each query is saved for :func:`hnsw_child`."""
    from assistant.dense import MatrixIndex

    base = json.loads((work / "base.json").read_text(encoding="utf-8"))
    _, matrix = corpus(base, np.load(work / "base.npy"), n, int((work / "seed").read_text()))
    distinct = len({hash(row.tobytes()) for row in matrix})  # a set of ints, not of 1M rows
    index = MatrixIndex(matrix)
    del matrix
    exact_s, kth = [], []
    for vector in queries:
        t0 = time.perf_counter()
        _, sims = index.top(vector, POOL)
        exact_s.append(time.perf_counter() - t0)
        kth.append(float(sims[-1]) if len(sims) else -1.0)
    np.save(work / f"kth-{n}.npy", np.asarray(kth, dtype=np.float64))
    hnsw = _hnsw_queries(settings, queries, kth)
    return {
        "distinct_vectors": distinct,
        "exact_dense": summarize(exact_s),
        "hnsw_dense": hnsw["hnsw_dense"],
        "hnsw_recall": hnsw["recall"],
        "hnsw_ef_search": settings.hnsw_ef_search,
    }


def _hnsw_queries(
    settings: Settings, queries: list[list[float]], kth: Sequence[float]
) -> dict[str, Any]:
    """Time the queries through Chroma's index (the product's ``query_distances``) and score
    them against the exact ``POOL``-th similarities. Recall is counted by distance, as
    ann-benchmarks does: a returned neighbour counts when it is at least as near as the exact
    ``POOL``-th one (1e-3 of slack for float rounding). Counting by id would charge the index
    for ties: the derived corpora repeat vectors (``distinct_vectors``), and which of several
    equal neighbours fills the last places of a top ``POOL`` is arbitrary."""
    from assistant.store import make_collection_store, query_distances

    store = make_collection_store(settings)  # applies settings.hnsw_ef_search before any query
    query_distances(store, queries[0], POOL)  # untimed: loads the index, as a serving load does
    hnsw_s, recalls = [], []
    for vector, limit in zip(queries, kth, strict=True):
        t0 = time.perf_counter()
        got = query_distances(store, vector, POOL)
        hnsw_s.append(time.perf_counter() - t0)
        recalls.append(sum(1.0 - distance >= limit - 1e-3 for _, distance in got) / POOL)
    return {"hnsw_dense": summarize(hnsw_s), "recall": round(float(np.mean(recalls)), 4)}


def hnsw_child(work: Path, n: int, ef_search: int) -> dict[str, Any]:
    """One point of the ``ef_search`` sweep, in a fresh process: Chroma reads ``ef_search``
    when a process first loads the index, so each value needs its own."""
    queries = np.load(work / "queries.npy").tolist()
    kth = np.load(work / f"kth-{n}.npy").tolist()
    result = _hnsw_queries(_settings(work, n, hnsw_ef_search=ef_search), queries, kth)
    return {"ef_search": ef_search, **result}


def _run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``python -m eval.bench.scale MODE WORK N X``; its last stdout line is the JSON."""
    step = f"{args[0]} of {int(args[2]):,} chunks"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "eval.bench.scale", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{step} took over {CHILD_TIMEOUT_S} s") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"{step} failed (exit {done.returncode}): {last}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# ----- the parent side ---------------------------------------------------------------------------
def measure_scale(
    settings: Settings,
    embeddings: Embeddings,
    cases: Sequence[Case],
    sizes: Sequence[int],
    *,
    seed: int,
    passes: int,
    work: Path,
    status: Callable[[str], None],
    keep: bool = False,
    ef_sweep: Sequence[int] = (),
) -> list[dict[str, Any]]:
    """Build and measure each corpus size, smallest first; returns one row per size. At the
    largest size, HNSW latency and recall are also measured at each ``ef_sweep`` value and at
    the product's own ``settings.hnsw_ef_search``."""
    import os
    import shutil

    from eval.bench.server import child_env

    sizes = sorted(set(sizes))
    sweep = sorted({*ef_sweep, settings.hnsw_ef_search}) if ef_sweep else []
    base_n = min(min(sizes), BASE_MAX)
    work.mkdir(parents=True, exist_ok=True)
    base = base_chunks(settings.articles_dir, base_n, seed)
    vectors: list[list[float]] = []
    for lo in range(0, base_n, EMBED_BATCH):
        status(f"embedding the {base_n} real-text base chunks: {lo}/{base_n}")
        vectors.extend(
            embeddings.embed_documents([" ".join(u) for u in base[lo : lo + EMBED_BATCH]])
        )
    (work / "base.json").write_text(json.dumps(base), encoding="utf-8")
    (work / "seed").write_text(str(seed), encoding="utf-8")
    np.save(work / "base.npy", np.asarray(vectors, dtype=np.float32))
    questions = [case.question for case in cases]
    (work / "queries.json").write_text(json.dumps(questions), encoding="utf-8")
    np.save(work / "queries.npy", np.asarray(embeddings.embed_documents(questions), np.float32))

    env = child_env(settings)
    env.pop("ASSISTANT_DATA_DIR", None)
    rows = []
    for n in sizes:
        status(f"{n:,} chunks: building the Chroma collection (child process)")
        row: dict[str, Any] = {"chunks": n, "base_chunks": base_n, "error": None}
        try:
            row.update(_run_child(["build", str(work), str(n), str(seed)], env))
            status(f"{n:,} chunks: loading the retriever and timing queries (fresh child process)")
            row.update(_run_child(["query", str(work), str(n), str(passes)], env))
            row["hnsw_sweep"] = []
            for ef in sweep if n == sizes[-1] else ():
                status(f"{n:,} chunks: HNSW with ef_search {ef} (fresh child process)")
                row["hnsw_sweep"].append(_run_child(["hnsw", str(work), str(n), str(ef)], env))
        except BenchError as exc:  # recorded: a size the product cannot serve is a finding
            row = {**_failed(n), **row, "error": str(exc)}
        rows.append(row)
        if not keep:
            shutil.rmtree(work / f"scale-{n}", ignore_errors=True)
    if not keep:
        names = ["base.json", "base.npy", "queries.json", "queries.npy", "seed"]
        for with_path in [*(work / name for name in names), *work.glob("kth-*.npy")]:
            if with_path.exists():
                os.remove(with_path)
    return rows


def _failed(n: int) -> dict[str, Any]:
    """The fields of a row whose build or measurement failed."""
    empty = summarize([])
    return {
        "chunks": n,
        "add_s": None,
        "add_chunks_per_s": None,
        "load_s": None,
        "retrieval": empty,
        "dense_only": empty,
        "bm25_only": empty,
        "rss_mb": None,
        "rss_start_mb": None,
        "peak_rss_mb": None,
        "in_memory": None,
        "exact_dense": empty,
        "hnsw_dense": empty,
        "hnsw_recall": None,
        "hnsw_ef_search": None,
        "distinct_vectors": None,
        "hnsw_sweep": [],
    }


def main(argv: Sequence[str]) -> None:
    """``python -m eval.bench.scale build WORK N SEED`` | ``query WORK N PASSES`` |
    ``hnsw WORK N EF_SEARCH``: one JSON line."""
    mode, work, n, extra = argv[0], Path(argv[1]), int(argv[2]), int(argv[3])
    if mode == "build":
        result = build_child(work, n, seed=extra)
    elif mode == "query":
        result = query_child(work, n, passes=extra)
    elif mode == "hnsw":
        result = hnsw_child(work, n, ef_search=extra)
    else:
        raise SystemExit(f"unknown mode {mode!r}; supported: build, query, hnsw")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
