#!/usr/bin/env bash
# Sharded sweeps through a real Slurm started on this machine (slurm_localhost.sh): `run_experiment
# --submit slurm` of the smoke config as a 3-task array plus its dependent merge gives the results one
# process writes (results.h5 field by field, summary.csv and predictions.jsonl without their timings);
# a shard cancelled mid-run makes that merge fail naming its runs, and resubmitting that array task and
# the merge then finishes with the same results: nothing lost, nothing duplicated. `srun --ntasks=2
# stepwise train` trains data-parallel with its ranks from SLURM_PROCID / SLURM_NTASKS. When the daemons
# cannot start, says exactly why and exits 77 (ctest reports the test as skipped).
#   usage: test_slurm.sh RUN_EXPERIMENT COMPARE_RESULTS PROJECT_ROOT STEPWISE
set -u
runner=$1
compare=$2
root=$3
stepwise=$4
work=$(mktemp -d)
chmod 755 "$work"
source "$(dirname "$0")/slurm_localhost.sh"
trap 'slurm_stop; rm -rf "$work"' EXIT
failures=0
passes=0
pass() { echo "ok: $1"; passes=$((passes + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }
summary_without_timings() { cut -d, -f1-$(($(head -1 "$1" | tr ',' '\n' | wc -l) - 4)) "$1"; }
predictions_without_timings() { sed -E -e 's/,"wall_s":[^,}]*//' -e 's/,"ttft_s":[^,}]*//' "$1"; }
# same_as_single DIR WHAT: DIR/out's results equal the single process's ($work/b/out).
same_as_single() {
  if "$compare" "$1/out/results.h5" "$work/b/out/results.h5" >"$work/compare.log" 2>&1 &&
    diff <(summary_without_timings "$1/out/summary.csv") <(summary_without_timings "$work/b/out/summary.csv") &&
    diff <(predictions_without_timings "$1/out/predictions.jsonl") <(predictions_without_timings "$work/b/out/predictions.jsonl") \
      >/dev/null; then
    pass "$2: results equal one process's (results.h5 field by field, summary.csv and predictions.jsonl without timings)"
  else
    fail "$2: results differ from one process's"; cat "$work/compare.log"
  fi
}

if ! slurm_start; then
  echo "skipped: Slurm could not be started on this machine"
  exit 77
fi
echo "Slurm running: $(sinfo -h)"

# One spec file with a relative output_dir, run from three directories: a (array), c (array with a
# cancelled shard), b (one process, the reference). The model cache is shared.
sed -e "s|^output_dir: .*|output_dir: out|" -e "s|^cache_dir: .*|cache_dir: $work/cache|" \
  "$root/configs/smoke.yaml" >"$work/spec.yaml"
mkdir -p "$work/a" "$work/b" "$work/c"
if (cd "$work/b" && "$runner" "$work/spec.yaml") >"$work/single.log" 2>&1; then pass "single process"; else fail "single process"; cat "$work/single.log"; fi

# 1. A 3-task array and its merge.
if (cd "$work/a" && "$runner" "$work/spec.yaml" --submit slurm --shards 3 --cpus-per-task 1 --partition debug --time 00:30:00) \
  >"$work/submit_a.log" 2>&1; then pass "--submit slurm"; else fail "--submit slurm"; cat "$work/submit_a.log"; fi
cat "$work/submit_a.log"
slurm_wait_idle 600 && pass "the array and the merge ended" || fail "jobs still queued after 600 s: $(squeue -h)"
grep -q "^merged 6 runs" "$work/a/out/slurm/merge.log" && pass "the merge job merged 6 runs" ||
  { fail "merge job"; cat "$work/a/out/slurm/merge.log" "$work"/a/out/slurm/shard-*.log; }
for i in 0 1 2; do
  [ -s "$work/a/out/shards/$i-of-3/spec.yaml" ] && pass "array task $i ran shard $i-of-3" || fail "no shard $i-of-3"
done
same_as_single "$work/a" "3-task array + merge"

# 2. Shard 2 (four diffusion runs) cancelled mid-run: the merge fails naming its runs; resubmitting the
# task and the merge finishes the sweep.
(cd "$work/c" && "$runner" "$work/spec.yaml" --submit slurm --shards 3 --cpus-per-task 1) >"$work/submit_c.log" 2>&1
array_job=$(sed -n 's/^submitted shards: job array \([0-9]*\).*/\1/p' "$work/submit_c.log")
[ -n "$array_job" ] && pass "second array submitted ($array_job)" || { fail "second submission"; cat "$work/submit_c.log"; }
for _ in $(seq 1 1200); do
  ls "$work"/c/out/shards/2-of-3/journal/*.jsonl >/dev/null 2>&1 && break
  sleep 0.05
done
scancel "${array_job}_2"
slurm_wait_idle 600 || fail "jobs still queued after 600 s: $(squeue -h)"
finished_before=$(grep -l '"kind":"complete"' "$work"/c/out/shards/2-of-3/journal/*.jsonl 2>/dev/null | wc -l)
if [ "$finished_before" -lt 4 ] && grep -q "cannot merge" "$work/c/out/slurm/merge.log" &&
  grep -q "shard 2-of-3" "$work/c/out/slurm/merge.log"; then
  pass "cancelled shard: the merge fails naming the runs of shard 2-of-3 ($finished_before of 4 finished)"
else
  fail "cancelled shard ($finished_before of 4 runs finished before the cancel)"; cat "$work/c/out/slurm/merge.log"
fi
resubmitted=$(sbatch --parsable --array=2 "$work/c/out/slurm/shards.sbatch")
sbatch --parsable --dependency=afterany:"${resubmitted%%;*}" "$work/c/out/slurm/merge.sbatch" >/dev/null
slurm_wait_idle 600 || fail "jobs still queued after 600 s: $(squeue -h)"
grep -q "^merged 6 runs" "$work/c/out/slurm/merge.log" && pass "resubmitted task and merge: 6 runs merged" ||
  { fail "merge after the resubmission"; cat "$work/c/out/slurm/merge.log" "$work/c/out/slurm/shard-2.log"; }
same_as_single "$work/c" "cancelled and resubmitted shard"

# 3. A two-task Slurm step trains data-parallel: the ranks come from SLURM_PROCID and SLURM_NTASKS, the
# rendezvous from SLURM_JOB_NODELIST's first host.
if (cd "$work" && timeout 300 srun --ntasks=2 --cpus-per-task=1 --export=ALL,MASTER_PORT="$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')" \
  "$stepwise" train --task sudoku --objective ar --preset small --steps 4 --batch-size 16 --train-size 64 --val-size 8 \
  --validation-subset 4 --teacher-forced --no-eval --threads 1 --precision float32 --quiet --out "$work/dp") \
  >"$work/srun.log" 2>&1 && grep -q "2 data-parallel ranks" "$work/srun.log" && [ -s "$work/dp/model.safetensors" ]; then
  pass "srun --ntasks=2 stepwise train: two data-parallel ranks from the Slurm variables"
else
  fail "srun --ntasks=2 stepwise train"; cat "$work/srun.log"
fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
