#!/usr/bin/env bash
# Runs the numeric tests (every GoogleTest binary that runs a model) once under each float32 BLAS
# kernel family this CPU can execute and once under each bfloat16 kernel level, so that a tolerance
# tied to one CPU's kernels fails here rather than on another machine.
#   float32:  OpenBLAS picks its kernels at run time from the CPU; OPENBLAS_CORETYPE forces a family.
#             Only families whose instructions /proc/cpuinfo lists are run (a forced family the CPU
#             lacks dies of an illegal instruction), and a family this OpenBLAS cannot force (it then
#             falls back to the detected one, reported as "Core: ..." with OPENBLAS_VERBOSE=2) is skipped.
#   bfloat16: oneDNN picks its kernels the same way; ONEDNN_MAX_CPU_ISA caps them (never above what
#             the CPU has, so every cap is safe): AMX, AVX-512 BF16, or bfloat16 emulated on AVX-512.
#             Lower caps are not a machine that exists: LibTorch sends bfloat16 matmuls to oneDNN
#             whenever the CPU has AVX-512, and oneDNN capped at AVX2 then has no kernel for them.
#   project kernels: core/kernels (the bfloat16 models' small linear products on the CPU) has a
#             reference, an AVX2 and an AVX-512 path; `stepwise kernels` lists those this CPU can
#             execute (one name per line) and each is run with STEPWISE_KERNELS=<name>. test_kernels
#             itself forces every path in turn (and reports a path the CPU lacks as skipped).
# Usage: bash scripts/test_portability.sh
#   STEPWISE_BUILD_DIR      build directory (default: build)
#   STEPWISE_CORETYPES      space-separated OPENBLAS_CORETYPE values to try instead of every family
#   STEPWISE_ONEDNN_ISAS    space-separated ONEDNN_MAX_CPU_ISA values to try instead of every level
#   STEPWISE_REPORT_BOUNDS  set: the tests also print each measured difference against its bound and
#                           each greedy margin (tests/support/fixture_utils.h), and the logs are kept
# Exit status 0 when every selected configuration passes, 1 otherwise; a summary table ends the output.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${STEPWISE_BUILD_DIR:-build}

numeric_tests=(test_kernels test_attention test_transformer test_checkpoint test_ar_decoder test_speculative_decoder test_prefix_store
               test_diffusion_fixtures test_diffusion_batches test_diffusion_cli test_diffusion_properties
               test_training test_text_generate)

if [ ! -f "$build_dir/build.ninja" ]; then
  bash scripts/setup.sh
else
  cmake --build "$build_dir" --target "${numeric_tests[@]}"
fi

# Same environment as scripts/test.sh: two torch threads, quiet OpenMP, single-threaded OpenBLAS.
export STEPWISE_THREADS=${STEPWISE_THREADS:-2}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() {  # has FLAG...: the CPU lists every flag
  local flag
  for flag in "$@"; do [[ "$flags" == *" $flag "* ]] || return 1; done
}

# OpenBLAS x86-64 kernel families and the instructions their kernels use.
can_run_coretype() {
  case "$1" in
    Prescott | Opteron_SSE3) has pni ;;
    Core2 | Atom) has pni ssse3 ;;
    Penryn | Dunnington) has pni ssse3 sse4_1 ;;
    Nehalem) has pni ssse3 sse4_1 sse4_2 popcnt ;;
    Barcelona) has pni sse4a ;;
    Bobcat) has pni ssse3 sse4a ;;
    Sandybridge) has avx ;;
    Bulldozer) has avx fma4 xop ;;
    Piledriver | Steamroller) has avx fma fma4 xop ;;
    Excavator) has avx2 fma fma4 xop ;;
    Haswell | Zen) has avx2 fma ;;
    SkylakeX) has avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl ;;
    Cooperlake) has avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16 ;;
    SapphireRapids) has avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16 amx_bf16 amx_tile ;;
    *) return 1 ;;
  esac
}
all_coretypes="Prescott Core2 Atom Penryn Nehalem Barcelona Bobcat Sandybridge Bulldozer Piledriver Steamroller
Excavator Haswell Zen SkylakeX Cooperlake SapphireRapids"

