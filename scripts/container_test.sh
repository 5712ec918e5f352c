#!/usr/bin/env bash
# Builds the cpu image of deploy/docker/Dockerfile, runs it as deployed, and passes the server's
# openai-client test (tests/integration/server_openai.py) with every `gemma` that test starts
# running in a container of that image (docs/deployment.md, "Checks").
#   scripts/container_test.sh           podman; GEMMA_CONTAINER_ENGINE=docker for Docker
# Needs an engine that can run containers here and ~10 GB of disk. The first build takes about half
# an hour (bootstrap + a full compile); later ones reuse the layers. Exit 77: no usable engine.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/env.sh"
cd "$GEMMA_ROOT"
engine=${GEMMA_CONTAINER_ENGINE:-podman}
image=${GEMMA_IMAGE:-localhost/gemma:cpu}
base=${GEMMA_BASE_IMAGE:-debian:bookworm-slim}
run_id=gemma-container-test-$$
say() { echo "container_test: $*" >&2; }

command -v "$engine" >/dev/null || { say "no $engine (apt-get install podman)"; exit 77; }
"$engine" info >/dev/null 2>&1 || { say "$engine cannot run: $("$engine" info 2>&1 | tail -1)"; exit 77; }
eng=("$engine")
[[ $engine == podman ]] && eng+=(--log-level=error)  # its warnings would garble gemma's stderr

