"""The prompt corpus and its Zipf-like popularity, so the service's cache sees realistic hit rates."""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from collections.abc import Callable
from pathlib import Path

from harness.errors import LoadError
from harness.load.plan import SCENARIO_DIR

CORPUS_PATH = SCENARIO_DIR / "data" / "prompts.txt"


def load_prompts(path: Path = CORPUS_PATH) -> list[str]:
    try:
        rows = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    except OSError as exc:
        raise LoadError(
            f"cannot read the prompt corpus {path}: {exc.strerror}; "
            f"regenerate it with `python scenarios/make_corpus.py`"
        ) from exc
    rows = [r for r in rows if r]
    if not rows:
        raise LoadError(f"the prompt corpus {path} is empty")
    return rows


class ZipfPicker:
    """Draw item k (0-based rank) with probability proportional to 1 / (k + 1) ** s.

    A ``fresh_share`` of the draws get a unique suffix, so they miss any response cache: the load
    runner and the capacity probe send the same mix through this one picker.
    """

    def __init__(self, items: list[str], s: float = 1.1, rng: random.Random | None = None,
                 fresh_share: float = 0.0) -> None:
        self.items = items
        self.fresh_share = fresh_share
        self._cum = list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(len(items))))
        self._rng = rng or random.Random()

    def pick(self) -> str:
        prompt = self.items[bisect.bisect_left(self._cum, self._rng.random() * self._cum[-1])]
        if self.fresh_share and self._rng.random() < self.fresh_share:
            prompt = f"{prompt} (ref {uuid.uuid4().hex[:12]})"
        return prompt


def prompt_picker(fresh_share: float = 0.0) -> Callable[[], str]:
    """Draw one prompt of the corpus at a time, with the load runner's popularity skew and fresh share."""
    return ZipfPicker(load_prompts(), fresh_share=fresh_share).pick
