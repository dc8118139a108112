"""The shipped corpus in an HNSW index, built from the shipped vectors and cached on disk."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np
import orjson
from filelock import FileLock

from target_service.retrieval.embedder import Embedder

DATA = Path(__file__).resolve().parent.parent / "data"
CORPUS = DATA / "corpus.jsonl.gz"
EMBEDDINGS = DATA / "corpus_embeddings.npz"
INDEX_VERSION = "minilm-l6-int8-hnsw-m16-v1"  # bump when the embedding or index parameters change


class CorpusMismatch(RuntimeError):
    """The shipped vectors were made from another corpus: re-run ``target_service.data.make_corpus``."""


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


def load_corpus(path: Path = CORPUS) -> list[Passage]:
    return [Passage(**orjson.loads(line)) for line in gzip.decompress(path.read_bytes()).splitlines() if line]


def corpus_digest(path: Path = CORPUS) -> str:
    return hashlib.sha256(path.read_bytes() + INDEX_VERSION.encode()).hexdigest()[:16]


def passage_text(p: Passage) -> str:
    return f"{p.title}. {p.text}"


def quantize(unit_vectors: np.ndarray) -> np.ndarray:
    """Unit vectors to int8 (components lie in [-1, 1]); cosine ranking survives the rounding."""
    return np.clip(np.rint(unit_vectors * 127), -127, 127).astype(np.int8)


class PassageIndex:
    def __init__(self, embedder: Embedder, cache_dir: Path, ef: int) -> None:
        self.embedder = embedder
        self.passages = load_corpus()
        digest = corpus_digest()
        self.path = cache_dir / "index" / f"corpus-{digest}.hnsw"
        self._index = hnswlib.Index(space="cosine", dim=embedder.dim)
        self.built_now = self._load_or_build(digest)
        self._index.set_ef(ef)

    def _load_or_build(self, digest: str) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock"):  # several workers start at once: one builds
            if self.path.exists():
                self._index.load_index(str(self.path), max_elements=len(self.passages))
                return False
            shipped = np.load(EMBEDDINGS)
            if str(shipped["digest"]) != digest or len(shipped["vectors"]) != len(self.passages):
                raise CorpusMismatch(f"{EMBEDDINGS} does not match {CORPUS}")
            vectors = shipped["vectors"].astype(np.float32) / 127
            self._index.init_index(max_elements=len(self.passages), ef_construction=100, M=16, random_seed=7)
            self._index.add_items(vectors, np.arange(len(vectors)), num_threads=1)
            tmp = self.path.with_suffix(".partial")
            self._index.save_index(str(tmp))
            tmp.replace(self.path)
            return True

    def search_many(self, queries: list[str], k: int) -> list[list[Hit]]:
        """Blocking (embedding is compute): call it from a worker thread, with a batch of queries."""
        labels, distances = self._index.knn_query(self.embedder.embed_queries(queries), k=k, num_threads=1)
        return [[Hit(self.passages[int(i)], round(1.0 - float(d), 4)) for i, d in zip(li, di, strict=True)]
                for li, di in zip(labels, distances, strict=True)]
