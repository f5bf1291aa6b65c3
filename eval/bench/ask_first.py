"""The in-process cost of a new question alone, in CPU and wall milliseconds, a minute a run.

``python -m eval.bench.ask_first [--kb runners] [--rounds 3] [--data-dir DIR]`` builds the
Assistant and puts it in the state of ``help-assistant bench``'s in-process ask (its warm-up
answers and the answerer's sentences preloaded, :mod:`eval.bench.measure`), then answers every
question of the dataset ``--rounds`` times, emptying the query-vector cache before each round,
so every question is embedded as a new one is. It prints, per round, the process's CPU time
(all threads: ONNX Runtime's included), the wall time, and the model calls and texts embedded,
per question. CPU time and model calls are what a change to the pipeline's work shows best on a
shared machine, whose steal time moves wall times; compare before and after back to back.
Example::

    .venv/bin/python -m eval.bench.ask_first --rounds 3
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.embeddings import Embeddings

from eval.bench.kb_assistant import kb_assistant, kb_parser
from eval.bench.measure import preload_sentences, warm_up
from eval.dataset import load_dataset


class _Counted(Embeddings):
    """The model, with its calls and texts counted; its own attributes pass through."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.calls = self.texts = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls, self.texts = self.calls + 1, self.texts + len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.calls, self.texts = self.calls + 1, self.texts + 1
        return self.inner.embed_query(text)

    def __getattr__(self, name: str) -> Any:  # queries_as_documents and the like
        if name.startswith("_") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def main(argv: list[str] | None = None) -> int:
    parser = kb_parser((__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    assistant, counted = kb_assistant(args, wrap=_Counted)
    assert isinstance(counted, _Counted)
    warm_up(assistant)
    preload_sentences(assistant)
    cases = load_dataset(args.dataset).cases
    for round_no in range(1, args.rounds + 1):
        assistant.clear_query_cache()
        counted.calls = counted.texts = 0
        cpu, wall = time.process_time(), time.perf_counter()
        for case in cases:
            assistant.answer(case.question, case.history)
        cpu_ms = (time.process_time() - cpu) / len(cases) * 1000
        wall_ms = (time.perf_counter() - wall) / len(cases) * 1000
        calls, texts = counted.calls / len(cases), counted.texts / len(cases)
        print(f"round {round_no}: {len(cases)} new questions, CPU {cpu_ms:.2f} ms and wall "
              f"{wall_ms:.2f} ms a question; {calls:.3f} model calls and {texts:.3f} texts "
              "embedded a question", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
