"""The bench's ingest measurement alone (:func:`eval.bench.measure.measure_ingest`, without the
CLI re-ingest): each run a new process with a fresh data dir, timed as ``help-assistant bench``
times it, so a change to the ingest can be tried in a minute instead of a whole bench. The
ONNX export is made once into ``--work`` and copied into every run's data dir (the model load
is not part of the ingest's time). Each run prints its load average: the share is a ratio of
wall times, so compare before and after back to back on an otherwise idle machine. Example::

    .venv/bin/python -m eval.bench.ingest_share --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: What each run prints, as the bench's result.json names it.
FIELDS = ("cold_s", "embed_s", "embedded_texts", "raw_texts_per_s", "embedding_share")


def one_run(models: Path) -> dict[str, Any]:
    """One cold ingest into a fresh data dir, the ONNX export copied from ``models``."""
    from assistant.embeddings import make_embeddings
    from eval.bench.cli import bench_settings
    from eval.bench.measure import measure_ingest

    with tempfile.TemporaryDirectory(prefix="ingest-share-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        if models.is_dir():
            shutil.copytree(models, data_dir / "models")
        settings = bench_settings(data_dir)
        embeddings = make_embeddings(settings)
        if not models.is_dir():
            shutil.copytree(data_dir / "models", models)  # the export, for the next runs
        load = os.getloadavg()[0]
        measured = measure_ingest(settings, embeddings, cli=False)
    return {
        **{key: measured[key] for key in FIELDS},
        "raw_s": round(measured["embedded_texts"] / measured["raw_texts_per_s"], 3),
        "load_average": round(load, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="The bench's cold ingest and embedding share.")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ingest-share")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child run
    args = parser.parse_args()
    models = args.work / "models"
    if args.one:
        print(json.dumps(one_run(models)), flush=True)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "eval.bench.ingest_share", "--one", "--work", str(args.work)]
    runs = []
    for i in range(args.runs):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"run {i + 1} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"run {i + 1}: {json.dumps(runs[-1])}", flush=True)
    median = {
        key: statistics.median(float(r[key]) for r in runs)
        for key in ("cold_s", "embed_s", "raw_s", "embedding_share", "load_average")
    }
    print(f"median of {len(runs)}: " + ", ".join(f"{k} {v:.3f}" for k, v in median.items()))


if __name__ == "__main__":
    main()
