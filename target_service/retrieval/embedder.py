"""Sentence embeddings from the packaged all-MiniLM-L6-v2 (mean pooling, unit length), offline."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

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
        # Popular prompts (Zipf) are embedded once.
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        enc = self._tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            out = self._model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(out.dtype)
        pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Like embed(), through an LRU cache; the misses are embedded together in one forward pass."""
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = dict(zip(missing, self.embed(missing), strict=True))
            with self._lock:
                for t, v in fresh.items():
                    self._cache[t] = v
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            found.update(fresh)
        return np.stack([found[t] for t in texts])
