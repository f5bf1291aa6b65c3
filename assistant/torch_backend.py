"""The embedding model on torch (sentence-transformers through LangChain), with token vectors.

Example::

    emb = TorchEmbeddings(model_name=path, model_kwargs={"device": "cpu"},
                          encode_kwargs={"normalize_embeddings": True})
    emb.token_vectors(["how long should I hold it?"])[0].shape   # (word pieces, 384)
"""

from __future__ import annotations

import numpy as np
from langchain_huggingface import HuggingFaceEmbeddings


class TorchEmbeddings(HuggingFaceEmbeddings):
    """LangChain's HuggingFaceEmbeddings plus :meth:`token_vectors`, as the ONNX backend has."""

    def token_vectors(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's contextual token vectors, unit length, without [CLS] and [SEP]."""
        out = self._client.encode(texts, output_value="token_embeddings", batch_size=32)
        vectors = []
        for states in out:
            inner = np.asarray(states.cpu().numpy()[1:-1], dtype=np.float32)
            norms = np.linalg.norm(inner, axis=1, keepdims=True)
            vectors.append(inner / np.maximum(norms, 1e-12))
        return vectors
