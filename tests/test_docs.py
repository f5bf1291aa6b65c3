"""The README stays true: every setting is documented with its real default."""

from __future__ import annotations

import re

from assistant.settings import Settings
from tests.conftest import ROOT


def test_readme_documents_every_setting_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(ASSISTANT_[A-Z_]+)` \| ([^|]+) \|", readme, re.MULTILINE))
    fields = {f"ASSISTANT_{name.upper()}": field for name, field in Settings.model_fields.items()}
    assert set(rows) == set(fields)
    for env, field in fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        if default is None or default == []:
            assert rows[env].strip() in {"(unset)", "(empty)"}, env
        elif isinstance(default, list):
            assert ",".join(str(v) for v in default) in rows[env], env
        elif isinstance(default, bool):
            assert rows[env].strip() == f"`{str(default).lower()}`", env
        else:
            assert rows[env].strip() == f"`{default}`", env


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block
