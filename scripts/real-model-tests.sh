#!/usr/bin/env bash
# The checks against the real models (greedy references, tokenizer ids, e5 embeddings), which the
# ordinary test run skips: they need the installed models (`lodestar models fetch`) and a few
# minutes. Release build, as the models are slow in debug.
set -euo pipefail
cd "$(dirname "$0")/.."
LODESTAR_REAL_MODELS=1 cargo test --release -p lodestar-infer --test real_models -- --nocapture "$@"
