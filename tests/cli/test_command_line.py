"""The command line as scripts use it: --version, completion, --data-dir, `ask -`, unwrapped
output in pipes, and JSON errors on stdout with --json."""

from __future__ import annotations

import json
import os
import shutil
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.settings import Settings
from cli.main import ERROR_CODES, app
from tests.conftest import copy_articles
from tests.knowledge.vendor_servers import INTERCOM_TOKEN, VendorServer, default_state

runner = CliRunner()
QUADRIPOD = "what are the four points of the quadripod?"


def json_error(stdout: str) -> dict[str, str]:
    """The one JSON error object a failed --json command prints, nothing else on stdout."""
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    error = json.loads(lines[0])["error"]
    assert set(error) == {"message", "code"} and error["code"] in ERROR_CODES
    return error


def test_version_is_the_installed_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"help-assistant {version('help-assistant')}"


def test_shell_completion_completes_commands_and_options() -> None:
    # the bash script, asked for by name: `--show-completion` is a flag that detects the shell of
    # the parent process ("sh" under `sh -c make test`, which has no completion)
    script = runner.invoke(
        app, [], prog_name="help-assistant", env={"_HELP_ASSISTANT_COMPLETE": "source_bash"}
    )
    assert script.exit_code == 0 and "_HELP_ASSISTANT_COMPLETE=complete_bash" in script.stdout

    def complete(words: str) -> list[str]:
        env = {"_HELP_ASSISTANT_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - 1)}  # fmt: skip
        result = runner.invoke(app, [], prog_name="help-assistant", env=env)
        assert result.exit_code == 0, result.output
        return result.stdout.split()

    assert complete("help-assistant se") == ["search", "serve"]
    assert complete("help-assistant ask --da") == ["--data-dir"]


def test_data_dir_overrides_the_environment_for_one_run(
    kb_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(empty))
    args = ["ask", QUADRIPOD, "--json", "--data-dir", str(kb_settings.data_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["citations"][0]["article_id"] == "quadripod-balance"
    assert os.environ["ASSISTANT_DATA_DIR"] == str(empty)  # the override is not an env change

    search = runner.invoke(app, ["search", "figure four", "--json", "--data-dir",
                                 str(kb_settings.data_dir)])  # fmt: skip
    assert search.exit_code == 0 and json.loads(search.stdout)

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(kb_settings.data_dir))
    missing = runner.invoke(app, ["ask", QUADRIPOD, "--json", "--data-dir", str(empty)])
    assert missing.exit_code == 2
    assert json_error(missing.stdout)["code"] == "index_missing"


def test_serve_uses_the_data_dir_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "from-env"))
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path / "given")])
    assert result.exit_code == 2
    assert f"index in {tmp_path / 'given'} was never built" in result.output


def test_ingest_writes_into_the_data_dir_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = copy_articles(tmp_path / "articles", ["calf-raises"])
    from_env, given = tmp_path / "from-env", tmp_path / "given"
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(from_env))
    result = runner.invoke(app, ["ingest", str(articles), "--data-dir", str(given)])
    assert result.exit_code == 0, result.output
    assert (given / "chroma").is_dir() and not from_env.exists()
    # the servers that will read it find the language identifier's model decoded
    assert list((given / "models").glob("langid-*/*.npy"))
    asked = runner.invoke(app, ["search", "calf raises", "--json", "--data-dir", str(given)])
    assert json.loads(asked.stdout)[0]["article_id"] == "calf-raises"


def test_sync_writes_into_the_data_dir_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env, given = tmp_path / "from-env", tmp_path / "given"
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(from_env))
    monkeypatch.setenv("ASSISTANT_INTERCOM_TOKEN", INTERCOM_TOKEN)
    with VendorServer(default_state()) as vendor:
        args = ["sync", "intercom", "--base-url", vendor.url, "--data-dir", str(given)]
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (given / "sources").is_dir() and (given / "chroma").is_dir()
    assert not from_env.exists()


