"""The decoded copy of py3langid's model (assistant.langid_model) gives the identifier py3langid
makes from its own file: the same arrays, the same verdicts; a cache dir that cannot be written
falls back to decoding in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

from assistant.conversation import LANGUAGES
from assistant.langid_model import (
    ARRAYS,
    decoded_dir,
    ensure_decoded,
    make_identifier,
    model_tuple,
    shipped_model,
)

MESSAGES = (
    "bonjour, je voudrais courir demain matin", "wie lange soll ich nach dem Laufen dehnen",
    "how do I warm up before a long run?", "calf raisses?", "как долго бегать после травмы",
    "走る前にストレッチするべきですか", "¿cuánto tiempo debo estirar?", "ok",
)  # fmt: skip


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    assert ensure_decoded(folder) == decoded_dir(folder)
    return folder


def test_the_decoded_copy_holds_the_arrays_py3langid_loads(cache_dir: Path) -> None:
    assert sorted(p.stem for p in decoded_dir(cache_dir).iterdir()) == sorted(ARRAYS)
    for stock, cached in zip(load_model(shipped_model()), model_tuple(cache_dir), strict=True):
        assert type(stock) is type(cached) or isinstance(stock, np.ndarray)
        assert getattr(stock, "typecode", None) == getattr(cached, "typecode", None)
        assert getattr(stock, "dtype", None) == getattr(cached, "dtype", None)
        assert np.array_equal(np.asarray(stock), np.asarray(cached))


def test_the_identifier_from_the_copy_gives_py3langids_verdicts(cache_dir: Path) -> None:
    stock = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    stock.set_languages(list(LANGUAGES))
    cached = make_identifier(cache_dir, list(LANGUAGES))
    for message in MESSAGES:
        assert cached.classify(message) == stock.classify(message)
        assert cached.rank(message) == stock.rank(message)


def test_a_second_call_reuses_the_copy(cache_dir: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in decoded_dir(cache_dir).iterdir()}
    assert ensure_decoded(cache_dir) == decoded_dir(cache_dir)
    assert {p.name: p.stat().st_mtime_ns for p in decoded_dir(cache_dir).iterdir()} == before
    assert [p.name for p in cache_dir.iterdir()] == [decoded_dir(cache_dir).name]  # no tmp left


def test_an_unwritable_cache_dir_decodes_in_memory(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert ensure_decoded(blocked) is None
    identifier = make_identifier(blocked, list(LANGUAGES))
    assert identifier.classify(MESSAGES[0])[0] == "fr"
