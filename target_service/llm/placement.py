"""Where the local model runs — device, dtype, 4-bit quantization, compilation — resolved once when it
loads, and reported by ``/readyz`` so a run can say what it measured.

The rules are a pure function of the settings and two facts about the machine, so they are tested
on a CPU-only machine; only :func:`detect_placement` imports torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from target_service.config import Settings

Dtype = Literal["float32", "float16", "bfloat16"]


class PlacementError(ValueError):
    """The settings ask for something this machine cannot do (e.g. CUDA without a GPU)."""


class Placement(BaseModel):
    device: str  # "cpu" or "cuda:0"
    dtype: Dtype  # the weights' dtype; with 4-bit, the compute dtype
    quantization: Literal["nf4"] | None = None
    compiled: bool = False
    static_cache: bool = False  # a static KV cache lets torch.compile capture decoding once


def resolve_placement(settings: Settings, *, cuda_available: bool, bf16_supported: bool) -> Placement:
    if settings.device == "cuda" and not cuda_available:
        raise PlacementError("AGENT_DEVICE=cuda, but torch sees no CUDA device (a CPU build of torch, or "
                             "no driver): use AGENT_DEVICE=auto or cpu")
    on_cuda = settings.device == "cuda" or (settings.device == "auto" and cuda_available)
    quantization: Literal["nf4"] | None = "nf4" if settings.load_in_4bit else None
    if not on_cuda:
        # bitsandbytes' CPU kernels dequantize to float32: 4-bit saves memory there, not time.
        if settings.dtype not in ("auto", "float32"):
            raise PlacementError(f"AGENT_DTYPE={settings.dtype} on the CPU: torch's CPU kernels run 16-bit "
                                 "slower than float32; use auto or float32")
        return Placement(device="cpu", dtype="float32", quantization=quantization,
                         compiled=settings.torch_compile)
    best: Dtype = "bfloat16" if bf16_supported else "float16"
    dtype: Dtype = best if settings.dtype == "auto" else settings.dtype
    if dtype == "bfloat16" and not bf16_supported:
        raise PlacementError("AGENT_DTYPE=bfloat16, but this GPU lacks bfloat16: use float16 or auto")
    if settings.load_in_4bit and dtype == "float32":
        raise PlacementError("AGENT_LOAD_IN_4BIT computes in a 16-bit dtype: use AGENT_DTYPE=auto, float16 "
                             "or bfloat16")
    return Placement(device="cuda:0", dtype=dtype, quantization=quantization, compiled=settings.torch_compile,
                     static_cache=settings.torch_compile)


def detect_placement(settings: Settings) -> Placement:
    import torch

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    return resolve_placement(settings, cuda_available=cuda, bf16_supported=bf16)
