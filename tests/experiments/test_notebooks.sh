#!/usr/bin/env bash
# Notebook test: writes a small results directory with the C++ results writer (make_sample_results),
# renders every notebook on it headless (scripts/render_notebooks.sh) and checks that the HTML and the
# four PNG figures exist, are non-empty and are what they claim to be. Fails, naming what to install,
# when Debian's Python lacks the notebook packages (scripts/setup.sh installs them).
#   usage: test_notebooks.sh MAKE_SAMPLE_RESULTS PROJECT_ROOT
set -euo pipefail

make_sample=$1
root=$2

if ! /usr/bin/python3 -c "import h5py, pandas, matplotlib, nbconvert, nbclient, ipykernel" 2>/dev/null; then
  echo "FAIL: /usr/bin/python3 lacks h5py, pandas, matplotlib, nbconvert, nbclient or ipykernel (run scripts/setup.sh)"
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$("$make_sample" "$work/sample")
[ "$results" = "$work/sample/results.h5" ] || { echo "FAIL: make_sample_results printed '$results'"; exit 1; }

bash "$root/scripts/render_notebooks.sh" "$results"

status=0
expect_file() {  # path, magic bytes (hex) or "" for any
  local path=$1 magic=$2
  if [ ! -s "$path" ]; then
    echo "FAIL: $path is missing or empty"
    status=1
  elif [ -n "$magic" ] && [ "$(head -c $((${#magic} / 2)) "$path" | od -An -tx1 | tr -d ' \n')" != "$magic" ]; then
    echo "FAIL: $path does not start with bytes $magic"
    status=1
  else
    echo "ok: $path ($(stat -c %s "$path") bytes)"
  fi
}
expect_file "$work/sample/quality_vs_steps.html" ""
expect_file "$work/sample/decoding_order.html" ""
for figure in accuracy_vs_steps accuracy_vs_nfe accuracy_vs_wall decoding_order; do
  expect_file "$work/sample/$figure.png" "89504e470d0a1a0a"
done
# Three figures rendered inline, and no error or warning output in the executed notebook.
html="$work/sample/quality_vs_steps.html"
if [ -s "$html" ]; then
  images=$(grep -o "data:image/png" "$html" | wc -l)
  [ "$images" -ge 3 ] || { echo "FAIL: expected 3 inline figures in the HTML, found $images"; status=1; }
  if grep -q "output_stderr\|output_error" "$html"; then
    echo "FAIL: the executed notebook wrote to stderr or raised"
    status=1
  fi
  # The summary table shows every run the sample holds.
  for name in "diffusion origin steps=8" "diffusion entropy steps=1" "ar greedy" "speculative k=4"; do
    grep -q "$name" "$html" || { echo "FAIL: run '$name' missing from the HTML"; status=1; }
  done
fi
exit $status
