#!/usr/bin/env bash
# Installs what is missing, builds, runs the quickstart experiment (configs/quickstart.yaml: trains a
# small AR and a small MGDM diffusion model on path-star graphs, both at once, sweeps diffusion steps
# of Dream's entropy ordering and the remasking decoder against AR greedy, prints the table) and
# renders the plots next to the results.
# Extra arguments go to run_experiment (e.g. --threads 4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir=${STEPWISE_BUILD_DIR:-build}
"$build_dir/bin/run_experiment" configs/quickstart.yaml "$@"
bash scripts/render_notebooks.sh results/quickstart/results.h5
echo "plots: results/quickstart/*.png, notebooks: results/quickstart/quality_vs_steps.html, decoding_order.html"
