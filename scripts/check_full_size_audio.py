#!/usr/bin/env python3
"""Full-size check of the audio tower (by hand, not in CI): transformers' Gemma3nAudioEncoder with the real
default Gemma3nAudioConfig (12 conformer blocks, width 1536; the same for E2B and E4B) and random weights of a
sane scale (fixed seed) is saved under the model.audio_tower.* names a full checkpoint uses, next to a config.json
(transformers' Gemma3nConfig defaults with that audio config). The feature extractor's features of a synthetic
30 s clip, alone and batched with a 11.3 s clip (mixed lengths, padded frames), go through transformers and through
build/tests/gemma_run_audio_tower in float32 and bfloat16 (transformers' from_pretrained(dtype=...) in both), with
the same thread count. Prints max|Δ| per run and the real-time factor (seconds of compute per second of audio).

    ~/.cache/gemma/venv/bin/python scripts/check_full_size_audio.py [--dir /tmp/gemma-audio-full] [--threads 2]

Needs about 3 GB of RAM and 1 GB of disk; a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "build" / "tests" / "gemma_run_audio_tower"
SAMPLE_RATE = 16000


def synthetic_clip(seconds: float, seed: int) -> np.ndarray:
    """A speech-like test signal: a gliding harmonic tone with syllable-rate amplitude modulation, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 120 + 60 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    wave = 0.1 * envelope * voice + 0.005 * rng.standard_normal(t.size)
    return wave.astype(np.float32)


def randomize(encoder: torch.nn.Module, seed: int) -> None:
    """Weights ~ N(0, 1/fan_in) for convolutions and projections, norm scales near 1, per-dim query scales near
    0 (softplus ~ ln 2): activations keep unit scale through all 12 blocks."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in encoder.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if name.endswith("per_dim_scale"):
                p.copy_(0.2 * noise)
            elif p.dim() == 1:
                p.copy_(1.0 + 0.1 * noise)
            else:
                p.copy_(noise * p[0].numel() ** -0.5)


def build(out: Path) -> tuple[Path, Path]:
    from safetensors.torch import save_file
    from transformers import Gemma3nAudioConfig, Gemma3nAudioEncoder, Gemma3nConfig

    audio_cfg = Gemma3nAudioConfig()
    torch.manual_seed(0)
    encoder = Gemma3nAudioEncoder(audio_cfg).eval()
    randomize(encoder, seed=1234)
    hf_dir, our_dir = out / "hf_audio_encoder", out / "model"
    encoder.save_pretrained(hf_dir)
    our_dir.mkdir(parents=True, exist_ok=True)
    state = {f"model.audio_tower.{k}": v.contiguous() for k, v in encoder.state_dict().items()}
    save_file(state, str(our_dir / "model.safetensors"))
    full = Gemma3nConfig(audio_config=audio_cfg.to_dict()).to_dict()
    (our_dir / "config.json").write_text(json.dumps(full, indent=2))
    print(f"audio tower: {sum(p.numel() for p in encoder.parameters()) / 1e6:.1f} M parameters")
    return hf_dir, our_dir


def features(out: Path) -> dict[str, tuple[Path, float]]:
    """Feature files for the cases: name -> (file, seconds of audio)."""
    from safetensors.torch import save_file
    from transformers import Gemma3nAudioFeatureExtractor

    fe = Gemma3nAudioFeatureExtractor()
    long, short = synthetic_clip(30.0, seed=0), synthetic_clip(11.3, seed=1)
    cases = {}
    for name, waves in {"30s": [long], "batch_30s_11.3s": [long, short]}.items():
        x = fe(waves, return_tensors="pt", padding="longest")
        path = out / f"features_{name}.safetensors"
        save_file({"input_features": x["input_features"].contiguous(),
                   "input_features_mask": x["input_features_mask"].contiguous()}, str(path))
        seconds = sum(w.size for w in waves) / SAMPLE_RATE
        cases[name] = (path, seconds)
        print(f"{name}: input_features {tuple(x['input_features'].shape)}, valid frames "
              f"{x['input_features_mask'].sum(1).tolist()}")
    return cases


def run_transformers(hf_dir: Path, dtype: torch.dtype, path: Path, repeats: int):
    from safetensors.torch import load_file
    from transformers import Gemma3nAudioEncoder

    model = Gemma3nAudioEncoder.from_pretrained(hf_dir, dtype=dtype).eval()
    x = load_file(str(path))
    with torch.no_grad():
        out = model(x["input_features"], ~x["input_features_mask"])  # warm-up, and the result compared
        t0 = time.perf_counter()
        for _ in range(repeats):
            model(x["input_features"], ~x["input_features_mask"])
    return out.last_hidden_state.float(), out.audio_mel_mask, (time.perf_counter() - t0) / repeats


def run_ours(our_dir: Path, dtype: str, path: Path, out: Path, repeats: int, threads: int):
    from safetensors.torch import load_file

    result = out / "ours.safetensors"
    proc = subprocess.run([str(TOOL), str(our_dir), str(path), str(result), dtype, str(repeats), str(threads)],
                          check=True, capture_output=True, text=True)
    seconds = float(re.search(r"seconds_per_forward (\S+)", proc.stdout).group(1))
    y = load_file(str(result))
    return y["audio_tower_output"], y["audio_tower_mask"], seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="/tmp/gemma-audio-full")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if not TOOL.exists():
        sys.exit(f"{TOOL} is missing: build the gemma_run_audio_tower target first")
    torch.set_num_threads(args.threads)
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    hf_dir, our_dir = build(out)
    cases = features(out)

    reference = {}
    print(f"threads {args.threads}; RTF = seconds of compute per second of audio (batch: all clips' seconds)")
    for dtype_name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        for name, (path, seconds) in cases.items():
            theirs, their_mask, their_s = run_transformers(hf_dir, dtype, path, args.repeats)
            ours, our_mask, our_s = run_ours(our_dir, dtype_name, path, out, args.repeats, args.threads)
            if dtype == torch.float32:
                reference[name] = theirs
            diff = (ours - theirs).abs().max().item()
            vs_fp32 = (ours - reference[name]).abs().max().item()
            print(f"{dtype_name:8s} {name:16s} output {tuple(ours.shape)} masks equal {torch.equal(our_mask, their_mask)}"
                  f" | max|Δ| vs transformers {diff:.3g} (max|x| {theirs.abs().max().item():.3g}),"
                  f" vs transformers float32 {vs_fp32:.3g}"
                  f" | RTF transformers {their_s / seconds:.4f} ({their_s:.2f} s), ours {our_s / seconds:.4f}"
                  f" ({our_s:.2f} s)")


if __name__ == "__main__":
    main()
