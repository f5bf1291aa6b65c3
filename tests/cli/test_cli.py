"""The help-assistant command: readable output, contract JSON, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.settings import Settings
from cli.main import app

runner = CliRunner()


@pytest.fixture
def kb_env(kb_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(kb_settings.data_dir))


def test_ask_json_prints_the_contract(kb_env: None) -> None:
    result = runner.invoke(app, ["ask", "what are the four points of the quadripod?", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["outcome"] == "answered"
    assert {"answer_id", "answer", "citations", "confidence", "handoff", "timings_ms"} <= set(
        answer
    )
    assert answer["citations"][0]["article_id"] == "quadripod-balance"


def test_ask_with_history_file_resolves_the_follow_up(kb_env: None, tmp_path: Path) -> None:
    history = tmp_path / "turns.json"
    history.write_text(
        json.dumps(
            [
                {"role": "user", "content": "how do I do calf raises?"},
                {"role": "assistant", "content": "Rise slowly onto the balls of your feet [1]."},
            ]
        )
    )
    result = runner.invoke(app, ["ask", "and how many sets?", "--history", str(history)])
    assert result.exit_code == 0, result.output
    assert "Calf raises" in result.stdout and "sets" in result.stdout


def test_search_lists_ranked_passages(kb_env: None) -> None:
    result = runner.invoke(app, ["search", "figure four stretch with a chair", "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    passages = json.loads(result.stdout)
    assert len(passages) == 3
    assert passages[0]["article_id"] == "figure-four-hip-stretch-chair"
    assert passages[0]["score"] >= passages[1]["score"] >= passages[2]["score"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "question is empty"),
        (["search", ""], "query is empty"),
        (["ask", "x" * 2001], "limit is 2000"),
        (["ask", "hi", "--history", "/nonexistent/turns.json"], "cannot read history file"),
    ],
)
def test_bad_input_is_one_line_without_traceback(
    kb_env: None, args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_malformed_history_names_the_problem(kb_env: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"role": "robot", "content": 1}]')
    result = runner.invoke(app, ["ask", "hi", "--history", str(bad)])
    assert result.exit_code == 2 and "role" in result.output
    bad.write_text("{not json")
    result = runner.invoke(app, ["ask", "hi", "--history", str(bad)])
    assert result.exit_code == 2 and "not valid JSON" in result.output


def test_an_index_never_built_says_to_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "empty"))
    result = runner.invoke(app, ["ask", "how do I warm up?"])
    assert result.exit_code == 2
    assert "help-assistant ingest" in result.output and "Traceback" not in result.output


def test_bad_settings_are_reported_by_env_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_RATE_LIMIT", "lots")
    result = runner.invoke(app, ["search", "warm up"])
    assert result.exit_code == 2 and "ASSISTANT_RATE_LIMIT" in result.output
