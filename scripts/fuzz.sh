#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang with AddressSanitizer and UndefinedBehaviorSanitizer) in
# their own build directory and runs each for SECONDS, starting from the seed corpus and the kept
# regression inputs. New corpus entries and crash files go to a working directory, never into the repo.
# Prints per target the executions, coverage (cov: edges, ft: features) and any crash files; exits
# non-zero when a target crashed, hung or ran out of memory. See docs/fuzzing.md.
#   usage: scripts/fuzz.sh [SECONDS] [TARGET...]     (default 60 seconds, every target)
#   STEPWISE_FUZZ_BUILD_DIR  build directory (default: build-fuzz)
#   STEPWISE_FUZZ_WORK       working directory (default: BUILD_DIR/work)
#   STEPWISE_FUZZ_RSS_MB     memory limit per target, MiB (default: 2048)
#   STEPWISE_FUZZ_TIMEOUT    seconds one input may take before it counts as a hang (default: 10)
#   STEPWISE_JOBS            parallel compile jobs (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
all_targets=(safetensors safetensors_index transformer_config tokenizer_load tokenizer_codec task_records
             experiment_spec run_journal kv_entry gguf chat_template)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# clang and its libFuzzer / sanitizer runtimes (Debian: clang, libclang-rt-14-dev).
missing=()
command -v clang++ >/dev/null 2>&1 || missing+=(clang)
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >/tmp/stepwise-fuzz-probe.cpp
if ! clang++ -fsanitize=fuzzer,address,undefined /tmp/stepwise-fuzz-probe.cpp -o /tmp/stepwise-fuzz-probe 2>/dev/null; then
  missing+=(libclang-rt-14-dev)
fi
rm -f /tmp/stepwise-fuzz-probe /tmp/stepwise-fuzz-probe.cpp
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ -f .cache/qwen3/tokenizer.json ] || bash scripts/fetch_tokenizer.sh

build_dir=${STEPWISE_FUZZ_BUILD_DIR:-build-fuzz}
work=${STEPWISE_FUZZ_WORK:-$build_dir/work}
jobs=${STEPWISE_JOBS:-$(nproc)}
if [ ! -f "$build_dir/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEPWISE_FUZZ=ON \
    -DSTEPWISE_BUILD_TESTS=OFF -DSTEPWISE_BUILD_BENCH=OFF
fi
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]/#/fuzz_}"

# Parsers that read files get them in a private directory; tmpfs keeps the many small writes cheap.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=${TMPDIR:-/dev/shm}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
summary=()
for target in "${targets[@]}"; do
  dir=$work/$target
  rm -rf "$dir/artifacts"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  seeds=("$root/tests/fuzz/corpus/$target")
  [ -d "$root/tests/fuzz_regressions/$target" ] && seeds+=("$root/tests/fuzz_regressions/$target")
  dict=()
  [ -f "$root/tests/fuzz/dict/$target.dict" ] && dict=(-dict="$root/tests/fuzz/dict/$target.dict")
  echo "fuzz: $target for $seconds s"
  status=0
  "$build_dir/fuzz/fuzz_$target" -max_total_time="$seconds" \
    -rss_limit_mb="${STEPWISE_FUZZ_RSS_MB:-2048}" -malloc_limit_mb="${STEPWISE_FUZZ_RSS_MB:-2048}" \
    -timeout="${STEPWISE_FUZZ_TIMEOUT:-10}" -print_final_stats=1 -max_len=65536 "${dict[@]}" \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" "${seeds[@]}" >"$dir/log.txt" 2>&1 || status=$?
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log.txt" | grep -o '[0-9]*$' || true)
  coverage=$(grep -E '^#[0-9]+.*cov: ' "$dir/log.txt" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  crashes=$(find "$dir/artifacts" -type f ! -name 'slow-unit-*' | sort)
  line="$target: ${executions:-?} executions, ${coverage:-no coverage line}, exit $status"
  if [ "$status" -ne 0 ] || [ -n "$crashes" ]; then
    failed=1
    line+=", FAILED (log: $dir/log.txt)"
    for crash in $crashes; do line+=$'\n'"    $crash"; done
  fi
  echo "$line"
  summary+=("$line")
done
echo
echo "fuzz summary ($seconds s per target):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
