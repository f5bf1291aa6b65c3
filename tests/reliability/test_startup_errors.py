"""Errors at start-up are one line naming the setting or file (issue 12 §7): settings are
checked when they are read, a corrupt index when it is opened, and the app's start-up reports
either as one line instead of a traceback."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import uvicorn

from api.main import create_app
from assistant.settings import Settings, SettingsError, StartupError, load_settings
from assistant.store import make_chroma_client


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "notaurl", "not a SQLAlchemy URL"),
        ("EMBEDDING_MODEL", "/nonexistent/models/minilm", "does not exist"),
        ("EMBEDDING_MODEL", "./models/minilm", "does not exist"),
        ("COLLECTION", "", "not a Chroma collection name"),
        ("COLLECTION", "a", "not a Chroma collection name"),
        ("COLLECTION", "-help-", "not a Chroma collection name"),
        ("SUPPORT_URL", "javascript:alert(1)", "http:// or https://"),
        ("SUPPORT_URL", "ftp://help.example.com", "http:// or https://"),
        ("SUPPORT_URL", "https://", "http:// or https://"),
        ("ADMIN_API_KEY", "short-but-secret", "at least 32"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,proxy.local", "not an IP address"),
        ("ADMIN_FAILURE_LIMIT", "lots", "admin_failure_limit must look like"),
        ("SERVER_HEADER_TIMEOUT", "0", "greater than 0"),
    ],
)
def test_bad_settings_are_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(f"ASSISTANT_{name}", value)

    with pytest.raises(SettingsError) as caught:
        load_settings()

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"invalid setting ASSISTANT_{name}: ")
    assert expected in message
    if name == "ADMIN_API_KEY":
        assert value not in message  # a secret is never repeated


@pytest.mark.parametrize(
    ("name", "value"),
    [("COLLECTION", "help_articles"), ("COLLECTION", "abc"), ("SUPPORT_URL", "http://x.example"),
     ("DATABASE_URL", "postgresql+psycopg://u@db.example/answers"), ("ADMIN_API_KEY", ""),
     ("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7, ::1"), ("ADMIN_FAILURE_LIMIT", "off"),
     ("EMBEDDING_MODEL", "sentence-transformers/all-MiniLM-L6-v2")],
)  # fmt: skip
def test_good_settings_pass(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"ASSISTANT_{name}", value)
    load_settings()


def test_an_empty_admin_key_means_admin_off() -> None:
    assert Settings(admin_api_key="").admin_api_key is None
    assert Settings(admin_api_key="k" * 32).admin_api_key is not None


def test_a_missing_synonyms_file_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "synonyms.yml"
    with caplog.at_level(logging.WARNING, logger="assistant.settings"):
        settings = Settings(synonyms_file=missing)

    assert settings.synonyms_file == missing
    assert [r.getMessage() for r in caplog.records] == [
        f"ASSISTANT_SYNONYMS_FILE {missing} does not exist: keyword search runs without synonyms"
    ]


def corrupt_index(kb_settings: Settings, tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    shutil.copytree(kb_settings.data_dir, data)
    index = data / "chroma" / "chroma.sqlite3"
    index.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4096)
    return Settings(**{**kb_settings.model_dump(), "data_dir": data, "rate_limit": "off"})


def test_a_corrupt_index_is_one_line_naming_the_file(kb_settings: Settings, tmp_path: Path) -> None:
    settings = corrupt_index(kb_settings, tmp_path)

    with pytest.raises(StartupError) as caught:
        make_chroma_client(settings)

    message = str(caught.value)
    assert "\n" not in message
    assert str(settings.chroma_dir / "chroma.sqlite3") in message
    assert "help-assistant ingest" in message


@pytest.mark.server
def test_the_server_reports_a_corrupt_index_in_one_line(
    kb_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = corrupt_index(kb_settings, tmp_path)
    config = uvicorn.Config(create_app(settings), port=0, log_config=None, lifespan="on")

    with caplog.at_level(logging.INFO), pytest.raises(SystemExit):
        uvicorn.Server(config).run()

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(
        m.startswith("cannot start: the index ") and "chroma.sqlite3" in m and "\n" not in m
        for m in errors
    ), errors
    assert "Traceback" not in caplog.text


@pytest.mark.server
def test_the_server_reports_a_bad_model_setting_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedding_model="org/some-model")
    config = uvicorn.Config(create_app(settings), port=0, log_config=None, lifespan="on")

    with caplog.at_level(logging.INFO), pytest.raises(SystemExit):
        uvicorn.Server(config).run()

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(m.startswith("cannot start: ASSISTANT_EMBEDDING_MODEL 'org/some-model'")
               for m in errors), errors  # fmt: skip
    assert "Traceback" not in caplog.text
