#!/usr/bin/env bash
# stepwise against llama.cpp on this machine, one after the other in one run: batch-1 decode of the same
# random-weight Qwen2.5-0.5B shape (bench/write_bench_model), converted by `stepwise convert` to the GGUF
# files llama.cpp reads (bf16, q8_0, q4_0). llama.cpp is the build the npm package node-llama-cpp ships
# (prebuilt CPU libraries; scripts/fetch_npm.sh installs it), with its own llama-bench compiled here from the
# sources the package bundles. Prints one markdown table: tokens/s of each side, stepwise / llama.cpp, and
# each as a fraction of the read bandwidth measured in the same run (bench_kernels' streaming probe).
# Compare on an idle machine: ggml's threads spin while they wait, and both sides move with any other load.
# In a virtual machine the table also gives the CPU time the host stole during the run (/proc/stat).
#   bench/compare_llama_cpp.sh [BUILD_DIR]       (default: build; needs bench_decode, bench_kernels,
#                                                 write_bench_model and stepwise built there)
#   STEPWISE_COMPARE_THREADS   thread counts (default: "1 2")
#   STEPWISE_COMPARE_CONTEXTS  cached context lengths (default: "128 2048"); llama-bench generates
#                              STEPWISE_COMPARE_TOKENS tokens after that many (its --n-depth)
#   STEPWISE_COMPARE_TOKENS    tokens llama-bench generates per run (default: 64)
#   STEPWISE_COMPARE_WORK      working directory (default: BUILD_DIR/compare_llama_cpp; the model and GGUF
#                              files, about 3 GB, are kept there and reused)
# Takes about 10 minutes with the defaults on 2 cores (most of it llama-bench's repetitions and the
# stepwise decode steps at context 2048).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
work=${STEPWISE_COMPARE_WORK:-$build/compare_llama_cpp}
threads=${STEPWISE_COMPARE_THREADS:-"1 2"}
contexts=${STEPWISE_COMPARE_CONTEXTS:-"128 2048"}
tokens=${STEPWISE_COMPARE_TOKENS:-64}
for binary in bench/bench_decode bench/bench_kernels bench/write_bench_model bin/stepwise; do
  [ -x "$build/$binary" ] || { echo "error: $build/$binary is not built (ninja -C $build ${binary##*/})" >&2; exit 2; }
done
mkdir -p "$work"

# llama.cpp: the npm package's libraries and a llama-bench built against them.
modules=$root/.cache/npm/node_modules
[ -d "$modules/@node-llama-cpp/linux-x64/bins/linux-x64" ] || bash "$root/scripts/fetch_npm.sh" >&2
libs=$modules/@node-llama-cpp/linux-x64/bins/linux-x64
sources=$work/llama.cpp
if [ ! -f "$sources/tools/llama-bench/llama-bench.cpp" ]; then
  rm -rf "$sources"
  git clone --quiet "$modules/node-llama-cpp/llama/gitRelease.bundle" "$sources" 2>/dev/null
fi
bench_dir=$work/llama-bench
if [ ! -x "$bench_dir/llama-bench" ]; then
  mkdir -p "$bench_dir"
  echo "compare: building llama-bench against $libs" >&2
  g++ -O2 -DNDEBUG -std=c++17 -I"$sources/common" -I"$sources/include" -I"$sources/ggml/include" \
    -I"$sources/tools/llama-bench" -I"$sources/vendor" \
    "$sources/tools/llama-bench/llama-bench.cpp" "$sources/tools/llama-bench/main.cpp" \
    "$libs"/libllama-common.so "$libs"/libllama.v*.so "$libs"/libggml.v*.so "$libs"/libggml-base.so \
    -Wl,-rpath,"$libs" -o "$bench_dir/llama-bench"
  # ggml loads its CPU backends from the executable's directory.
  for backend in "$libs"/libggml-cpu-*.so; do ln -sf "$backend" "$bench_dir/"; done
fi

# The same weights for both sides.
model=$work/qwen2.5-0.5b-shape
[ -f "$model/model.safetensors" ] || "$build/bench/write_bench_model" "$model" >&2
for type in bf16 q8_0 q4_0; do
  [ -f "$work/model-$type.gguf" ] || "$build/bin/stepwise" convert --model "$model" --to gguf --type "$type" \
    --out "$work/model-$type.gguf" >&2
done

