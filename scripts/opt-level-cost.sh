#!/usr/bin/env bash
# What `[profile.dev.package."*"] opt-level` (the optimization in dev and test builds of the
# dependencies not listed by name in Cargo.toml; the listed ones keep their own level) costs in compilation and saves in the test run, in CPU seconds (user + sys, so a busy
# machine does not skew it): a cold `cargo test --workspace --no-run` into a scratch target
# directory, then `cargo test --workspace` on it, for each level given (default: 0 1 2).
#
#   scripts/opt-level-cost.sh [LEVEL…]      # results in target/opt-level-cost/<level>.{build,test}.time
#
# Each level needs a cold target directory of about 5 GB (removed after its test run).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/opt-level-cost
mkdir -p "$out"
cpu() { awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.0f", u+s}' "$1"; }
for level in "${@:-0 1 2}"; do
  for l in $level; do
    dir=$(mktemp -d "${TMPDIR:-/tmp}/lodestar-opt$l.XXXX")
    cfg="profile.dev.package.\"*\".opt-level=$l"
    CARGO_TARGET_DIR=$dir /usr/bin/time -v -o "$out/$l.build.time" \
      cargo test --workspace --no-run --config "$cfg" >"$out/$l.build.log" 2>&1
    CARGO_TARGET_DIR=$dir /usr/bin/time -v -o "$out/$l.test.time" \
      cargo test --workspace --config "$cfg" >"$out/$l.test.log" 2>&1 || echo "opt-level $l: some tests failed (see $out/$l.test.log)"
    rm -rf "$dir"
    echo "opt-level $l: build $(cpu "$out/$l.build.time") CPU s, tests $(cpu "$out/$l.test.time") CPU s"
  done
done
