#!/bin/bash
# model_gate.sh - the shipped model's accuracy gate (run by .ci/run).
# Evaluates weights/pneumonia.safetensors on DATA/test and fails if accuracy
# or ROC AUC is below the figures recorded when the model was released
# (weights/pneumonia.test.json, quoted in the README) minus TOLERANCE.
#   DATA=../shared/data/chest_xray bash test/model_gate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/opt}
DATA=${DATA:-data/chest_xray}
TOLERANCE=${TOLERANCE:-0.005}
MODEL=weights/pneumonia.safetensors
EXPECTED=weights/pneumonia.test.json

if [ ! -d "$DATA/test/NORMAL" ] || [ ! -d "$DATA/test/PNEUMONIA" ]; then
    echo "model_gate: no test split at $DATA/test; gate not run" >&2
    exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$BUILD/bin/trainer" evaluate --model-file "$MODEL" --split "$DATA/test" \
    --out "$out" --name gate > "$out/stdout.txt"
cat "$out/eval_gate.txt"

# the value of a top-level number in the trainer's JSON (one key per line)
value() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\([0-9.eE+-]*\),\{0,1\}$/\1/p" "$2"; }
failed=0
for key in accuracy auc; do
    got=$(value "$key" "$out/eval_gate.json")
    want=$(value "$key" "$EXPECTED")
    if [ -z "$got" ] || [ -z "$want" ]; then
        echo "model_gate: '$key' missing from the evaluation or $EXPECTED" >&2
        exit 1
    fi
    if awk -v g="$got" -v w="$want" -v t="$TOLERANCE" 'BEGIN { exit !(g >= w - t) }'; then
        echo "model_gate: ok   $key $got (released $want, tolerance $TOLERANCE)"
    else
        echo "model_gate: FAIL $key $got < released $want - $TOLERANCE" >&2
        failed=1
    fi
done
exit $failed
