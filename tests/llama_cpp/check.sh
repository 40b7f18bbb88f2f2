#!/usr/bin/env bash
# Cross-check with llama.cpp itself: a model trained by `stepwise train` (peaked distributions, so greedy
# choices are stable), converted to GGUF as f32, f16 and q8_0, must give the same greedy tokens in
# llama.cpp as in stepwise. llama.cpp is not a dependency of stepwise: give its headers and prebuilt
# libraries (for example those of the npm package node-llama-cpp and the llama.cpp sources it bundles).
#   tests/llama_cpp/check.sh STEPWISE_BIN LLAMA_CPP_SOURCE_DIR LLAMA_CPP_LIB_DIR [WORK_DIR]
# Prints one line per type and exits non-zero when any differs.
set -euo pipefail
stepwise=$1
source_dir=$2
lib_dir=$3
work=${4:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"

libs=()
for name in "$lib_dir"/libllama*.so "$lib_dir"/libggml.*so "$lib_dir"/libggml-base.so; do
  [ -e "$name" ] && libs+=("$name")
done
g++ -O1 -std=c++17 -I"$source_dir/include" -I"$source_dir/ggml/include" "$here/greedy_tokens.cpp" \
  -o "$work/greedy_tokens" "${libs[@]}" -Wl,-rpath,"$lib_dir"

# A small AR model on 4x4 Sudoku: a few hundred steps make its next-token distributions peaked.
if [ ! -f "$work/trained" ]; then
  OPENBLAS_NUM_THREADS=1 "$stepwise" train --task sudoku --objective ar --preset small --steps "${STEPWISE_CHECK_STEPS:-300}" \
    --lr 2e-3 --warmup 30 --threads 1 --no-eval --quiet --out "$work/model" >/dev/null
  touch "$work/trained"
fi
# The puzzle 1430/3014/4021/0100 in the character vocabulary (digit d is id d + 5), then [SEP] (id 1).
prompt=${STEPWISE_CHECK_PROMPT:-6,9,8,5,8,5,6,9,9,5,7,6,5,6,5,5,1}
steps=${STEPWISE_CHECK_NEW_TOKENS:-17}
failed=0
for type in f32 f16 q8_0; do
  "$stepwise" convert --model "$work/model" --to gguf --type "$type" --out "$work/model-$type.gguf" >/dev/null
  ours=$("$stepwise" generate --model "$work/model-$type.gguf" --ids "$prompt" --decoder ar --max-new-tokens "$steps" \
           --threads 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"])')
  theirs=$("$work/greedy_tokens" "$lib_dir" "$work/model-$type.gguf" "$steps" "$prompt" 2>"$work/llama-$type.log")
  # stepwise stops at the end token; llama.cpp's loop runs on: compare stepwise's length.
  if python3 -c 'import json,sys; a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2]); sys.exit(b[:len(a)] != a)' \
       "$ours" "$theirs"; then
    echo "$type: same greedy tokens $ours"
  else
    echo "$type: DIFFERENT: stepwise $ours, llama.cpp $theirs (log $work/llama-$type.log)"
    failed=1
  fi
done
exit $failed
