#!/usr/bin/env bash
# run_experiment against shared state: two experiments sharing a model cache train each model once (the
# second waits for the first's lock, then reuses its model).
#   usage: test_hostile_runner.sh RUN_EXPERIMENT
set -u
runner=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { echo "ok: $1"; passes=$((passes + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

make_spec() {  # make_spec OUT_NAME FILE
  cat >"$2" <<YAML
name: hostile
output_dir: $work/$1
cache_dir: $work/cache
threads: 1
batch_size: 4
task: {type: sudoku, size: 4, givens: 10, num_examples: 12, seed: 7}
models:
  ar:
    train: {objective: ar, preset: custom, layers: 1, hidden: 32, heads: 2, intermediate: 64, steps: 400,
            batch_size: 16, train_examples: 200, checkpoint_every: 100}
decoders:
  - {name: ar, type: ar, model: ar}
YAML
}
predictions() {  # without timings
  sed -E -e 's/,"wall_s":[^,}]*//' -e 's/,"ttft_s":[^,}]*//' "$1/predictions.jsonl" | sort
}

# 1. Two experiments with one cache_dir started together: one trains, the other waits and reuses.
make_spec one "$work/one.yaml"
make_spec two "$work/two.yaml"
"$runner" "$work/one.yaml" >"$work/one.log" 2>&1 &
first=$!
"$runner" "$work/two.yaml" >"$work/two.log" 2>&1 &
second=$!
wait "$first"; code_one=$?
wait "$second"; code_two=$?
[ "$code_one" -eq 0 ] && [ "$code_two" -eq 0 ] && pass "both experiments finish" \
  || { fail "exit codes $code_one and $code_two"; cat "$work/one.log" "$work/two.log"; }
trained=$(cat "$work/one.log" "$work/two.log" | grep -c "model ar: train (ar")
[ "$trained" -eq 1 ] && pass "the model is trained once" || { fail "the model was trained $trained times"; cat "$work/one.log" "$work/two.log"; }
if grep -q "model ar: waiting for .* (host .* pid [0-9]*), which is training it" "$work/one.log" "$work/two.log" \
  && grep -q "model ar: reusing" "$work/one.log" "$work/two.log"; then
  pass "the second waits with a message naming the holder, then reuses the model"
else
  fail "no wait message or no reuse"; cat "$work/one.log" "$work/two.log"
fi
if diff <(predictions "$work/one") <(predictions "$work/two") >/dev/null; then pass "same predictions"; else fail "predictions differ"; fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
