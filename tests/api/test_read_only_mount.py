"""A data dir on a real read-only mount (a bind mount remounted ro in a private mount namespace,
``unshare -m``): start-up is one line naming the path, not Chroma's traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.settings import Settings
from eval.bench.server import ROOT, child_env, free_port


@pytest.mark.slow
@pytest.mark.server
def test_a_read_only_data_dir_is_one_line_naming_it(kb_settings: Settings, tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.decode().strip()}")
    mount = tmp_path / "ro-data"
    mount.mkdir()
    env = {**child_env(kb_settings), "ASSISTANT_DATA_DIR": str(mount)}
    uvicorn = (f"{sys.executable} -m uvicorn api.main:create_app --factory --host 127.0.0.1 "
               f"--port {free_port()}")  # fmt: skip
    script = (
        f"mount --bind {kb_settings.data_dir} {mount} && "
        f"mount -o remount,bind,ro {mount} && exec {uvicorn}"
    )
    run = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Traceback" not in output, output
    [line] = [line for line in output.splitlines() if "read-only" in line]
    assert str(mount) in line and "cannot start" in line
