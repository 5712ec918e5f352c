#!/usr/bin/env python3
"""Writes a full-size random-weight Gemma 3n E2B model directory for the benchmark (bench/README.md).

The real E2B config (tests/data/configs/gemma-3n-E2B-it/config.json) with every tower at full size: the text
decoder, timm's mobilenetv5_300m_enc vision tower and the USM audio conformer, built directly in bfloat16 with
transformers' and timm's own initialisation (seeded), saved as 2 GB safetensors shards (about 11 GB).

No real Gemma tokenizer is available offline, so the tokenizer is the bundled tiny model's BPE (same Gemma
normaliser, byte fallback, chat template) with its pieces moved to the real checkpoint's ids: <start_of_turn>
105, <end_of_turn> 106, <start_of_image> 255999, <start_of_audio> 256000, the multimodal added tokens at
262144/262145/262272/262273, and unused pieces filling the text vocabulary to 262144. tokenizer.model (read by
gemma) and tokenizer.json (read by transformers) get the same layout, so both sides encode to the same ids;
the other tokenizer/processor files are the real checkpoint's.

    ~/.cache/gemma/venv/bin/python bench/make_random_e2b.py [--dir /tmp/gemma-e2b-random] [--seed 0]

Needs about 14 GB of RAM and 11 GB of disk; a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests/data/configs/gemma-3n-E2B-it"
TINY = ROOT / "models/tiny-gemma3n"

# Copied unchanged from the real checkpoint's files.
REAL_FILES = ["generation_config.json", "preprocessor_config.json", "processor_config.json",
              "special_tokens_map.json", "tokenizer_config.json"]
# Tiny id -> real id (scripts/fixtures/tokenizer.py lays the tiny vocabulary out): the named tokens move to the
# real checkpoint's ids, the tiny pieces at 105/106 take the turn markers' old places; every other id stays.
MOVES = {5: 105, 6: 106, 105: 5, 106: 6, 510: 255999, 511: 256000, 512: 262144, 513: 262145, 640: 262272,
         641: 262273}


def real_id(tiny_id: int) -> int:
    return MOVES.get(tiny_id, tiny_id)


def write_sentencepiece(out: Path, text_vocab: int) -> None:
    from sentencepiece import sentencepiece_model_pb2 as pb

    tiny = pb.ModelProto()
    tiny.ParseFromString((TINY / "tokenizer.model").read_bytes())
    by_new_id = {real_id(i): piece for i, piece in enumerate(tiny.pieces)}
    proto = pb.ModelProto()
    proto.CopyFrom(tiny)
    del proto.pieces[:]
    for i in range(text_vocab):
        piece = proto.pieces.add()
        if i in by_new_id:
            piece.CopyFrom(by_new_id[i])
        else:  # never produced by encoding: sentencepiece skips UNUSED pieces
            piece.piece, piece.score, piece.type = f"<unused{i}>", 0.0, pb.ModelProto.SentencePiece.UNUSED
    (out / "tokenizer.model").write_bytes(proto.SerializeToString())


def write_tokenizer_json(out: Path, text_vocab: int) -> None:
    tj = json.loads((TINY / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = {piece: real_id(i) for piece, i in tj["model"]["vocab"].items()}
    used = set(vocab.values())
    vocab |= {f"<unused{i}>": i for i in range(text_vocab) if i not in used}
    tj["model"]["vocab"] = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    for token in tj["added_tokens"]:
        token["id"] = real_id(token["id"])
    (out / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False), encoding="utf-8")


def write_processor_files(out: Path, text_vocab: int) -> None:
    for name in REAL_FILES:
        shutil.copy(REAL / name, out / name)
    # transformers 5's processor reads its template from here, not from tokenizer_config.json.
    template = json.loads((REAL / "tokenizer_config.json").read_text())["chat_template"]
    (out / "chat_template.jinja").write_text(template, encoding="utf-8")
    write_sentencepiece(out, text_vocab)
    write_tokenizer_json(out, text_vocab)


def build_model(cfg_dict: dict, seed: int):
    from transformers import Gemma3nConfig, Gemma3nForConditionalGeneration

    torch.manual_seed(seed)
    torch.set_default_dtype(torch.bfloat16)  # build in bf16 directly: float32 would need 22 GB
    try:
        return Gemma3nForConditionalGeneration(Gemma3nConfig.from_dict(cfg_dict)).eval()
    finally:
        torch.set_default_dtype(torch.float32)


def check_finite(model) -> None:
    """A short forward through the text decoder: random weights must still give finite logits."""
    ids = torch.tensor([[2, 105, 2364, 107, 818, 5279, 563, 506, 4865, 106, 107, 105, 4368, 107]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    if not torch.isfinite(logits).all():
        raise SystemExit("the random model gives non-finite logits")
    print(f"logits finite, max |logit| {logits.abs().max().item():.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/gemma-e2b-random"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    args.dir.mkdir(parents=True, exist_ok=True)
    cfg_dict = json.loads((REAL / "config.json").read_text())
    cfg_dict["torch_dtype"] = cfg_dict["dtype"] = "bfloat16"
    write_processor_files(args.dir, cfg_dict["text_config"]["vocab_size_per_layer_input"])

    t0 = time.time()
    model = build_model(cfg_dict, args.seed)
    print(f"built {sum(p.numel() for p in model.parameters()) / 1e9:.2f}B parameters in {time.time() - t0:.0f} s")
    check_finite(model)
    t0 = time.time()
    model.save_pretrained(args.dir, max_shard_size="2GB")
    # The real config as it is on the hub (save_pretrained would rewrite it in transformers 5's spelling).
    (args.dir / "config.json").write_text(json.dumps(cfg_dict, indent=2) + "\n")
    for name in REAL_FILES:  # save_pretrained may have rewritten the generation config
        shutil.copy(REAL / name, args.dir / name)
    print(f"saved to {args.dir} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