fail() {
  echo "error: $1 failed; its messages:" >&2
  tail -20 "$work/log.txt" >&2
  exit 1
}

# Both sides, one after the other.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# CPU time (all states, and the part a hypervisor stole) from /proc/stat's "cpu" line, before and after.
cpu_ticks() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $9; exit}' /proc/stat 2>/dev/null || echo "0 0"; }
ticks_before=$(cpu_ticks)
echo "compare: read-bandwidth probe" >&2
"$build/bench/bench_kernels" --benchmark_filter='^read_bandwidth/' --benchmark_format=json \
  > "$work/read_bandwidth.json" 2>"$work/log.txt" || fail "bench_kernels"
context_regex=$(echo "$contexts" | tr ' ' '|')
for t in $threads; do
  echo "compare: stepwise, $t thread(s)" >&2
  STEPWISE_THREADS=$t "$build/bench/bench_decode" --benchmark_format=json \
    --benchmark_filter="^decode_step/(bfloat16|int8|int4)/batch:1/context:($context_regex)/min_time" \
    > "$work/stepwise-t$t.json" 2>"$work/log.txt" || fail "bench_decode"
  for type in bf16 q8_0 q4_0; do
    for c in $contexts; do
      echo "compare: llama.cpp $type, $t thread(s), context $c" >&2
      "$bench_dir/llama-bench" -m "$work/model-$type.gguf" -p 0 -n "$tokens" -d "$c" -t "$t" -r 3 -o json \
        > "$work/llama-$type-t$t-c$c.json" 2>"$work/log.txt" || fail "llama-bench"
    done
  done
done

ticks_after=$(cpu_ticks)
/usr/bin/python3 - "$work" "$threads" "$contexts" "$ticks_before" "$ticks_after" <<'PY'
import json, os, sys
work, threads, contexts = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
(total_0, steal_0), (total_1, steal_1) = (map(float, sys.argv[i].split()) for i in (4, 5))
read_bw = json.load(open(os.path.join(work, "read_bandwidth.json")))["benchmarks"][0]["bytes_per_s"]
pairs = [("bfloat16", "bf16", "BF16"), ("int8", "q8_0", "Q8_0"), ("int4", "q4_0", "Q4_0")]
print(f"Read bandwidth (bench_kernels read_bandwidth/stream_sum, this run): {read_bw / 1e9:.1f} GB/s")
if total_1 > total_0:  # steal: CPU time a hypervisor took while this machine's CPUs wanted to run (0 on bare metal)
    print(f"CPU time stolen by the host during the run: {100 * (steal_1 - steal_0) / (total_1 - total_0):.1f} %")
print()
print("| threads | context | stepwise | tokens/s | of read bw | llama.cpp | tokens/s | of read bw | stepwise / llama.cpp |")
print("|---|---|---|---|---|---|---|---|---|")
for t in threads:
    # Names carry Google Benchmark's suffixes: decode_step/bfloat16/batch:1/context:128/min_time:2.000/real_time.
    ours = {b["name"].split("/min_time")[0]: b
            for b in json.load(open(os.path.join(work, f"stepwise-t{t}.json")))["benchmarks"]}
    for c in contexts:
        for fmt, gguf, label in pairs:
            row = ours.get(f"decode_step/{fmt}/batch:1/context:{c}")
            theirs = json.load(open(os.path.join(work, f"llama-{gguf}-t{t}-c{c}.json")))
            ts = theirs[0]["avg_ts"] if theirs else None
            size = theirs[0]["model_size"] if theirs else None  # bytes of the GGUF file's weights
            ours_ts = row["tokens_per_s"] if row else None
            ours_frac = row["bytes_per_s"] / read_bw if row else None
            their_frac = size * ts / read_bw if ts and size else None
            fmt_num = lambda v, spec: "—" if v is None else format(v, spec)
            ratio = ours_ts / ts if ours_ts and ts else None
            print(f"| {t} | {c} | {fmt} | {fmt_num(ours_ts, '.1f')} | {fmt_num(ours_frac, '.2f')} | {label} | "
                  f"{fmt_num(ts, '.1f')} | {fmt_num(their_frac, '.2f')} | {fmt_num(ratio, '.2f')} |")
print("\nllama.cpp's fraction counts its weight bytes only (model_size x tokens/s), stepwise's the weights and KV "
      "bytes bench_decode reports; a row without a stepwise format is '—'.")
PY
