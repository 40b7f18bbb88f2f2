#!/usr/bin/env bash
# Data-parallel training when a rank dies:
#   1. `stepwise train --nproc 2` whose rank 1 gets SIGKILL after the first saved state: the launcher names
#      the killed rank and its signal, kills rank 0 at once and exits non-zero; the same command run again
#      resumes from the saved state (rank 0 wrote it) and finishes.
#   2. Two ranks started by hand with torchrun's variables (no launcher that knows them): rank 1 killed
#      mid-run makes rank 0's next all-reduce fail with an error saying another rank died.
#   3. A rank that fails before the rendezvous (the fault-injection variable STEPWISE_FAULT_INJECT_EXIT_RANK)
#      ends the --nproc run at once, not at --dist-timeout: the launcher names rank 1 and its exit code.
#   4. The same in an experiment whose train: block has world_size: 2: run_experiment fails naming the
#      model and the rank, marks nothing finished, and a rerun without the fault trains the model.
#   usage: test_data_parallel_kill.sh STEPWISE RUN_EXPERIMENT
set -u
stepwise=$1
run_experiment=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { echo "ok: $1"; passes=$((passes + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

train_flags=(train --task sudoku --objective ar --preset small --steps 60 --batch-size 16 --train-size 64 --val-size 8
  --validation-subset 4 --teacher-forced --no-eval --threads 1 --precision float32 --save-every 5)
train() { "$stepwise" "${train_flags[@]}" --dist-timeout 60 --nproc 2 --out "$work/out"; }

# The pid of the process whose command line holds $1 and whose environment holds RANK=$2.
rank_pid() {
  local pid
  for pid in $(pgrep -f -- "$1"); do
    grep -qz "^RANK=$2\$" "/proc/$pid/environ" 2>/dev/null && { echo "$pid"; return; }
  done
}

# Waits (up to 60 s) for the file $1.
wait_for() {
  for _ in $(seq 1 1200); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

# 1. --nproc 2, rank 1 killed after the first saved state.
train >"$work/first.log" 2>&1 &
launcher=$!
wait_for "$work/out/training_state.safetensors"
rank1=$(rank_pid "--out $work/out" 1)
if [ -n "$rank1" ]; then
  kill -KILL "$rank1"
  pass "rank 1 (pid $rank1) killed after the first saved state"
else
  fail "no rank 1 process found under the launcher $launcher"
fi
wait "$launcher"
code=$?
[ "$code" -ne 0 ] && pass "the launcher exits $code" || fail "the launcher exits 0 after a rank was killed"
# Rank 0 is killed at once unless its all-reduce failed and it ended first (then it is reported too).
grep -q "data-parallel training: rank 1 was killed by signal 9 (Killed)" "$work/first.log" &&
  pass "the launcher names the killed rank" || { fail "no message naming the killed rank"; cat "$work/first.log"; }
[ -z "$(pgrep -f -- "--out $work/out")" ] && pass "no rank left running" || fail "ranks left running"

if train >"$work/second.log" 2>&1; then pass "rerun finishes"; else fail "rerun"; cat "$work/second.log"; fi
grep -q "train (resumed)" "$work/second.log" && pass "the rerun resumed from the saved state" ||
  { fail "the rerun did not resume"; cat "$work/second.log"; }
steps=$(sed -n 's/.*"steps": *\([0-9]*\).*/\1/p' "$work/out/training_summary.json" | head -1)
[ "$steps" = "60" ] && pass "training summary: 60 steps" || fail "training summary steps '$steps'"

# 2. Ranks from torchrun's variables, rank 1 killed mid-run: rank 0's collective reports it.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for rank in 0 1; do
  RANK=$rank WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    "$stepwise" "${train_flags[@]}" --dist-timeout 60 --out "$work/manual" >"$work/manual-$rank.log" 2>&1 &
  eval "manual$rank=\$!"
done
wait_for "$work/manual/training_state.safetensors"
{ kill -KILL "$manual1" && wait "$manual1"; } 2>/dev/null  # reaped here, so the shell reports nothing
wait "$manual0"
code=$?
[ "$code" -ne 0 ] && pass "rank 0 of a hand-started pair exits $code after rank 1 was killed" ||
  fail "rank 0 exits 0 after rank 1 was killed"
grep -q "rank 0 of 2: the gradient all-reduce failed" "$work/manual-0.log" && grep -q "another rank has died" "$work/manual-0.log" &&
  pass "rank 0 ends with a clear error" || { fail "rank 0's error"; cat "$work/manual-0.log"; }

# 3. Rank 1 fails before the rendezvous. Without the launcher's kill rank 0 would wait for it until
# --dist-timeout (100 s here, then 30 s more before the old launcher killed it); ending well before that
# (the limit below) shows it was killed when rank 1 failed, not that the run is fast.
start=$(date +%s)
STEPWISE_FAULT_INJECT_EXIT_RANK=1 "$stepwise" "${train_flags[@]}" --dist-timeout 100 --nproc 2 --out "$work/early" \
  >"$work/early.log" 2>&1
code=$?
elapsed=$(($(date +%s) - start))
[ "$code" -eq 2 ] && pass "the launcher exits with rank 1's code 2" || { fail "exit $code, want 2"; cat "$work/early.log"; }
grep -q "STEPWISE_FAULT_INJECT_EXIT_RANK=1 (fault injection for tests) makes this rank fail before the rendezvous" \
  "$work/early.log" && pass "rank 1 says why it failed" || { fail "rank 1's message"; cat "$work/early.log"; }
grep -q "data-parallel training: rank 1 exited with code 2" "$work/early.log" &&
  grep -q "data-parallel training: killing the ranks still running (0)" "$work/early.log" &&
  pass "the launcher names rank 1 and its exit code and kills rank 0" || { fail "the launcher's messages"; cat "$work/early.log"; }
[ "$elapsed" -lt 50 ] && pass "the run ended ${elapsed} s after its start, not at the 100 s timeout" ||
  fail "the run took $elapsed s: rank 0 was left to its timeout"
[ -z "$(pgrep -f -- "--out $work/early")" ] && pass "no rank left running" || fail "ranks left running"

# 4. An experiment's world_size: 2 block whose rank 1 fails before the rendezvous.
mkdir -p "$work/exp"
cat >"$work/exp/spec.yaml" <<EOF
name: dp-kill
output_dir: $work/exp/results
cache_dir: $work/exp/models
threads: 2
task: {type: sudoku, size: 4, givens: 10, num_examples: 4, seed: 7}
models:
  ar:
    train: {objective: ar, preset: custom, layers: 1, hidden: 32, heads: 2, intermediate: 64, steps: 4,
            batch_size: 16, train_examples: 64, precision: float32, validation_decoder: teacher-forced,
            validation_examples: 4, world_size: 2}
decoders:
  - {name: greedy, type: ar, model: ar}
EOF
STEPWISE_FAULT_INJECT_EXIT_RANK=1 "$run_experiment" "$work/exp/spec.yaml" >"$work/exp.log" 2>&1
code=$?
[ "$code" -eq 2 ] && pass "run_experiment exits 2 when a rank fails" || { fail "run_experiment exit $code"; cat "$work/exp.log"; }
grep -q "data-parallel training: rank 1 exited with code 2" "$work/exp.log" &&
  grep -q "data-parallel training: killing the ranks still running (0)" "$work/exp.log" &&
  grep -q "error: model ar: data-parallel training over 2 ranks failed" "$work/exp.log" &&
  pass "run_experiment names the rank and the model" || { fail "run_experiment's messages"; cat "$work/exp.log"; }
[ -z "$(find "$work/exp/models" -name finished.txt)" ] && pass "the model is not marked finished" ||
  fail "a failed training left finished.txt"
if "$run_experiment" "$work/exp/spec.yaml" >"$work/exp-again.log" 2>&1 &&
  [ -n "$(find "$work/exp/models" -name finished.txt)" ]; then
  pass "the rerun takes the lock, trains on 2 ranks and finishes"
else
  fail "the rerun"; cat "$work/exp-again.log"
fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