# oneDNN ISA caps, highest first, and what the CPU needs for the cap to change anything.
can_use_isa() {
  case "$1" in
    AVX512_CORE_AMX) has amx_bf16 amx_tile ;;
    AVX512_CORE_BF16) has avx512_bf16 ;;
    AVX512_CORE) has avx512f avx512bw avx512dq avx512vl ;;
    *) return 1 ;;
  esac
}
all_isas="AVX512_CORE_AMX AVX512_CORE_BF16 AVX512_CORE"

# The OpenBLAS kernel family that loads with OPENBLAS_CORETYPE=$1 (none: the detected one), from the
# "Core: X" line OPENBLAS_VERBOSE=2 prints at start-up; "unforced" when OpenBLAS does not know the name.
loaded_core() {
  local report
  if [ -n "$1" ]; then
    report=$(OPENBLAS_VERBOSE=2 OPENBLAS_CORETYPE="$1" "$build_dir/tests/test_checkpoint" --gtest_list_tests 2>&1 >/dev/null)
  else
    report=$(OPENBLAS_VERBOSE=2 "$build_dir/tests/test_checkpoint" --gtest_list_tests 2>&1 >/dev/null)
  fi
  if grep -q '^Core not found' <<<"$report"; then echo unforced; else sed -n 's/^Core: //p' <<<"$report" | head -1; fi
}

summary=()
failed=0
# run_all LABEL ENV...: every numeric test binary with the extra environment; records pass/fail.
run_all() {
  local label=$1
  shift
  local start=$SECONDS status=pass name log
  for name in "${numeric_tests[@]}"; do
    log="$log_dir/$(tr -c 'A-Za-z0-9_\n' '_' <<<"$label")-$name.log"
    if ! env "$@" "$build_dir/tests/$name" --gtest_brief=1 >"$log" 2>&1; then
      status=FAIL
      echo "FAIL $label $name (log: $log)"
      grep -E -A3 'Failure$' "$log" | head -40 || true
    fi
  done
  echo "$status $label ($((SECONDS - start)) s)"
  summary+=("$(printf '%-44s %s %4d s' "$label" "$status" "$((SECONDS - start))")")
  [ "$status" = pass ] || failed=1
}

log_dir=$(mktemp -d "${TMPDIR:-/tmp}/stepwise-portability.XXXXXX")
total_start=$SECONDS
default_core=$(loaded_core "")
echo "CPU: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); OpenBLAS default kernel: ${default_core:-unknown}"
echo "logs: $log_dir"

run_all "openblas default (${default_core:-?})"
for core in ${STEPWISE_CORETYPES:-$all_coretypes}; do
  if ! can_run_coretype "$core"; then
    summary+=("$(printf '%-44s %s' "openblas $core" 'skipped: CPU lacks its instructions')")
    continue
  fi
  loaded=$(loaded_core "$core")
  if [ "$loaded" != "$core" ]; then  # "unforced", or another family than asked for
    summary+=("$(printf '%-44s %s' "openblas $core" "skipped: this OpenBLAS cannot force it ($loaded)")")
    continue
  fi
  run_all "openblas $core" OPENBLAS_CORETYPE="$core"
done

for isa in ${STEPWISE_ONEDNN_ISAS:-$all_isas}; do
  if ! can_use_isa "$isa"; then
    summary+=("$(printf '%-44s %s' "onednn max $isa" 'skipped: CPU lacks it, or not a cap listed above')")
    continue
  fi
  run_all "onednn max $isa" ONEDNN_MAX_CPU_ISA="$isa"
done

# Hook for the project's own kernels: only when the binary lists them.
if "$build_dir/bin/stepwise" --help 2>&1 | grep -qw kernels; then
  while read -r kernel; do
    [ -n "$kernel" ] && run_all "stepwise kernels $kernel" STEPWISE_KERNELS="$kernel"
  done < <("$build_dir/bin/stepwise" kernels)
else
  summary+=("$(printf '%-44s %s' "stepwise kernels" 'none: this stepwise binary has no `kernels` command')")
fi

echo
echo "numeric tests: ${numeric_tests[*]}"
printf '%s\n' "${summary[@]}"
echo "total $((SECONDS - total_start)) s"
if [ "$failed" -eq 0 ] && [ -z "${STEPWISE_REPORT_BOUNDS:-}" ]; then rm -rf "$log_dir"; else echo "logs kept in $log_dir"; fi
exit "$failed"
