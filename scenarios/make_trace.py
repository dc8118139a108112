"""Write the small synthetic trace ``scenarios/data/trace_sample.csv`` (deterministic, seed 18).

The columns are the public Azure LLM inference trace's (``TIMESTAMP,ContextTokens,GeneratedTokens``),
so a real trace file can be replayed the same way: ``loadgate run trace_replay --trace FILE``.
Arrivals are bursty (gamma gaps, CV 2) at about 8 requests a second for 40 seconds; lengths are
log-normal, as in the public traces, scaled to the bundled service's small model.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "trace_sample.csv"
RATE, SECONDS, CV, SEED = 8.0, 40.0, 2.0, 18


def main() -> None:
    rng = random.Random(SEED)
    shape = 1 / CV**2
    start = datetime(2023, 11, 16, 18, 15, 46, tzinfo=UTC)
    rows, t = [], 0.0
    while t < SECONDS:
        context = min(int(rng.lognormvariate(3.5, 0.6)), 400)
        generated = min(max(int(rng.lognormvariate(3.0, 0.5)), 1), 128)
        stamp = (start + timedelta(seconds=t)).strftime("%Y-%m-%d %H:%M:%S.%f") + "0"  # 7 decimals
        rows.append(f"{stamp},{context},{generated}")
        t += rng.gammavariate(shape, 1 / (shape * RATE))
    OUT.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} requests over {t:.1f} s to {OUT}")


if __name__ == "__main__":
    main()
