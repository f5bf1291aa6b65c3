"""Embedding backends agree with sentence-transformers on the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embeddings import make_embeddings, resolve_model_path
from assistant.settings import PACKAGED_MODEL, Settings

TEXTS = ["How do I make single-leg balance harder?", "calf raisses", "Box jumps " * 80]


@pytest.fixture(scope="module")
def torch_reference() -> np.ndarray:
    """sentence-transformers on PyTorch: the reference implementation of the model."""
    torch_embeddings = make_embeddings(Settings(embedding_backend="torch"))
    return np.array(torch_embeddings.embed_documents(TEXTS))


@pytest.mark.parametrize(("backend", "floor"), [("onnx", 0.9999), ("onnx-int8", 0.98)])
def test_onnx_backends_match_torch(
    tmp_path: Path, torch_reference: np.ndarray, backend: str, floor: float
) -> None:
    onnx = make_embeddings(Settings(data_dir=tmp_path, embedding_backend=backend))
    reference = torch_reference
    got = np.array(onnx.embed_documents(TEXTS))
    assert got.shape == (3, 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    assert (np.sum(got * reference, axis=1) >= floor).all()
    query = np.array(onnx.embed_query(TEXTS[0]))
    assert float(query @ reference[0]) >= floor

    exported = sorted((tmp_path / "models").rglob("*.onnx"))
    stamps = [p.stat().st_mtime_ns for p in exported]
    make_embeddings(Settings(data_dir=tmp_path, embedding_backend=backend))
    assert [p.stat().st_mtime_ns for p in exported] == stamps, "export must be cached"


def test_model_setting_errors_name_the_choices(tmp_path: Path) -> None:
    assert Path(resolve_model_path(PACKAGED_MODEL), "config.json").exists()
    with pytest.raises(ValueError, match="config.json"):
        resolve_model_path(str(tmp_path))
    with pytest.raises(ValueError, match="hub id"):
        resolve_model_path("not a model")
    assert resolve_model_path("sentence-transformers/all-MiniLM-L6-v2").count("/") == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rate_limit", "lots", "60/minute"),
        ("llm", "gpt4", "provider:model"),
        ("chunk_overlap_tokens", 300, "less than or equal"),
        ("embedding_backend", "tpu", "torch"),
    ],
)
def test_settings_fail_fast_on_nonsense(field: str, value: object, message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_settings_read_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_ARTICLES_DIR", "a, b")
    monkeypatch.setenv("ASSISTANT_CORS_ORIGINS", "http://x.test,http://y.test")
    settings = Settings()
    assert [str(p) for p in settings.articles_dir] == ["a", "b"]
    assert settings.cors_origins == ["http://x.test", "http://y.test"]


def test_a_hub_id_with_the_onnx_backend_is_one_line_naming_the_setting() -> None:
    with pytest.raises(ValueError) as caught:
        make_embeddings(Settings(embedding_model="org/some-model"))

    message = str(caught.value)
    assert "\n" not in message
    assert "ASSISTANT_EMBEDDING_MODEL 'org/some-model'" in message
    assert "ASSISTANT_EMBEDDING_BACKEND=torch" in message


def test_pending_embeddings_wait_for_the_model_and_share_its_failure() -> None:
    """The API's start-up builds the Assistant over the model while it loads."""
    import threading
    from concurrent.futures import Future

    from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

    from assistant.embeddings import PendingEmbeddings

    model: Future[Embeddings] = Future()
    pending = PendingEmbeddings(model)
    threading.Timer(0.05, model.set_result, [DeterministicFakeEmbedding(size=4)]).start()
    assert len(pending.embed_query("calf raises")) == 4  # waited for the model
    assert [len(v) for v in pending.embed_documents(["a", "b"])] == [4, 4]
    assert pending.size == 4  # the model's own attributes
    with pytest.raises(AttributeError):
        pending.__deepcopy__  # noqa: B018 - not the model's to answer

    failed: Future[Embeddings] = Future()
    failed.set_exception(ValueError("unknown embedding backend"))
    with pytest.raises(ValueError, match="unknown embedding backend"):
        PendingEmbeddings(failed).embed_query("x")


@pytest.mark.parametrize(("backend", "floor"), [("onnx", 0.9999), ("onnx-int8", 0.95)])
def test_token_vectors_match_torch_and_a_question_costs_no_second_call(
    tmp_path: Path, backend: str, floor: float
) -> None:
    from assistant.embeddings import token_vectors

    texts = TEXTS[:2]
    reference = token_vectors(make_embeddings(Settings(embedding_backend="torch")), texts)
    onnx = make_embeddings(Settings(data_dir=tmp_path, embedding_backend=backend))
    got = token_vectors(onnx, texts)
    assert reference is not None and got is not None
    for mine, theirs, text in zip(got, reference, texts, strict=True):
        # one row per word piece, [CLS] and [SEP] left out, each of unit length
        pieces = len(onnx.tokenizer.encode(text).ids) - 2  # type: ignore[attr-defined]
        assert mine.shape == theirs.shape == (pieces, 384)
        assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-4)
        assert (np.sum(mine * theirs, axis=1) >= floor).all()

    # a question just embedded keeps its token vectors: asking for them runs no model call
    question = "how many sets of calf raises should a beginner do?"
    onnx.embed_query(question)
    forward = onnx._forward  # type: ignore[attr-defined]
    onnx._forward = lambda batch, **_: pytest.fail(f"a second model call for {batch}")  # type: ignore[attr-defined]
    try:
        kept = token_vectors(onnx, [question])
    finally:
        onnx._forward = forward  # type: ignore[attr-defined]
    assert kept is not None
    assert np.allclose(kept[0], token_vectors(onnx, [question + " "])[0], atol=1e-2)


def test_embeddings_without_token_vectors_give_none() -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from assistant.embeddings import LazyEmbeddings, token_vectors

    assert token_vectors(DeterministicFakeEmbedding(size=8), ["calf raises"]) is None
    lazy = LazyEmbeddings(Settings())
    lazy._inner = DeterministicFakeEmbedding(size=8)
    assert token_vectors(lazy, ["calf raises"]) is None
