#!/usr/bin/env bash
# GGUF through the stepwise CLI: `convert` writes a fixture checkpoint as GGUF, `inspect` and `logits`
# read it where a directory goes (f32 logits printed identically to the directory's; q8_0 / q4_0 weights
# reported as kernel weights unless --dequantize), the tokenizer
# inside a converted file serves `tokenize`, `--to safetensors` converts back, and bad GGUF input exits
# 2 with a one-line error naming the file; an experiment's models: entry takes a .gguf path.
# Usage: test_gguf_cli.sh STEPWISE FIXTURES QWEN3_TOKENIZER_JSON RUN_EXPERIMENT
set -u
stepwise=$1
fixtures=$2
qwen3_tokenizer=$3
run_experiment=$4
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

source "$(dirname "$0")/../support/cli_expect.sh"

model="$fixtures/models/qwen3-tiny"
expect 0 '"type":"q8_0"' -- "$stepwise" convert --model "$model" --to gguf --type q8_0 --out "$scratch/q8.gguf"
# qwen3-tiny: 2 layers x 4 norms + the final norm stay f32; the tied embedding and 2 x 7 weights are q8_0.
expect 0 '"stored_dtype": "f32: 9, q8_0: 15"' -- "$stepwise" inspect --model "$scratch/q8.gguf"
expect 0 '"qk_norm": true' -- "$stepwise" inspect --model "$scratch/q8.gguf"
# Q8_0 / Q4_0 weights stay quantized for the kernels (int8 / int4, groups of 32) unless --dequantize.
expect 0 '"int8 g32": {' -- "$stepwise" inspect --model "$scratch/q8.gguf"
expect 0 '"tensors": 15' -- "$stepwise" inspect --model "$scratch/q8.gguf"
expect 0 '"kernel_weights": {}' -- "$stepwise" inspect --model "$scratch/q8.gguf" --dequantize
expect 0 '"type":"q4_0"' -- "$stepwise" convert --model "$model" --to gguf --type q4_0 --out "$scratch/q4.gguf"
expect 0 '"int4 g32": {' -- "$stepwise" inspect --model "$scratch/q4.gguf"
expect 0 '"logits"' -- "$stepwise" logits --model "$scratch/q4.gguf" --ids 1,2,3 --dequantize
expect 0 '"format":"gguf"' -- "$stepwise" convert --model "$model" --to gguf --out "$scratch/f32.gguf"
"$stepwise" logits --model "$model" --ids 1,2,3,50 >"$scratch/dir-logits" 2>&1
"$stepwise" logits --model "$scratch/f32.gguf" --ids 1,2,3,50 >"$scratch/gguf-logits" 2>&1
if cmp -s "$scratch/dir-logits" "$scratch/gguf-logits"; then echo "ok: f32 GGUF logits equal the directory's"; else
  echo "FAIL: f32 GGUF logits differ from the directory's"; failures=$((failures + 1)); fi
expect 0 '"format":"safetensors"' -- "$stepwise" convert --model "$scratch/f32.gguf" --to safetensors --out "$scratch/back"
"$stepwise" logits --model "$scratch/back" --ids 1,2,3,50 >"$scratch/back-logits" 2>&1
if cmp -s "$scratch/dir-logits" "$scratch/back-logits"; then echo "ok: GGUF -> safetensors keeps the logits"; else
  echo "FAIL: GGUF -> safetensors changed the logits"; failures=$((failures + 1)); fi

if [ -f "$qwen3_tokenizer" ]; then
  # The fixture's vocabulary (384) is smaller than the tokenizer's: refused, naming the file.
  expect 2 "outside the model's vocabulary of 384" -- "$stepwise" convert --model "$model" --to gguf \
    --tokenizer "$qwen3_tokenizer" --out "$scratch/tok.gguf"
fi
expect 2 "carries no tokenizer" -- "$stepwise" tokenize --tokenizer "$scratch/f32.gguf" --text hi
expect 2 "no tokenizer.json\|carries no tokenizer" -- "$stepwise" generate --model "$scratch/f32.gguf" --prompt hi \
  --decoder ar --max-new-tokens 2

# An experiment whose model is a GGUF file (no tokenizer inside: the character vocabulary).
cat >"$scratch/experiment.yaml" <<YAML
name: gguf-model
output_dir: $scratch/results
cache_dir: $scratch/cache
threads: 1
task: {type: sudoku, size: 4, givens: 10, num_examples: 2, seed: 7}
models:
  ar: {path: $scratch/q8.gguf}
decoders:
  - {name: ar, type: ar, model: ar}
YAML
expect 0 "summary.csv" -- "$run_experiment" "$scratch/experiment.yaml"
if [ -f "$scratch/results/summary.csv" ] && grep -q "^ar-" "$scratch/results/summary.csv"; then
  echo "ok: the experiment ran on the GGUF model"; else echo "FAIL: no results row"; failures=$((failures + 1)); fi

# Bad input: exit 2, one line naming the file.
printf 'GGUF\x01\x00\x00\x00' >"$scratch/v1.gguf"
expect 2 "v1.gguf: unsupported GGUF version 1" -- "$stepwise" inspect --model "$scratch/v1.gguf"
printf 'NOPE0000' >"$scratch/magic.gguf"
expect 2 "magic.gguf: not a GGUF file (bad magic)" -- "$stepwise" logits --model "$scratch/magic.gguf" --ids 1
head -c 3000 "$scratch/q8.gguf" >"$scratch/cut.gguf"
expect 2 "cut.gguf" -- "$stepwise" inspect --model "$scratch/cut.gguf"
expect 2 "absent.gguf: file not found" -- "$stepwise" inspect --model "$scratch/absent.gguf"
mkdir "$scratch/dir.gguf"
expect 2 "dir.gguf" -- "$stepwise" inspect --model "$scratch/dir.gguf"
expect 2 "expected f32, f16, bf16, q8_0 or q4_0" -- "$stepwise" convert --model "$model" --to gguf --type q2_k \
  --out "$scratch/x.gguf"
expect 2 "must end in .gguf" -- "$stepwise" convert --model "$model" --to gguf --out "$scratch/x.bin"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
