"""Where the local model runs: the rules on machines with and without a GPU, and the CPU path for real."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from target_service.config import Settings
from target_service.llm.build import build_model
from target_service.llm.local import LocalLLM
from target_service.llm.placement import PlacementError, detect_placement, resolve_placement

NO_GPU = {"cuda_available": False, "bf16_supported": False}
H200 = {"cuda_available": True, "bf16_supported": True}
T4 = {"cuda_available": True, "bf16_supported": False}  # a GPU without bfloat16


def test_auto_is_the_cpu_in_float32_without_a_gpu() -> None:
    p = resolve_placement(Settings(), **NO_GPU)
    assert (p.device, p.dtype, p.quantization, p.static_cache) == ("cpu", "float32", None, False)


def test_auto_is_cuda_in_a_16_bit_dtype_with_a_gpu() -> None:
    assert resolve_placement(Settings(), **H200).model_dump() == {
        "device": "cuda:0", "dtype": "bfloat16", "quantization": None, "compiled": False,
        "static_cache": False}
    assert resolve_placement(Settings(), **T4).dtype == "float16"


def test_four_bit_on_cuda_computes_in_16_bit_and_compiles_with_a_static_cache() -> None:
    p = resolve_placement(Settings(load_in_4bit=True, torch_compile=True), **H200)
    assert (p.quantization, p.dtype, p.compiled, p.static_cache) == ("nf4", "bfloat16", True, True)
    with pytest.raises(PlacementError, match="16-bit"):
        resolve_placement(Settings(load_in_4bit=True, dtype="float32"), **H200)


def test_what_the_machine_cannot_do_is_refused_with_the_setting_named() -> None:
    with pytest.raises(PlacementError, match="AGENT_DEVICE=cuda"):
        resolve_placement(Settings(device="cuda"), **NO_GPU)
    with pytest.raises(PlacementError, match="AGENT_DTYPE=bfloat16"):
        resolve_placement(Settings(dtype="bfloat16"), **T4)
    with pytest.raises(PlacementError, match="AGENT_DTYPE=float16 on the CPU"):
        resolve_placement(Settings(dtype="float16"), **NO_GPU)


def test_settings_refuse_16_bit_on_an_explicit_cpu_before_torch_loads() -> None:
    with pytest.raises(ValidationError, match="AGENT_DTYPE=float16 needs CUDA"):
        Settings(device="cpu", dtype="float16")
    with pytest.raises(ValidationError, match="device"):
        Settings(device="tpu")


def test_device_auto_follows_what_torch_sees() -> None:
    import torch

    assert detect_placement(Settings()).device == ("cuda:0" if torch.cuda.is_available() else "cpu")


def test_the_loaded_model_reports_where_it_runs(tmp_path: Path) -> None:
    llm = LocalLLM(Settings(model_dir=build_model(tmp_path / "tiny")))

    async def load_and_describe() -> dict[str, object]:
        await llm.start()
        try:
            return llm.describe()
        finally:
            await llm.close()

    described = asyncio.run(load_and_describe())
    assert described["device"] == "cpu" and described["dtype"] == "float32"
    assert str(llm.model.device) == "cpu" and str(llm.model.dtype) == "torch.float32"
