"""Chunks fit the model window (measured with its tokenizer) and carry their context."""

from __future__ import annotations

from langchain_core.documents import Document

from assistant.chunks import body_of
from assistant.embeddings import load_tokenizer
from assistant.settings import PACKAGED_MODEL
from knowledge.chunking import Chunker, split_sections, tokenizer_length
from knowledge.loaders import load_paths
from knowledge.sentences import split_units
from tests.conftest import ARTICLES


def chunker(max_tokens: int = 256) -> Chunker:
    return Chunker(tokenizer_length(load_tokenizer(PACKAGED_MODEL)), max_tokens=max_tokens)


def test_every_shipped_chunk_fits_the_window_with_title_and_section() -> None:
    count = tokenizer_length(load_tokenizer(PACKAGED_MODEL))
    docs = load_paths([ARTICLES]).documents
    chunks = chunker().split(docs)
    assert len(chunks) > len(docs)
    for chunk in chunks:
        assert count(chunk.page_content) <= 256
        meta = chunk.metadata
        assert chunk.page_content.startswith(f"{meta['title']} > {meta['section']}")
        assert meta["url"].startswith("https://") and meta["updated"]
    assert len({c.metadata["chunk_id"] for c in chunks}) == len(chunks)


def test_long_sections_are_split_without_losing_text() -> None:
    body = "## Steps\n\n" + "\n".join(
        f"{i}. Lift the big toe and count to {i} slowly." for i in range(1, 80)
    )
    doc = Document(body, metadata={"article_id": "long", "title": "Long", "tags": ["x"]})
    chunks = chunker(max_tokens=96).split([doc])
    assert len(chunks) > 3
    joined = "\n".join(body_of(c.page_content) for c in chunks)
    for i in range(1, 80):
        assert f"count to {i} slowly" in joined
    assert all(c.metadata["section"] == "Steps" and c.metadata["tag:x"] is True for c in chunks)


def test_chunk_ids_are_stable_and_change_with_content() -> None:
    doc = Document("## A\n\nOne sentence.", metadata={"article_id": "a", "title": "T"})
    first = chunker().split([doc])[0].metadata["chunk_id"]
    again = chunker().split([doc])[0].metadata["chunk_id"]
    edited = Document("## A\n\nAnother sentence.", metadata={"article_id": "a", "title": "T"})
    assert first == again != chunker().split([edited])[0].metadata["chunk_id"]


def test_sections_keep_their_heading_path_and_ignore_fenced_hashes() -> None:
    md = "Intro.\n\n## Outer\n\nText.\n\n### Inner\n\n```\n# not a heading\n```\n\n## Next\n\nMore."
    sections = split_sections(md)
    assert [s.path for s in sections] == [(), ("Outer",), ("Outer", "Inner"), ("Next",)]


def test_units_split_sentences_and_keep_list_items_whole() -> None:
    units = split_units(
        "Hold for 30 s, e.g. while brushing teeth. Then switch legs!\n\n"
        "1. Stand tall on [both feet](x.md).\n2. Lift **one** foot.\n\n- A bullet item."
    )
    assert [u.text for u in units] == [
        "Hold for 30 s, e.g. while brushing teeth.",
        "Then switch legs!",
        "Stand tall on both feet.",
        "Lift one foot.",
        "A bullet item.",
    ]
    assert [u.kind for u in units] == ["sentence", "sentence", "item", "item", "item"]
    assert units[2].paragraph == units[3].paragraph != units[4].paragraph


def test_the_model_token_length_counts_as_the_transformers_tokenizer() -> None:
    from knowledge.chunking import model_token_length

    fast = model_token_length(PACKAGED_MODEL)
    reference = tokenizer_length(load_tokenizer(PACKAGED_MODEL))
    texts = [doc.page_content for doc in load_paths([ARTICLES]).documents]  # well over 128 tokens
    texts += ["", "  ", "Ünïcödé café, naïve 你好 🏃 e.g. 5 km @ 4:30/km — ok?", "x" * 3000]
    assert max(reference(t) for t in texts) > 256
    assert [fast(t) for t in texts] == [reference(t) for t in texts]
