#!/usr/bin/env bash
# The main job: installs what is missing, builds the `gemma` CLI, chats with the bundled tiny model and
# asks it about an image (random weights: its replies are nonsense, but every code path is real).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/env.sh"
"$here/bootstrap.sh"
gemma_build "$GEMMA_ROOT/build" >/dev/null
cd "$GEMMA_ROOT"
./build/tools/gemma info --model models/tiny-gemma3n
echo
echo '$ gemma run --model models/tiny-gemma3n --prompt "Write a short poem about the sea." --max-new-tokens 32'
./build/tools/gemma run --model models/tiny-gemma3n --prompt "Write a short poem about the sea." \
  --max-new-tokens 32 "$@"
echo
echo '$ gemma run --model models/tiny-gemma3n --image tests/data/images/rgb_landscape_256x160.png --prompt "Describe this image." --max-new-tokens 32'
./build/tools/gemma run --model models/tiny-gemma3n --image tests/data/images/rgb_landscape_256x160.png \
  --prompt "Describe this image." --max-new-tokens 32 "$@"
