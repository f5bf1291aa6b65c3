"""The chat-model answerer with LangChain's fake chat models (the remote LLM is the edge)."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.core import Assistant
from assistant.factory import build_assistant
from assistant.settings import Settings
from assistant.trace import AnswerTrace
from assistant.types import Turn

QUESTION = "How do I make single-leg balance harder?"


def build(kb_settings: Settings, embeddings: Embeddings, reply: str) -> Assistant:
    model = FakeListChatModel(responses=[reply])
    return build_assistant(kb_settings, embeddings=embeddings, chat_model=model)


def test_a_grounded_cited_reply_is_used(kb_settings, embeddings: Embeddings) -> None:
    reply = (
        "Close your eyes during single-leg quadripod balance to make the balance much harder [1]."
    )
    answer = build(kb_settings, embeddings, reply).answer(QUESTION)
    assert answer.answerer == "chat_model"
    assert answer.answer == reply
    assert [c.n for c in answer.citations] == [1]
    assert answer.citations[0].article_id == "quadripod-balance"


def test_markers_to_missing_sources_are_removed(kb_settings, embeddings: Embeddings) -> None:
    reply = "Close your eyes during single-leg quadripod balance to make it harder [1] [9]."
    answer = build(kb_settings, embeddings, reply).answer(QUESTION)
    assert answer.answerer == "chat_model"
    assert "[9]" not in answer.answer and "[1]" in answer.answer


def test_unsupported_or_uncited_replies_fall_back_to_extractive(
    kb_settings, embeddings: Embeddings
) -> None:
    invented = "Wear ankle weights and sprint uphill for ten minutes every morning [1]."
    uncited = "Close your eyes during single-leg quadripod balance."
    for reply in (invented, uncited, "NOT_COVERED"):
        answer = build(kb_settings, embeddings, reply).answer(QUESTION)
        assert answer.answerer == "extractive", reply
        assert answer.outcome == "answered" and "eyes" in answer.answer.lower()


def test_a_follow_up_calls_the_chat_model_once_on_the_reading_that_won(
    kb_settings, embeddings: Embeddings
) -> None:
    # both readings are compared on the extractive drafts; only the winner goes to the model
    reply = "Close your eyes during single-leg quadripod balance to make it much harder [1]."
    model = FakeListChatModel(responses=[reply, "a second call"])
    assistant = build_assistant(kb_settings, embeddings=embeddings, chat_model=model)
    history = [
        Turn(role="user", content="how do I balance on the quadripod?"),
        Turn(role="assistant", content="Stand on one leg [1]."),
    ]
    trace = AnswerTrace()
    answer = assistant.answer("how do I make it harder?", history, trace=trace)
    assert set(trace.readings) == {"followup", "alone"}
    assert answer.answerer == "chat_model" and answer.answer == reply
    assert model.i == 1  # one call to the model
    assert answer.citations[0].article_id == "quadripod-balance"
