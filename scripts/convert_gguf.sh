#!/usr/bin/env bash
# Converts a Hugging Face Gemma 3n checkpoint directory to GGUF for the llama.cpp side of bench/run_bench.py
# (bench/README.md, "llama.cpp side"): OUT_DIR/model-bf16.gguf and OUT_DIR/model-q8_0.gguf, written by the
# convert_hf_to_gguf.py and gguf-py of the llama.cpp that scripts/build_llama_bench.sh unpacked (run that first),
# with the project venv's Python (torch, numpy, sentencepiece, safetensors, pyyaml, tqdm are already there).
# Text decoder only: llama.cpp keeps Gemma 3n's vision and audio towers in a separate mmproj file, not made here.
#
# KV-shared layers: Google's checkpoints carry k_proj, v_proj and k_norm in every layer, the last
# num_kv_shared_layers included, where they are dead (those layers read an earlier layer's K/V). llama.cpp's
# loader requires them; checkpoints saved by transformers 5 (bench/make_random_e2b.py's) lack them. When they are
# missing, the conversion reads OUT_DIR/.hf-overlay/NAME instead: links to MODEL_DIR's files plus one shard with
# zero-filled dead tensors of the real shapes (never computed with: llama.cpp skips K/V in those layers).
# A GGUF already there is kept; each is written under a temporary name first.
#   scripts/convert_gguf.sh MODEL_DIR OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/env.sh"
[[ $# == 2 ]] || { echo "usage: $0 MODEL_DIR OUT_DIR" >&2; exit 2; }
model=$(cd "$1" && pwd) out=$2

version=${GEMMA_LLAMA_CPP_PYTHON_VERSION:-0.3.36}
src=${XDG_CACHE_HOME:-$HOME/.cache}/gemma/llama.cpp/llama_cpp_python-$version/vendor/llama.cpp
[[ -f $src/convert_hf_to_gguf.py ]] || { echo "$src: missing; run scripts/build_llama_bench.sh first" >&2; exit 1; }
mkdir -p "$out"
if [[ -f $out/model-bf16.gguf && -f $out/model-q8_0.gguf ]]; then
  echo "$out: both GGUFs already there" >&2
  ls -l "$out"/model-bf16.gguf "$out"/model-q8_0.gguf
  exit
fi

# Prints the directory to convert: MODEL_DIR, or the overlay when dead K/V tensors had to be added.
input=$("$GEMMA_VENV/bin/python" - "$model" "$out/.hf-overlay/$(basename "$model")" <<'EOF'
import json, re, sys
from pathlib import Path
import torch
from safetensors import safe_open
from safetensors.torch import save_file

model, overlay = Path(sys.argv[1]), Path(sys.argv[2])
config = json.loads((model / "config.json").read_text())
text = config.get("text_config", config)
index = json.loads((model / "model.safetensors.index.json").read_text())
weights = index["weight_map"]
q_name = re.compile(r"(.*\.layers\.)(\d+)(\.self_attn\.)q_proj\.weight")
n_layers, n_shared = text["num_hidden_layers"], text["num_kv_shared_layers"]
kv_rows, head_dim = text["num_key_value_heads"] * text["head_dim"], text["head_dim"]
missing = {}
for name, shard in weights.items():
    m = q_name.fullmatch(name)
    if m and int(m[2]) >= n_layers - n_shared:
        with safe_open(model / shard, "pt") as f:
            dtype = f.get_slice(name).get_dtype()
        dtype = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}[dtype]
        prefix = m[1] + m[2] + m[3]
        for suffix, shape in (("k_proj.weight", (kv_rows, text["hidden_size"])),
                              ("v_proj.weight", (kv_rows, text["hidden_size"])), ("k_norm.weight", (head_dim,))):
            if prefix + suffix not in weights:
                missing[prefix + suffix] = torch.zeros(shape, dtype=dtype)
if not missing:
    print(model)
    sys.exit()
extra = "model-dead-kv-of-kv-shared-layers.safetensors"
overlay.mkdir(parents=True, exist_ok=True)
for path in model.iterdir():
    link = overlay / path.name
    if path.name != "model.safetensors.index.json" and not link.is_symlink():
        link.symlink_to(path)
save_file(missing, str(overlay / extra), metadata={"format": "pt"})
index["weight_map"] = {**weights, **{name: extra for name in missing}}
(overlay / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
print(f"{model}: added {len(missing)} zero-filled dead K/V tensors of the KV-shared layers in {overlay}",
      file=sys.stderr)
print(overlay)
EOF
)

for type in bf16 q8_0; do
  file=$out/model-$type.gguf
  [[ -f $file ]] && { echo "$file: already there" >&2; continue; }
  PYTHONPATH=$src/gguf-py nice -n 10 "$GEMMA_VENV/bin/python" "$src/convert_hf_to_gguf.py" "$input" \
    --outtype "$type" --outfile "$file.part"
  mv "$file.part" "$file"
done
ls -l "$out"/model-bf16.gguf "$out"/model-q8_0.gguf
