"""The answer cache (issue 15): a repeated question is served again without the pipeline, each
time as an answer of its own (id, timings, log, metrics), and never once what it was built on
changed: the request (history, filters, exact text), the knowledge base, the corrections."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings

from api.answer_cache import AnswerCache, answer_key, cache_for
from api.main import create_app
from api.storage import Storage
from assistant.core import Assistant
from assistant.factory import build_assistant
from assistant.settings import Settings
from assistant.types import Answer, Citation, Filters, Turn
from knowledge.ingest import run_ingest
from tests.api.agent_fixtures import login
from tests.api.conftest import ADMIN, ADMIN_KEY, MakeClient, ask
from tests.conftest import copy_articles

QUESTION = "How many calf raises should I do?"
HISTORY = [{"role": "user", "content": "What are pogo hops?"},
           {"role": "assistant", "content": "Small quick hops [1]."}]  # fmt: skip
#: everything an answer says, beside what is its own (id, timings)
SAME = ("outcome", "answer", "citations", "confidence", "handoff", "answerer",
        "resolved_question", "intent")  # fmt: skip


def cached(answer: dict[str, Any]) -> bool:
    return set(answer["timings_ms"]) == {"cache", "total"}


def answers_counted(client: TestClient) -> float:
    lines = client.get("/metrics").text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines
               if line.startswith('help_assistant_answers_total{channel="answer"'))  # fmt: skip


def test_a_repeated_question_is_served_again_as_an_answer_of_its_own(
    make_client: MakeClient,
) -> None:
    client = make_client()
    first = ask(client, QUESTION)
    assert not cached(first) and "retrieve" in first["timings_ms"]
    again = ask(client, f"  {QUESTION}\n")  # what the pipeline reads: the stripped text
    assert cached(again) and again["timings_ms"]["total"] >= again["timings_ms"]["cache"]
    assert again["answer_id"] != first["answer_id"]
    assert {k: again[k] for k in SAME} == {k: first[k] for k in SAME}
    assert answers_counted(client) == 2
    metrics = client.get("/metrics").text
    assert 'help_assistant_answer_cache_total{result="hit"} 1.0' in metrics
    assert 'help_assistant_answer_cache_total{result="miss"} 1.0' in metrics
    # stored like any answer: it is in the log and takes feedback
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    assert storage.get_answer(again["answer_id"]) is not None
    feedback = {"answer_id": again["answer_id"], "helpful": True}
    assert client.post("/v1/feedback", json=feedback).status_code in (200, 201)
    # every channel goes through the same cache, with ids of their own
    stream = client.post("/v1/answer/stream", json={"question": QUESTION})
    done = json.loads(stream.text.split("event: done")[1].split("data: ", 1)[1].split("\r\n")[0])
    assert cached(done) and done["answer_id"] not in (first["answer_id"], again["answer_id"])


def test_history_filters_and_the_exact_text_are_part_of_the_key(
    make_client: MakeClient, assistant: Assistant
) -> None:
    client = make_client()
    ask(client, QUESTION)
    followed = ask(client, QUESTION, history=HISTORY)
    assert not cached(followed)
    direct = assistant.answer(QUESTION, [Turn.model_validate(t) for t in HISTORY])
    assert followed["answer"] == direct.answer
    filtered = ask(client, QUESTION, filters={"collection": "strength"})
    assert not cached(filtered)
    assert not cached(ask(client, QUESTION.upper()))  # case reaches the safety gate: not folded
    assert cached(ask(client, QUESTION, history=HISTORY))
    assert cached(ask(client, QUESTION, filters={"collection": "strength"}))
    assert answer_key(QUESTION, None, None) == answer_key(f" {QUESTION} ", [], None)
    assert answer_key(QUESTION, None, None) != answer_key(QUESTION, None, Filters(tags=["x"]))
    # filters that retrieve alike share a key
    assert answer_key(QUESTION, None, None) == answer_key(QUESTION, None, Filters())
    assert answer_key(QUESTION, None, Filters(tags=["a", "b"])) == answer_key(
        QUESTION, None, Filters(tags=["b", "a", "a"])
    )
    assert answer_key(QUESTION, None, Filters(collection="Billing")) == answer_key(
        QUESTION, None, Filters(collection="billing")
    )
    assert answer_key(QUESTION, None, Filters(collection="x")) != answer_key(
        QUESTION, None, Filters(tags=["x"])
    )


def test_size_zero_turns_it_off(make_client: MakeClient) -> None:
    client = make_client(answer_cache_size=0)
    assert not any(cached(ask(client, QUESTION)) for _ in range(2))
    assert cache_for(client.app.state.storage, 0) is None  # type: ignore[attr-defined]


def _answer() -> Answer:
    citation = Citation(n=1, article_id="calf-raises", title="Calf raises", url="https://x/a",
                        section="", snippet="...", score=0.9)  # fmt: skip
    return Answer(answer_id="ans_1", outcome="answered", answer="Do 2 sets [1].",
                  citations=[citation], confidence=0.9, timings_ms={"retrieve": 1.0})  # fmt: skip


def test_no_two_answers_share_an_object_and_the_oldest_entry_goes_first() -> None:
    cache, original = AnswerCache(2), _answer()
    cache.put("k", "v1", "-", original)
    original.citations[0].url = "changed after it was cached"
    one, two = cache.get("k", "v1", "-", time.perf_counter()), cache.get("k", "v1", "-", 0.0)
    assert one is not None and two is not None
    assert one is not two and one.citations[0] is not two.citations[0]
    assert one.answer_id != two.answer_id != "ans_1" and one.handoff is not two.handoff
    one.citations[0].url, one.timings_ms["cache"] = "mutated", -1.0
    assert two.citations[0].url == "https://x/a" and two.timings_ms["cache"] >= 0
    three = cache.get("k", "v1", "-", 0.0)
    assert three is not None and three.citations[0].url == "https://x/a"
    assert cache.get("k", "v2", "-", 0.0) is None and len(cache) == 0  # stale: dropped
    for key in ("a", "b", "c"):
        cache.put(key, "v1", "-", _answer())
    assert cache.get("a", "v1", "-", 0.0) is None and cache.get("c", "v1", "-", 0.0) is not None


def test_a_correction_and_its_removal_take_effect_at_once(make_client: MakeClient) -> None:
    client = make_client()
    headers = login(client)
    assert not cached(ask(client, QUESTION))
    before = ask(client, QUESTION)
    assert cached(before) and before["answerer"] != "correction"
    right = "Do 2 sets of 12 slow calf raises, three times a week [1]."
    body = {"question": QUESTION, "answer": right, "citations": [{"article_id": "calf-raises"}]}
    saved = client.post("/agent/api/corrections", json=body, headers=headers)
    assert saved.status_code == 201, saved.text
    served = ask(client, QUESTION)
    assert served["answerer"] == "correction" and served["answer"] == right
    again = ask(client, QUESTION)
    assert cached(again) and again["answer"] == right
    # a question with history is never corrected, so a correction leaves its entry alone
    ask(client, QUESTION, history=HISTORY)
    url = f"/agent/api/corrections/{saved.json()['id']}"
    assert client.delete(url, headers=headers).status_code == 204
    removed = ask(client, QUESTION)
    assert removed["answerer"] != "correction" and not cached(removed)
    assert cached(ask(client, QUESTION, history=HISTORY))


#: as tests/reliability/test_live_update.py: a fact no shipped article has
FACT_QUESTION = "how many times should I zorbulate the kettlebell?"
FACT = ("\n\n## How many times should I zorbulate the kettlebell?\n\n"
        "Zorbulate the kettlebell exactly 37 times before every long run.\n")  # fmt: skip


def test_a_new_knowledge_base_version_is_not_answered_from_the_cache(
    tmp_path: Path, embeddings: Embeddings
) -> None:
    articles = copy_articles(tmp_path / "articles", ["calf-raises", "pogo-hops"])
    settings = Settings(
        data_dir=tmp_path / "data", articles_dir=[articles], admin_api_key=ADMIN_KEY,
        rate_limit="off", admin_failure_limit="off", refresh_seconds=0.2,
    )  # fmt: skip
    assert run_ingest(settings, embeddings).ok
    assistant = build_assistant(settings, embeddings=embeddings)
    with TestClient(create_app(settings, assistant=assistant)) as client:
        old = ask(client, FACT_QUESTION)
        assert "37" not in old["answer"] and cached(ask(client, FACT_QUESTION))
        with (articles / "calf-raises.md").open("a", encoding="utf-8") as article:
            article.write(FACT)
        report = client.post("/v1/admin/reindex", headers=ADMIN)
        assert report.status_code == 200, report.text
        deadline = time.monotonic() + 10
        while assistant.kb_version != report.json()["kb_version"]:
            assert time.monotonic() < deadline, "the new version was not picked up"
            time.sleep(0.05)
        new = ask(client, FACT_QUESTION)
        assert not cached(new) and "37" in new["answer"], new
        assert cached(ask(client, FACT_QUESTION))


def test_the_event_loop_s_look_at_the_corrections_reads_them_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale copy is answered with at once; one thread of its own reads it again."""
    import api.correction_store as store_module
    from api.correction_store import CorrectionStore, copied_corrections_version

    url = f"sqlite:///{tmp_path / 'answers.sqlite'}"
    mine, other = Storage(url), Storage(url)
    readers: list[str] = []
    read = CorrectionStore.all

    def all_(self: CorrectionStore) -> list[Any]:
        readers.append(threading.current_thread().name)
        return read(self)

    try:
        mine.create_schema()
        assert copied_corrections_version(mine) is None  # nothing read yet: the lane reads
        first = store_module.corrections_version(mine)
        CorrectionStore(other).add(question="q", vector=[0.0], answer="a", citations=[],
                                   author="Sam")  # another process's write  # fmt: skip
        monkeypatch.setattr(CorrectionStore, "all", all_)
        monkeypatch.setattr(store_module, "CACHE_SECONDS", 0.0)  # the copy is stale
        assert copied_corrections_version(mine) == first and "MainThread" not in readers
        deadline = time.monotonic() + 10
        while store_module._CACHE[mine].version == first:
            assert time.monotonic() < deadline, "the copy was not read again"
            time.sleep(0.01)
        assert readers == ["corrections-read"]
    finally:
        mine.close()
        other.close()
