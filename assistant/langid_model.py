"""py3langid's model, decoded once into the data dir instead of at every start.

py3langid ships its model as an LZMA-compressed ``.npz`` (4.5 MB; 68 MB decoded) and decodes
it whenever an identifier is made: ~0.7 s of CPU, the largest single cost of a server's start.
The decoded arrays are kept as plain ``.npy`` files under ``<data dir>/models/langid-<key>/``
(``key``: a hash of the shipped model file, so a new py3langid model gets a new copy), written
by the ``ingest`` and ``sync`` commands, or by the first start that finds none, and
memory-mapped by the next ones (~0.05 s).
The identifier made from them is the one py3langid makes from its own file: same arrays, same
verdicts (``tests/assistant/test_langid_model.py``). Example::

    identifier = make_identifier(settings.data_dir / "models", ["en", "fr"])  # or None: decode
    identifier.classify("où est mon colis ?")                                 # ("fr", 0.99...)
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import threading
from array import array
from pathlib import Path
from typing import Any, cast

import numpy as np

logger = logging.getLogger(__name__)

#: The arrays of py3langid's model file (``py3langid.modelio.save_model``), in its order.
ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")
_TYPECODE = {2: "H", 4: "I", 8: "L"}


def shipped_model() -> Path:
    """py3langid's own model file (``model.npz.xz`` in the package)."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    return Path(MODEL_DIR) / MODEL_FILE


def decoded_dir(cache_dir: Path, model: Path | None = None) -> Path:
    """Where the decoded copy of ``model`` (default: the shipped one) lives under ``cache_dir``."""
    return cache_dir / f"langid-{_digest(model or shipped_model())}"


@functools.cache
def _digest(model: Path) -> str:
    """A model file's key (it does not change while a process runs: read and hashed once)."""
    return hashlib.sha256(model.read_bytes()).hexdigest()[:12]


def ensure_decoded(cache_dir: Path) -> Path | None:
    """The decoded copy's directory, writing it first when missing; None when it cannot be
    written (a full or read-only disk: the identifier is then decoded in memory, as before)."""
    target = decoded_dir(cache_dir)
    if all((target / f"{name}.npy").exists() for name in ARRAYS):
        return target
    # A name of this process and thread alone: workers starting together each write their own
    # copy and rename it into place; the first rename wins and the others' copies are dropped.
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        for name, value in zip(ARRAYS, _decode(shipped_model()), strict=True):
            np.save(tmp / f"{name}.npy", value, allow_pickle=False)
        try:
            os.replace(tmp, target)
        except OSError:  # another process renamed its copy into place first
            if not target.is_dir():
                raise
    except OSError as exc:
        logger.warning("could not keep the language model decoded in %s: %s", cache_dir, exc)
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _decode(model: Path) -> list[np.ndarray]:
    import io
    import lzma

    with lzma.open(model) as src, np.load(io.BytesIO(src.read()), allow_pickle=False) as data:
        return [data[name] for name in ARRAYS]


def model_tuple(cache_dir: Path | None) -> tuple[Any, ...]:
    """``py3langid.modelio.load_model``'s tuple (ptc, pc, classes, nextmove, row, output), read
    from the decoded copy under ``cache_dir`` (made when missing), or from py3langid's own file
    when ``cache_dir`` is None or cannot hold the copy."""
    folder = ensure_decoded(cache_dir) if cache_dir is not None else None
    if folder is None:
        from py3langid.modelio import load_model

        return tuple(load_model(shipped_model()))
    data = {
        name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        for name in ARRAYS
    }
    # What load_model makes of the same arrays: lists, and stdlib arrays for the DFA.
    return (
        data["ptc"], data["pc"], data["classes"].tolist(), _to_array(data["nextmove"]),
        _to_array(data["nextmove_row"]), data["out_feat"].tolist(),
    )  # fmt: skip


def _to_array(values: np.ndarray) -> array[int]:
    """An unsigned NumPy array as a stdlib array (``py3langid.modelio._to_array``)."""
    out = array(_TYPECODE[values.dtype.itemsize])
    # numpy's stubs do not declare the buffer protocol the array has: no copy is made here.
    out.frombytes(memoryview(cast(Any, np.ascontiguousarray(values))).cast("B"))
    return out


def make_identifier(cache_dir: Path | None, languages: list[str], norm_probs: bool = True) -> Any:
    """A ``py3langid`` LanguageIdentifier restricted to ``languages``, as
    ``LanguageIdentifier.from_model_file`` makes it, from :func:`model_tuple`."""
    from py3langid.langid import LanguageIdentifier

    ptc, pc, classes, nextmove, row, output = model_tuple(cache_dir)
    identifier = LanguageIdentifier(
        np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=norm_probs,
        tk_row=row,
    )  # fmt: skip
    identifier.set_languages(languages)
    return identifier
