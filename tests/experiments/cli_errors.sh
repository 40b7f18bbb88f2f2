#!/usr/bin/env bash
# The stepwise CLI contract: --help exits 0 and documents flags; bad input exits 2 with a one-line
# error on stderr naming the problem, never a crash by signal. Usage: cli_errors.sh STEPWISE FIXTURES
set -u
stepwise=$1
fixtures=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

source "$(dirname "$0")/../support/cli_expect.sh"

expect 0 "--model DIR" -- "$stepwise" inspect --help
expect 0 "--attention" -- "$stepwise" logits --help
expect 0 "commands:" -- "$stepwise" --help
expect 2 "unknown command" -- "$stepwise" frobnicate
expect 2 "unknown flag --bogus" -- "$stepwise" inspect --bogus 1
expect 2 "missing required flag --model" -- "$stepwise" inspect
expect 2 "not a directory" -- "$stepwise" inspect --model "$scratch/nowhere"
# A path longer than the file system allows is reported like any other missing directory.
expect 2 "not a directory" -- "$stepwise" inspect --model "$scratch/$(printf 'x%.0s' $(seq 1 300))"
expect 0 "\"qk_norm\": true" -- "$stepwise" inspect --model "$fixtures/models/qwen3-tiny"
expect 2 "outside the vocabulary" -- "$stepwise" logits --model "$fixtures/models/qwen2-tiny" --ids 1,2,999
expect 2 "expected an integer" -- "$stepwise" logits --model "$fixtures/models/qwen2-tiny" --ids 1,x
expect 2 "expected causal or bidirectional" -- "$stepwise" logits --model "$fixtures/models/qwen2-tiny" --ids 1 --attention sideways
# The project's kernel paths: listed one per line (reference always); a bad STEPWISE_KERNELS is an error at load.
expect 0 "^reference$" -- "$stepwise" kernels
expect 2 "STEPWISE_KERNELS=avx1024: expected reference, avx2 or avx512" -- \
  env STEPWISE_KERNELS=avx1024 "$stepwise" logits --model "$fixtures/models/qwen2-tiny-bf16" --ids 1,2 --dtype bfloat16
# So is a bad STEPWISE_KERNEL_THREADS (the split of the kernels' products over the threads).
expect 2 "STEPWISE_KERNEL_THREADS=spin: expected pool or openmp" -- \
  env STEPWISE_KERNEL_THREADS=spin "$stepwise" logits --model "$fixtures/models/qwen2-tiny-bf16" --ids 1,2 --dtype bfloat16

# A truncated checkpoint: error naming the file, exit 2, no signal.
mkdir -p "$scratch/cut"
cp "$fixtures/models/qwen2-tiny/config.json" "$scratch/cut/"
head -c 300000 "$fixtures/models/qwen2-tiny/model.safetensors" >"$scratch/cut/model.safetensors"
expect 2 "model.safetensors" -- "$stepwise" inspect --model "$scratch/cut"
# A header that points past the end of the file.
printf '\xff\xff\xff\x00\x00\x00\x00\x00{}' >"$scratch/cut/model.safetensors"
expect 2 "past the end" -- "$stepwise" inspect --model "$scratch/cut"

# Prefix store directories: a missing one and one that is not a store are refused, naming the path.
expect 0 "--verify" -- "$stepwise" cache stats --help
expect 2 "$scratch/no-kv: no such prefix store directory" -- "$stepwise" cache stats --path "$scratch/no-kv"
expect 2 "$scratch/no-kv: no such prefix store directory" -- "$stepwise" cache clear --path "$scratch/no-kv"
mkdir -p "$scratch/not-kv"
echo notes >"$scratch/not-kv/notes.txt"
expect 2 "$scratch/not-kv: not a prefix store" -- "$stepwise" cache stats --path "$scratch/not-kv"
expect 2 "$scratch/not-kv: not a prefix store" -- "$stepwise" cache clear --path "$scratch/not-kv"
[ -f "$scratch/not-kv/notes.txt" ] && { echo "ok: clear left a foreign directory alone"; passes=$((passes + 1)); } \
  || { echo "FAIL: clear removed files from a directory that is not a store"; failures=$((failures + 1)); }
