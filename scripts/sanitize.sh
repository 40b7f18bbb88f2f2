#!/usr/bin/env bash
# Builds the whole project with AddressSanitizer and UndefinedBehaviorSanitizer (g++, its own build
# directory) and runs the test suite there through ctest. Any sanitizer report fails the test it
# happens in. LibTorch, HDF5 and the other Debian libraries are not instrumented; see docs/fuzzing.md
# for what they need and for how long this takes.
#   STEPWISE_ASAN_BUILD_DIR  build directory (default: build-asan)
#   STEPWISE_JOBS            parallel compile jobs (default: number of cores)
#   STEPWISE_ASAN_TARGETS    build only these targets (space-separated; default: everything), for
#                            rerunning a few tests: their executables and what they run must be listed
#   extra arguments          passed to ctest (e.g. -R test_scorers)
set -euo pipefail
cd "$(dirname "$0")/.."

# g++ ships its sanitizer runtimes as libasan8 / libubsan1; scripts/setup.sh installs the rest.
missing=()
for package in libasan8 libubsan1; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ -f .cache/qwen3/tokenizer.json ] || bash scripts/fetch_tokenizer.sh

build_dir=${STEPWISE_ASAN_BUILD_DIR:-build-asan}
jobs=${STEPWISE_JOBS:-$(nproc)}
sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer"
start=$(date +%s)
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DSTEPWISE_BUILD_BENCH=OFF
fi
targets=()
for target in ${STEPWISE_ASAN_TARGETS:-}; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
built=$(date +%s)
echo "sanitize: built in $((built - start)) s"

# Leak detection stays on: the LibTorch-linked fuzz targets run clean with it (docs/fuzzing.md); if
# LibTorch's own start-up allocations are ever reported, run with ASAN_OPTIONS=detect_leaks=0.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export STEPWISE_THREADS=${STEPWISE_THREADS:-2}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
status=0
ctest --test-dir "$build_dir" --output-on-failure --timeout 1800 -j 1 "$@" || status=$?
echo "sanitize: tests ran in $(($(date +%s) - built)) s, ctest exit $status"
exit "$status"