def test_ask_dash_reads_the_question_from_stdin(kb_settings: Settings) -> None:
    args = ["ask", "-", "--json", "--data-dir", str(kb_settings.data_dir)]
    result = runner.invoke(app, args, input=QUADRIPOD + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["citations"][0]["article_id"] == "quadripod-balance"

    empty = runner.invoke(app, args, input="  \n")
    assert empty.exit_code == 2
    error = json_error(empty.stdout)
    assert error["code"] == "empty_question" and "stdin is empty" in error["message"]
    plain = runner.invoke(app, ["ask", "-", "--data-dir", str(kb_settings.data_dir)], input="")
    assert plain.exit_code == 2 and "stdin is empty" in plain.stderr and not plain.stdout


def test_piped_output_is_not_wrapped(kb_settings: Settings) -> None:
    question = "how do I do calf raises?"
    data = ["--data-dir", str(kb_settings.data_dir)]
    contract = json.loads(runner.invoke(app, ["ask", question, "--json", *data]).stdout)
    lines = [line for line in contract["answer"].splitlines() if line]
    assert max(map(len, lines)) > 60  # longer than the 40 columns below
    result = runner.invoke(app, ["ask", question, *data], env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    assert set(lines) <= set(result.stdout.splitlines())
    passages = runner.invoke(app, ["search", question, "-k", "1", *data], env={"COLUMNS": "40"})
    hit = json.loads(runner.invoke(app, ["search", question, "-k", "1", "--json", *data]).stdout)
    top = hit[0]
    header = f"1. {top['title']} > {top['section']}  {top['score']:.3f}  {top['url']}"
    assert len(header) > 40
    assert {header, *f"   {top['text'][:400]}".splitlines()} <= set(passages.stdout.splitlines())


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["ask", "   "], "empty_question", "question is empty"),
        (["search", ""], "empty_question", "query is empty"),
        (["ask", "x" * 2001], "invalid_question", "limit is 2000"),
        (["ask", "hi", "--history", "/nonexistent/turns.json"], "bad_history", "history file"),
        (["search", "warm up", "-k", "0"], "usage", "-k"),
        (["ask", "hi", "--no-such-option"], "usage", "--no-such-option"),
    ],
)
def test_json_errors_are_one_object_on_stdout(
    kb_settings: Settings, args: list[str], code: str, words: str
) -> None:
    result = runner.invoke(app, [*args, "--json", "--data-dir", str(kb_settings.data_dir)])
    assert result.exit_code == 2
    error = json_error(result.stdout)
    assert error["code"] == code and words in error["message"]
    assert "Traceback" not in result.output


def test_settings_and_startup_errors_are_one_line(
    kb_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_RATE_LIMIT", "lots")
    bad = runner.invoke(app, ["search", "warm up", "--json"])
    assert bad.exit_code == 2
    assert "ASSISTANT_RATE_LIMIT" in json_error(bad.stdout)["message"]
    monkeypatch.delenv("ASSISTANT_RATE_LIMIT")
    from assistant.settings import get_settings

    get_settings.cache_clear()

    def corrupt(name: str) -> Path:
        # One copy per run: Chroma caches a client per path, broken after a failed open.
        data = tmp_path / name
        shutil.copytree(kb_settings.data_dir, data)
        (data / "chroma" / "chroma.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xde" * 8192)
        return data

    as_json = runner.invoke(app, ["ask", QUADRIPOD, "--json", "--data-dir", str(corrupt("a"))])
    assert as_json.exit_code == 2
    error = json_error(as_json.stdout)
    assert error["code"] == "startup_failed" and "chroma.sqlite3" in error["message"]
    plain = runner.invoke(app, ["ask", QUADRIPOD, "--data-dir", str(corrupt("b"))])
    assert plain.exit_code == 2 and "Traceback" not in plain.output
    # (the model's loading bar may come first on stderr)
    errors = [line for line in plain.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {error['message']}".replace("/a/", "/b/")]