expect 2 "unknown cache action 'frob'" -- "$stepwise" cache frob
expect 2 "missing the action" -- "$stepwise" cache
# An empty store: zero entries.
mkdir -p "$scratch/kv"
: >"$scratch/kv/STEPWISE_KV_STORE"
expect 0 "^entries: *0$" -- "$stepwise" cache stats --path "$scratch/kv" --verify
expect 0 "removed 0 files" -- "$stepwise" cache clear --path "$scratch/kv"

# Hostile input: every case exits 2 with a message naming the file, key or flag, never a signal or a hang.
# A copy of a fixture model with one config.json key changed: edit_config DIR KEY JSON_VALUE.
edit_config() {
  rm -rf "$1" && mkdir -p "$1" && cp "$fixtures/models/qwen2-tiny/"* "$1/"
  python3 - "$1/config.json" "$2" "$3" <<'PY'
import json, sys
path, key, value = sys.argv[1], sys.argv[2], sys.argv[3]
config = json.load(open(path))
config[key] = json.loads(value)
json.dump(config, open(path, "w"))
PY
}
# Safetensors headers rewritten: rewrite_header DIR PYTHON (edits `header`, a dict).
rewrite_header() {
  python3 - "$1/model.safetensors" "$2" <<'PY'
import json, struct, sys
path, edit = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
size = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + size])
exec(edit)
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(path, "wb").write(struct.pack("<Q", len(text)) + text + data[8 + size:])
PY
}
# config.json values that cannot give finite logits, or sizes past any real model.
edit_config "$scratch/heads0" num_attention_heads 0
expect 2 "config.json: num_attention_heads must be" -- timeout 60 "$stepwise" inspect --model "$scratch/heads0"
expect 2 "config.json: num_attention_heads must be" -- timeout 60 "$stepwise" generate --model "$scratch/heads0" --ids 1,2
edit_config "$scratch/theta0" rope_theta 0
expect 2 "config.json: rope_theta must be a finite number > 0" -- timeout 60 "$stepwise" inspect --model "$scratch/theta0"
edit_config "$scratch/theta-1" rope_theta -1
expect 2 "config.json: rope_theta must be a finite number > 0" -- timeout 60 "$stepwise" generate --model "$scratch/theta-1" --ids 1,2
edit_config "$scratch/eps-1" rms_norm_eps -1
expect 2 "config.json: rms_norm_eps must be a finite number > 0" -- timeout 60 "$stepwise" inspect --model "$scratch/eps-1"
edit_config "$scratch/layers" num_hidden_layers 1000000000000
expect 2 "config.json: num_hidden_layers" -- timeout 60 "$stepwise" inspect --model "$scratch/layers"
edit_config "$scratch/theta-text" rope_theta '"high"'
expect 2 "config.json: key 'rope_theta' must be a number" -- timeout 60 "$stepwise" inspect --model "$scratch/theta-text"
# JSON nested far deeper than any real file (printing such a value would exhaust the stack): refused.
rm -rf "$scratch/deep" && mkdir -p "$scratch/deep" && cp "$fixtures/models/qwen2-tiny/"* "$scratch/deep/"
python3 -c 'import sys; sys.stdout.write("{\"rope_scaling\": " + "[" * 100000 + "]" * 100000 + "}")' > "$scratch/deep/config.json"
expect 2 "deep/config.json: JSON nested deeper than 128 levels" -- timeout 60 "$stepwise" inspect --model "$scratch/deep"
cp "$fixtures/models/qwen2-tiny/config.json" "$scratch/deep/"
python3 - "$scratch/deep/model.safetensors" <<'PY'
import struct, sys
path = sys.argv[1]
data = open(path, "rb").read()
size = struct.unpack("<Q", data[:8])[0]
text = b"[" * 5000 + b"]" * 5000
text += b" " * ((8 - len(text) % 8) % 8)
open(path, "wb").write(struct.pack("<Q", len(text)) + text + data[8 + size:])
PY
expect 2 "model.safetensors: header: JSON nested deeper than 128 levels" -- timeout 60 "$stepwise" inspect --model "$scratch/deep"
# A NaN in the weights: the first value of the embedding.
edit_config "$scratch/nan" vocab_size 384
python3 - "$scratch/nan/model.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
size = struct.unpack("<Q", data[:8])[0]
begin = json.loads(data[8:8 + size])["model.embed_tokens.weight"]["data_offsets"][0]
data[8 + size + begin:8 + size + begin + 4] = struct.pack("<f", float("nan"))
open(path, "wb").write(data)
PY
expect 2 "model.safetensors: tensor 'model.embed_tokens.weight' holds NaN or infinite values" -- \
  timeout 60 "$stepwise" generate --model "$scratch/nan" --ids 1,2
