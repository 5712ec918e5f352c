#!/usr/bin/env python3
"""The Python twin of gemma_bench: the same prompts, generation and figures (bench/README.md), measured with
transformers' Gemma3nForConditionalGeneration on the same checkpoint, dtype and thread count. One JSON object per
prompt kind on stdout, with the same keys as gemma_bench's.

    ~/.cache/gemma/venv/bin/python bench/bench_transformers.py --model DIR [--device cpu] [--dtype bfloat16]
        [--threads N] [--runs R] [--warmup 1] [--prompt-tokens 512] [--new-tokens 64] [--image PATH]
        [--kinds text,image]
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import sys
import time
from pathlib import Path

import torch
from transformers.generation.streamers import BaseStreamer

ROOT = Path(__file__).resolve().parents[1]
# Repeated until the templated prompt is long enough; gemma_bench.cpp uses the same text.
FILLER = "The quick brown fox jumps over the lazy dog while five boxing wizards jump quickly. "
IMAGE_QUESTION = "Describe this image."
SEQUENCE_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def ids_hash(ids: list[int]) -> str:
    """FNV-1a over the ids as little-endian int64, as gemma_bench prints it."""
    h = 14695981039346656037
    for byte in struct.pack(f"<{len(ids)}q", *ids):
        h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


class FirstTokenTimer(BaseStreamer):
    """generate()'s first put() is the prompt, the second the first new token."""

    def __init__(self) -> None:
        super().__init__()
        self.puts = 0
        self.first: float | None = None

    def put(self, value) -> None:
        self.puts += 1
        if self.puts == 2:
            self.first = time.perf_counter()

    def end(self) -> None:
        pass


def peak_rss_reset() -> None:
    """Resets VmHWM to the current resident set, as gemma's generate() does at its start."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def chat(processor, content: list[dict]):
    messages = [{"role": "user", "content": content}]
    return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                         return_tensors="pt")


def text_prompt(processor, tokens: int):
    """The filler repeated 1, 2, 4, ... times until the templated prompt has at least `tokens` tokens, then cut to
    exactly `tokens`."""
    content = FILLER
    inputs = chat(processor, [{"type": "text", "text": content}])
    while inputs["input_ids"].shape[1] < tokens:
        content += content
        inputs = chat(processor, [{"type": "text", "text": content}])
    for key in SEQUENCE_KEYS:
        if key in inputs:
            inputs[key] = inputs[key][:, :tokens]
    return inputs


def image_prompt(processor, image: str):
    return chat(processor, [{"type": "image", "path": image}, {"type": "text", "text": IMAGE_QUESTION}])


def generate_once(model, inputs, new_tokens: int) -> dict:
    timer = FirstTokenTimer()
    peak_rss_reset()
    start = time.perf_counter()
    out = model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                         streamer=timer)
    total = time.perf_counter() - start
    tokens = out[0, inputs["input_ids"].shape[1]:].tolist()
    return {"ttft": timer.first - start, "total": total, "tokens": tokens, "peak": peak_rss_bytes()}


def measure(model, inputs, args) -> dict:
    for _ in range(args.warmup):
        generate_once(model, inputs, args.new_tokens)
    runs = [generate_once(model, inputs, args.new_tokens) for _ in range(args.runs)]
    prompt = inputs["input_ids"].shape[1]
    new = len(runs[-1]["tokens"])
    return {
        "prompt_tokens": prompt,
        "new_tokens": new,
        "ids_hash": ids_hash(inputs["input_ids"][0].tolist()),
        "output_hash": ids_hash(runs[-1]["tokens"]),
        "time_to_first_token_seconds": statistics.median(r["ttft"] for r in runs),
        "prefill_tokens_per_second": statistics.median(prompt / r["ttft"] for r in runs),
        "decode_tokens_per_second": statistics.median((new - 1) / (r["total"] - r["ttft"]) for r in runs),
        "total_seconds": statistics.median(r["total"] for r in runs),
        "peak_memory_bytes": int(statistics.median(r["peak"] for r in runs)),
    }


def load_model(path: str, dtype: torch.dtype):
    from transformers import Gemma3nConfig, Gemma3nForConditionalGeneration

    if getattr(Gemma3nConfig.from_pretrained(path).vision_config, "gemma_cpp_layout", None) is None:
        return Gemma3nForConditionalGeneration.from_pretrained(path, dtype=dtype)
    # A vision layout of gemma's own (docs/vision-layout.md: the tiny test models), which timm cannot build; the
    # fixture scripts' loader substitutes the matching encoder.
    sys.path.insert(0, str(ROOT / "scripts"))
    from fixtures.model import load_model as load_tiny_layout_model

    return load_tiny_layout_model(Path(path), dtype)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="bfloat16", choices=["float32", "bfloat16"])
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: torch's default)")
    parser.add_argument("--runs", type=positive, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--prompt-tokens", type=positive, default=512)
    parser.add_argument("--new-tokens", type=positive, default=64, help="at least 2")
    parser.add_argument("--image", default=str(ROOT / "tests/data/images/rgb_landscape_256x160.png"))
    parser.add_argument("--kinds", default="text,image")
    args = parser.parse_args()
    args.kinds = args.kinds.split(",")
    if not set(args.kinds) <= {"text", "image"}:
        parser.error(f"--kinds {','.join(args.kinds)}: the kinds are text and image")
    if args.new_tokens < 2:
        parser.error("--new-tokens must be at least 2: decode speed needs a token after the first")
    return args


def main() -> None:
    args = parse_args()
    from transformers import AutoProcessor

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    start = time.perf_counter()
    model = load_model(args.model, dtype).to(args.device).eval()
    processor = AutoProcessor.from_pretrained(args.model)
    load_seconds = time.perf_counter() - start
    for kind in args.kinds:
        inputs = text_prompt(processor, args.prompt_tokens) if kind == "text" else image_prompt(processor, args.image)
        inputs = inputs.to(args.device, dtype=dtype)  # casts pixel values only; ids stay int64
        report = measure(model, inputs, args)
        report.update({"implementation": "transformers", "kind": kind, "model": args.model, "device": args.device,
                       "dtype": args.dtype, "threads": torch.get_num_threads(), "runs": args.runs,
                       "warmup": args.warmup, "load_seconds": load_seconds})
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
