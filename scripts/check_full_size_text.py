#!/usr/bin/env python3
"""Full-size check of the text decoder (by hand, not in CI): a random-weight Gemma3nForConditionalGeneration
with the real E2B text config (tests/data/configs/gemma-3n-E2B-it/config.json; the vision and audio towers are
the tiny ones, since only the text path is checked) is saved as a sharded bf16 checkpoint; transformers' logits
for a short prompt are compared with ours (build/tests/gemma_compare_logits).

    ~/.cache/gemma/venv/bin/python scripts/check_full_size_text.py [--dir /tmp/gemma-e2b-random] [--dtype bfloat16]

Needs about 10 GB of RAM and 9 GB of disk per run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from fixtures import model as M  # noqa: E402
from fixtures.common import MODEL_DIR, ROOT  # noqa: E402


def real_text_config(dtype: str) -> dict:
    real = json.loads((ROOT / "tests/data/configs/gemma-3n-E2B-it/config.json").read_text())
    tiny = json.loads((MODEL_DIR / "config.json").read_text())
    cfg = dict(real)
    # Tiny towers with the real vocabulary offsets: the embedders stay real-sized, the towers are not
    # under test here.
    cfg["vision_config"] = dict(tiny["vision_config"], vocab_offset=real["vision_config"]["vocab_offset"])
    cfg["audio_config"] = dict(tiny["audio_config"], vocab_offset=real["audio_config"]["vocab_offset"])
    cfg["vision_soft_tokens_per_image"] = tiny["vision_soft_tokens_per_image"]
    cfg["torch_dtype"] = cfg["dtype"] = dtype
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="/tmp/gemma-e2b-random")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    args = parser.parse_args()
    from transformers import Gemma3nConfig, Gemma3nForConditionalGeneration

    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    torch_dtype = getattr(torch, args.dtype)
    cfg_dict = real_text_config(args.dtype)
    cfg = Gemma3nConfig.from_dict(cfg_dict)
    torch.manual_seed(0)
    torch.set_default_dtype(torch_dtype)
    t0 = time.time()
    with M._TinyTimm(cfg.vision_config.gemma_cpp_layout, cfg.vision_config.hidden_size):
        model = Gemma3nForConditionalGeneration(cfg).eval()
    torch.set_default_dtype(torch.float32)
    print(f"built {sum(p.numel() for p in model.parameters()) / 1e9:.2f}B parameters in {time.time() - t0:.0f} s")

    ids = torch.tensor([[2, 105, 2364, 107, 818, 5279, 563, 506, 4865, 529, 7001, 236881, 106, 107, 105, 4368, 107]])
    t0 = time.time()
    with torch.no_grad():
        logits = model(input_ids=ids, use_cache=True).logits
    print(f"transformers forward: {time.time() - t0:.1f} s")
    from safetensors.torch import save_file
    save_file({"input_ids": ids, "logits": logits.float()}, str(out / "reference.safetensors"))
    t0 = time.time()
    model.save_pretrained(out / "model", max_shard_size="2GB")
    (out / "model" / "config.json").write_text(json.dumps(cfg_dict, indent=2))
    print(f"saved in {time.time() - t0:.0f} s")
    del model

    tool = ROOT / "build" / "tests" / "gemma_compare_logits"
    subprocess.run([str(tool), str(out / "model"), str(out / "reference.safetensors"), args.dtype], check=True)


if __name__ == "__main__":
    main()
