"""OpenAI compatibility as clients use it (issue 13 §3), against a real uvicorn: the official
``openai`` client (models, errors, usage, truncation, unsupported features) and LangChain's
``ChatOpenAI`` (invoke, stream, batch)."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from tests.api.conftest import LiveServer

pytestmark = pytest.mark.server
MODEL = "help-assistant"
QUESTION = [{"role": "user", "content": "How do I do calf raises?"}]


@pytest.fixture
def llm(live_server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=live_server.url + "/v1", api_key="unused", max_retries=0)


def test_models_list_and_retrieve(llm: openai.OpenAI) -> None:
    models = llm.models.list()

    assert [m.id for m in models.data] == [MODEL]
    model = llm.models.retrieve(MODEL)
    assert model.id == MODEL and model.object == "model" and model.owned_by
    assert isinstance(model.created, int)


def test_unknown_model_is_a_404_in_openai_shape(llm: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        llm.models.retrieve("gpt-4o")

    assert caught.value.code == "model_not_found" and caught.value.param == "model"
    assert caught.value.type == "invalid_request_error"
    assert "gpt-4o" in caught.value.message


def test_validation_errors_use_openai_shape(live_server: LiveServer) -> None:
    response = httpx.post(
        live_server.url + "/v1/chat/completions",
        json={"messages": [{"role": "assistant", "content": "I answer last."}]},
    )

    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["param"] == "messages" and body["error"]["type"] == "invalid_request_error"
    assert "last message" in body["error"]["message"]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"n": 2}, "n"),
        ({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "https://x.example/foot.png"}}]}]},
         "messages.0.content.1"),
    ],
)  # fmt: skip
def test_unsupported_features_are_a_clear_400(
    llm: openai.OpenAI, extra: dict[str, Any], param: str
) -> None:
    request: dict[str, Any] = {"model": MODEL, "messages": QUESTION, **extra}

    with pytest.raises(openai.BadRequestError) as caught:
        llm.chat.completions.create(**request)

    assert caught.value.param == param
    assert caught.value.code == "unsupported_parameter"
    assert "not supported" in caught.value.message or "must be 1" in caught.value.message


def test_what_is_supported_passes(llm: openai.OpenAI) -> None:
    completion = llm.chat.completions.create(
        model=MODEL, messages=QUESTION, n=1, response_format={"type": "text"}, tools=[]
    )
    assert completion.choices[0].finish_reason == "stop"


def test_max_tokens_truncates_with_finish_reason_length(llm: openai.OpenAI) -> None:
    full = llm.chat.completions.create(model=MODEL, messages=QUESTION)
    short = llm.chat.completions.create(model=MODEL, messages=QUESTION, max_tokens=5)
    newer = llm.chat.completions.create(model=MODEL, messages=QUESTION, max_completion_tokens=5)

    full_text = full.choices[0].message.content or ""
    text = short.choices[0].message.content or ""
    assert full.usage is not None and full.usage.completion_tokens > 5
    assert short.choices[0].finish_reason == "length"
    assert len(text.split()) == 5 and full_text.startswith(text)
    assert short.usage is not None and short.usage.completion_tokens == 5
    assert newer.choices[0].message.content == text
    # A limit above the reply's length changes nothing.
    roomy = llm.chat.completions.create(model=MODEL, messages=QUESTION, max_tokens=10_000)
    assert roomy.choices[0].finish_reason == "stop"
    assert roomy.choices[0].message.content == full_text


def test_stream_include_usage_sends_a_final_usage_chunk(llm: openai.OpenAI) -> None:
    chunks = list(
        llm.chat.completions.create(
            model=MODEL, messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
    )

    *content, last = chunks
    assert last.choices == [] and last.usage is not None
    text = "".join(c.choices[0].delta.content or "" for c in content)
    assert last.usage.completion_tokens == len(text.split()) > 3
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(c.usage is None for c in content)
    assert content[-1].choices[0].finish_reason == "stop"


def test_stream_without_include_usage_has_no_usage_chunk(llm: openai.OpenAI) -> None:
    chunks = list(llm.chat.completions.create(model=MODEL, messages=QUESTION, stream=True))

    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_stream_truncates_too(llm: openai.OpenAI) -> None:
    chunks = list(
        llm.chat.completions.create(model=MODEL, messages=QUESTION, stream=True, max_tokens=4)
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len(text.split()) == 4
    assert chunks[-1].choices[0].finish_reason == "length"


@pytest.fixture
def chat(live_server: LiveServer) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=live_server.url + "/v1", api_key="unused", model=MODEL, max_retries=0,
        stream_usage=True,
    )  # fmt: skip


def test_langchain_invoke(chat: ChatOpenAI) -> None:
    reply = chat.invoke("How do I make single-leg balance harder?")

    assert isinstance(reply.content, str) and "Sources:" in reply.content
    assert "quadripod-balance" in reply.content
    assert reply.response_metadata["finish_reason"] == "stop"


def test_langchain_stream(chat: ChatOpenAI) -> None:
    pieces = list(chat.stream("How do I do calf raises?"))

    assert len(pieces) > 3
    whole = pieces[0]
    for piece in pieces[1:]:
        whole = whole + piece
    assert isinstance(whole.content, str) and "Sources:" in whole.content
    assert whole.usage_metadata is not None
    assert whole.usage_metadata["output_tokens"] == len(whole.content.split())


def test_langchain_batch(chat: ChatOpenAI) -> None:
    replies = chat.batch(["What are pogo hops?", "What is toe yoga?", "Can I pay with PayPal?"])

    assert len(replies) == 3
    assert "pogo" in str(replies[0].content).lower()
    assert "toe yoga" in str(replies[1].content).lower()
    assert all(isinstance(r.content, str) and r.content for r in replies)


def test_langchain_sees_unsupported_tools_as_an_error(chat: ChatOpenAI) -> None:
    def lookup(order_id: str) -> str:
        """Look an order up."""
        return order_id

    with pytest.raises(openai.BadRequestError):
        chat.bind_tools([lookup]).invoke("Where is my order 42?")
