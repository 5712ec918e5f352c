#!/usr/bin/env python3
"""Generation and extra text reference outputs (tests/data/golden/logits_processors.safetensors,
sampling.json, model_g_multi_turn.safetensors, model_h_hard_tokens.safetensors) from the
committed models/tiny-gemma3n; run by hand after scripts/make_fixtures.py:
    ~/.cache/gemma/venv/bin/python scripts/make_generation_fixtures.py
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
warnings.filterwarnings("ignore")

from fixtures import goldens_generation  # noqa: E402
from fixtures import model as M  # noqa: E402
from fixtures.common import GOLDEN_DIR, MODEL_DIR, Manifest, seed_everything, versions, write_json  # noqa: E402


def main() -> None:
    seed_everything(0)
    manifest = Manifest()
    goldens_generation.processor_goldens(manifest)
    model = M.load_model(MODEL_DIR)
    goldens_generation.sampling_goldens(model, manifest)
    goldens_generation.text_goldens(model, manifest)
    write_json(GOLDEN_DIR / "MANIFEST_generation.json", {"generator": "scripts/make_generation_fixtures.py",
                                                          "versions": versions(), "files": manifest.files})


if __name__ == "__main__":
    main()
