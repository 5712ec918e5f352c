#!/usr/bin/env python3
"""Builds the tiny random-weight Gemma 3n checkpoint (models/tiny-gemma3n) and every reference output the C++ golden
tests compare against (tests/data/golden, tests/data/images, tests/data/audio, tests/data/safetensors fixtures).

Run by hand, never in CI, from any directory:
    scripts/bootstrap.sh --fixtures
    ~/.cache/gemma/venv/bin/python scripts/make_fixtures.py

Deterministic: fixed seeds, one CPU thread, deterministic algorithms; running it again reproduces the same bytes with
the pinned package versions (scripts/requirements-fixtures.txt; MANIFEST.json records the versions used).
See docs/fixtures.md.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
warnings.filterwarnings("ignore")

import torch  # noqa: E402

from fixtures import goldens_model, goldens_pipeline, goldens_text, media, st_fixtures  # noqa: E402
from fixtures import model as M  # noqa: E402
from fixtures import processor as P  # noqa: E402
from fixtures import tokenizer as T  # noqa: E402
from fixtures.common import (  # noqa: E402
    DATA_DIR, GOLDEN_DIR, MODEL_DIR, OWNED_PATHS, OWNED_TOP_LEVEL_FILES, ROOT, Manifest, log, rel, seed_everything, tree_size, versions,
    write_json,
)


def check_tokenizers_equal(a, b) -> None:
    assert len(a) == len(b)
    for s in goldens_text.TOKENIZER_STRINGS:
        assert a(s)["input_ids"] == b(s)["input_ids"], s
        ids = a(s)["input_ids"]
        assert a.decode(ids) == b.decode(ids), s
        assert a.decode(ids, skip_special_tokens=True) == b.decode(ids, skip_special_tokens=True), s


def check_chat_template() -> None:
    """If the copies of the real hub files are in the tree, the embedded template must be byte-identical."""
    from fixtures.texts import CHAT_TEMPLATE

    real = ROOT / "tests" / "data" / "configs" / "gemma-3n-E4B-it" / "chat_template.jinja"
    if real.exists():
        assert real.read_text(encoding="utf-8") == CHAT_TEMPLATE, "chat template differs from the hub's"


def build_checkpoint():
    from transformers import AutoProcessor, GenerationConfig

    check_chat_template()

    sp_model = MODEL_DIR / "tokenizer.model"
    T.train_sentencepiece(sp_model)
    tok = T.build_hf_tokenizer(sp_model)

    cfg = M.make_config()
    model = M.build_model(cfg)
    # As the converter writes it for the instruction-tuned checkpoints (architecture reference section 7).
    model.generation_config = GenerationConfig(
        bos_token_id=T.BOS, pad_token_id=T.PAD, eos_token_id=[T.EOS, T.END_OF_TURN],
        do_sample=True, top_k=64, top_p=0.95, cache_implementation="hybrid",
    )
    M.save_model(model, MODEL_DIR)

    proc = P.build_processor(tok)
    proc.save_pretrained(MODEL_DIR)
    T.finalize_tokenizer_files(MODEL_DIR, sp_model, tok)
    P.write_legacy_preprocessor_config(MODEL_DIR)

    # Everything below uses what was written to disk, so the goldens describe the files the C++ code loads.
    loaded_proc = AutoProcessor.from_pretrained(MODEL_DIR)
    check_tokenizers_equal(tok, loaded_proc.tokenizer)
    assert loaded_proc.chat_template == proc.chat_template
    loaded = M.load_model(MODEL_DIR)
    ref_sd, new_sd = model.state_dict(), loaded.state_dict()
    assert ref_sd.keys() == new_sd.keys()
    for k in ref_sd:
        assert torch.equal(ref_sd[k], new_sd[k]), k
    return loaded, loaded_proc, sp_model


def main() -> None:
    seed_everything(0)
    vers = versions()
    for k, v in vers.items():
        print(f"{k:16s} {v}")
    for p in OWNED_PATHS:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    for d in OWNED_TOP_LEVEL_FILES:
        for p in d.glob("*"):
            if p.is_file():
                p.unlink()

    model, proc, sp_model = build_checkpoint()
    manifest = Manifest()

    images = media.make_images()
    audio = media.make_audio()

    goldens_text.chat_template_goldens(proc, manifest)
    goldens_text.tokenizer_goldens(proc.tokenizer, sp_model, manifest)
    goldens_model.image_goldens(proc, images, manifest)
    goldens_model.audio_goldens(proc, audio, manifest)
    goldens_model.conversation_goldens(proc, manifest)

    model_bf16 = M.load_model(MODEL_DIR, dtype=torch.bfloat16)
    gen_summary = goldens_model.model_goldens(model, proc, manifest, model_bf16=model_bf16)
    goldens_model.tower_goldens(model, manifest)
    goldens_pipeline.pipeline_goldens(model, proc, manifest)

    st_fixtures.all_dtypes(manifest)
    st_fixtures.sharded(manifest)

    model_files = {p.name: p.stat().st_size for p in sorted(MODEL_DIR.iterdir())}
    text_cfg = model.config.text_config
    write_json(GOLDEN_DIR / "MANIFEST.json", {
        "generator": "scripts/make_fixtures.py (see docs/fixtures.md)",
        "versions": vers,
        "determinism": "torch.manual_seed(0), numpy/random seed 0, torch.set_num_threads(1), "
                       "torch.use_deterministic_algorithms(True); weights seeded per tensor name (crc32)",
        "model": {
            "dir": rel(MODEL_DIR),
            "files": model_files,
            "token_ids": dict(T.TOKEN_IDS),
            "text_vocab": T.TEXT_VOCAB, "vocab_size": T.TOTAL_VOCAB,
            "image_size": M.IMAGE_SIZE,
            "vision_soft_tokens_per_image": M.VISION_SOFT_TOKENS,
            "audio_soft_tokens_per_image": M.AUDIO_SOFT_TOKENS,
            "kv_sharing_modes": text_cfg.kv_sharing_modes,
            "num_parameters": sum(p.numel() for p in model.parameters()),
        },
        "generation": gen_summary,
        "files": manifest.files,
    })

    # The other generators write into tests/data/golden too, which this script has just emptied.
    for script in ("make_generation_fixtures.py", "make_train_fixtures.py", "fixtures/train_misc.py",
                   "fixtures/tokenizer_cases.py", "fixtures/jinja_cases.py"):
        subprocess.run([sys.executable, str(Path(__file__).resolve().parent / script)], check=True)

    written = [MODEL_DIR, GOLDEN_DIR, *(p for d in OWNED_TOP_LEVEL_FILES for p in d.glob("*") if p.is_file()),
               DATA_DIR / "safetensors"]
    digest = hashlib.sha256()
    for root in written:
        for p in [Path(root)] if Path(root).is_file() else sorted(Path(root).rglob("*")):
            if p.is_file():
                digest.update(rel(p).encode() + b"\0" + p.read_bytes())
    total = tree_size(written)
    for root in written:
        print(f"{rel(root):32s} {tree_size([root]) / 1e6:8.3f} MB")
    print(f"total written: {total / 1e6:.3f} MB ({total} bytes); content sha256 {digest.hexdigest()}")
    assert total < 25e6, total


if __name__ == "__main__":
    main()
