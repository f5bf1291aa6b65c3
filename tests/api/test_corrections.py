"""Corrections that stick: stored with author and time, edited, removed, served through
/v1/answer for the same or a near-identical question (real MiniLM), and turned into eval cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings

from api.correction_threshold import load_pairs, operating_point, score_pairs
from api.corrections import SERVE_THRESHOLD, corrections_as_cases, same_request
from api.storage import Storage
from assistant.settings import Settings
from eval.dataset import Case
from tests.api.agent_fixtures import console_client, login
from tests.api.conftest import MakeClient, ask

PAIRS = Path(__file__).resolve().parents[1] / "fixtures" / "correction_pairs.json"
QUESTION = "How many calf raises should I do?"
HURT = "I have a sharp pain in my calf when I do calf raises, what should I do?"
RIGHT = "Do 2 sets of 12 slow calf raises, three times a week [1]."


@pytest.fixture
def console(make_client: MakeClient, tmp_path: Path) -> TestClient:
    return console_client(make_client)


def correct(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body = {"question": QUESTION, "answer": RIGHT,
            "citations": [{"article_id": "calf-raises"}], **body}  # fmt: skip
    response = client.post("/agent/api/corrections", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_threshold_keeps_its_measured_precision_on_the_labelled_pairs(
    embeddings: Embeddings,
) -> None:
    scores = score_pairs(load_pairs(PAIRS), embeddings)
    assert sum(s.same for s in scores) >= 20 and sum(not s.same for s in scores) >= 20
    measured = operating_point(scores, SERVE_THRESHOLD)
    assert measured.false_matches == 0 and measured.precision == 1.0
    assert measured.recall >= 0.85
    # the guard matters: cosine alone serves "harder" for "easier" at this threshold
    assert operating_point(scores, SERVE_THRESHOLD, guard=False).false_matches > 0


def test_word_guard_refuses_swapped_and_negated_words() -> None:
    assert not same_request("How do I make balance harder?", "How do I make balance easier?")
    assert not same_request("Should I run with sore calves?", "Should I not run with sore calves?")
    assert same_request("Can I cancel my subscription?", "can i cancel my subscription please")
    assert same_request("How many calf raises should I do?", "How many calf raisses should I do?")


def test_correction_is_stored_with_author_and_time_and_served(console: TestClient) -> None:
    headers = login(console, "Sam")
    wrong = ask(console, QUESTION)
    saved = correct(console, headers, answer_id=wrong["answer_id"])
    assert (
        saved["author"] == "Sam"
        and saved["created_at"]
        and saved["answer_id"] == wrong["answer_id"]
    )
    assert saved["citations"][0]["title"] == "Calf raises"
    listed = console.get("/agent/api/corrections").json()
    assert [c["id"] for c in listed] == [saved["id"]]

    served = ask(console, "how many calf raises should i do each day?")
    assert served["outcome"] == "answered" and served["answerer"] == "correction"
    assert served["answer"] == RIGHT
    assert served["citations"][0]["url"] == "https://help.example.com/articles/calf-raises"
    assert served["citations"][0]["n"] == 1 and 0 < served["confidence"] <= 1
    assert not served["handoff"]["offered"]
    # feedback works on a served correction: it is stored like any answer
    body = {"answer_id": served["answer_id"], "helpful": True}
    assert console.post("/v1/feedback", json=body).status_code in (200, 201)


def test_a_different_question_follow_up_or_red_flag_is_not_served(console: TestClient) -> None:
    headers = login(console)
    correct(console, headers)
    correct(console, headers, question=HURT, answer="Keep going, it is fine [1].")
    for question in ("How do I do calf raises?", "How many squats should I do?"):
        assert ask(console, question)["answerer"] != "correction", question
    history = [{"role": "user", "content": "What are pogo hops?"},
               {"role": "assistant", "content": "Small hops [1]."}]  # fmt: skip
    assert ask(console, QUESTION, history=history)["answerer"] != "correction"
    hurt = ask(console, HURT)
    assert hurt["outcome"] == "refer_to_professional"  # the safety gate still decides


def test_edit_and_delete(console: TestClient) -> None:
    correct(console, login(console, "Sam"))
    headers = login(console, "Kim")
    saved = console.get("/agent/api/corrections").json()[0]
    body = {"answer": "Start with 2 sets of 10 calf raises", "facts": ["2 sets of 10"]}
    response = console.put(f"/agent/api/corrections/{saved['id']}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["author"] == "Sam" and edited["updated_by"] == "Kim" and edited["updated_at"]
    assert edited["answer"] == "Start with 2 sets of 10 calf raises [1]"  # marker added
    assert ask(console, QUESTION)["answer"] == edited["answer"]

    url = f"/agent/api/corrections/{saved['id']}"
    assert console.delete(url).status_code == 403  # no CSRF token
    assert console.delete(url, headers=headers).status_code == 204
    assert console.delete(url, headers=headers).status_code == 404
    assert console.get("/agent/api/corrections").json() == []
    assert ask(console, QUESTION)["answerer"] != "correction"


def test_citations_and_markers_are_checked(console: TestClient) -> None:
    headers = login(console)
    body = {
        "question": QUESTION,
        "answer": "Do this [2].",
        "citations": [{"article_id": "calf-raises"}],
    }
    response = console.post("/agent/api/corrections", json=body, headers=headers)
    assert response.status_code == 422 and "[2]" in response.text
    body = {"question": QUESTION, "answer": "Do this.", "citations": [{"article_id": "no-such"}]}
    response = console.post("/agent/api/corrections", json=body, headers=headers)
    assert response.status_code == 422 and "no-such" in response.text
    assert (
        console.put("/agent/api/corrections/999", json={"answer": "x"}, headers=headers).status_code
        == 404
    )


def test_corrections_become_evaluation_cases(console: TestClient, tmp_path: Path) -> None:
    correct(console, login(console), facts=["2 sets of 12"])
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'answers.sqlite'}"
    )
    rows = corrections_as_cases(settings)
    assert len(rows) == 1
    case = Case.model_validate(rows[0])  # the dev.jsonl row shape, split by the hash rule
    assert case.kind == "answerable" and case.gold_articles == ["calf-raises"]
    assert case.question == QUESTION and case.tags == ["correction"]
    assert case.required_facts == ["2 sets of 12"]


def test_schema_upgrade_adds_the_answer_text_column(tmp_path: Path) -> None:
    storage = Storage(f"sqlite:///{tmp_path / 'old.sqlite'}")
    storage.create_schema()
    with storage.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE answers DROP COLUMN answer_text")
    storage.create_schema()  # a database made before the answer text was stored
    with storage.engine.begin() as connection:
        columns = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(answers)")]
    assert "answer_text" in columns
    storage.close()


def test_a_process_rereads_corrections_another_one_wrote_after_the_cache_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each worker keeps its copy of the corrections for CACHE_SECONDS; its own writes reach
    it at once, another worker's (here a second Storage on the same file) once that passes."""
    import api.correction_store as store_module
    from api.correction_store import CorrectionStore, current_corrections

    url = f"sqlite:///{tmp_path / 'answers.sqlite'}"
    mine, other = Storage(url), Storage(url)
    try:
        mine.create_schema()
        def add(storage: Storage, question: str) -> None:
            CorrectionStore(storage).add(
                question=question, vector=[0.0], answer="a [1]", citations=[], author="Sam"
            )

        add(mine, "how long is the warm-up?")
        assert len(current_corrections(mine)) == 1  # its own write: at once
        add(other, "calf raises?")
        monkeypatch.setattr(store_module, "CACHE_SECONDS", 3600.0)
        assert len(current_corrections(mine)) == 1  # another worker's: not yet
        monkeypatch.setattr(store_module, "CACHE_SECONDS", 0.0)
        assert len(current_corrections(mine)) == 2  # once the cache time has passed
    finally:
        mine.close()
        other.close()
