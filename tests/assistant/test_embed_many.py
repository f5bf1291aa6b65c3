"""Assistant.embed_many: the vectors one message needs come from one model call when the backend
embeds queries as documents, from the cache when seen before, and are the same either way."""

from __future__ import annotations

import pytest
from langchain_core.embeddings import Embeddings

from assistant.settings import Settings

MISSPELT = "how many calf raisses should I do?"


class _Counting(Embeddings):
    """The real model, with every call recorded."""

    def __init__(self, inner: Embeddings, as_documents: bool) -> None:
        self.inner = inner
        self.queries_as_documents = as_documents
        self.calls: list[tuple[str, list[str]]] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(("documents", list(texts)))
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.calls.append(("query", [text]))
        return self.inner.embed_query(text)


@pytest.fixture
def counted(kb_settings: Settings, embeddings: Embeddings):  # type: ignore[no-untyped-def]
    from assistant.factory import build_assistant

    def build(as_documents: bool):  # type: ignore[no-untyped-def]
        model = _Counting(embeddings, as_documents)
        assistant = build_assistant(kb_settings, embeddings=model)
        model.calls.clear()
        return assistant, model

    return build


def test_a_misspelt_question_and_its_correction_share_one_model_call(counted) -> None:  # type: ignore[no-untyped-def]
    assistant, model = counted(True)
    answer = assistant.answer(MISSPELT)
    assert answer.outcome == "answered"
    assert answer.resolved_question and "calf raises" in answer.resolved_question.lower()
    assert len(model.calls) == 1
    kind, texts = model.calls[0]
    assert kind == "documents" and texts[0] == MISSPELT and len(texts) == 2
    model.calls.clear()
    again = assistant.answer(MISSPELT)
    assert model.calls == []  # every vector cached
    assert again.answer == answer.answer


def test_other_backends_embed_each_text_as_a_query_and_answer_the_same(counted) -> None:  # type: ignore[no-untyped-def]
    batched, _ = counted(True)
    single, model = counted(False)
    answer = single.answer(MISSPELT)
    assert [kind for kind, _ in model.calls] == ["query", "query"]
    reference = batched.answer(MISSPELT)
    assert (answer.outcome, answer.answer, answer.confidence) == (
        reference.outcome, reference.answer, reference.confidence,
    )  # fmt: skip


def test_texts_differing_only_in_case_are_embedded_once(counted) -> None:  # type: ignore[no-untyped-def]
    assistant, model = counted(True)
    vectors = assistant.embed_many(["Calf raises", "calf  raises", "", "toe yoga"])
    assert set(vectors) == {"Calf raises", "calf  raises", "toe yoga"}
    assert model.calls == [("documents", ["Calf raises", "toe yoga"])]
    assert (vectors["Calf raises"] == vectors["calf  raises"]).all()
