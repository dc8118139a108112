"""The built model is the promised size and deterministic; the shipped vectors match the embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from target_service.llm.build import build_model
from target_service.retrieval.embedder import Embedder
from target_service.retrieval.index import CORPUS, EMBEDDINGS, corpus_digest, load_corpus, passage_text


def test_build_model_is_small_llama_and_deterministic(tmp_path: Path) -> None:
    from safetensors.numpy import load_file
    from transformers import AutoConfig

    a, b = build_model(tmp_path / "a"), build_model(tmp_path / "b")
    config = AutoConfig.from_pretrained(a)
    assert config.model_type == "llama" and config.num_hidden_layers == 2 and config.hidden_size == 128
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    params = sum(v.size for v in wa.values())
    assert 7e6 < params < 9e6
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_shipped_corpus_and_vectors_agree_with_the_embedder() -> None:
    passages = load_corpus()
    assert len(passages) >= 5000 and CORPUS.stat().st_size < 3e6
    shipped = np.load(EMBEDDINGS)
    assert str(shipped["digest"]) == corpus_digest() and shipped["vectors"].shape == (len(passages), 384)
    embedder = Embedder(cache_size=4, torch_threads=1)
    sample = [0, 1234, len(passages) - 1]
    fresh = embedder.embed([passage_text(passages[i]) for i in sample])
    stored = shipped["vectors"][sample].astype(np.float32) / 127
    cosines = (fresh * stored).sum(1) / np.linalg.norm(stored, axis=1)
    assert (cosines > 0.99).all(), cosines
