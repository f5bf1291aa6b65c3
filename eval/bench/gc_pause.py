"""How long a full garbage collection holds the GIL in a server that has answered for a while.

``python -m eval.bench.gc_pause [--kb runners] [--data-dir DIR]`` builds the Assistant as the
API's lifespan does, freezes what exists (``gc.freeze``, as ``api/startup_gc.py`` does after
start-up), then answers every question of the dataset, in every language it holds, so the
tables the libraries load on first use are loaded. It prints the objects the collector still
tracks and the time of full collections (``gc.collect(2)``): every request in flight waits
that long, one source of tail latency under load. A wall-clock figure of the CPU it runs on;
compare before and after on the same machine.
"""

from __future__ import annotations

import gc
import statistics
import time

from eval.bench.kb_assistant import kb_assistant, kb_parser
from eval.dataset import load_dataset

ROUNDS = 5


def main(argv: list[str] | None = None) -> int:
    args = kb_parser((__doc__ or "").splitlines()[0]).parse_args(argv)
    assistant, _ = kb_assistant(args)
    gc.collect()
    gc.freeze()
    for case in load_dataset(args.dataset).cases:
        assistant.answer(case.question, case.history)
    pauses = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        gc.collect(2)
        pauses.append((time.perf_counter() - started) * 1000)
    print(f"tracked objects after the questions: {len(gc.get_objects()):,}; full collection "
          f"median {statistics.median(pauses):.1f} ms, max {max(pauses):.1f} ms "
          f"over {ROUNDS}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
