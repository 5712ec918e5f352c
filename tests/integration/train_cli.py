#!/usr/bin/env python3
"""`gemma train`, `gemma merge` and `--adapter` end to end on the bundled tiny model (standard library only).

Classes (one CTest each):
  resume   kill -9 while a checkpoint is being written: the previous checkpoints stay intact, and
           --resume-from-checkpoint latest gives the losses of an uninterrupted run
  ddp      2 local Gloo workers (--nproc-per-node 2) with batch 1 each give the losses of 1 worker with
           gradient accumulation 2
  outputs  eval + save_total_limit + load_best_model_at_end, trainer_state.json, loss.png, TensorBoard events,
           --log-json lines; the adapter in `gemma run --adapter` and `gemma merge` + run give the same tokens
  errors   bad data, flags and adapters: one line naming the input, exit 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ARGS = None


def fail(message: str) -> None:
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def train_cmd(output: Path, *extra: str) -> list[str]:
    return [ARGS.cli, "train", "--model", ARGS.model, "--data", str(ARGS.data / "train.jsonl"),
            "--output", str(output), "--learning-rate", "2e-5", "--per-device-train-batch-size", "1",
            "--logging-steps", "1", "--disable-tqdm", "--log-json", *extra]


def losses(stdout: str) -> dict[int, float]:
    out = {}
    for line in stdout.splitlines():
        entry = json.loads(line)
        if "loss" in entry:
            out[entry["step"]] = entry["loss"]
    return out


def run(cmd: list[str], expect: int = 0, timeout: float = 600) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != expect:
        fail(f"{' '.join(cmd)} exited {p.returncode} (expected {expect}):\n{p.stderr[-3000:]}")
    return p


def fresh(name: str) -> Path:
    path = ARGS.work / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def close(a: dict[int, float], b: dict[int, float], tolerance: float, what: str) -> None:
    if sorted(a) != sorted(b):
        fail(f"{what}: steps differ: {sorted(a)} vs {sorted(b)}")
    worst = max(abs(a[s] - b[s]) / abs(b[s]) for s in a)
    print(f"{what}: {len(a)} steps, worst relative difference {worst:.2e}")
    if worst > tolerance:
        fail(f"{what}: losses differ by {worst:.2e} relative (> {tolerance}): {a} vs {b}")


def check_checkpoint(path: Path) -> int:
    """A complete checkpoint: every file present and readable; returns its step."""
    state = json.loads((path / "trainer_state.json").read_text())
    for name in ("optimizer.safetensors", "trainable.safetensors"):
        data = (path / name).read_bytes()
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + n])
        end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
        if len(data) != 8 + n + end:
            fail(f"{path / name} is truncated")
    return state["global_step"]


def test_resume() -> None:
    # Selective training of every parameter makes each checkpoint ~9 MB: long enough to be caught mid-write.
    extra = ["--method", "selective", "--trainable", ".", "--gradient-accumulation-steps", "2", "--max-steps", "10",
             "--save-steps", "1"]
    reference = losses(run(train_cmd(fresh("resume_reference"), *extra)).stdout)
    for attempt in range(20):
        out = fresh("resume_killed")
        p = subprocess.Popen(train_cmd(out, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        caught = None
        while p.poll() is None and caught is None:
            for entry in os.scandir(out):
                step = entry.name.split(".")[0].removeprefix("checkpoint-")
                if ".tmp-" in entry.name and step.isdigit() and int(step) >= 2:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()
                    # Caught mid-write only if the temporary directory was not renamed yet.
                    if (out / entry.name).exists():
                        caught = entry.name
                    break
        p.communicate()
        if caught:
            break
        p.kill()
    else:
        fail("never caught a checkpoint write in 20 runs")
    complete = sorted(int(d.name.split("-")[1]) for d in out.iterdir()
                      if d.name.startswith("checkpoint-") and d.name.split("-")[1].isdigit())
    for step in complete:
        if check_checkpoint(out / f"checkpoint-{step}") != step:
            fail(f"checkpoint-{step} has another step in trainer_state.json")
    print(f"killed while writing {caught}; intact checkpoints {complete}")
    resumed = losses(run(train_cmd(out, *extra, "--resume-from-checkpoint", "latest")).stdout)
    if min(resumed) != complete[-1] + 1:
        fail(f"resumed at step {min(resumed)}, expected {complete[-1] + 1}")
    if any(".tmp-" in d.name or ".old-" in d.name for d in out.iterdir()):
        fail("the killed write's temporary directory was not cleaned up")
    close(resumed, {s: reference[s] for s in resumed}, 1e-6, "resumed vs uninterrupted")


def test_ddp() -> None:
    extra = ["--method", "lora", "--target-modules", "q_proj,v_proj", "--max-steps", "6", "--save-strategy", "no",
             "--seed", "7", "--learning-rate", "1e-4"]
    single = losses(run(train_cmd(fresh("ddp_single"), *extra, "--gradient-accumulation-steps", "2")).stdout)
    double = losses(run(train_cmd(fresh("ddp_two"), *extra, "--gradient-accumulation-steps", "1",
                                  "--nproc-per-node", "2")).stdout)
    close(double, single, 1e-5, "2 Gloo workers vs 1 worker with accumulation 2")


def test_outputs() -> None:
    out = fresh("outputs")
    p = run(train_cmd(out, "--target-modules", "all-linear", "--lora-r", "4", "--max-steps", "8",
                      "--eval-data", str(ARGS.data / "eval.jsonl"), "--eval-strategy", "steps", "--eval-steps", "2",
                      "--save-steps", "2", "--save-total-limit", "2", "--load-best-model-at-end",
                      "--report-to", "tensorboard", "--learning-rate", "1e-3"))
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    train_lines = [e for e in lines if "loss" in e]
    if len(train_lines) != 8 or set(train_lines[0]) != {"step", "epoch", "loss", "learning_rate", "grad_norm"}:
        fail(f"--log-json lines: {lines[:3]}")
    state = json.loads((out / "trainer_state.json").read_text())
    best = Path(state["best_model_checkpoint"]).name
    kept = sorted(d.name for d in out.iterdir() if d.name.startswith("checkpoint-"))
    if best not in kept or "checkpoint-8" not in kept or len(kept) != 2 and not (len(kept) == 1 and best == "checkpoint-8"):
        fail(f"save_total_limit 2 with the best {best} kept {kept}")
    evals = [e["eval_loss"] for e in state["log_history"] if "eval_loss" in e]
    if len(evals) != 4 or state["best_metric"] != min(evals):
        fail(f"best_metric {state['best_metric']} is not the lowest eval loss of {evals}")
    if (out / "loss.png").read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        fail("loss.png is not a PNG")
    events = list((out / "runs").glob("events.out.tfevents.*"))
    if len(events) != 1 or events[0].stat().st_size < 200:
        fail(f"TensorBoard events: {events}")
    config = json.loads((out / "adapter_config.json").read_text())
    if config["peft_type"] != "LORA" or config["r"] != 4 or not config["target_modules"]:
        fail(f"adapter_config.json: {config}")
    print(f"best {best} (eval loss {state['best_metric']:.4f}), kept {kept}, {events[0].stat().st_size} B of events")

    prompt = ["--prompt", "Say something.", "--greedy", "--max-new-tokens", "12", "--json"]
    with_adapter = json.loads(run([ARGS.cli, "run", "--model", ARGS.model, "--adapter", str(out), *prompt]).stdout)
    merged = fresh("merged")
    run([ARGS.cli, "merge", "--model", ARGS.model, "--adapter", str(out), "--output", str(merged)])
    from_merged = json.loads(run([ARGS.cli, "run", "--model", str(merged), *prompt]).stdout)
    base = json.loads(run([ARGS.cli, "run", "--model", ARGS.model, *prompt]).stdout)
    if with_adapter["token_ids"] != from_merged["token_ids"]:
        fail(f"--adapter {with_adapter['token_ids']} vs merged {from_merged['token_ids']}")
    if with_adapter["token_ids"] == base["token_ids"]:
        fail("the adapter changed nothing: its tokens equal the base model's")
    print(f"--adapter and the merged checkpoint give the same {len(from_merged['token_ids'])} tokens")

    # Mixed precision: bfloat16 base weights, float32 adapters, with gradient checkpointing.
    p = run(train_cmd(fresh("bf16"), "--target-modules", "all-linear", "--max-steps", "3", "--bf16",
                      "--gradient-checkpointing", "--save-strategy", "no"))
    bf16 = losses(p.stdout)
    if len(bf16) != 3 or not all(0 < v < 100 for v in bf16.values()):
        fail(f"--bf16 losses {bf16}")
    data = (ARGS.work / "bf16" / "adapter_model.safetensors").read_bytes()
    header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    if {v["dtype"] for k, v in header.items() if k != "__metadata__"} != {"F32"}:
        fail("adapters trained over bfloat16 weights must stay float32")
    print(f"--bf16 --gradient-checkpointing: losses {[round(v, 3) for v in bf16.values()]}")


def test_errors() -> None:
    bad = fresh("errors")
    (bad / "bad.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": 5}\n')
    (bad / "empty.jsonl").write_text("\n\n")
    broken_adapter = bad / "adapter"
    broken_adapter.mkdir()
    (broken_adapter / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 4, "lora_alpha": 8, '
                                                        '"target_modules": ["q_proj"]}')
    (broken_adapter / "adapter_model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    cases = [
        (["--data", str(bad / "bad.jsonl"), "--target-modules", "q_proj"], "bad.jsonl:2"),
        (["--data", str(bad / "empty.jsonl"), "--target-modules", "q_proj"], "no conversations"),
        (["--data", str(bad / "missing.jsonl"), "--target-modules", "q_proj"], "missing.jsonl"),
        (["--target-modules", "no_such_layer"], "match no Linear layer"),
        (["--method", "selective", "--trainable", "^nothing$"], "matches no parameter"),
        (["--method", "selective"], "--trainable"),
        (["--target-modules", "q_proj", "--lr-scheduler-type", "wiggly"], "wiggly"),
        (["--target-modules", "q_proj", "--resume-from-checkpoint", "latest"], "no checkpoint"),
        (["--adapter", str(broken_adapter)], "adapter_model.safetensors"),
    ]
    for extra, needle in cases:
        cmd = train_cmd(bad / "out", "--max-steps", "1")
        if "--data" in extra:
            i = cmd.index("--data")
            del cmd[i:i + 2]
        p = run(cmd + extra, expect=1, timeout=120)
        message = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        if not message.startswith("gemma: [gemma.") or needle not in message:
            fail(f"{extra}: expected one error line naming '{needle}', got: {p.stderr[-500:]}")
    print(f"{len(cases)} bad inputs refused with a clear message")


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True, type=Path, help="tests/data/golden/train/data")
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--class", dest="klass", required=True, choices=["resume", "ddp", "outputs", "errors"])
    ARGS = parser.parse_args()
    ARGS.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    {"resume": test_resume, "ddp": test_ddp, "outputs": test_outputs, "errors": test_errors}[ARGS.klass]()
    print(f"train.{ARGS.klass}: passed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