# A config.json that is a directory.
rm -rf "$scratch/cfgdir" && mkdir -p "$scratch/cfgdir/config.json" && cp "$fixtures/models/qwen2-tiny/model.safetensors" "$scratch/cfgdir/"
expect 2 "cfgdir/config.json: is a directory" -- timeout 60 "$stepwise" inspect --model "$scratch/cfgdir"
# A model.safetensors that is a FIFO: refused by type, never opened (so no hang).
rm -rf "$scratch/fifo" && mkdir -p "$scratch/fifo" && cp "$fixtures/models/qwen2-tiny/config.json" "$scratch/fifo/"
mkfifo "$scratch/fifo/model.safetensors"
expect 2 "fifo/model.safetensors: not a regular file" -- timeout 20 "$stepwise" inspect --model "$scratch/fifo"
# Safetensors headers rewritten to overlap, or with mistyped fields.
edit_config "$scratch/overlap" vocab_size 384
rewrite_header "$scratch/overlap" \
  'header["model.layers.1.input_layernorm.weight"]["data_offsets"] = header["model.layers.0.input_layernorm.weight"]["data_offsets"]'
expect 2 "model.safetensors: tensor 'model.layers.1.input_layernorm.weight': bytes \[98304, 98560) overlap tensor 'model.layers.0.input_layernorm.weight'" -- \
  timeout 60 "$stepwise" inspect --model "$scratch/overlap"
edit_config "$scratch/dtype-type" vocab_size 384
rewrite_header "$scratch/dtype-type" 'header["model.norm.weight"]["dtype"] = 5'
expect 2 "model.safetensors: tensor 'model.norm.weight': 'dtype' must be a string" -- \
  timeout 60 "$stepwise" inspect --model "$scratch/dtype-type"
edit_config "$scratch/offset-type" vocab_size 384
rewrite_header "$scratch/offset-type" 'header["model.norm.weight"]["data_offsets"] = [-1, "x"]'
expect 2 "model.safetensors: tensor 'model.norm.weight': data_offsets must be \[begin, end\] of non-negative integers" -- \
  timeout 60 "$stepwise" inspect --model "$scratch/offset-type"
# An index file whose weight_map names a shard with a number.
rm -rf "$scratch/index" && mkdir -p "$scratch/index" && cp "$fixtures/models/llama-tiny/"* "$scratch/index/"
python3 - "$scratch/index/model.safetensors.index.json" <<'PY'
import json, sys
index = json.load(open(sys.argv[1]))
index["weight_map"]["model.norm.weight"] = 3
json.dump(index, open(sys.argv[1], "w"))
PY
expect 2 "model.safetensors.index.json: weight_map\['model.norm.weight'\] must be a shard file name" -- \
  timeout 60 "$stepwise" inspect --model "$scratch/index"

