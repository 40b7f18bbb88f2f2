#!/usr/bin/env bash
# `stepwise quantize` end to end on fixture checkpoints: RTN and AutoRound write GPTQ-layout
# directories that `inspect` describes (bits, group size, method, bytes) and `logits` / `generate` run;
# `--eval` reports KL and top-1 agreement; bad input (bits 3, a group size that does not divide, 8-bit
# asymmetric, a quantization_config missing a key, a qweight of the wrong shape) exits 2 with one line
# naming the flag, tensor, key or file. An experiment quantizes a model by rtn and autoround from its
# quantize: blocks, records the quantization in its results, and reuses the cached quantized weights.
# Usage: test_quantize_cli.sh STEPWISE FIXTURES RUN_EXPERIMENT
set -u
stepwise=$1
fixtures=$2
run_experiment=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

source "$(dirname "$0")/../support/cli_expect.sh"

model="$fixtures/models/qwen2-tiny"
expect 0 '"quantized_linears":14' -- "$stepwise" quantize --model "$model" --out "$scratch/rtn" --bits 4 \
  --group-size 32 --method rtn --threads 1
expect 0 '"method": "rtn"' -- "$stepwise" inspect --model "$scratch/rtn"
expect 0 '"group_size": 32' -- "$stepwise" inspect --model "$scratch/rtn"
expect 0 '"logits"' -- "$stepwise" logits --model "$scratch/rtn" --ids 1,2,3
expect 0 '"tokens"' -- "$stepwise" generate --model "$scratch/rtn" --ids 1,2,3 --decoder ar --max-new-tokens 3

# Calibration and evaluation sequences as token ids (the fixture vocabulary is 384).
for i in $(seq 1 24); do
  printf '{"ids": [%s]}\n' "$(seq -s, $((i * 7 % 300)) 3 $((i * 7 % 300 + 60)))"
done >"$scratch/ids.jsonl"
expect 0 '"method":"autoround"' -- "$stepwise" quantize --model "$model" --out "$scratch/ar" --bits 4 --group-size 32 \
  --sym --method autoround --calibration "$scratch/ids.jsonl" --samples 8 --seq-len 16 --iters 4 --batch-size 4 \
  --eval "$scratch/ids.jsonl" --threads 1
cp "$scratch/out" "$scratch/ar.json"
expect 0 '"mean_kl"' -- cat "$scratch/ar.json"
expect 0 '"sequences_skipped":8' -- cat "$scratch/ar.json"
expect 0 '"method": "autoround"' -- "$stepwise" inspect --model "$scratch/ar"
expect 0 '"bits":8' -- "$stepwise" quantize --model "$model" --out "$scratch/w8" --bits 8 --sym --group-size 32
# Calibration on generated task problems instead of a file: the problems are named, the blocks tuned.
expect 0 "calibration: 8 4x4 sudoku puzzles, 10 givens (seed 777)" -- "$stepwise" quantize --model "$model" \
  --out "$scratch/task" --bits 4 --group-size 32 --method autoround --task sudoku --samples 8 --iters 2 --batch-size 4 --threads 1
expect 0 '"method": "autoround"' -- "$stepwise" inspect --model "$scratch/task"
# The same problems written by `stepwise data` and given as a file calibrate to the same bytes.
expect 0 "wrote 8" -- "$stepwise" data --task sudoku --n 8 --seed 777 --out "$scratch/sudoku.jsonl"
expect 0 '"method":"autoround"' -- "$stepwise" quantize --model "$model" --out "$scratch/task-file" --bits 4 \
  --group-size 32 --method autoround --calibration "$scratch/sudoku.jsonl" --samples 8 --iters 2 --batch-size 4 --threads 1
if cmp -s "$scratch/task/model.safetensors" "$scratch/task-file/model.safetensors"; then
  echo "ok: --task calibrates exactly as the same problems from a file"; passes=$((passes + 1)); else
  echo "FAIL: --task and the same problems as a file gave different weights"; failures=$((failures + 1)); fi
expect 0 "calibration: 4 path-star graphs, degree 2, length 3, 10 labels" -- "$stepwise" quantize --model "$model" \
  --out "$scratch/task2" --bits 4 --group-size 32 --method autoround --task pathstar --degree 2 --length 3 --nodes 10 \
  --task-seed 5 --samples 4 --iters 1 --batch-size 4 --threads 1

# Bad input: exit 2, one line naming the culprit.
expect 2 "\-\-bits: expected 4 or 8, got 3" -- "$stepwise" quantize --model "$model" --out "$scratch/x" --bits 3
expect 2 "mlp.down_proj.weight: group size 64 does not divide in_features 160" -- \
  "$stepwise" quantize --model "$model" --out "$scratch/x" --bits 4 --group-size 64
