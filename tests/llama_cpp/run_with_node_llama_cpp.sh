#!/usr/bin/env bash
# The llama.cpp cross-check (check.sh) against the llama.cpp that the npm package node-llama-cpp ships:
# its prebuilt CPU libraries (@node-llama-cpp/linux-x64) and, for the headers, the llama.cpp sources it
# bundles as a git bundle, cloned once into WORK_DIR. scripts/fetch_npm.sh installs both on x86-64 Linux;
# elsewhere the check is skipped (exit 77). The trained model is kept in WORK_DIR, so only the first run
# trains it.
#   tests/llama_cpp/run_with_node_llama_cpp.sh STEPWISE_BIN NODE_MODULES_DIR WORK_DIR
set -euo pipefail
stepwise=$1
modules=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
lib_dir="$modules/@node-llama-cpp/linux-x64/bins/linux-x64"
bundle="$modules/node-llama-cpp/llama/gitRelease.bundle"
if [ ! -d "$lib_dir" ] || [ ! -f "$bundle" ]; then
  echo "skipped: node-llama-cpp and @node-llama-cpp/linux-x64 are not installed in $modules (scripts/fetch_npm.sh)"
  exit 77
fi
mkdir -p "$work"
sources="$work/llama.cpp"
if [ ! -f "$sources/include/llama.h" ] || [ ! -f "$sources/ggml/include/ggml-backend.h" ]; then
  rm -rf "$sources"
  git clone --quiet "$bundle" "$sources" 2>/dev/null
fi
exec bash "$here/check.sh" "$stepwise" "$sources" "$lib_dir" "$work"
