"""The embedding model as a local ONNX export (optionally int8-quantized), run by onnxruntime.

sentence-transformers' own ONNX backend needs optimum-onnx, which pins transformers below the
version we use, so the export is done here with ``torch.onnx.export`` (mean pooling and L2
normalisation inside the graph) and quantized with ``onnxruntime.quantization``. The export is
made once, from the local weights, and cached under ``<data_dir>/models``; nothing is downloaded.

Example::

    emb = OnnxEmbeddings.from_model_dir(model_dir, cache_dir, quantize=True)
    emb.embed_query("how do I warm up?")
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MAX_TOKENS = 256
#: Texts of at most this many word pieces (questions) keep their token vectors in a bounded
#: cache (``TOKEN_CACHE`` texts, about 15 KB each in float16) for
#: :meth:`OnnxEmbeddings.token_vectors`.
QUESTION_TOKENS = 64
TOKEN_CACHE = 1024


def _export(model_dir: str, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    class Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            # the token states too: the answerer's late-interaction feature reads them
            return torch.nn.functional.normalize(pooled, dim=1), out

    sample = tokenizer(["warm up", "calf raises for runners"], return_tensors="pt", padding=True)
    tmp = _temporary(target)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "tokens")}
    # The tracer warns about Python-side shape checks in transformers; they are constant for
    # this model and the export is verified against sentence-transformers in the tests.
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(model),
                tuple(sample[name] for name in INPUTS),
                str(tmp),
                input_names=list(INPUTS),
                output_names=["embedding", "tokens"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed export (a full disk) leaves no partial file
        raise
    os.replace(tmp, target)  # atomic: a killed export never leaves a half file behind


def _temporary(target: Path) -> Path:
    """A temporary name beside ``target`` of this process alone: workers that start together
    may export at once, and each renames its own finished file into place."""
    return target.with_name(f"{target.stem}.{os.getpid()}.{threading.get_ident()}.tmp")


def _quantize(source: Path, target: Path) -> None:
    # onnxruntime.quantization configures the root logger when imported and logs a
    # pre-processing hint on it: leave the process's logging exactly as it was.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    tmp = _temporary(target)
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root.setLevel(logging.ERROR)
        # per-channel scales keep cosine to the fp32 model at ~0.995 (per-tensor: ~0.90-0.97)
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    os.replace(tmp, target)


def ensure_export(model_dir: str, cache_dir: Path, quantize: bool) -> Path:
    """Path of the ONNX file for ``model_dir``, exporting (and quantizing) on first use."""
    key = hashlib.sha256(str(Path(model_dir).resolve()).encode()).hexdigest()[:12]
    folder = cache_dir / key
    folder.mkdir(parents=True, exist_ok=True)
    # "-tokens": the export with the token states as a second output (an older cache's
    # model.onnx has only the pooled one, and is left as it is)
    fp32 = folder / "model-tokens.onnx"
    if not fp32.exists():
        _export(model_dir, fp32)
    if not quantize:
        return fp32
    int8 = folder / "model-tokens-int8-per-channel.onnx"
    if not int8.exists():
        _quantize(fp32, int8)
    return int8


class OnnxEmbeddings(Embeddings):
    """LangChain Embeddings over an ONNX export of a BERT-style sentence-transformers model."""

    def __init__(
        self,
        onnx_path: Path,
        model_dir: str,
        threads: int = 0,
        batch_size: int = 32,
        spin: bool = False,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # one graph, run sequentially: no second pool
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads sleep instead of spinning for more work. Spinning wins a little
        # for a lone caller on an idle machine, but a server's event loop and its other
        # requests' Python share the same cores: measured with 4 threads answering on 2 cores,
        # about twice the questions/s with spinning off (see the closing note of issue 15).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        self.batch_size = batch_size
        self._lock = threading.Lock()  # the Rust tokenizer's padding state is per object
        self._tokens: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def from_model_dir(
        cls, model_dir: str, cache_dir: Path, quantize: bool, threads: int = 0
    ) -> OnnxEmbeddings:
        return cls(ensure_export(model_dir, cache_dir, quantize), model_dir, threads)

    def _run(self, texts: list[str]) -> np.ndarray:
        return self._forward(texts)[0]

    def _forward(
        self, texts: list[str], want_tokens: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled vectors, and (``want_tokens``) each text's token vectors: unit length, [CLS],
        [SEP] and padding left out. The token vectors of question-sized texts are kept a while
        whatever is asked, so the answerer's :meth:`token_vectors` of a question embedded just
        before costs no second model call; a long text's (an ingested chunk) are only computed
        when wanted."""
        with self._lock:
            encodings = self.tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": mask,
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        pooled, states = self.session.run(None, feed)
        tokens, kept = [], {}
        for text, row, length in zip(texts, states, mask.sum(axis=1).tolist(), strict=True):
            pieces = max(0, length - 2)
            if not want_tokens and pieces > QUESTION_TOKENS:
                continue
            inner = np.asarray(row[1 : 1 + pieces], dtype=np.float32)
            inner /= np.maximum(np.linalg.norm(inner, axis=1, keepdims=True), 1e-12)
            if want_tokens:
                tokens.append(inner)
            if pieces <= QUESTION_TOKENS:
                kept[text] = inner.astype(np.float16)
        with self._lock:
            for text, found in kept.items():
                self._tokens[text] = found
                self._tokens.move_to_end(text)
            while len(self._tokens) > TOKEN_CACHE:
                self._tokens.popitem(last=False)
        return np.asarray(pooled, dtype=np.float32), tokens

    def token_vectors(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's contextual token vectors, one unit-length row per word piece."""
        with self._lock:
            found = {t: self._tokens[t].astype(np.float32) for t in texts if t in self._tokens}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        order = sorted(missing, key=len)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            found.update(zip(batch, self._forward(batch, want_tokens=True)[1], strict=True))
        return [found[t] for t in texts]

    #: A query is embedded exactly as a document is (no instruction prefix; padding is masked
    #: out of the pooling), so a message's few texts can share one call
    #: (:meth:`assistant.core.Assistant.embed_many`).
    queries_as_documents = True

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        # Batches of similar length waste less work on padding (~25% faster on sentences).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            for i, vector in zip(batch, self._run([texts[i] for i in batch]).tolist(), strict=True):
                vectors[i] = vector
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._run([text])[0].tolist()