expect 2 "add \-\-sym" -- "$stepwise" quantize --model "$model" --out "$scratch/x" --bits 8
expect 2 "needs \-\-calibration" -- "$stepwise" quantize --model "$model" --out "$scratch/x" --bits 4 --method autoround
expect 2 "applies only to \-\-method autoround" -- "$stepwise" quantize --model "$model" --out "$scratch/x" --bits 4 --iters 3
expect 2 "give one of them" -- "$stepwise" quantize --model "$model" --out "$scratch/x" --bits 4 --method autoround \
  --task sudoku --calibration "$scratch/ids.jsonl"
expect 2 "\-\-numbers does not apply to \-\-task sudoku" -- "$stepwise" quantize --model "$model" --out "$scratch/x" \
  --bits 4 --group-size 32 --method autoround --task sudoku --numbers 3
expect 2 "\-\-degree applies only with \-\-task" -- "$stepwise" quantize --model "$model" --out "$scratch/x" --bits 4 \
  --method autoround --calibration "$scratch/ids.jsonl" --degree 2
expect 2 "unknown task\|chess" -- "$stepwise" quantize --model "$model" --out "$scratch/x" --bits 4 --method autoround --task chess

cp -r "$scratch/rtn" "$scratch/nokey"
python3 - "$scratch/nokey/config.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
del config["quantization_config"]["group_size"]
json.dump(config, open(path, "w"))
PY
expect 2 "nokey/config.json: quantization_config is missing key 'group_size'" -- "$stepwise" inspect --model "$scratch/nokey"

# A qweight whose header shape is transposed (same bytes): named with its file.
cp -r "$scratch/rtn" "$scratch/shape"
python3 - "$scratch/shape/model.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
size = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + size])
name = "model.layers.1.mlp.up_proj.qweight"
header[name]["shape"] = header[name]["shape"][::-1]
text = json.dumps(header, separators=(",", ":")).encode()
assert len(text) <= size
data[8:8 + size] = text + b" " * (size - len(text))
open(path, "wb").write(bytes(data))
PY
expect 2 "model.safetensors: tensor 'model.layers.1.mlp.up_proj.qweight' has shape \[160, 8\], expected \[8, 160\]" -- \
  "$stepwise" logits --model "$scratch/shape" --ids 1,2

# An experiment: one checkpoint, quantized two ways by quantize: blocks (the character vocabulary).
cat >"$scratch/experiment.yaml" <<YAML
name: quantized
output_dir: $scratch/results
cache_dir: $scratch/cache
threads: 1
task: {type: sudoku, size: 4, givens: 10, num_examples: 2, seed: 7}
models:
  base: {path: $model}
  w4: {from: base, quantize: {bits: 4, group_size: 32}}
  w4ar: {from: base, quantize: {bits: 4, group_size: 32, sym: true, method: autoround, iters: 3, samples: 8, batch_size: 4}}
  gptq: {path: $scratch/w8}
decoders:
  - {name: ar-base, type: ar, model: base}
  - {name: ar-w4, type: ar, model: w4}
  - {name: ar-w4ar, type: ar, model: w4ar}
  - {name: ar-gptq, type: ar, model: gptq}
YAML
expect 0 "quantize (w4g32-asym-rtn)" -- "$run_experiment" "$scratch/experiment.yaml" --dry-run
expect 0 "quantizing" -- "$run_experiment" "$scratch/experiment.yaml"
if grep -q "w4g32-asym-rtn" "$scratch/results/summary.csv" && grep -q "w4g32-sym-autoround" "$scratch/results/summary.csv" \
  && grep -q "w8g32-sym-rtn" "$scratch/results/summary.csv"; then
  echo "ok: the results record each run's quantization"; passes=$((passes + 1)); else
  echo "FAIL: summary.csv lacks the quantization"; cat "$scratch/results/summary.csv"; failures=$((failures + 1)); fi
expect 0 '"method": "autoround"' -- "$stepwise" inspect --model "$(ls -d "$scratch"/cache/w4ar-q-*)"
rm -rf "$scratch/results"
expect 0 "reusing quantized" -- "$run_experiment" "$scratch/experiment.yaml"
sed -i 's/bits: 4, group_size: 32}}/bits: 3, group_size: 32}}/' "$scratch/experiment.yaml"
expect 2 "quantize.bits: expected 4 or 8, got 3" -- "$run_experiment" "$scratch/experiment.yaml" --dry-run

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
