#!/usr/bin/env bash
# Sharded experiments without Slurm, on the CI-sized smoke config: three `--shard i/3` processes started
# at the same time (sharing a fresh model cache, so one trains each model and the others wait) plus
# `--merge` give the results a single process writes for the same spec: results.h5 compared field by
# field (compare_results), summary.csv and predictions.jsonl compared without their timing columns (each
# process measures its own wall times). A second merge changes nothing; --status lists the shards; a merge
# with a shard missing names its runs; a shard folder of another spec is refused.
#   usage: test_shards.sh RUN_EXPERIMENT COMPARE_RESULTS PROJECT_ROOT
set -u
runner=$1
compare=$2
root=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { echo "ok: $1"; passes=$((passes + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

make_spec() {  # make_spec OUT_NAME CACHE_NAME FILE
  sed -e "s|^output_dir: .*|output_dir: $work/$1|" -e "s|^cache_dir: .*|cache_dir: $work/$2|" \
    "$root/configs/smoke.yaml" >"$3"
}
# summary.csv without its timing columns (tokens_per_s, wall_s, ttft_mean_s, ttft_p90_s: the last four).
summary_without_timings() { cut -d, -f1-$(($(head -1 "$1" | tr ',' '\n' | wc -l) - 4)) "$1"; }
# predictions.jsonl without wall_s and ttft_s, in file order.
predictions_without_timings() { sed -E -e 's/,"wall_s":[^,}]*//' -e 's/,"ttft_s":[^,}]*//' "$1"; }

# 1. Three shards at once, then the merge. The spec's output_dir is relative, so the single process of
# step 2 runs the very same spec file (the results store the spec) from another directory.
sed -e "s|^output_dir: .*|output_dir: out|" -e "s|^cache_dir: .*|cache_dir: $work/cache|" \
  "$root/configs/smoke.yaml" >"$work/relative.yaml"
mkdir -p "$work/a" "$work/b"
pids=()
for i in 0 1 2; do
  (cd "$work/a" && exec "$runner" "$work/relative.yaml" --shard "$i/3") >"$work/shard$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do
  if wait "${pids[$i]}"; then pass "shard $i/3"; else fail "shard $i/3"; cat "$work/shard$i.log"; fi
done
for model in ar mdm; do
  trained=$(cat "$work"/shard*.log | grep -c "model $model: train ")
  [ "$trained" -eq 1 ] && pass "model $model trained by one shard" || fail "model $model trained by $trained shards"
done
grep -q "waiting for" "$work"/shard*.log && pass "another shard waited for a training" || echo "note: no shard had to wait"
total=0
for i in 0 1 2; do
  n=$(ls "$work/a/out/shards/$i-of-3/journal" | wc -l)
  total=$((total + n))
  [ "$n" -ge 1 ] && pass "shard $i ran $n runs" || fail "shard $i ran no runs"
done
[ "$total" -eq 6 ] && pass "the shards ran the 6 runs once each" || fail "the shards ran $total journals, want 6"
(cd "$work/a" && "$runner" "$work/relative.yaml" --status) >"$work/status.log" 2>&1
[ "$(grep -c "  finished " "$work/status.log")" -eq 6 ] && pass "--status: 6 runs finished" || { fail "--status"; cat "$work/status.log"; }
if (cd "$work/a" && "$runner" "$work/relative.yaml" --merge) >"$work/merge.log" 2>&1; then pass "merge"; else fail "merge"; cat "$work/merge.log"; fi

# 2. One process, same spec, same models (the cache the shards filled).
if (cd "$work/b" && "$runner" "$work/relative.yaml") >"$work/single.log" 2>&1; then pass "single process"; else fail "single process"; cat "$work/single.log"; fi
if "$compare" "$work/a/out/results.h5" "$work/b/out/results.h5" >"$work/compare.log" 2>&1; then
  pass "results.h5: every attribute, run and example field equal but the timings and created_utc"
else
  fail "results.h5 differs"; cat "$work/compare.log"
fi
if diff <(summary_without_timings "$work/a/out/summary.csv") <(summary_without_timings "$work/b/out/summary.csv"); then
  pass "summary.csv equal without timings"
else
  fail "summary.csv differs"
fi
if diff <(predictions_without_timings "$work/a/out/predictions.jsonl") \
  <(predictions_without_timings "$work/b/out/predictions.jsonl") >/dev/null; then
  pass "predictions.jsonl equal without timings"
else
  fail "predictions.jsonl differs"
fi

# 3. A second merge changes nothing.
before=$(md5sum "$work"/a/out/{results.h5,summary.csv,predictions.jsonl})
(cd "$work/a" && "$runner" "$work/relative.yaml" --merge) >"$work/merge2.log" 2>&1
code=$?
after=$(md5sum "$work"/a/out/{results.h5,summary.csv,predictions.jsonl})
[ "$code" -eq 0 ] && grep -q "nothing changed" "$work/merge2.log" && [ "$before" = "$after" ] &&
  pass "second merge changes nothing" || { fail "second merge (exit $code)"; cat "$work/merge2.log"; }

# 4. A shard missing: the merge names its runs and the shard that owns them.
make_spec partial cache "$work/partial.yaml"
"$runner" "$work/partial.yaml" --shard 0/3 >"$work/partial.log" 2>&1
"$runner" "$work/partial.yaml" --merge >"$work/partial_merge.log" 2>&1
code=$?
missing=$(grep -c "shard [12]-of-3 has not started" "$work/partial_merge.log")
[ "$code" -eq 2 ] && [ "$missing" -eq $((6 - $(ls "$work/partial/shards/0-of-3/journal" | wc -l))) ] &&
  grep -q "cannot merge" "$work/partial_merge.log" && [ ! -e "$work/partial/results.h5" ] &&
  pass "merge with a shard missing names its $missing runs" || { fail "merge with a shard missing (exit $code)"; cat "$work/partial_merge.log"; }
"$runner" "$work/partial.yaml" --status >"$work/partial_status.log" 2>&1
grep -q "missing (shard 1-of-3 has not started)" "$work/partial_status.log" && pass "--status names the shard not started" ||
  { fail "--status of a partial sweep"; cat "$work/partial_status.log"; }

# 5. A shard folder of another spec is refused.
sed -e 's/num_examples: 12/num_examples: 11/' -e "s|^output_dir: .*|output_dir: $work/other|" "$work/relative.yaml" >"$work/other.yaml"
"$runner" "$work/other.yaml" --shard 1/2 >"$work/other.log" 2>&1 || { fail "shard of the other spec"; cat "$work/other.log"; }
cp -r "$work/other/shards/1-of-2" "$work/a/out/shards/1-of-2"
(cd "$work/a" && "$runner" "$work/relative.yaml" --merge) >"$work/foreign.log" 2>&1
code=$?
[ "$code" -eq 2 ] && grep -q "1-of-2: a shard of a different spec" "$work/foreign.log" &&
  [ "$after" = "$(md5sum "$work"/a/out/{results.h5,summary.csv,predictions.jsonl})" ] &&
  pass "a shard of another spec is refused, the merged results untouched" || { fail "foreign shard (exit $code)"; cat "$work/foreign.log"; }

# 6. Bad --shard values name the flag.
for bad in 3/3 1 a/2 -1/2 slurm; do
  env -u SLURM_ARRAY_TASK_ID "$runner" "$work/relative.yaml" --shard "$bad" >"$work/bad.log" 2>&1
  code=$?
  [ "$code" -eq 2 ] && grep -q -- "--shard" "$work/bad.log" && pass "--shard $bad refused" || { fail "--shard $bad (exit $code)"; cat "$work/bad.log"; }
done
SLURM_ARRAY_TASK_ID=7 SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_MAX=7 "$runner" "$work/relative.yaml" --shard slurm --dry-run \
  --time-steps 0 >"$work/slurm.log" 2>&1
grep -q "shard 2-of-3" "$work/slurm.log" && pass "--shard slurm reads SLURM_ARRAY_TASK_ID/MIN/MAX" || { fail "--shard slurm"; cat "$work/slurm.log"; }

# 7. --submit slurm --dry-run prints the array script (shard count written out) and the merge script.
(cd "$work/a" && "$runner" "$work/relative.yaml" --submit slurm --shards 3 --partition debug --cpus-per-task 2 --dry-run) \
  >"$work/submit.log" 2>&1
grep -q "^#SBATCH --array=0-2$" "$work/submit.log" && grep -q '^#SBATCH --partition=debug$' "$work/submit.log" &&
  grep -q -- '--shard "${SLURM_ARRAY_TASK_ID}/3" --threads 2$' "$work/submit.log" &&
  grep -q -- "--merge$" "$work/submit.log" && grep -q "dependency=afterany" "$work/submit.log" &&
  [ ! -e "$work/a/out/slurm" ] && pass "--submit slurm --dry-run prints both scripts, writes nothing" ||
  { fail "--submit slurm --dry-run"; cat "$work/submit.log"; }
(cd "$work/a" && "$runner" "$work/relative.yaml" --submit slurm --partition "a b" --dry-run) >"$work/submit_bad.log" 2>&1
[ $? -eq 2 ] && grep -q -- "--partition: 'a b'" "$work/submit_bad.log" && pass "--partition with a space refused" ||
  { fail "--partition with a space"; cat "$work/submit_bad.log"; }
(cd "$work/a" && "$runner" "$work/relative.yaml" --partition debug) >"$work/partition_alone.log" 2>&1
[ $? -eq 2 ] && grep -q -- "--partition goes with --submit" "$work/partition_alone.log" && pass "--partition without --submit refused" ||
  { fail "--partition without --submit"; cat "$work/partition_alone.log"; }

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
