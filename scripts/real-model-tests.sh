#!/usr/bin/env bash
# The checks against the real models (greedy references, tokenizer ids, e5 embeddings), which the
# ordinary test run skips: they need the installed models (`lodestar models fetch`) and a few
# minutes. Release build, as the models are slow in debug.
set -euo pipefail
cd "$(dirname "$0")/.."
# They are the module `real_models` of lodestar-infer's one integration-test binary (`it`): the
# binary's other modules are skipped, so a test name given here narrows the real-model tests only.
skip=()
for m in $(sed -n 's/^mod \([a-z0-9_]*\);$/\1/p' crates/lodestar-infer/tests/it/main.rs); do
  [ "$m" = real_models ] || skip+=(--skip "$m::")
done
LODESTAR_REAL_MODELS=1 cargo test --release -p lodestar-infer --test it -- --nocapture "${skip[@]}" "$@"
