#!/usr/bin/env python3
"""Full-size check of the vision tower (by hand, not in CI): timm's mobilenetv5_300m_enc (what transformers'
Gemma3n vision config builds) with random weights is saved under the checkpoint names
model.vision_tower.timm_model.* next to the real E2B config.json (no gemma_cpp_layout, so gemma uses its built-in
300M layout); timm's forward_features (encoder + MSFA) on a 768x768 image is compared with ours
(build/tests/gemma_run_vision_tower) in float32 and bfloat16, and both are timed with the same thread count.

    ~/.cache/gemma/venv/bin/python scripts/check_full_size_vision.py [--dir /tmp/gemma-vision-300m] [--threads 2]

Needs about 4 GB of RAM and 1.5 GB of disk.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "model.vision_tower.timm_model."


def build_encoder(seed: int) -> torch.nn.Module:
    import timm

    torch.manual_seed(seed)
    model = timm.create_model("mobilenetv5_300m_enc", pretrained=False).eval()
    # timm's init leaves every norm weight at 1, biases at 0 and layer scales at 1e-5, which would make each
    # block nearly the identity and hide per-channel mistakes; spread them out (seeded) so every block counts.
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_scale.gamma"):
                p.copy_(torch.rand(p.shape, generator=g) * 0.7 + 0.3)
            elif name.endswith("conv_stem.conv.bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif p.ndim == 1:
                p.copy_(torch.randn(p.shape, generator=g) * 0.25 + 1.0)
    return model


def timed_forward(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> tuple[torch.Tensor, float]:
    with torch.no_grad():
        out = model.forward_features(x)  # warm-up, and the result compared
        t0 = time.perf_counter()
        for _ in range(repeats):
            model.forward_features(x)
    return out, (time.perf_counter() - t0) / repeats


def run_ours(model_dir: Path, inputs: Path, output: Path, dtype: str, repeats: int, threads: int) -> str:
    tool = ROOT / "build" / "tests" / "gemma_run_vision_tower"
    result = subprocess.run([str(tool), str(model_dir), str(inputs), str(output), dtype, str(repeats), str(threads)],
                            check=True, capture_output=True, text=True)
    return result.stdout


def report(name: str, ours: torch.Tensor, theirs: torch.Tensor) -> None:
    diff = (ours.double() - theirs.double()).abs().max().item()
    scale = theirs.double().abs().max().item()
    print(f"{name}: max|Δ| {diff:.3g}, max|ref| {scale:.3g}, relative {diff / scale:.3g}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="/tmp/gemma-vision-300m")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    out = Path(args.dir)
    model_dir = out / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    model = build_encoder(args.seed)
    print(f"timm mobilenetv5_300m_enc: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters")
    save_file({PREFIX + k: v.contiguous() for k, v in model.state_dict().items()},
              str(model_dir / "model.safetensors"))
    shutil.copy(ROOT / "tests/data/configs/gemma-3n-E2B-it/config.json", model_dir / "config.json")
    assert "gemma_cpp_layout" not in json.loads((model_dir / "config.json").read_text())["vision_config"]

    x = torch.rand(1, 3, 768, 768, generator=torch.Generator().manual_seed(args.seed + 2))
    inputs = out / "pixel_values.safetensors"
    save_file({"pixel_values": x}, str(inputs))

    for dtype_name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        theirs, seconds = timed_forward(model.to(dtype), x.to(dtype), args.repeats)
        print(f"[{dtype_name}] timm: {seconds:.2f} s per image ({1 / seconds:.3f} images/s, "
              f"{args.threads} threads), output {list(theirs.shape)}")
        result = out / f"ours_{dtype_name}.safetensors"
        print(f"[{dtype_name}] ours:\n  " +
              run_ours(model_dir, inputs, result, dtype_name, args.repeats, args.threads).strip().replace("\n", "\n  "))
        report(f"[{dtype_name}] ours vs timm", load_file(str(result))["vision_tower_output"], theirs.float())
        if dtype is torch.bfloat16:
            report("[bfloat16] ours vs timm float32", load_file(str(result))["vision_tower_output"], reference)
        else:
            reference = theirs.float()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
