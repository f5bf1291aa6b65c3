"""The answer log's write cost alone: CPU time of ``Storage.record_answers`` for one batch of
the background writer (256 answers, each with three citations) on a fresh SQLite database, the
median of several batches. Example::

    python -m eval.bench.answer_log --batches 20
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from api.storage import Storage
from assistant.types import Answer, Citation

BATCH = 256  # api.answer_writer.AnswerWriter's batch


def _answer() -> Answer:
    citations = [
        Citation(n=n, article_id="calf-raises", title="Calf raises", section="How do I do them?",
                 url="https://help.example.com/articles/calf-raises", score=0.6,
                 snippet="Rise onto the balls of your feet, pause, and lower slowly. " * 3)
        for n in (1, 2, 3)
    ]  # fmt: skip
    text = "Rise onto the balls of your feet [1]. Lower slowly over three seconds [2]. " * 3
    return Answer(answer_id=uuid.uuid4().hex, outcome="answered", answer=text,
                  citations=citations, confidence=0.9)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU time of one answer-log batch.")
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(f"sqlite:///{Path(tmp) / 'answers.sqlite'}")
        storage.create_schema()
        cpu = []
        for _ in range(args.batches):
            items = [(_answer(), "how do I do calf raises?", 12.3, "answer") for _ in range(BATCH)]
            started = time.process_time()
            storage.record_answers(items)
            cpu.append(time.process_time() - started)
        storage.close()
    median = statistics.median(cpu)
    print(f"{BATCH} answers a batch, {args.batches} batches: median {median * 1000:.1f} ms CPU "
          f"({median / BATCH * 1e6:.0f} us an answer)")


if __name__ == "__main__":
    main()
