"""Assistant.prepare: the API server's start-up builds what the first question would build."""

from __future__ import annotations

import gc

from langchain_core.embeddings import Embeddings

from assistant.settings import Settings


def test_a_preloaded_assistant_answers_without_building_the_spelling_dictionary(
    kb_settings: Settings, embeddings: Embeddings
) -> None:
    """With ``preload_index`` (the server's start-up) the knowledge base's spelling dictionary
    is built with the index, so it is frozen with the start-up's objects (api/startup_gc.py)
    instead of being walked by every full collection; the first question's typo is still
    corrected. Built by that question instead, it adds about 20k tracked lists."""
    from assistant.factory import build_assistant

    assistant = build_assistant(kb_settings, embeddings=embeddings, preload_index=True)
    gc.collect()
    gc.freeze()
    try:
        before = len(gc.get_objects())
        answer = assistant.answer("how many calf raisses should I do?")
        grown = len(gc.get_objects()) - before
    finally:
        gc.unfreeze()
    assert answer.outcome == "answered"
    assert "calf raises" in (answer.resolved_question or "").lower()
    assert grown < 5000, grown
