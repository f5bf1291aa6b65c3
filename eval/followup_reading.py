"""Choose the margin by which a message's reading alone beats its follow-up reading.

``python -m eval.followup_reading [--split tune] [--data-dir DIR]`` asks, per knowledge base,
two kinds of messages that read like follow-ups (``assistant/followups.py``):

- **follow-ups**: the split's answerable cases with a history (they lean on it);
- **new questions after an unrelated exchange**: each single-turn answerable case asked after
  the previous exchange of another case about other articles (picked by a fixed hash of the two
  ids; its answer is the assistant's own). In a help chat the second question of a session is
  often about something else, and the rules read "how long is the free trial" or "return
  policy?" as a follow-up of whatever came before.

Each is answered once; the trace holds both readings' confidence and draft
(``AnswerTrace.readings``). For every margin the table gives how many of each kind end with an
answer that holds the case's required facts when the reading alone wins by more than the margin
(and the outcome threshold still lets the answer through). The margin the product ships
(``Settings.followup_alone_margin``) is the one with the most such answers on ``tune``, the
smallest on a tie; ``test`` is for the report.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from eval.calibrate import holds
from eval.dataset import DEV, Case, load_dataset
from eval.kbs import KBS, ingest, resolve_kbs

MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 1.0)


def unrelated_previous(case: Case, cases: list[Case]) -> Case | None:
    """The single-turn case, about none of ``case``'s articles, that comes first in a fixed hash
    order of the two ids (None when there is none)."""
    others = [
        o for o in cases
        if not o.history and o.kind == "answerable" and o.gold_articles
        and not set(o.gold_articles) & set(case.gold_articles)
    ]  # fmt: skip
    return min(others, key=lambda o: hashlib.sha256(f"{case.id}\0{o.id}".encode()).hexdigest(),
               default=None)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV)
    parser.add_argument("--split", default="tune", choices=("tune", "test"))
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="root of the KB indexes (default: ASSISTANT_DATA_DIR/eval)")
    args = parser.parse_args(argv)
    from assistant.embeddings import make_embeddings
    from assistant.factory import build_assistant
    from assistant.settings import load_settings
    from assistant.trace import AnswerTrace
    from assistant.types import Turn

    settings = load_settings()
    embeddings = make_embeddings(settings)
    root = args.data_dir or settings.data_dir / "eval"
    dataset = load_dataset(args.dataset)
    totals = dict.fromkeys(MARGINS, 0)
    for name, kb in resolve_kbs(list(dict.fromkeys(c.kb for c in dataset.cases)), KBS).items():
        kb_settings = kb.settings(settings, root)
        ingest(kb_settings, embeddings)
        assistant = build_assistant(kb_settings, embeddings=embeddings)
        cases = [c for c in dataset.cases if c.kb == name and c.split == args.split]
        rows: dict[str, list[tuple[float, bool, float, bool]]] = {"follow-ups": [], "new": []}
        for case in cases:
            if case.kind != "answerable" or not case.required_facts:
                continue
            if case.history:
                kind, history = "follow-ups", list(case.history)
            else:
                previous = unrelated_previous(case, cases) if case.gold_articles else None
                if previous is None:
                    continue
                said = assistant.answer(previous.question)
                kind = "new"
                history = [Turn(role="user", content=previous.question),
                           Turn(role="assistant", content=said.answer)]  # fmt: skip
            trace = AnswerTrace()
            assistant.answer(case.question, history, trace=trace)
            if not trace.readings:
                continue  # not read as a follow-up: the margin changes nothing
            (c_follow, t_follow), (c_alone, t_alone) = (
                trace.readings["followup"], trace.readings["alone"]
            )

            floor, facts = assistant.threshold, case.required_facts
            rows[kind].append((
                c_follow, c_follow >= floor and holds(t_follow, facts),
                c_alone, c_alone >= floor and holds(t_alone, facts),
            ))  # fmt: skip
        print(f"\n{name} ({args.split}): messages read as follow-ups, answers holding the facts")
        print("  margin  " + "  ".join(f"{k} (of {len(v)})" for k, v in rows.items()) + "  total")
        for margin in MARGINS:
            counts = {
                kind: sum(ga if ca > cf + margin else gf for cf, gf, ca, ga in found)
                for kind, found in rows.items()
            }
            total = sum(counts.values())
            totals[margin] += total
            print(f"  {margin:>6.2f}  " + "  ".join(
                f"{counts[k]:>{len(k) + 5 + len(str(len(v)))}}" for k, v in rows.items()
            ) + f"  {total:>5}")  # fmt: skip
    best = max(MARGINS, key=lambda m: (totals[m], -m))
    print(f"\nall knowledge bases ({args.split}): "
          + ", ".join(f"{m:.2f}: {totals[m]}" for m in MARGINS))  # fmt: skip
    print(f"most answers holding their facts at margin {best:.2f} "
          f"(1.00 = never read alone; the product uses {settings.followup_alone_margin:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
