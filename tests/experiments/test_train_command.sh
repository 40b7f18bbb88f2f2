#!/usr/bin/env bash
# `stepwise train` end to end on tiny budgets: an AR, a diffusion and an MGDM model (path-star, with the
# study's remasking decoder for validation) train, validate with a real decoder, evaluate on the
# held-out problems and write a reloadable checkpoint and a summary whose figures are consistent
# (losses fall, accuracies are fractions, every held-out problem is evaluated).
#   usage: test_train_command.sh STEPWISE_BINARY
set -euo pipefail
stepwise=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export STEPWISE_THREADS=${STEPWISE_THREADS:-1}

check_summary() {  # DIR OBJECTIVE DECODER_COUNT
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, sys
directory, objective, decoders = sys.argv[1], sys.argv[2], int(sys.argv[3])
summary = json.load(open(f"{directory}/training_summary.json"))
assert summary["objective"] == objective, summary["objective"]
training = summary["training"]
assert training["final_loss"] < training["first_loss"], (training["first_loss"], training["final_loss"])
assert summary["validation"]["history"], "no validation ran"
evaluation = summary["evaluation"]
assert len(evaluation) == decoders, [e["decoder"] for e in evaluation]
for entry in evaluation:
    assert entry["n"] == 24, entry
    assert entry["forward_calls"] > 0, entry
    for key, value in entry.items():
        if key.startswith(("sudoku_", "countdown_", "pathstar_")):
            assert 0.0 <= value <= 1.0, (key, value)
print(f"{objective}: loss {training['first_loss']:.3f} -> {training['final_loss']:.3f}, "
      f"{len(evaluation)} evaluated decoders")
PY
}

"$stepwise" train --task countdown --countdown-numbers 3 --objective ar --out "$work/ar" --preset tiny \
  --steps 30 --train-size 300 --val-size 24 > "$work/ar.log"
check_summary "$work/ar" ar 1
"$stepwise" inspect --model "$work/ar" | grep -q "qwen2"

"$stepwise" train --task sudoku --objective diffusion --out "$work/mdm" --preset tiny --steps 30 \
  --train-size 300 --val-size 24 --eval-steps 4 > "$work/mdm.log"
check_summary "$work/mdm" diffusion 3  # remasking and Dream entropy at 4 steps, the study's remasking
/usr/bin/python3 -c "
import json; s = json.load(open('$work/mdm/training_summary.json'))
names = [e['decoder'] for e in s['evaluation']]
assert names[-1] == 'remasking-study-T20', names
assert all(k in s['evaluation'][0] for k in ('sudoku_valid', 'sudoku_exact', 'sudoku_cells')), s['evaluation'][0]
# The default precision, auto, trained in mixed-bf16 where the CPU has AVX512-BF16 and in float32 elsewhere.
flags = next(l for l in open('/proc/cpuinfo') if l.startswith('flags')).split()
expected = 'mixed-bf16' if 'avx512_bf16' in flags else 'float32'
assert s['training']['precision'] == expected, (s['training']['precision'], expected)"
"$stepwise" generate --model "$work/mdm" --decoder dream --alg entropy --steps 4 --gen-len 8 --ids 1,2,3 --json \
  | /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); assert len(r['tokens']) == 8, r"
"$stepwise" train --task pathstar --degree 2 --length 2 --nodes 8 --objective mgdm --out "$work/mgdm" --preset tiny \
  --steps 30 --train-size 300 --val-size 24 --eval-steps 4 --validation-decoder remasking > "$work/mgdm.log"
check_summary "$work/mgdm" mgdm 3
/usr/bin/python3 -c "
import json; s = json.load(open('$work/mgdm/training_summary.json'))
assert s['diffusion']['weighting'] == 'linear', s['diffusion']
assert s['diffusion']['token_reweighting'] == {'alpha': 0.25, 'gamma': 1.0}, s['diffusion']
assert s['validation']['decoder'] == 'remasking-study-T20', s['validation']
assert 'pathstar_exact' in s['evaluation'][0], s['evaluation'][0]"
# Bad objective settings are user errors.
if "$stepwise" train --task pathstar --objective ar --token-gamma 2 --out "$work/bad" --steps 1 2> "$work/bad.log"; then
  echo "FAIL: --token-gamma with --objective ar was accepted"; exit 1
fi
grep -q -- "--token-gamma: applies to diffusion objectives only" "$work/bad.log"
echo "stepwise train: ok"
