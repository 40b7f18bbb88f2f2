#!/usr/bin/env bash
# run_experiment end to end on the CI-sized smoke config: a full run writes results; an interrupted
# run (killed mid-way, and stopped with SIGINT during training) resumes to the same final predictions;
# a different spec never overwrites existing results; bad specs exit 2 naming file, line and key; with a
# prefix cache, greedy predictions are those without it whatever the request order, the disk tier
# serves a second process, and `stepwise cache` reads and clears the store.
#   usage: test_run_experiment.sh RUN_EXPERIMENT PROJECT_ROOT STEPWISE
set -u
runner=$1
root=$2
stepwise=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { echo "ok: $1"; passes=$((passes + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

# The smoke spec with its output and model cache inside the scratch folder.
make_spec() {  # make_spec OUT_NAME CACHE_NAME FILE
  sed -e "s|^output_dir: .*|output_dir: $work/$1|" -e "s|^cache_dir: .*|cache_dir: $work/$2|" \
    "$root/configs/smoke.yaml" >"$3"
}
# Predictions without timings: run_id, index, prediction, correct, nfe.
predictions() {
  sed -E -e 's/,"wall_s":[^,}]*//' -e 's/,"ttft_s":[^,}]*//' "$1/predictions.jsonl" | sort
}

# 1. A full run.
make_spec full cache "$work/full.yaml"
if "$runner" "$work/full.yaml" >"$work/full.log" 2>&1; then pass "full run"; else fail "full run"; cat "$work/full.log"; fi
for f in results.h5 summary.csv predictions.jsonl spec.yaml; do
  [ -s "$work/full/$f" ] && pass "wrote $f" || fail "missing $f"
done
grep -q "diffusion steps=17" "$work/full.log" && pass "summary table printed" || fail "no summary table"
runs=$(($(wc -l <"$work/full/summary.csv") - 1))
[ "$runs" -eq 6 ] && pass "6 runs in summary.csv" || fail "summary.csv has $runs runs, want 6"

# 2. Killed during decoding, then resumed: same predictions. (Models are cached from step 1.)
make_spec killed cache "$work/killed.yaml"
"$runner" "$work/killed.yaml" >"$work/killed1.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ "$(ls "$work/killed/journal" 2>/dev/null | wc -l)" -ge 3 ] && break
  sleep 0.1
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if "$runner" "$work/killed.yaml" >"$work/killed2.log" 2>&1; then pass "resumed run"; else fail "resumed run"; cat "$work/killed2.log"; fi
if diff <(predictions "$work/full") <(predictions "$work/killed") >/dev/null; then
  pass "resumed predictions equal the uninterrupted run"
else
  fail "resumed predictions differ"
fi

# 3. SIGINT during training: exit 130 with state saved; the rerun resumes training and finishes.
make_spec stopped cache2 "$work/stopped.yaml"
"$runner" "$work/stopped.yaml" >"$work/stopped1.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  ls "$work"/cache2/ar-*/training_state.safetensors >/dev/null 2>&1 && break
  sleep 0.1
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
code=$?
if [ "$code" -eq 130 ]; then pass "SIGINT stops with exit $code"; else fail "SIGINT exit code $code"; cat "$work/stopped1.log"; fi
if "$runner" "$work/stopped.yaml" >"$work/stopped2.log" 2>&1; then pass "run after SIGINT finishes"; else fail "run after SIGINT"; cat "$work/stopped2.log"; fi
grep -qE "resume training|reusing" "$work/stopped2.log" && pass "training resumed, not restarted" || fail "training restarted"
if diff <(predictions "$work/full") <(predictions "$work/stopped") >/dev/null; then
  pass "predictions after a stopped training equal the uninterrupted run"
else
  fail "predictions after a stopped training differ"
fi

# 4. A different spec in the same output folder is refused and the results stay untouched.
before=$(md5sum "$work/full/results.h5")
sed -e 's/num_examples: 12/num_examples: 11/' "$work/full.yaml" >"$work/changed.yaml"
"$runner" "$work/changed.yaml" >"$work/changed.log" 2>&1
code=$?
[ "$code" -eq 2 ] && grep -q "different version of this experiment" "$work/changed.log" \
  && pass "different spec refused" || { fail "different spec: exit $code"; cat "$work/changed.log"; }
[ "$before" = "$(md5sum "$work/full/results.h5")" ] && pass "results untouched" || fail "results.h5 changed"

# 5. Bad specs: exit 2, one line naming file, line and key path; nothing written.
sed -e 's/    steps: 4$/    steps: -4/' "$work/full.yaml" >"$work/bad.yaml"
"$runner" "$work/bad.yaml" >"$work/bad.log" 2>&1
code=$?
[ "$code" -eq 2 ] && grep -q "bad.yaml:[0-9]*: decoders\[2\].steps: expected an integer >= 1, got -4" "$work/bad.log" \
  && pass "out-of-range value" || { fail "out-of-range value: exit $code"; cat "$work/bad.log"; }
"$runner" "$work/missing.yaml" >"$work/missing.log" 2>&1
[ $? -eq 2 ] && grep -q "missing.yaml" "$work/missing.log" && pass "missing file" || fail "missing file"
"$runner" "$work/full.yaml" --dry-run >"$work/dry.log" 2>&1 && grep -q "reusing\|reuse trained" "$work/dry.log" \
  && pass "dry run" || { fail "dry run"; cat "$work/dry.log"; }

# 6. A prefix cache (memory and disk) and both request orders. The AR model trains longer than the smoke
# one so that its predictions differ between examples; use_cache: false decodes without any reuse.
reuse_spec() {  # reuse_spec OUT_NAME FILE
  sed -e "s|^output_dir: .*|output_dir: $work/$1|" -e "s|^cache_dir: .*|cache_dir: $work/cache|" \
    -e "s|^batch_size: .*|batch_size: 4|" -e '/^decoders:/,$d' "$root/configs/smoke.yaml" |
    awk '/^  ar:/ {in_ar = 1} /^  mdm:/ {in_ar = 0} in_ar && /^      steps: / {$0 = "      steps: 400"} {print}' >"$2"
  cat >>"$2" <<EOF
prefix_cache: {memory_mb: 16, disk_path: $work/kv, chunk_tokens: 4}
decoders:
  - name: ar
    type: ar
    model: ar
  - name: plain
    type: ar
    model: ar
    use_cache: false
  - name: diffusion
    type: diffusion
    model: mdm
    steps: 4
    cache: prefix
sweep:
  ar.request_order: [fifo, shortest_prefill_first]
  diffusion.steps: [2, 4]
EOF
}
# "index prediction" of every example of the run named NAME, by index.
predictions_of() {  # predictions_of DIR NAME
  grep -F "\"name\":\"$2\"" "$1/predictions.jsonl" | sed -E 's/.*"index":([0-9]+),"prediction":("([^"\\]|\\.)*").*/\1 \2/' | sort -n
}
reuse_spec reuse "$work/reuse.yaml"
"$runner" "$work/reuse.yaml" --dry-run >"$work/reuse-dry.log" 2>&1 \
  && grep -q "prefix cache: 16 MiB in memory, 4-token chunks, disk tier $work/kv" "$work/reuse-dry.log" \
  && pass "dry run shows the prefix cache" || { fail "dry run with a prefix cache"; cat "$work/reuse-dry.log"; }
if "$runner" "$work/reuse.yaml" >"$work/reuse.log" 2>&1; then pass "run with a prefix cache"; else fail "run with a prefix cache"; cat "$work/reuse.log"; fi
grep -qE "^prefix cache: [1-9][0-9]* memory hits, 0 disk hits, [0-9]+ misses, [1-9][0-9]* entries stored \([1-9][0-9]* written to disk\), 0 torn$" "$work/reuse.log" \
  && pass "prefix cache statistics: memory hits and disk writes" || { fail "prefix cache statistics"; cat "$work/reuse.log"; }
grep -q "TTFT mean" "$work/reuse.log" && pass "summary table has TTFT columns" || fail "no TTFT columns in the table"
header=$(head -1 "$work/reuse/summary.csv")
case "$header" in *,ttft_mean_s,ttft_p90_s) pass "summary.csv ends with ttft_mean_s,ttft_p90_s" ;; *) fail "summary.csv header: $header" ;; esac
runs=$(($(wc -l <"$work/reuse/summary.csv") - 1))
[ "$runs" -eq 5 ] && pass "5 runs with a prefix cache" || fail "summary.csv has $runs runs, want 5"
# Every run's mean TTFT (second-to-last column) is positive.
if awk -F, 'NR > 1 && !($(NF - 1) > 0) {bad = 1} END {exit bad}' "$work/reuse/summary.csv"; then
  pass "ttft_mean_s > 0 in every run"
else
  fail "a run has ttft_mean_s <= 0"; cat "$work/reuse/summary.csv"
fi
[ "$(grep -c '"ttft_s":' "$work/reuse/predictions.jsonl")" -eq "$(wc -l <"$work/reuse/predictions.jsonl")" ] \
  && pass "predictions.jsonl has ttft_s per example" || fail "predictions.jsonl lacks ttft_s"
fifo=$(predictions_of "$work/reuse" "ar request_order=fifo")
spf=$(predictions_of "$work/reuse" "ar request_order=shortest_prefill_first")
plain=$(predictions_of "$work/reuse" "plain")
[ "$(echo "$fifo" | wc -l)" -eq 12 ] && [ "$(echo "$fifo" | cut -d' ' -f2 | sort -u | wc -l)" -gt 1 ] \
  && pass "12 AR predictions, not all the same" || fail "AR predictions: $fifo"
[ "$fifo" = "$spf" ] && pass "fifo and shortest_prefill_first predict the same" \
  || { fail "request orders differ"; diff <(echo "$fifo") <(echo "$spf"); }
[ "$fifo" = "$plain" ] && pass "prefix reuse leaves greedy predictions unchanged" \
  || { fail "predictions with reuse differ from those without"; diff <(echo "$fifo") <(echo "$plain"); }
# A second process with a new output folder reads the entries the first one left on disk.
reuse_spec reuse2 "$work/reuse2.yaml"
if "$runner" "$work/reuse2.yaml" >"$work/reuse2.log" 2>&1; then pass "second run on the same store"; else fail "second run on the same store"; cat "$work/reuse2.log"; fi
grep -qE "^prefix cache: [0-9]+ memory hits, [1-9][0-9]* disk hits" "$work/reuse2.log" \
  && pass "the disk tier serves a new process" || { fail "no disk hits in a new process"; cat "$work/reuse2.log"; }
[ "$(predictions_of "$work/reuse2" "ar request_order=fifo")" = "$fifo" ] \
  && pass "predictions from disk-tier KV are unchanged" || fail "predictions from disk-tier KV differ"
# stepwise cache: stats, clear, stats again.
"$stepwise" cache stats --path "$work/kv" --verify >"$work/stats1.log" 2>&1
entries=$(sed -n 's/^entries: *//p' "$work/stats1.log")
[ "${entries:-0}" -gt 0 ] && grep -q "^torn entries: *0 " "$work/stats1.log" \
  && grep -q "^  model=[0-9a-f]\{32\} dtype=Float " "$work/stats1.log" \
  && pass "cache stats: $entries entries, none torn, per model" || { fail "cache stats"; cat "$work/stats1.log"; }
"$stepwise" cache clear --path "$work/kv" >"$work/clear.log" 2>&1 && grep -q "^removed $entries files from $work/kv" "$work/clear.log" \
  && pass "cache clear removed $entries files" || { fail "cache clear"; cat "$work/clear.log"; }
"$stepwise" cache stats --path "$work/kv" >"$work/stats2.log" 2>&1 && grep -q "^entries: *0$" "$work/stats2.log" \
  && pass "cache stats after clear: 0 entries" || { fail "cache stats after clear"; cat "$work/stats2.log"; }

# train_jobs: 2 trains the two models at once, each in its own process with one of the two threads,
# and they are the models one process with one thread trains, byte for byte.
make_spec jobs1 cache-jobs1 "$work/jobs1.yaml"
sed -i 's/^threads: .*/threads: 1/' "$work/jobs1.yaml"
make_spec jobs2 cache-jobs2 "$work/jobs2.yaml"
sed -i 's/^threads: .*/threads: 2\ntrain_jobs: 2/' "$work/jobs2.yaml"
if "$runner" "$work/jobs1.yaml" >"$work/jobs1.log" 2>&1 && "$runner" "$work/jobs2.yaml" >"$work/jobs2.log" 2>&1; then
  pass "train_jobs: 2 run"
else
  fail "train_jobs runs"; tail -5 "$work/jobs1.log" "$work/jobs2.log"
fi
grep -q "training 2 models, 2 at a time (1 thread each)" "$work/jobs2.log" && pass "train_jobs: 2 trains both at once" \
  || { fail "train_jobs: 2 did not train concurrently"; cat "$work/jobs2.log"; }
for model in ar mdm; do
  one=$(ls -d "$work"/cache-jobs1/$model-*/ | head -1)
  two=$(ls -d "$work"/cache-jobs2/$model-*/ | head -1)
  if [ -n "$one" ] && [ -n "$two" ] && cmp -s "$one/model.safetensors" "$two/model.safetensors"; then
    pass "$model trained in its own process equals one-thread training"
  else
    fail "$model differs between train_jobs 2 and one thread ($one, $two)"
  fi
done
"$runner" "$work/jobs2.yaml" >"$work/jobs3.log" 2>&1 && ! grep -q "training in its own process" "$work/jobs3.log" \
  && pass "a finished experiment starts no training process" || { fail "rerun after train_jobs"; cat "$work/jobs3.log"; }
sed 's/^train_jobs: 2/train_jobs: 0/' "$work/jobs2.yaml" >"$work/jobs0.yaml"
sed -i "s|^output_dir: .*|output_dir: $work/jobs0|" "$work/jobs0.yaml"
"$runner" "$work/jobs0.yaml" >"$work/jobs0.log" 2>&1
[ $? -eq 2 ] && grep -q "train_jobs" "$work/jobs0.log" && pass "train_jobs: 0 refused naming the key" \
  || { fail "train_jobs: 0 accepted"; cat "$work/jobs0.log"; }

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
