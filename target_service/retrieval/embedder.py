"""Sentence embeddings from the packaged all-MiniLM-L6-v2 (mean pooling, unit length), offline."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from target_service.llm.build import minilm_dir


class Embedder:
    dim = 384

    def __init__(self, cache_size: int, torch_threads: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(torch_threads)
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
        self._model = AutoModel.from_pretrained(minilm_dir()).eval()
        # Popular prompts (Zipf) are embedded once; lru_cache is per instance via the closure.
        self.embed_query = lru_cache(maxsize=cache_size)(self._embed_one)

    def embed(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        enc = self._tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            out = self._model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(out.dtype)
        pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()

    def _embed_one(self, text: str) -> np.ndarray:
        vec = self.embed([text])[0]
        vec.setflags(write=False)  # shared through the cache: nobody may modify it
        return vec
