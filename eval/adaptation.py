"""Measure adapting MiniLM to a help center at ingest (GPL-style, Wang et al., NAACL 2022).

``python -m eval.adaptation [--epochs 1] [--data-dir DIR] [--split tune]`` asks, per knowledge
base, whether fine-tuning the embedding model on the help center's own (section heading, section
body) pairs ranks the right section higher for the evaluation's questions. Help-center headings
are the questions their sections answer, so they stand in for GPL's generated queries (no query
generator runs offline here).

For every single-turn answerable case of the split, every chunk of its knowledge base is ranked
by cosine with the question; a chunk is right when its section is one of the case's
``gold_sections`` (or, for a case that names none, when it holds every ``required_facts``
pattern). Printed: hit@1, hit@3 and MRR with the model as shipped, then with a copy trained for
``--epochs`` on that knowledge base's pairs (in-batch negatives: MultipleNegativesRankingLoss,
written out here because sentence-transformers' trainer needs ``datasets`` and ``accelerate``,
which the product does not install). The product does not adapt its model; eval/README.md
("Adapting the model") has the figures this printed and why.
"""

from __future__ import annotations

import argparse
import copy
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.calibrate import holds
from eval.dataset import DEV, Case, load_dataset
from eval.kbs import KBS, resolve_kbs

SEED = 0
BATCH = 16
LEARNING_RATE = 2e-5
#: Temperature of the in-batch softmax (sentence-transformers' default scale for MNRL).
SCALE = 20.0


def rank_figures(
    model: Any, texts: Sequence[str], questions: Sequence[str], right: Sequence[set[int]]
) -> dict[str, float]:
    """hit@1, hit@3 and MRR of the right chunks when all ``texts`` are ranked by cosine."""
    docs = model.encode(list(texts), batch_size=32, normalize_embeddings=True)
    queries = model.encode(list(questions), batch_size=32, normalize_embeddings=True)
    sims = np.asarray(queries) @ np.asarray(docs).T
    first = []
    for row, labels in zip(sims, right, strict=True):
        order = np.argsort(-row, kind="stable")
        first.append(next(r for r, j in enumerate(order) if int(j) in labels))
    ranks = np.asarray(first)
    return {
        "hit@1": round(float((ranks == 0).mean()), 3),
        "hit@3": round(float((ranks < 3).mean()), 3),
        "mrr": round(float((1.0 / (ranks + 1)).mean()), 3),
    }


def adapt(model: Any, pairs: list[tuple[str, str]], epochs: int) -> Any:
    """A copy of ``model`` trained on (query, positive) pairs with in-batch negatives."""
    import torch

    rng = random.Random(SEED)
    torch.manual_seed(SEED)
    tuned = copy.deepcopy(model)
    tuned.train()
    optimiser = torch.optim.AdamW(tuned.parameters(), lr=LEARNING_RATE)
    for _ in range(epochs):
        order = list(pairs)
        rng.shuffle(order)
        for lo in range(0, len(order), BATCH):
            batch = order[lo : lo + BATCH]
            if len(batch) < 2:
                continue
            encoded = [
                torch.nn.functional.normalize(
                    tuned(tuned.tokenize([pair[side] for pair in batch]))["sentence_embedding"],
                    dim=-1,
                )
                for side in (0, 1)
            ]
            logits = encoded[0] @ encoded[1].T * SCALE
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    tuned.eval()
    return tuned


def _cases(cases: Sequence[Case], kb: str, split: str) -> list[Case]:
    return [
        c for c in cases
        if c.kb == kb and c.split == split and c.kind == "answerable" and not c.history
        and (c.gold_sections or c.required_facts)
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV)
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="root of the KB indexes (default: ASSISTANT_DATA_DIR/eval)",
    )  # fmt: skip
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--split", choices=("tune", "test"), default="tune")
    args = parser.parse_args(argv)

    import torch
    from sentence_transformers import SentenceTransformer

    from assistant.chunks import HEADER_SEPARATOR, embed_header
    from assistant.embeddings import make_embeddings, resolve_model_path
    from assistant.factory import build_assistant
    from assistant.settings import load_settings
    from eval.kbs import ingest

    torch.set_num_threads(2)
    settings = load_settings()
    embeddings = make_embeddings(settings)
    root = args.data_dir or settings.data_dir / "eval"
    dataset = load_dataset(args.dataset)
    base = SentenceTransformer(resolve_model_path(settings.embedding_model), device="cpu")
    for name, kb in resolve_kbs(list(dict.fromkeys(c.kb for c in dataset.cases)), KBS).items():
        kb_settings = kb.settings(settings, root)
        ingest(kb_settings, embeddings)
        corpus = build_assistant(kb_settings, embeddings=embeddings).retriever.corpus()
        sections = [str(m.get("section", "")) for m in corpus.metas]
        texts = [
            embed_header(str(m.get("title", "")), (s,)) + HEADER_SEPARATOR + body
            for m, s, body in zip(corpus.metas, sections, corpus.bodies, strict=True)
        ]
        asked, right = [], []
        for case in _cases(dataset.cases, name, args.split):
            labels = {
                j for j, (s, body) in enumerate(zip(sections, corpus.bodies, strict=True))
                if (s in case.gold_sections if case.gold_sections
                    else holds(body, case.required_facts))
            }  # fmt: skip
            if labels:
                asked.append(case.question)
                right.append(labels)
        pairs = [(s, body) for s, body in zip(sections, corpus.bodies, strict=True) if s]
        print(f"{name}: {len(texts)} chunks, {len(asked)} {args.split} questions, "
              f"{len(pairs)} (heading, section) pairs", flush=True)  # fmt: skip
        print(f"  as shipped: {rank_figures(base, texts, asked, right)}", flush=True)
        tuned = adapt(base, pairs, args.epochs)
        print(f"  adapted, {args.epochs} epoch(s): {rank_figures(tuned, texts, asked, right)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
