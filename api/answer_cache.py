"""Answers to repeated questions, served without computing them again (issue 15).

A repeated question still cost about 7 ms of pipeline (safety, retrieval, composing) with its
query vector cached, which capped one worker near a hundred answers a second. Like a search
engine's result page, an answer is a function of what was asked and of what it was built from:

- the question exactly as the pipeline reads it (stripped; nothing more is folded: it splits
  sentences on line breaks and matches some phrases with single spaces, and case and
  punctuation reach the safety gate), the history (every turn in full) and the filters;
- the knowledge-base version (``kb_version``, a hash of every chunk: a reindex here or an
  ingest in another process publishes a new one, seen within ``refresh_seconds`` and the
  rebuild, as without the cache);
- for a standalone question, the agents' corrections (their version is a hash of what they say,
  :func:`api.correction_store.corrections_version`: an edit in this process is seen at once, one
  in another process within ``CACHE_SECONDS`` and one read of them, as without the cache).

The key is a hash of the first three (a history of 20 long turns costs 32 bytes to keep); an
entry records the two versions it was built on and is served only while both are still the
current ones (an entry met with another version is dropped). At most ``size`` entries, least
recently used out first; ``ASSISTANT_ANSWER_CACHE_SIZE=0`` turns it off. One cache per answers
database, so per app, like the corrections' copy. The channel is not in the key: every channel
gets the same answer.

Every hit is a copy of its own: a new ``answer_id``, ``timings_ms`` that say it came from here
(``cache``, ``total``) instead of replaying the first answer's stages; the service stores and
counts it like any other. With a chat-model answerer (``ASSISTANT_LLM``) a repeated question
gets the first checked reply again, not a new one. Example::

    cache = AnswerCache(2048)
    key = answer_key(question, history, filters)
    cache.put(key, kb_version, corrections, answer)
    again = cache.get(key, kb_version, corrections, started)  # a copy, or None
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from api.storage import Storage
from assistant.replies import new_answer_id
from assistant.types import Answer, Filters, Turn


def answer_key(question: str, history: Sequence[Turn] | None, filters: Filters | None) -> str:
    """What the answer depends on in the request. Requests that retrieve alike share a key:
    no history and an empty one, no filters and empty ones, tags in any order or repeated, a
    collection in any case (retrieval matches collections case-insensitively, tags all-of)."""
    request = [
        question.strip(),
        [[turn.role, turn.content] for turn in history or ()],
        None
        if filters is None or filters.is_empty()
        else [(filters.collection or "").lower(), sorted(set(filters.tags))],
    ]
    return hashlib.sha256(json.dumps(request).encode()).hexdigest()


@dataclass(frozen=True)
class _Entry:
    kb_version: str
    corrections: str
    answer: Answer  # never handed out: each hit gets a copy


class AnswerCache:
    """At most ``size`` answers, least recently used out first; safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, kb_version: str, corrections: str, started: float) -> Answer | None:
        """A fresh copy of the answer cached for ``key`` on these versions, or None; its
        ``timings_ms`` are this lookup (``cache``) and the ms since ``started`` (``total``)."""
        t0 = time.perf_counter()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.kb_version != kb_version or entry.corrections != corrections:
                del self._entries[key]  # built on what is no longer there
                return None
            self._entries.move_to_end(key)
        answer = entry.answer.model_copy(deep=True)
        answer.answer_id = new_answer_id()
        done = time.perf_counter()
        answer.timings_ms = {
            "cache": round((done - t0) * 1000, 2),
            "total": round((done - started) * 1000, 2),
        }
        return answer

    def put(self, key: str, kb_version: str, corrections: str, answer: Answer) -> None:
        """Keep a copy of ``answer`` (the caller goes on using its own)."""
        entry = _Entry(kb_version, corrections, answer.model_copy(deep=True))
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_CACHES: weakref.WeakKeyDictionary[Storage, AnswerCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(storage: Storage, size: int) -> AnswerCache | None:
    """The cache of the app whose answers database is ``storage`` (None when ``size`` is 0)."""
    if size <= 0:
        return None
    cache = _CACHES.get(storage)
    if cache is None:
        with _CACHES_LOCK:
            cache = _CACHES.setdefault(storage, AnswerCache(size))
    return cache
