#!/usr/bin/env bash
# Data-parallel training with a rank killed mid-run: `stepwise train --nproc 2` whose rank 1 gets SIGKILL
# after the first saved state ends with a non-zero exit, the launcher naming the killed rank and rank 0
# saying its all-reduce lost the other rank; the same command run again resumes from the saved state
# (rank 0 wrote it) and finishes.
#   usage: test_data_parallel_kill.sh STEPWISE
set -u
stepwise=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { echo "ok: $1"; passes=$((passes + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

train() {
  "$stepwise" train --task sudoku --objective ar --preset small --steps 60 --batch-size 16 --train-size 64 --val-size 8 \
    --validation-subset 4 --teacher-forced --no-eval --threads 1 --precision float32 --save-every 5 --dist-timeout 60 \
    --nproc 2 --out "$work/out"
}

train >"$work/first.log" 2>&1 &
launcher=$!
for _ in $(seq 1 1200); do
  [ -e "$work/out/training_state.safetensors" ] && break
  sleep 0.05
done
rank1=""
for pid in $(pgrep -f -- "--out $work/out"); do  # the launcher and its two ranks: rank 1 by its RANK variable
  grep -qz '^RANK=1$' "/proc/$pid/environ" 2>/dev/null && rank1=$pid
done
if [ -n "$rank1" ]; then
  kill -KILL "$rank1"
  pass "rank 1 (pid $rank1) killed after the first saved state"
else
  fail "no rank 1 process found under the launcher $launcher"
fi
wait "$launcher"
code=$?
[ "$code" -ne 0 ] && pass "the launcher exits $code" || fail "the launcher exits 0 after a rank was killed"
grep -q "rank 1 was killed by signal 9" "$work/first.log" && pass "the launcher names the killed rank" ||
  { fail "no message naming the killed rank"; cat "$work/first.log"; }
grep -q "rank 0 of 2: the gradient all-reduce failed" "$work/first.log" && grep -q "another rank has died" "$work/first.log" &&
  pass "rank 0 ends with a clear error" || { fail "rank 0's error"; cat "$work/first.log"; }
[ -z "$(pgrep -f -- "--out $work/out")" ] && pass "no rank left running" || fail "ranks left running"

if train >"$work/second.log" 2>&1; then pass "rerun finishes"; else fail "rerun"; cat "$work/second.log"; fi
grep -q "train (resumed)" "$work/second.log" && pass "the rerun resumed from the saved state" ||
  { fail "the rerun did not resume"; cat "$work/second.log"; }
steps=$(sed -n 's/.*"steps": *\([0-9]*\).*/\1/p' "$work/out/training_summary.json" | head -1)
[ "$steps" = "60" ] && pass "training summary: 60 steps" || fail "training summary steps '$steps'"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
