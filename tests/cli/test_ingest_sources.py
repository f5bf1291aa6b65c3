"""`help-assistant ingest`: recorded sources, --allow-empty, files and articles counted apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, copy_articles


def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "ingest", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip


def test_ingest_records_paths_refuses_an_empty_source_and_counts_apart(tmp_path: Path) -> None:
    exports = copy_articles(tmp_path / "exports", ["calf-raises"])
    (exports / "hc.json").write_text(json.dumps({"articles": [
        {"id": 1, "title": "Cadence", "body": "<p>Steps per minute.</p>", "locale": "en-us"},
        {"id": 2, "title": "No text", "body": None},
        {"id": 3, "title": "Staff", "body": "<p>x</p>", "user_segment_id": 5},
    ]}), encoding="utf-8")  # fmt: skip
    data = tmp_path / "data"
    first = cli(data, str(exports))
    assert first.returncode == 1, first.stderr  # one article rejected (null body)
    assert "files seen / rejected" in first.stderr and "2 / 0" in first.stderr
    assert "articles indexed / rejected / skipped" in first.stderr and "2 / 1 / 1" in first.stderr

    for path in exports.iterdir():
        path.unlink()
    refused = cli(data)  # no arguments: the recorded folder, now empty
    assert refused.returncode == 2
    assert "holds no articles now but 2" in refused.stderr and "Traceback" not in refused.stderr
    allowed = cli(data, "--allow-empty")
    assert allowed.returncode == 0, allowed.stderr
    assert "0 / 0 / 2" in allowed.stderr.replace("new / updated / removed", "")