# Generation lengths bounded by the model before anything is allocated (memory capped so a regression
# fails instead of exhausting the machine). An AddressSanitizer build reserves terabytes of shadow address
# space and cannot start under `ulimit -v`; its own resident-memory limit caps it instead.
memory_capped() {
  if ldd "$stepwise" | grep -q libasan; then
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=8000" timeout 60 "$@"
  else
    bash -c 'ulimit -v 8000000; exec timeout 60 "$@"' _ "$@"
  fi
}
expect 2 "exceeds the model's max_position_embeddings (512)" -- \
  memory_capped "$stepwise" generate --model "$fixtures/models/dream-tiny" \
  --ids 1,2 --decoder dream --max-new-tokens 1000000000 --steps 1
expect 2 "exceeds the model's max_position_embeddings (512)" -- \
  memory_capped "$stepwise" generate --model "$fixtures/models/dream-tiny" \
  --ids 1,2 --decoder remask --max-new-tokens 1000000000 --steps 1
expect 2 "exceeds the model's max_position_embeddings (512)" -- \
  memory_capped "$stepwise" generate --model "$fixtures/models/qwen2-tiny" \
  --ids 1,2 --max-new-tokens 1000000000
expect 2 "exceeds the target model's max_position_embeddings (512)" -- \
  memory_capped "$stepwise" generate --model "$fixtures/models/qwen2-tiny" \
  --ids 1,2 --decoder speculative --draft-ngram 2 --max-new-tokens 1000000000
expect 2 "exceeds the model's max_position_embeddings (512)" -- \
  memory_capped "$stepwise" generate --model "$fixtures/models/dream-tiny" \
  --ids 1,2 --decoder block_diffusion --block-length 4 --threshold 0.9 --max-new-tokens 1000000000
# Block diffusion needs a model with a mask token.
expect 2 "has no mask_token_id" -- timeout 60 "$stepwise" generate --model "$fixtures/models/qwen2-tiny" \
  --ids 1,2 --decoder block_diffusion --block-length 4 --threshold 0.9 --max-new-tokens 8

# Thread counts: bounded, numeric, positive.
expect 2 "^error: --threads: expected 0 (automatic) or 1 to" -- timeout 30 "$stepwise" generate \
  --model "$fixtures/models/qwen2-tiny" --ids 1,2 --threads 10000
expect 2 "^error: --threads: expected 0 (automatic) or 1 to" -- timeout 30 "$stepwise" logits \
  --model "$fixtures/models/qwen2-tiny" --ids 1,2 --threads -3
expect 2 "^error: STEPWISE_THREADS: expected an integer from 1 to" -- \
  timeout 30 env STEPWISE_THREADS=100000 "$stepwise" inspect --model "$fixtures/models/qwen2-tiny"
expect 2 "^error: STEPWISE_THREADS: expected an integer from 1 to" -- \
  timeout 30 env STEPWISE_THREADS=abc "$stepwise" inspect --model "$fixtures/models/qwen2-tiny"
expect 0 "\"tokens\"" -- timeout 60 env STEPWISE_THREADS=1 "$stepwise" generate --model "$fixtures/models/qwen2-tiny" --ids 1,2 --max-new-tokens 2

# Names and dtypes: every decoder named, float16 refused clearly.
expect 2 "unknown decoder 'nope' (expected ar, speculative, diffusion, remasking or block_diffusion)" -- \
  "$stepwise" generate --model "$fixtures/models/qwen2-tiny" --ids 1,2 --decoder nope
expect 2 "unsupported dtype float16 (use float32 or bfloat16)" -- \
  "$stepwise" generate --model "$fixtures/models/qwen2-tiny" --ids 1,2 --dtype float16
# Decoder settings by their experiment-file keys: an unknown key or one of another type is named, exit 2.
expect 2 "^error: --set stepz: unknown decoder setting (--decoder diffusion has " -- \
  "$stepwise" generate --model "$fixtures/models/dream-tiny" --ids 1,2 --decoder diffusion --steps 2 --set stepz=3
