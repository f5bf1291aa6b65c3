"""One record of what the knowledge base's sources are, kept in the data dir.

``help-assistant ingest PATH...`` records its paths, ``help-assistant sync`` records the
snapshot it writes of a live help center; a later ``ingest`` with no arguments, the server's
``/v1/articles`` and ``POST /v1/admin/reindex`` all read the same record, so they never
disagree about what is indexed. Until some paths are recorded, the settings'
``articles_dir`` (``ASSISTANT_ARTICLES_DIR``) are the path sources.

The record also keeps which article ids each source produced at its last ingest: a sync then
removes only its own articles, ``ingest PATH`` never removes synced ones, and a source that
comes up empty can be told apart from one whose articles were deleted on purpose.

The file (``<data_dir>/sources.json``) is written atomically (a temporary file renamed over
it), so a killed process never leaves half a record.

Example::

    record = SourceRecord.read(settings.data_dir)
    for source in record.active(settings.articles_dir):
        print(source.kind, source.path, source.locale)
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from knowledge.documents import DEFAULT_LOCALE, LoadResult
from knowledge.loaders import dedupe, load_paths

SOURCES_FILE = "sources.json"
SYNC_KINDS = ("zendesk", "intercom")
_VERSION = 1


class SourcesError(ValueError):
    """The sources record cannot be read; the message says which file and what to do."""


@dataclass(frozen=True)
class Source:
    """A folder or file of articles (``kind="path"``), or the local snapshot of a live help
    center written by ``sync`` (``kind`` "zendesk" or "intercom", with its base URL)."""

    path: Path
    kind: str = "path"
    locale: str = DEFAULT_LOCALE
    base_url: str = ""

    @property
    def key(self) -> str:
        """Identity in the record: the kind and the absolute path."""
        return f"{self.kind}:{Path(self.path).absolute().as_posix()}"

    @property
    def label(self) -> str:
        """How messages name the source."""
        if self.kind == "path":
            return Path(self.path).as_posix()
        return f"{self.kind} {self.base_url} ({self.locale})"

    @property
    def is_sync(self) -> bool:
        return self.kind in SYNC_KINDS

    def to_json(self) -> dict[str, str]:
        data = asdict(self)
        data["path"] = Path(self.path).absolute().as_posix()
        return data

    @classmethod
    def from_json(cls, data: Any) -> Source:
        if not isinstance(data, dict) or not isinstance(data.get("path"), str):
            raise ValueError(f"a source must be an object with a 'path', got {data!r}")
        kind = str(data.get("kind") or "path")
        if kind != "path" and kind not in SYNC_KINDS:
            raise ValueError(f"unknown source kind {kind!r}")
        return cls(
            path=Path(data["path"]),
            kind=kind,
            locale=str(data.get("locale") or DEFAULT_LOCALE),
            base_url=str(data.get("base_url") or ""),
        )


def path_sources(paths: Iterable[str | Path], locale: str = DEFAULT_LOCALE) -> list[Source]:
    """Path sources for folders or files, made absolute (the record outlives the cwd)."""
    return [Source(path=Path(p).absolute(), locale=locale) for p in paths]


@dataclass
class SourceRecord:
    """The recorded sources and the article ids each produced at its last ingest.

    ``paths`` is None until ``ingest PATH...`` records some: the settings' ``articles_dir``
    are the path sources meanwhile.
    """

    paths: list[Source] | None = None
    syncs: list[Source] = field(default_factory=list)
    owners: dict[str, list[str]] = field(default_factory=dict)

    @staticmethod
    def file(data_dir: Path) -> Path:
        return Path(data_dir) / SOURCES_FILE

    @classmethod
    def read(cls, data_dir: Path) -> SourceRecord:
        """The record in ``data_dir`` (an empty one when none was written yet)."""
        path = cls.file(data_dir)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourcesError(
                f"cannot read the sources record {path}: {exc}; fix or delete it, then run "
                "`help-assistant ingest PATH...`"
            ) from None
        try:
            if not isinstance(raw, dict):
                raise ValueError("expected a JSON object")
            paths = raw.get("paths")
            owners = raw.get("owners") or {}
            if not isinstance(owners, dict):
                raise ValueError("'owners' must be an object")
            return cls(
                paths=None if paths is None else [Source.from_json(p) for p in paths],
                syncs=[Source.from_json(s) for s in raw.get("syncs") or []],
                owners={str(k): [str(a) for a in v] for k, v in owners.items()},
            )
        except (TypeError, ValueError) as exc:
            raise SourcesError(
                f"the sources record {path} is malformed: {exc}; fix or delete it, then run "
                "`help-assistant ingest PATH...`"
            ) from None

    def write(self, data_dir: Path) -> None:
        """Replace the record atomically (temporary file in the same folder, then rename)."""
        path = self.file(data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = {s.key for s in self.active([])}
        data = {
            "version": _VERSION,
            "paths": None if self.paths is None else [s.to_json() for s in self.paths],
            "syncs": [s.to_json() for s in self.syncs],
            "owners": {k: sorted(v) for k, v in sorted(self.owners.items())
                       if k in keys or self.paths is None},
        }  # fmt: skip
        fd, tmp = tempfile.mkstemp(prefix=".sources-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def active(self, articles_dir: Sequence[Path]) -> list[Source]:
        """Every source an ingest with no arguments reads: the recorded paths (or the
        settings' ``articles_dir`` when none are recorded), then the synced snapshots."""
        paths = self.paths if self.paths is not None else path_sources(articles_dir)
        return [*paths, *self.syncs]

    def owned(self, sources: Iterable[Source]) -> set[str]:
        """Article ids the given sources produced at their last ingest."""
        return {a for s in sources for a in self.owners.get(s.key, [])}

    def knows(self, source: Source) -> bool:
        return source.key in self.owners

    def note_run(
        self, run: Iterable[Source], produced: dict[str, set[str]], still_indexed: set[str]
    ) -> None:
        """What each source of a run owns now: what it produced, plus its earlier articles
        that are still indexed (pruning skipped or off)."""
        for source in run:
            kept = self.owned([source]) & still_indexed
            self.owners[source.key] = sorted(produced.get(source.key, set()) | kept)

    def upsert_sync(self, source: Source) -> None:
        """Record (or replace) a synced snapshot source."""
        self.syncs = [s for s in self.syncs if s.key != source.key] + [source]


class EmptySourceError(ValueError):
    """A source came up empty while its articles are indexed; nothing was changed.

    An unmounted volume or an emptied folder must never wipe the index: the caller passes
    ``allow_empty=True`` (``--allow-empty``) when the source really is empty now.
    """

    def __init__(self, empties: Sequence[tuple[Source, int]]) -> None:
        self.empties = list(empties)
        named = "; ".join(
            f"{source.label} holds no articles now but {n} of its articles are indexed"
            for source, n in self.empties
        )
        super().__init__(
            f"{named}. Nothing was changed. Check that the folder is there and mounted; if "
            "it is really empty now, run `help-assistant ingest --allow-empty` to remove them"
        )


def plan_run(
    record: SourceRecord,
    articles_dir: Sequence[Path],
    paths: Sequence[Path] | None,
    sources: Sequence[Source] | None,
) -> tuple[list[Source], bool]:
    """The sources a run reads, and whether the index must mirror them (``paths`` given or
    none given) or only follow them (``sources`` given: a sync touches its own articles)."""
    if sources is not None:
        return list(sources), False
    if paths:
        return path_sources(paths), True
    return record.active(articles_dir), True


def removable(
    record: SourceRecord, run: Sequence[Source], mirror: bool, indexed: set[str], present: set[str]
) -> list[str]:
    """Indexed articles the run's sources no longer hold. A mirroring run may remove any
    article but those of synced help centers outside the run; a following run only the
    articles its own sources produced before."""
    if mirror:
        in_run = {s.key for s in run}
        kept = record.owned(s for s in record.syncs if s.key not in in_run)
        return sorted(indexed - present - kept)
    return sorted((record.owned(run) & indexed) - present)


def check_not_emptied(
    record: SourceRecord, run: Sequence[Source], produced: dict[str, set[str]], gone: list[str]
) -> None:
    """Raise :class:`EmptySourceError` if a source that produced nothing would lose articles
    (all of ``gone`` when the record does not know what the source held)."""
    empties = []
    for source in run:
        if produced.get(source.key):
            continue
        at_risk = set(gone) & record.owned([source]) if record.knows(source) else set(gone)
        if at_risk:
            empties.append((source, len(at_risk)))
    if empties:
        raise EmptySourceError(empties)


def load_sources(sources: Iterable[Source]) -> tuple[LoadResult, dict[int, Source]]:
    """Every source loaded in its own locale, ids deduplicated across them (the first source
    wins), and which source each document (by ``id()``) came from."""
    combined = LoadResult()
    origin: dict[int, Source] = {}
    for source in sources:
        one = load_paths([source.path], locale=source.locale)
        origin.update((id(doc), source) for doc in one.documents)
        combined.extend(one)
    return dedupe(combined), origin


def sync_snapshot_path(data_dir: Path, kind: str, name: str, locale: str) -> Path:
    """Where ``sync`` keeps the snapshot of one help center in one locale."""
    safe = "".join(c if c.isalnum() or c in "-." else "-" for c in f"{name}-{locale}".lower())
    return Path(data_dir) / "sources" / f"{kind}-{safe.strip('-.')}"
