"""Bytes a loaded model's weights take, bitsandbytes' 4-bit blocks included. Imports only torch, so the
GPU device check (``benchmarks/gpu_child.py``) can use it on a machine with little else installed."""

from __future__ import annotations

import torch


def module_bytes(module: torch.nn.Module) -> int:
    """Parameters and buffers, plus bitsandbytes' per-block scales kept outside the parameters."""
    total = sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))
    for p in module.parameters():
        state = getattr(p, "quant_state", None)
        if state is not None and getattr(state, "absmax", None) is not None:
            total += state.absmax.numel() * state.absmax.element_size()
    return total


def linear_bytes(model: torch.nn.Module) -> int:
    """The decoder layers' projections: the only weights bitsandbytes quantizes here."""
    return sum(module_bytes(m) for m in model.model.layers.modules() if isinstance(m, torch.nn.Linear))
