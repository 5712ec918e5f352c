#!/usr/bin/env python3
"""Runs gemma_bench, then bench_transformers.py, with the same arguments (one model in memory at a time), then
optionally llama.cpp's llama-bench on GGUF files, and prints the figures and the ratios gemma / other side as a
Markdown table (bench/README.md defines the figures).

    ~/.cache/gemma/venv/bin/python bench/run_bench.py --model DIR [--device cpu] [--dtype bfloat16] [--threads 2]
        [--runs 1] [--warmup 1] [--prompt-tokens 512] [--new-tokens 64] [--image PATH] [--kinds text,image]
        [--gemma-bench build/bench/gemma_bench] [--json-out results.json] [--skip-gemma] [--skip-transformers]
        [--gemma-int8]
        [--llama-bench PATH --gguf model-bf16.gguf --gguf model-q8_0.gguf]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LLAMA_BENCH = Path.home() / ".cache/gemma/llama.cpp/build-0.3.36/bin/llama-bench"  # scripts/build_llama_bench.sh
NO_LLAMA_IMAGE = "n/a: llama-bench measures text only"
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


def llama_bench(command: list[str], verbose_log: bool = False) -> tuple[dict, int, str]:
    """Runs llama-bench once: its JSON report (one test), the child's own peak RSS in bytes (the ru_maxrss that
    wait4 returns for it alone; RUSAGE_CHILDREN would be the maximum over all children so far) and, with
    verbose_log, its stderr (otherwise passed through)."""
    print(f"== llama.cpp: {' '.join(command)}", file=sys.stderr, flush=True)
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log if verbose_log else None, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        err = log.read()
    if proc.returncode != 0:
        raise SystemExit(f"{err[-4000:]}llama-bench failed with status {proc.returncode}")
    (report,) = json.loads(out)
    return report, usage.ru_maxrss * 1024, err


def run_llama(args: argparse.Namespace, gguf: str) -> dict:
    """The llama.cpp side on one GGUF, text prompt only; the figures mirror the other sides' (bench/README.md):
    load, then prefill (pp test) and decode after the prompt (tg test at depth = prompt tokens) as separate runs."""
    start = time.time()
    base = [args.llama_bench, "-m", gguf, "-o", "json"] + (["-t", str(args.threads)] if args.threads else [])
    warmup = [] if args.warmup else ["--no-warmup"]  # llama-bench has one warm-up run per test, or none
    n, m, runs = args.prompt_tokens, args.new_tokens, str(args.runs)
    # load: llama.cpp's own load time (model load start to the end of the first decode) less that first decode,
    # a 1-token generation without warm-up
    one, rss_load, log = llama_bench(base + ["-p", "0", "-n", "1", "-r", "1", "--no-warmup", "-v"], verbose_log=True)
    found = re.findall(r"load time =\s*([0-9.]+) ms", log)
    if not found:
        raise SystemExit(f"{log[-4000:]}no 'load time' in llama-bench's log")
    load = float(found[-1]) / 1e3 - one["samples_ns"][0] / 1e9
    pp, rss_pp, _ = llama_bench(base + ["-p", str(n), "-n", "0", "-r", runs, *warmup])
    tg, rss_tg, _ = llama_bench(base + ["-p", "0", "-n", str(m), "-d", str(n), "-r", runs, *warmup])
    prefill = statistics.median(pp["samples_ns"]) / 1e9
    decode = statistics.median(tg["samples_ns"]) / 1e9
    print(f"== llama.cpp {gguf} done in {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    return {
        "kind": "text", "prompt_tokens": n, "new_tokens": m, "threads": pp["n_threads"],
        "load_seconds": load,
        "time_to_first_token_seconds": prefill,
        "prefill_tokens_per_second": n / prefill,
        "decode_tokens_per_second": m / decode,
        "total_seconds": prefill + decode * (m - 1) / m,  # a generate call: the prefill, then m - 1 decode steps
        "peak_memory_bytes": max(rss_load, rss_pp, rss_tg),
        "model_type": pp["model_type"], "model_size": pp["model_size"], "model_n_params": pp["model_n_params"],
        "build_commit": pp["build_commit"], "cpu_info": pp["cpu_info"], "backends": pp["backends"],
        "prefill_samples_ns": pp["samples_ns"], "decode_samples_ns": tg["samples_ns"],
    }


def gguf_label(gguf: str) -> str:
    """model-q8_0.gguf -> llama.cpp q8_0"""
    return "llama.cpp " + re.sub(r"^model-", "", Path(gguf).name.removesuffix(".gguf"))


def shared_arguments(args: argparse.Namespace, **override: str) -> list[str]:
    result = []
    for key in SHARED:
        value = override.get(key, getattr(args, key))
        if value is not None:
            result += [f"--{key.replace('_', '-')}", str(value)]
    return result


def fmt(key: str, value: float) -> str:
    return f"{value / 2**30:.2f}" if key == "peak_memory_bytes" else f"{value:.3g}"


def table(gemma: dict | None, transformers: dict | None, llama: dict[str, dict] | None = None,
          gemma_int8: dict | None = None) -> str:
    """Columns: gemma, [gemma int8], transformers, gemma / transformers (as before), then per GGUF llama.cpp and
    gemma / llama.cpp (and gemma int8 / llama.cpp q8_0 for a q8_0 file); a skipped side leaves out its columns
    and the ratios that need it."""
    llama = llama or {}
    sides = [(name, side) for name, side in (("gemma", gemma), ("gemma int8", gemma_int8),
                                             ("transformers", transformers)) if side is not None]
    others = ([("transformers", transformers)] if transformers is not None else []) + [
        (label, {"text": report}) for label, report in llama.items()]
    columns = [name for name, _ in sides]
    if gemma is not None and transformers is not None:
        columns.append("gemma / transformers")
    def int8_pair(label: str) -> bool:
        return gemma_int8 is not None and label.endswith("q8_0")

    for label in llama:
        columns.append(label)
        if gemma is not None:
            columns.append(f"gemma / {label}")
        if int8_pair(label):
            columns.append(f"gemma int8 / {label}")
    lines = ["| prompt | figure | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    kinds = list(dict.fromkeys(kind for _, side in sides for kind in side)) or (["text"] if llama else [])
    for kind in kinds:
        first = next((side[kind] for _, side in sides if kind in side), None) or next(iter(llama.values()))
        prompt = f"{kind}: {first['prompt_tokens']} + {first['new_tokens']} tokens"
        for row, (key, label, reading) in enumerate(FIGURES):
            cells = [fmt(key, side[kind][key]) if kind in side else "n/a" for _, side in sides]
            for name, other in others:
                o = other.get(kind)
                if name != "transformers":
                    cells.append(fmt(key, o[key]) if o else (NO_LLAMA_IMAGE if row == 0 else "n/a"))
                numerators = ([gemma] if gemma is not None else []) + ([gemma_int8] if int8_pair(name) else [])
                for numerator in numerators:
                    g = numerator.get(kind)
                    ratio = g[key] / o[key] if g and o and o[key] else float("nan")
                    cells.append(f"{ratio:.2f} ({reading})" if g and o else "n/a")
            lines.append(f"| {prompt} | {label} | " + " | ".join(cells) + " |")
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
    parser.add_argument("--model", help="the checkpoint directory (not read by the llama.cpp side)")
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
    parser.add_argument("--json-out", type=Path, help="also write all sides' reports here")
    parser.add_argument("--skip-gemma", action="store_true", help="leave out the gemma side")
    parser.add_argument("--gemma-int8", action="store_true", help="also run gemma with --dtype int8 (int8 weights, "
                        "bfloat16 activations) as a column of its own")
    parser.add_argument("--skip-transformers", action="store_true", help="leave out the transformers side")
    parser.add_argument("--llama-bench", default=str(LLAMA_BENCH), help="llama.cpp's llama-bench (the llama.cpp "
                        "side runs when --gguf is given; scripts/build_llama_bench.sh builds it)")
    parser.add_argument("--gguf", action="append", default=[], help="a GGUF of the same checkpoint for the "
                        "llama.cpp side (scripts/convert_gguf.sh), text prompt only; repeatable")
    args = parser.parse_args()
    if args.gguf and args.device != "cpu":
        parser.error("the llama.cpp side is built for the CPU only (--device cpu)")
    if args.gguf and "text" not in args.kinds.split(","):
        parser.error("the llama.cpp side measures the text prompt only; --kinds must include text")
    if args.skip_gemma and args.skip_transformers and not args.gguf:
        parser.error("nothing to run")
    if not (args.skip_gemma and args.skip_transformers) and not args.model:
        parser.error("--model is required for the gemma and transformers sides")

    shared = shared_arguments(args)
    loads, gemma, transformers, llama = [], None, None, {}
    if not args.skip_gemma:
        loads.append(f"before gemma: {load_average()}")
        gemma = run_side("gemma", [args.gemma_bench, *shared])
    gemma_int8 = None
    if args.gemma_int8:
        loads.append(f"before gemma int8: {load_average()}")
        gemma_int8 = run_side("gemma int8", [args.gemma_bench, *shared_arguments(args, dtype="int8")])
    if not args.skip_transformers:
        loads.append(f"before transformers: {load_average()}")
        transformers = run_side("transformers", [sys.executable, str(ROOT / "bench/bench_transformers.py"), *shared])
    for gguf in args.gguf:
        loads.append(f"before {gguf_label(gguf)}: {load_average()}")
        llama[gguf_label(gguf)] = run_llama(args, gguf)
    loads.append(f"after: {load_average()}")

    print(table(gemma, transformers, llama, gemma_int8))
    print()
    if gemma is not None and transformers is not None:
        for note in agreement(gemma, transformers):
            print(f"- {note}")
    first = next(iter((gemma or transformers or {"text": next(iter(llama.values()), {})}).values()))
    print(f"- {args.device}, {args.dtype}, {first['threads']} threads, median of {args.runs} run(s) after "
          f"{args.warmup} warm-up; load average (1/5/15 min) {'; '.join(loads)}")
    for label, report in llama.items():
        print(f"- {label}: {report['model_type']}, {report['model_size'] / 2**30:.2f} GiB of weights, llama.cpp "
              f"{report['build_commit']} ({report['backends']}, {report['cpu_info']}), {report['threads']} threads, "
              f"random prompt ids (llama-bench does not tokenize), decode measured after a prompt-long context; "
              f"{min(args.warmup, 1)} warm-up")
    if args.json_out:
        args.json_out.write_text(json.dumps({"gemma": gemma, "gemma int8": gemma_int8,
                                             "transformers": transformers, "llama.cpp": llama,
                                             "load_average": loads}, indent=2) + "\n")


if __name__ == "__main__":
    main()
