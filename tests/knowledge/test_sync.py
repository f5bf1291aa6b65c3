"""help-assistant sync zendesk|intercom against loopback servers with the documented shapes,
the real model and a real embedded Chroma."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from assistant.settings import Settings
from assistant.store import make_chroma_client
from knowledge.ingest import run_ingest
from knowledge.sources import SourceRecord
from knowledge.sync import run_sync
from knowledge.sync.http import JsonClient, SyncError
from tests.conftest import ROOT, copy_articles
from tests.knowledge.vendor_servers import (
    INTERCOM_TOKEN,
    VOUCHER,
    ZENDESK_EMAIL,
    ZENDESK_TOKEN,
    VendorServer,
    VendorState,
    default_state,
)


@pytest.fixture
def vendor() -> Iterator[VendorServer]:
    with VendorServer(default_state()) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    articles = copy_articles(tmp_path / "articles", ["calf-raises", "quadripod-balance"])
    return Settings(
        data_dir=tmp_path / "data", articles_dir=[articles],
        zendesk_email=ZENDESK_EMAIL, zendesk_token=ZENDESK_TOKEN, intercom_token=INTERCOM_TOKEN,
    )  # fmt: skip


def stored(settings: Settings) -> dict[str, list[dict]]:
    got = (
        make_chroma_client(settings)
        .get_collection(settings.collection)
        .get(include=["metadatas", "documents"])
    )
    out: dict[str, list[dict]] = {}
    for meta, doc in zip(got["metadatas"] or [], got["documents"] or [], strict=True):
        out.setdefault(str(meta["article_id"]), []).append({**meta, "text": doc})
    return out


def test_zendesk_sync_then_edit_and_delete_upstream(
    settings: Settings, vendor: VendorServer, embeddings: Embeddings
) -> None:
    run_ingest(settings, embeddings)  # the shipped-style Markdown source, indexed first
    vendor.state.throttle_once = True
    started = time.perf_counter()
    first = run_sync(settings, embeddings, "zendesk", base_url=vendor.url, locale="en-us")
    seconds = time.perf_counter() - started

    index = stored(settings)
    assert set(index) == {
        "calf-raises", "quadripod-balance", "zendesk-101", "zendesk-102", "zendesk-105"
    }  # fmt: skip
    assert {m["collection"] for m in index["zendesk-101"]} == {"Warm-up"}
    assert {m["collection"] for m in index["zendesk-102"]} == {"Running form"}
    assert not any(VOUCHER in m["text"] for rows in index.values() for m in rows)
    assert not any("Knöchel" in m["text"] for m in index["zendesk-101"])  # en-us, not de
    assert (first.snapshot.drafts, first.snapshot.restricted) == (1, 1)
    snapshot_text = "".join(p.read_text() for p in first.source.path.rglob("*.json"))
    assert VOUCHER not in snapshot_text and "Barefoot" not in snapshot_text
    # pagination followed (page[size] capped at 2 by the server) and the 429 honoured
    assert first.snapshot.pages == 3
    (t429, _, s429), (t_retry, _, s_retry) = vendor.state.requests[:2]
    assert (s429, s_retry) == (429, 200) and t_retry - t429 >= 0.9
    assert first.ingest.articles_new == ["zendesk-101", "zendesk-102", "zendesk-105"]
    print(f"\nzendesk sync: {first.ingest.articles} articles, {first.ingest.chunks} chunks, "
          f"{seconds:.1f} s")  # fmt: skip

    # an edit and a deletion upstream; a Markdown file deleted locally meanwhile
    art = vendor.state.zendesk[(102, "en-us")]
    art["body"] = art["body"].replace("5%", "10%")
    del vendor.state.zendesk[(105, "en-us")]
    (settings.articles_dir[0] / "calf-raises.md").unlink()
    embedded: list[int] = []
    second = run_sync(
        settings, embeddings, "zendesk", base_url=vendor.url,
        progress=lambda stage, n: embedded.append(n),
    )  # fmt: skip
    report = second.ingest
    assert report.articles_changed == ["zendesk-102"] and report.articles_new == []
    assert report.articles_removed == ["zendesk-105"]
    assert report.chunks_added == len(stored(settings)["zendesk-102"])
    assert sum(embedded) == report.chunks_added + report.units_added
    assert report.chunks_skipped == len(stored(settings)["zendesk-101"])
    index = stored(settings)
    assert "calf-raises" in index  # another source: never touched by a sync
    assert any("10%" in m["text"] for m in index["zendesk-102"])
    print(f"second sync re-embedded {report.chunks_added} chunk(s) of "
          f"{report.articles_changed}, removed {report.articles_removed}")  # fmt: skip

    # a later ingest without arguments re-reads the snapshot offline and changes nothing synced
    again = run_ingest(settings, embeddings)
    assert again.articles_removed == ["calf-raises"]  # the Markdown folder is mirrored
    assert {"zendesk-101", "zendesk-102"} <= set(stored(settings))
    assert again.chunks_added == 0


def test_intercom_sync_collections_translations_and_second_sync(
    settings: Settings, vendor: VendorServer, embeddings: Embeddings
) -> None:
    first = run_sync(settings, embeddings, "intercom", base_url=vendor.url)
    index = stored(settings)
    assert set(index) == {"intercom-9001", "intercom-9002", "intercom-9004", "intercom-9005"}
    # no Markdown ingest ran first here: the sync indexes only its own source
    assert {m["collection"] for m in index["intercom-9001"]} == {"Strength"}
    assert {m["collection"] for m in index["intercom-9002"]} == {"Recovery"}
    assert index["intercom-9002"][0]["tags"] == "recovery"
    hip = index["intercom-9004"]  # default locale fr: the English translation is indexed
    assert {m["title"] for m in hip} == {"Hip mobility"} and "Swing" in hip[0]["text"]
    assert first.snapshot.drafts == 1 and first.snapshot.pages == 5  # 2 collection + 3 article
    record = SourceRecord.read(settings.data_dir)
    assert [s.kind for s in record.syncs] == ["intercom"]

    vendor.state.intercom["9005"]["body"] = "<p>Take two rest days each week.</p>"
    del vendor.state.intercom["9002"]
    second = run_sync(settings, embeddings, "intercom", base_url=vendor.url)
    assert second.ingest.articles_changed == ["intercom-9005"]
    assert second.ingest.articles_removed == ["intercom-9002"]
    assert second.ingest.chunks_added == 1


def test_an_empty_upstream_never_wipes_the_synced_articles(
    settings: Settings, vendor: VendorServer, embeddings: Embeddings
) -> None:
    run_sync(settings, embeddings, "intercom", base_url=vendor.url)
    vendor.state.intercom.clear()
    with pytest.raises(ValueError, match="holds no articles now"):
        run_sync(settings, embeddings, "intercom", base_url=vendor.url)
    assert len([a for a in stored(settings) if a.startswith("intercom-")]) == 4
    wiped = run_sync(settings, embeddings, "intercom", base_url=vendor.url, allow_empty=True)
    assert len(wiped.ingest.articles_removed) == 4
    assert "calf-raises" not in wiped.ingest.articles_removed


def test_a_bad_token_is_one_line_naming_the_service_and_status(
    settings: Settings, vendor: VendorServer
) -> None:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir),
           "ASSISTANT_ZENDESK_EMAIL": ZENDESK_EMAIL, "ASSISTANT_ZENDESK_TOKEN": "wrong",
           "ASSISTANT_INTERCOM_TOKEN": "wrong"}  # fmt: skip
    for kind in ("zendesk", "intercom"):
        proc = subprocess.run(
            [sys.executable, "-m", "cli.main", "sync", kind, "--base-url", vendor.url],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
        )  # fmt: skip
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode != 0
        assert any(f"{kind}: HTTP 401 Unauthorized" in line for line in lines), proc.stderr
        assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr


def test_network_errors_are_retried_with_backoff_then_fail(tmp_path: Path) -> None:
    waits: list[float] = []
    with VendorServer(VendorState()) as server:
        url = server.url
    with JsonClient("zendesk", {}, attempts=3, sleep=waits.append) as client:  # nothing listens
        with pytest.raises(SyncError, match="zendesk: network error after 3 attempts"):
            client.get(f"{url}/api/v2/help_center/en-us/articles.json")
    assert waits == [0.5, 1.0]