# The base image: from the registry, or made from Debian's own packages with debootstrap.
if ! "${eng[@]}" image inspect "$base" >/dev/null 2>&1 &&
  ! "${eng[@]}" pull -q "$base" >/dev/null 2>&1; then
  base=localhost/gemma-debootstrap:bookworm
  if ! "${eng[@]}" image inspect "$base" >/dev/null 2>&1; then
    say "no registry image; making $base with debootstrap"
    command -v debootstrap >/dev/null ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
    root=$(mktemp -d)
    debootstrap --variant=minbase --include=ca-certificates bookworm "$root" \
      http://deb.debian.org/debian >/dev/null
    # This host's own CAs (a TLS-inspecting egress proxy, where there is one) are trusted inside,
    # and pip is told to use the system bundle rather than its own.
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null ||
      true
    chroot "$root" update-ca-certificates >/dev/null
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
      "$root"/usr/share/{doc,man}/*
    tar -C "$root" -c . |
      "${eng[@]}" import --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' - "$base" \
        >/dev/null
    rm -rf "$root"
  fi
fi

# A host that is itself a sandbox may need runc and lower rlimits (deploy/docker/podman-sandbox.conf).
err=$(mktemp)
if [[ $engine == podman ]] && ! "${eng[@]}" run --rm --network host "$base" true 2>"$err"; then
  say "plain podman run failed ($(tail -1 "$err")): using deploy/docker/podman-sandbox.conf"
  export CONTAINERS_CONF=$GEMMA_ROOT/deploy/docker/podman-sandbox.conf
  "${eng[@]}" run --rm --network host "$base" true
fi
rm -f "$err"

build=(build -f deploy/docker/Dockerfile --target cpu --build-arg "BASE_IMAGE=$base" -t "$image")
# podman: Docker's image format (OCI has no HEALTHCHECK), the ignore file Docker finds by itself,
# and the host's network for apt and pip in RUN steps.
[[ $engine == podman ]] && build+=(--format docker --network host
  --ignorefile deploy/docker/Dockerfile.dockerignore)
say "building $image from $base"
"${eng[@]}" "${build[@]}" .
size=$("${eng[@]}" image inspect --format '{{.Size}}' "$image")
say "image $image: $((size / 1000000)) MB"

work=$(mktemp -d)
cleanup() {
  local ids
  ids=$("${eng[@]}" ps -aq --filter "label=$run_id" 2>/dev/null || true)
  # shellcheck disable=SC2086  # a list of ids
  [[ -z $ids ]] || "${eng[@]}" rm -f $ids >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The image as a pod runs it: its own user, read-only root, no capabilities, the key from the
# environment; then HEALTHCHECK, the key, and a drain that exits 0 on stop.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key=sk-container-test
"${eng[@]}" run -d --name "$run_id" --label "$run_id" --network host --read-only --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges -e GEMMA_API_KEY=$key -e GEMMA_HEALTH_PORT="$port" \
  -v "$GEMMA_ROOT/models/tiny-gemma3n:/models/tiny-gemma3n:ro" "$image" \
  serve --model /models/tiny-gemma3n --host 127.0.0.1 --port "$port" >/dev/null
for _ in $(seq 120); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 1
done
check() {
  if "${@:2}"; then
    echo "ok   $1"
  else
    say "FAILED: $1"
    "${eng[@]}" logs "$run_id" 2>&1 | tail -20 >&2
    exit 1
  fi
}
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "the container answers /health" test "$(status "http://127.0.0.1:$port/health")" = 200
if [[ $engine == podman ]]; then
  check "its HEALTHCHECK passes" "${eng[@]}" healthcheck run "$run_id"
else
  sleep 35  # Docker runs the check itself, every 30 s
  check "its HEALTHCHECK passes" test "$("${eng[@]}" inspect -f '{{.State.Health.Status}}' "$run_id")" = healthy
fi
check "the server runs as uid 10001" test "$("${eng[@]}" exec "$run_id" id -u)" = 10001
check "a request without the key gets 401" test "$(status "http://127.0.0.1:$port/v1/models")" = 401
check "GEMMA_API_KEY is accepted" \
  test "$(status -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/models")" = 200
"${eng[@]}" stop -t 40 "$run_id" >/dev/null
check "stop drains and exits 0" \
  test "$("${eng[@]}" inspect --format '{{.State.ExitCode}}' "$run_id")" = 0
"${eng[@]}" rm "$run_id" >/dev/null

# 2. The whole openai-client suite, each `gemma` it runs (serve and run) in a fresh container. It
# hands gemma files it made itself (a 0600 HMAC secret under TMPDIR), so these run as the caller.
# The test reads serve's first stderr line: no health check timer may log anything before it.
tmp=${TMPDIR:-/tmp}
cat >"$work/gemma" <<WRAP
#!/bin/sh
exec ${eng[*]} run --rm --network host --no-healthcheck --label $run_id --user $(id -u):$(id -g) \\
  -v $GEMMA_ROOT/models:$GEMMA_ROOT/models:ro -v $GEMMA_ROOT/tests/data:$GEMMA_ROOT/tests/data:ro \\
  -v $tmp:$tmp $image "\$@"
WRAP
chmod +x "$work/gemma"
PYTHONUNBUFFERED=1 "$GEMMA_VENV/bin/python" tests/integration/server_openai.py --cli "$work/gemma" \
  --model "$GEMMA_ROOT/models/tiny-gemma3n" --data "$GEMMA_ROOT/tests/data"

# 3. deploy/k8s/training's Job in miniature: two containers as ranks 0 and 1 of one data parallel
# `gemma train` (Gloo on the CPU), given torchrun's variables as the Job gives them, writing into
# one shared directory as the image's user (the ReadWriteMany volume).
mkdir -m 0777 "$work/train" "$work/train/out"
chat='{"messages": [{"role": "user", "content": "What is the capital of France?"}, '
chat+='{"role": "assistant", "content": "Paris is the capital of France."}]}'
printf '%s\n' "$chat" "$chat" "$chat" "$chat" >"$work/train/train.jsonl"
for rank in 1 0; do
  "${eng[@]}" run -d --name "$run_id-rank$rank" --label "$run_id" --network host --no-healthcheck \
    --read-only --tmpfs /tmp --cap-drop ALL -e RANK=$rank -e WORLD_SIZE=2 -e LOCAL_RANK=0 \
    -e MASTER_ADDR=127.0.0.1 -e MASTER_PORT="$port" -e OMP_NUM_THREADS=1 \
    -v "$GEMMA_ROOT/models/tiny-gemma3n:/models/tiny-gemma3n:ro" -v "$work/train:/data" "$image" \
    train --model=/models/tiny-gemma3n --data=/data/train.jsonl --output=/data/out --method=lora \
    --target-modules=all-linear --device=cpu --per-device-train-batch-size=1 \
    --gradient-accumulation-steps=2 --max-steps=2 --save-steps=2 --lora-r=4 --lora-alpha=8 >/dev/null
done
for rank in 0 1; do
  check "training rank $rank exits 0" test "$("${eng[@]}" wait "$run_id-rank$rank")" = 0
done
check "rank 0 saved the adapter and checkpoint-2" \
  test -f "$work/train/out/adapter_model.safetensors" -a -d "$work/train/out/checkpoint-2"
say "image $image ($((size / 1000000)) MB) passed"
