"""The prompt corpus and its Zipf-like popularity, so the service's cache sees realistic hit rates."""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import LoadError
from harness.load.plan import SCENARIO_DIR
from harness.schemas.checklist import Lengths

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


# The bundled service's limits (AgentRequest): a replayed length beyond them is clipped, not refused.
MAX_INPUT_CHARS = 4000
MAX_OUTPUT_TOKENS = 256
_FILLER = ("context", "from", "the", "earlier", "conversation", "about", "the", "service")


@dataclass(frozen=True)
class RequestSizes:
    """Lengths a trace row asks for (None: the scenario's usual prompt and answer length)."""

    prompt_tokens: int | None = None
    output_tokens: int | None = None

    def max_tokens(self, default: int | None) -> int | None:
        if self.output_tokens is None:
            return default
        return min(max(self.output_tokens, 1), MAX_OUTPUT_TOKENS)


NO_SIZES = RequestSizes()


def draw_length(spec: Lengths | None, rng: random.Random) -> int | None:
    """A length from ``spec`` (gamma: shape 1/CV^2, scale mean*CV^2; CV 0 is the mean), at least 1."""
    if spec is None:
        return None
    if spec.cv == 0:
        return max(round(spec.mean), 1)
    shape = 1 / spec.cv**2
    return max(round(rng.gammavariate(shape, spec.mean / shape)), 1)


def sized_prompt(prompt: str, tokens: int | None) -> str:
    """The prompt padded with plain words to about ``tokens`` words (a word is ~1 token here)."""
    if tokens is None:
        return prompt
    words = prompt.split()
    if len(words) >= tokens:
        return prompt
    pad = [_FILLER[i % len(_FILLER)] for i in range(tokens - len(words))]
    return " ".join([*words, *pad])[:MAX_INPUT_CHARS]


def prompt_picker(fresh_share: float = 0.0) -> Callable[[], str]:
    """Draw one prompt of the corpus at a time, with the load runner's popularity skew and fresh share."""
    return ZipfPicker(load_prompts(), fresh_share=fresh_share).pick
