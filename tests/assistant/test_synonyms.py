"""Search synonyms expand runners' words into the articles' words."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.synonyms import DEFAULT_FILE, Synonyms


def test_shipped_synonyms_load_and_expand_whole_phrases() -> None:
    synonyms = Synonyms.load(DEFAULT_FILE)
    assert "calf raises" in synonyms.expand("heel raises with a bent knee?")
    assert "minimalist shoes" in synonyms.expand("Are zero-drop shoes OK?")
    assert synonyms.expand("how do I warm the engine") == "how do I warm the engine"
    assert "jump rope" not in synonyms.expand("skippingly")  # whole words only


def test_missing_file_means_no_synonyms(tmp_path: Path) -> None:
    assert Synonyms.load(tmp_path / "none.yml").expand("doms") == "doms"


@pytest.mark.parametrize("text", ["[unclosed", "- just\n- a list\n", "key: 3\n"])
def test_broken_synonym_files_fail_with_the_path(tmp_path: Path, text: str) -> None:
    path = tmp_path / "synonyms.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="synonyms file"):
        Synonyms.load(path)
