#!/usr/bin/env python3
"""Fine-tuning references (tests/data/golden/train) from the committed models/tiny-gemma3n, with transformers and
PEFT (scripts/requirements-fixtures.txt); run by hand, never in CI:
    ~/.cache/gemma/venv/bin/python scripts/make_train_fixtures.py
With --check-gemma CLI (a built `gemma`), it instead trains each LoRA case with gemma, loads gemma's adapter into
transformers with PEFT and prints the logits' relative error against the PEFT-trained reference (bound: 1e-4).
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

from fixtures import goldens_train  # noqa: E402
from fixtures.common import GOLDEN_DIR, Manifest, seed_everything, versions, write_json  # noqa: E402


def main() -> None:
    seed_everything(0)
    if len(sys.argv) == 3 and sys.argv[1] == "--check-gemma":
        errors = goldens_train.check_gemma_adapters(Path(sys.argv[2]).resolve())
        sys.exit(0 if all(e <= 1e-4 for e in errors.values()) else 1)
    manifest = Manifest()
    goldens_train.train_goldens(manifest)
    write_json(GOLDEN_DIR / "train" / "MANIFEST.json", {"generator": "scripts/make_train_fixtures.py",
                                                       "versions": versions(), "files": manifest.files})


if __name__ == "__main__":
    main()
