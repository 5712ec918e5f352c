#!/usr/bin/env python3
"""Runs gemma_bench, then bench_transformers.py, with the same arguments (one model in memory at a time) and prints
both sides' figures and the ratios gemma / transformers as a Markdown table (bench/README.md defines the figures).

    ~/.cache/gemma/venv/bin/python bench/run_bench.py --model DIR [--device cpu] [--dtype bfloat16] [--threads 2]
        [--runs 1] [--warmup 1] [--prompt-tokens 512] [--new-tokens 64] [--image PATH] [--kinds text,image]
        [--gemma-bench build/bench/gemma_bench] [--json-out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ["model", "device", "dtype", "threads", "runs", "warmup", "prompt_tokens", "new_tokens", "image", "kinds"]
# (key, label, how to read the ratio)
FIGURES = [
    ("load_seconds", "load (s)", "< 1: gemma faster"),
    ("time_to_first_token_seconds", "time to first token (s)", "< 1: gemma faster"),
    ("prefill_tokens_per_second", "prefill (tokens/s)", "> 1: gemma faster"),
    ("decode_tokens_per_second", "decode (tokens/s)", "> 1: gemma faster"),
    ("total_seconds", "generate total (s)", "< 1: gemma faster"),
    ("peak_memory_bytes", "peak RSS (GiB)", "< 1: gemma smaller"),
]


def run_side(name: str, command: list[str]) -> dict[str, dict]:
    """Runs one side; its stderr passes through, its stdout is one JSON object per prompt kind."""
    print(f"== {name}: {' '.join(command)}", file=sys.stderr, flush=True)
    start = time.time()
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    print(f"== {name} done in {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {r["kind"]: r for r in reports}


def shared_arguments(args: argparse.Namespace) -> list[str]:
    result = []
    for key in SHARED:
        value = getattr(args, key)
        if value is not None:
            result += [f"--{key.replace('_', '-')}", str(value)]
    return result


def fmt(key: str, value: float) -> str:
    return f"{value / 2**30:.2f}" if key == "peak_memory_bytes" else f"{value:.3g}"


def table(gemma: dict, transformers: dict) -> str:
    lines = ["| prompt | figure | gemma | transformers | gemma / transformers |", "|---|---|---|---|---|"]
    for kind, g in gemma.items():
        t = transformers[kind]
        prompt = f"{kind}: {g['prompt_tokens']} + {g['new_tokens']} tokens"
        for key, label, reading in FIGURES:
            ratio = g[key] / t[key] if t[key] else float("nan")
            lines.append(f"| {prompt} | {label} | {fmt(key, g[key])} | {fmt(key, t[key])} | {ratio:.2f} ({reading}) |")
            prompt = ""
    return "\n".join(lines)


def agreement(gemma: dict, transformers: dict) -> list[str]:
    """Same prompt ids is a precondition of the comparison; same greedy output is reported, not required."""
    notes = []
    for kind, g in gemma.items():
        t = transformers[kind]
        if g["ids_hash"] != t["ids_hash"]:
            raise SystemExit(f"{kind} prompt: the two sides tokenized differently (ids hash {g['ids_hash']} vs "
                             f"{t['ids_hash']}); the figures are not comparable")
        same = "the same" if g["output_hash"] == t["output_hash"] else "different"
        notes.append(f"{kind}: prompt ids identical (hash {g['ids_hash']}); greedy output {same} tokens")
    return notes


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--image")
    parser.add_argument("--kinds", default="text,image")
    parser.add_argument("--gemma-bench", default=str(ROOT / "build/bench/gemma_bench"))
    parser.add_argument("--json-out", type=Path, help="also write both sides' reports here")
    args = parser.parse_args()

    shared = shared_arguments(args)
    loads = [f"before gemma: {load_average()}"]
    gemma = run_side("gemma", [args.gemma_bench, *shared])
    loads.append(f"before transformers: {load_average()}")
    transformers = run_side("transformers", [sys.executable, str(ROOT / "bench/bench_transformers.py"), *shared])
    loads.append(f"after: {load_average()}")

    print(table(gemma, transformers))
    print()
    for note in agreement(gemma, transformers):
        print(f"- {note}")
    first = next(iter(gemma.values()))
    print(f"- {args.device}, {args.dtype}, {first['threads']} threads, median of {args.runs} run(s) after "
          f"{args.warmup} warm-up; load average (1/5/15 min) {'; '.join(loads)}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"gemma": gemma, "transformers": transformers, "load_average": loads},
                                            indent=2) + "\n")


if __name__ == "__main__":
    main()