expect 2 "^error: --set threshold: does not apply to --decoder remasking" -- \
  "$stepwise" generate --model "$fixtures/models/dream-tiny" --ids 1,2 --decoder remasking --set threshold=0.9
expect 2 "^error: --steps: expected an integer >= 1, got -4" -- \
  "$stepwise" generate --model "$fixtures/models/dream-tiny" --ids 1,2 --decoder diffusion --steps -4
# An old decoder name still works and says what replaces it, in one line.
expect 0 "^warning: --decoder remask is deprecated; use --decoder remasking$" -- \
  timeout 60 "$stepwise" generate --model "$fixtures/models/dream-tiny" --ids 1,2 --decoder remask --steps 2 --max-new-tokens 4

# tokenize --text-file must name a regular file.
expect 2 "^error: --text-file: $scratch: is a directory" -- timeout 30 "$stepwise" tokenize --tokenizer "$scratch/none.json" --text-file "$scratch"
mkfifo "$scratch/text-fifo"
expect 2 "^error: --text-file: $scratch/text-fifo: not a regular file" -- \
  timeout 30 "$stepwise" tokenize --tokenizer "$scratch/none.json" --text-file "$scratch/text-fifo"

# cache clear deletes only what the store wrote: entries and unfinished writes by their names, in the store's
# own shard folders; never through a link, never a user's files.
kv=$scratch/hostile-kv
decoy=$scratch/decoy
mkdir -p "$kv/ab" "$kv/notes" "$decoy"
: >"$kv/STEPWISE_KV_STORE"
entry=abababababababababababababababab
: >"$kv/ab/$entry.safetensors"
: >"$kv/ab/.$entry.safetensors.tmp-Q1w2E3"
echo mine >"$kv/ab/readme.txt"
echo mine >"$kv/notes/todo.txt"
echo precious >"$decoy/cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd.safetensors"
echo precious >"$decoy/data.txt"
ln -s "$decoy" "$kv/cd"
ln -s "$decoy/data.txt" "$kv/ab/abababababababababababababababac.safetensors"
expect 0 "removed 2 files from .*; left 4 items the store did not write" -- "$stepwise" cache clear --path "$kv"
left=0
for f in "$decoy/cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd.safetensors" "$decoy/data.txt" "$kv/ab/readme.txt" "$kv/notes/todo.txt" \
  "$kv/STEPWISE_KV_STORE"; do
  [ -e "$f" ] && left=$((left + 1))
done
[ -L "$kv/cd" ] && [ -L "$kv/ab/abababababababababababababababac.safetensors" ] && left=$((left + 1))
[ ! -e "$kv/ab/$entry.safetensors" ] && [ ! -e "$kv/ab/.$entry.safetensors.tmp-Q1w2E3" ] && left=$((left + 1))
[ "$left" -eq 7 ] && { echo "ok: clear kept foreign files and links, removed the store's own"; passes=$((passes + 1)); } \
  || { echo "FAIL: clear removed foreign files or kept its own ($left of 7 checks)"; failures=$((failures + 1)); }

# Data-parallel backends: gloo only; nccl is refused saying why (a CPU-only LibTorch), before any work.
expect 2 "--backend nccl: this LibTorch is built for the CPU only: without CUDA and without c10d's NCCL backend" -- \
  "$stepwise" train --task sudoku --objective ar --steps 1 --out "$scratch/nccl" --backend nccl
[ ! -e "$scratch/nccl" ] && { echo "ok: nothing written for --backend nccl"; passes=$((passes + 1)); } \
  || { echo "FAIL: --backend nccl wrote $scratch/nccl"; failures=$((failures + 1)); }
expect 2 "--backend: expected gloo or nccl, got 'mpi'" -- \
  "$stepwise" train --task sudoku --objective ar --steps 1 --out "$scratch/mpi" --backend mpi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
