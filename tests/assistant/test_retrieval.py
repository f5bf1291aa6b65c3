"""HybridRetriever on a real embedded Chroma with deterministic fake vectors: fusion, filters,
duplicate removal, and the LangChain retriever interface. The model is not the point here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from assistant.chunks import HEADER_SEPARATOR, tag_key
from assistant.retrieval import HybridRetriever, IndexNotBuiltError, top_positive
from assistant.settings import Settings
from assistant.store import make_vectorstore, set_collection_metadata
from assistant.types import Filters

CHUNKS = [
    ("c1", "calf-raises", "Strength", ["calves"], "Rise onto your toes slowly for calf raises."),
    ("c2", "box-jumps", "Plyometrics", ["jumps"], "Land softly on the box with bent knees."),
    ("c3", "pogo-hops", "Plyometrics", ["jumps", "calves"], "Pogo hops are small quick hops."),
    # the same body as c1 under another article: a duplicate passage
    ("c4", "calf-copy", "Strength", [], "Rise onto your toes slowly for calf raises."),
    ("c5", "hip-stretch", "Mobility", [], "Cross one ankle over the other knee and sit tall."),
]


@pytest.fixture()
def retriever(tmp_path: Path) -> HybridRetriever:
    embeddings = DeterministicFakeEmbedding(size=32)
    settings = Settings(data_dir=tmp_path / "data", refresh_seconds=0)
    store = make_vectorstore(settings, embeddings)
    store.add_texts(
        [f"{article} > Section{HEADER_SEPARATOR}{body}" for _, article, _, _, body in CHUNKS],
        metadatas=[
            {"chunk_id": cid, "article_id": article, "title": article, "section": "Section",
             "url": f"https://x/{article}", "collection": coll, "tags": ",".join(tags),
             **{tag_key(t): True for t in tags}}
            for cid, article, coll, tags, _ in CHUNKS
        ],
        ids=[cid for cid, *_ in CHUNKS],
    )  # fmt: skip
    set_collection_metadata(store, {"kb_version": "v1"})
    return HybridRetriever(store, embeddings, settings)


def test_exact_words_win_and_duplicates_are_dropped(retriever: HybridRetriever) -> None:
    passages = retriever.search("calf raises toes", k=5)
    assert passages[0].article_id in {"calf-raises", "calf-copy"}
    bodies = [p.text for p in passages]
    assert len(bodies) == len(set(bodies))  # c1 and c4 share a body: one of them is kept
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_filters_restrict_both_sides(retriever: HybridRetriever) -> None:
    plyometrics = Filters(collection="plyometrics")
    by_collection = retriever.search("calf raises toes", k=5, filters=plyometrics)
    assert {p.article_id for p in by_collection} <= {"box-jumps", "pogo-hops"}
    by_tags = retriever.search("hops", k=5, filters=Filters(tags=["jumps", "calves"]))
    assert [p.article_id for p in by_tags] == ["pogo-hops"]


@pytest.mark.parametrize("fusion", ["weighted", "rrf", "dense", "bm25"])
def test_every_fusion_ranks_the_matching_chunk_first(
    retriever: HybridRetriever, fusion: str
) -> None:
    retriever.fusion = fusion
    # the fake embedding is a hash of the text: this vector is exactly the stored chunk's
    vector = retriever.embeddings.embed_query(
        f"hip-stretch > Section{HEADER_SEPARATOR}{CHUNKS[4][4]}"
    )
    passages = retriever.search("ankle over the other knee", k=3, query_vector=vector)
    assert passages[0].article_id == "hip-stretch"
    if fusion == "bm25":
        assert all(p.dense_score is None for p in passages)
    if fusion == "dense":
        assert all(p.bm25_score is None for p in passages)


def test_above_the_exact_search_limit_chroma_searches_and_no_vector_is_read(
    retriever: HybridRetriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.retrieval as retrieval

    monkeypatch.setattr(retrieval, "MAX_IN_MEMORY", len(CHUNKS) - 1)
    read: list[list[str]] = []
    real_get = retrieval.get_records

    def spy(store: object, include: list[str], **kwargs: object) -> dict[str, object]:
        read.append(list(include))
        return real_get(store, include, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(retrieval, "get_records", spy)
    corpus = retriever.refresh()
    assert corpus.matrix is None  # dense search goes through Chroma's HNSW index
    # only one stored vector is read: the query that loads Chroma's index before any question
    assert read[-1] == ["embeddings"]
    assert read[:-1] and all("embeddings" not in include for include in read[:-1])
    vector = retriever.embeddings.embed_query(
        f"hip-stretch > Section{HEADER_SEPARATOR}{CHUNKS[4][4]}"
    )
    passages = retriever.search("ankle over the other knee", k=3, query_vector=vector)
    assert passages[0].article_id == "hip-stretch" and passages[0].dense_score is not None


def test_langchain_interface_returns_documents(retriever: HybridRetriever) -> None:
    retriever.k = 2
    docs = retriever.as_langchain().invoke("box jumps land softly")
    assert len(docs) == 2
    assert docs[0].metadata["article_id"] == "box-jumps" and "Land softly" in docs[0].page_content


def test_an_empty_index_says_how_to_build_it(tmp_path: Path) -> None:
    embeddings = DeterministicFakeEmbedding(size=32)
    settings = Settings(data_dir=tmp_path / "empty")
    empty = HybridRetriever(make_vectorstore(settings, embeddings), embeddings, settings)
    with pytest.raises(IndexNotBuiltError, match="help-assistant ingest"):
        empty.search("anything")


@pytest.mark.parametrize(
    "scores",
    [[0, 1, 1, 2, 0, 2, 2, 3, 1, 0.5], [0, 0, 0], [1.0] * 7, [3, 0, 0, 3, 2, 2, 2, 1.0]],
)
def test_top_positive_keeps_what_a_full_stable_sort_keeps(scores: list[float]) -> None:
    array = np.array(scores, dtype=float)
    for k in range(len(scores) + 2):
        full = [int(i) for i in np.argsort(-array, kind="stable")[:k] if array[i] > 0]
        assert top_positive(array, k).tolist() == full
