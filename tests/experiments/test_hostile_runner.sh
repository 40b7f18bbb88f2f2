#!/usr/bin/env bash
# run_experiment against tampered state: two experiments sharing a model cache train each model once (the
# second waits for the first's lock, then reuses its model); a finished run journal that was edited (lines
# deleted, an example index out of range, `correct` flipped, a record changed) is reported by name, set
# aside and the run redone, so the results equal an untouched run; an old journal without checksums that
# agrees with the task is accepted.
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

# 2. Tampered journals of the finished experiment `one`.
journal=$(ls "$work"/one/journal/*.jsonl)
reference=$(predictions "$work/one")
rerun() {  # rerun CASE: runs `one` again, which must report the journal, set it aside, redo the run
  local case=$1 reason=$2
  rm -f "$work"/one/journal/*.rejected*
  "$runner" "$work/one.yaml" >"$work/$case.log" 2>&1
  local code=$?
  if [ "$code" -eq 0 ] && grep -q "$journal: not trusted: .*$reason.*; set aside as .*, redoing the run" "$work/$case.log"; then
    pass "$case: reported and redone"
  else
    fail "$case: exit $code, no report matching '$reason'"; cat "$work/$case.log"
  fi
  ls "$work"/one/journal/*.rejected* >/dev/null 2>&1 && pass "$case: bad journal kept aside" || fail "$case: bad journal not kept"
  [ "$(predictions "$work/one")" = "$reference" ] && pass "$case: results equal the untouched run" \
    || { fail "$case: results differ"; predictions "$work/one" | head -3; }
}
# Lines deleted, the completion line kept.
sed -i -e '3d;5d' "$journal"
rerun deleted "the completion line counts 12 examples but 10 are journaled"
# A record changed after it was written (its checksum no longer matches).
sed -i -e '4s/"correct":true/"correct":false/;4t;4s/"correct":false/"correct":true/' "$journal"
rerun flipped "line 4: checksum mismatch"
# An old-format journal (version 1, no checksums) that agrees with the task: accepted as it is.
to_version1() { sed -i -e '1s/"version":2/"version":1/' -e 's/,"checksum":"[0-9a-f]*"//' "$journal"; }
to_version1
"$runner" "$work/one.yaml" >"$work/v1.log" 2>&1
if [ $? -eq 0 ] && ! grep -q "not trusted" "$work/v1.log"; then pass "v1: accepted after re-scoring"; else fail "v1: refused"; cat "$work/v1.log"; fi
[ "$(predictions "$work/one")" = "$reference" ] && pass "v1: results unchanged" || fail "v1: results differ"
# Old-format journals are still checked against the task: an index outside the run's examples, `correct` flipped.
to_version1
line=$(sed -n 2p "$journal")
sed -i -e '$d' "$journal"
echo "$line" | sed -E 's/"index":[0-9]+/"index":999/' >>"$journal"
echo '{"kind":"complete","examples":13}' >>"$journal"
rerun index "example index 999 is outside the run's 12 examples"
to_version1
sed -i -e '4s/"correct":true/"correct":false/;4t;4s/"correct":false/"correct":true/' "$journal"
rerun rescored "scores as"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
