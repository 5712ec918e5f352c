#!/usr/bin/env python3
"""Training step time and peak memory: `gemma train` against transformers + PEFT on the same model, data and
settings, one after the other (one model in memory at a time). Prints a Markdown table with both sides and the
ratios gemma / transformers. A program, not a test.

    ~/.cache/gemma/venv/bin/python bench/train_bench.py [--model models/tiny-gemma3n] [--dtype float32]
        [--method lora|selective] [--target-modules q_proj,v_proj|all-linear] [--trainable attn] [--r 16]
        [--tokens 256] [--steps 8] [--accumulate 2] [--threads 2] [--gradient-checkpointing]
        [--gemma build/tools/gemma] [--json-out FILE]

Both sides: batch 1, `--accumulate` micro-batches per optimizer step, AdamW, clipping at 1.0, learning rate 2e-5,
text conversations of about `--tokens` tokens (a filler sentence repeated), one process, `--threads` intra-op
threads. Step time is the median wall time between consecutive optimizer steps after the first two (warm-up);
peak memory is the peak resident set of the whole process (getrusage of the child: weights, activations,
optimizer state, allocator caches).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILLER = "The quick brown fox jumps over the lazy dog while the sea wind carries the sound of gulls. "


def write_data(path: Path, tokens: int, count: int = 8) -> None:
    # About 20 tokens per filler sentence with Gemma's tokenizer.
    repeats = max(1, tokens // 20)
    with open(path, "w") as f:
        for i in range(count):
            f.write(json.dumps({"messages": [
                {"role": "user", "content": f"Question {i}: " + FILLER * (repeats // 2)},
                {"role": "assistant", "content": FILLER * (repeats - repeats // 2)}]}) + "\n")


def run_measured(command: list[str], env: dict) -> tuple[list[float], int, str]:
    """Runs `command`, timestamping each stdout line that reports a step; returns (step times, peak RSS bytes,
    stdout)."""
    stamps, lines = [], []
    p = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    for line in p.stdout:
        lines.append(line)
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "loss" in entry and "step" in entry:
            stamps.append(time.monotonic())
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"{command[0]} failed with status {status}")
    return [b - a for a, b in zip(stamps, stamps[1:])], usage.ru_maxrss * 1024, "".join(lines)


def gemma_side(a, data: Path, out: Path) -> dict:
    command = [a.gemma, "train", "--model", a.model, "--data", str(data), "--output", str(out),
               "--method", a.method, "--dtype", a.dtype, "--per-device-train-batch-size", "1",
               "--gradient-accumulation-steps", str(a.accumulate), "--max-steps", str(a.steps),
               "--learning-rate", "2e-5", "--logging-steps", "1", "--save-strategy", "no", "--log-json",
               "--disable-tqdm"]
    if a.method == "lora":
        command += ["--target-modules", a.target_modules, "--lora-r", str(a.r), "--lora-alpha", str(2 * a.r)]
    else:
        command += ["--trainable", a.trainable]
    if a.gradient_checkpointing:
        command.append("--gradient-checkpointing")
    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads)}
    times, peak, stdout = run_measured(command, env)
    losses = [json.loads(l)["loss"] for l in stdout.splitlines() if l.startswith("{") and '"loss"' in l]
    return {"step_times": times, "peak_rss": peak, "losses": losses}


PYTHON_SIDE = r'''
import json, re, sys, time
import torch
a = json.loads(sys.argv[1])
torch.set_num_threads(a["threads"])
sys.path.insert(0, a["root"] + "/scripts")
from transformers import AutoProcessor, Gemma3nForConditionalGeneration
from peft import LoraConfig, get_peft_model
dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[a["dtype"]]
if a["model"].rstrip("/").endswith("tiny-gemma3n"):
    from fixtures import model as M
    model = M.load_model(a["model"], dtype=dtype)
else:
    model = Gemma3nForConditionalGeneration.from_pretrained(a["model"], dtype=dtype)
processor = AutoProcessor.from_pretrained(a["model"])
for p in model.parameters():
    p.requires_grad_(False)
if a["method"] == "lora":
    targets = a["target_modules"] if a["target_modules"] == "all-linear" else a["target_modules"].split(",")
    model = get_peft_model(model, LoraConfig(r=a["r"], lora_alpha=2 * a["r"], target_modules=targets))
else:
    for n, p in model.named_parameters():
        p.requires_grad_(re.search(a["trainable"], n) is not None)
if a["gradient_checkpointing"]:
    model.gradient_checkpointing_enable()
    model.enable_input_require_grads()
model.train()
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=2e-5)
examples = []
for line in open(a["data"]):
    out = processor.apply_chat_template(json.loads(line)["messages"], tokenize=True, return_dict=True,
                                        return_tensors="pt", add_generation_prompt=False)
    out = dict(out); out.pop("token_type_ids", None)
    out["labels"] = out["input_ids"].clone()
    examples.append(out)
# gemma's order (and accelerate's): torch.randperm(n) seeded with 42 + epoch.
order = []
for epoch in range(a["steps"] * a["accumulate"] // len(examples) + 1):
    order += torch.randperm(len(examples), generator=torch.Generator().manual_seed(42 + epoch)).tolist()
i = 0
for step in range(a["steps"]):
    total = 0.0
    for _ in range(a["accumulate"]):
        loss = model(**examples[order[i]]).loss / a["accumulate"]
        loss.backward()
        total += loss.item()
        i += 1
    norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    print(json.dumps({"step": step + 1, "loss": total, "grad_norm": norm.item()}), flush=True)
'''


def transformers_side(a, data: Path) -> dict:
    spec = {**vars(a), "data": str(data), "root": str(ROOT)}
    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_VERBOSITY": "error"}
    times, peak, stdout = run_measured([sys.executable, "-c", PYTHON_SIDE, json.dumps(spec)], env)
    losses = [json.loads(l)["loss"] for l in stdout.splitlines() if l.startswith("{")]
    return {"step_times": times, "peak_rss": peak, "losses": losses}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models" / "tiny-gemma3n"))
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--method", default="lora", choices=["lora", "selective"])
    p.add_argument("--target-modules", default="q_proj,v_proj")
    p.add_argument("--trainable", default="attn")
    p.add_argument("--r", type=int, default=16)
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--accumulate", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--gemma", default=str(ROOT / "build" / "tools" / "gemma"))
    p.add_argument("--json-out")
    a = p.parse_args()
    if a.steps < 4:
        sys.exit("--steps must be at least 4 (the first two are warm-up)")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.jsonl"
        write_data(data, a.tokens)
        g = gemma_side(a, data, Path(tmp) / "out")
        t = transformers_side(a, data)
    rows = []
    for side in (g, t):
        side["step_seconds"] = statistics.median(side["step_times"][1:])
    ratio_time = g["step_seconds"] / t["step_seconds"]
    ratio_mem = g["peak_rss"] / t["peak_rss"]
    title = (f"{Path(a.model).name}, {a.dtype}, {a.method} "
             f"({a.target_modules + f' r{a.r}' if a.method == 'lora' else a.trainable}), ~{a.tokens} tokens, "
             f"batch 1 x {a.accumulate} accumulated, {a.threads} threads"
             f"{', gradient checkpointing' if a.gradient_checkpointing else ''}")
    print(f"\n{title}\n")
    print("| | gemma | transformers + PEFT | gemma / transformers |")
    print("|---|---|---|---|")
    print(f"| optimizer step (s) | {g['step_seconds']:.3f} | {t['step_seconds']:.3f} | {ratio_time:.2f} |")
    print(f"| peak RSS (MiB) | {g['peak_rss'] / 2**20:.0f} | {t['peak_rss'] / 2**20:.0f} | {ratio_mem:.2f} |")
    print(f"| first loss | {g['losses'][0]:.4f} | {t['losses'][0]:.4f} | |")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({"args": vars(a), "gemma": g, "transformers": t}, indent=2))


if __name__ == "__main__":
    main()
