#!/bin/bash
# model_gate.sh - the shipped model's gate (run by .ci/run).
#  - Evaluates weights/pneumonia.safetensors on DATA/test and fails if
#    accuracy or ROC AUC is below the figures recorded when the model was
#    released (weights/pneumonia.test.json, quoted in the README) minus
#    TOLERANCE.
#  - Runs it on the full-resolution originals (ORIGINALS, default
#    DATA/../chest_xray_originals/train) against their copies in DATA/train
#    (trainer originals) and on the out-of-distribution set
#    (test/gen_ood_set.py through ./infer, test/ood_report.py), and fails if
#    verdict agreement, recall, specificity or acceptance on the originals,
#    or the rejection rates of non-X-ray material and of transformed X-rays,
#    fall below the figures recorded in weights/pneumonia.gate.json minus
#    TOLERANCE (OOD_TOLERANCE for the rejection rates), or mean |dp| rises
#    above its figure plus TOLERANCE. Without the originals folder their
#    check and the transformed X-rays are skipped, with a message.
#   DATA=../shared/data/chest_xray bash test/model_gate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/opt}
DATA=${DATA:-data/chest_xray}
ORIGINALS=${ORIGINALS:-$DATA/../chest_xray_originals/train}
TOLERANCE=${TOLERANCE:-0.005}
OOD_TOLERANCE=${OOD_TOLERANCE:-0.02}
MODEL=weights/pneumonia.safetensors
EXPECTED=weights/pneumonia.test.json
EXPECTED_GATE=weights/pneumonia.gate.json

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
# the value of a "key value" line
key() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
failed=0
# check NAME GOT WANT TOLERANCE [at-most]: GOT >= WANT - TOLERANCE, or with
# at-most GOT <= WANT + TOLERANCE
check() {
    local name=$1 got=$2 want=$3 tol=$4 dir=${5:-at-least}
    if [ -z "$got" ] || [ -z "$want" ]; then
        echo "model_gate: '$name' missing from the measurement or the recorded figures" >&2
        exit 1
    fi
    if awk -v g="$got" -v w="$want" -v t="$tol" -v d="$dir" \
           'BEGIN { exit !(d == "at-most" ? g <= w + t : g >= w - t) }'; then
        echo "model_gate: ok   $name $got (recorded $want, tolerance $tol)"
    else
        echo "model_gate: FAIL $name $got, recorded $want, tolerance $tol ($dir)" >&2
        failed=1
    fi
}
for k in accuracy auc; do
    check "$k" "$(value "$k" "$out/eval_gate.json")" "$(value "$k" "$EXPECTED")" "$TOLERANCE"
done

if [ -d "$ORIGINALS/NORMAL" ] && [ -d "$ORIGINALS/PNEUMONIA" ]; then
    "$BUILD/bin/trainer" originals --model-file "$MODEL" --originals "$ORIGINALS" \
        --copies "$DATA/train" --out "$out/originals" > "$out/originals.txt"
    awk 'NF == 0 { blank++ } blank < 3' "$out/originals.txt"  # the report, not the keys
    o=$out/originals/originals.txt
    for k in agreement originals_recall originals_specificity; do
        check "originals_${k#originals_}" "$(key "$k" "$o")" \
            "$(value "originals_${k#originals_}" "$EXPECTED_GATE")" "$TOLERANCE"
    done
    check originals_mean_abs_dp "$(key mean_abs_dp "$o")" \
        "$(value originals_mean_abs_dp "$EXPECTED_GATE")" "$TOLERANCE" at-most
    acceptance=$(awk '$1 == "pairs" { n = $2 } $1 == "originals_refused" { r = $2 }
                      END { if (n) printf "%.6f", 1 - r / n }' "$o")
    check originals_acceptance "$acceptance" \
        "$(value originals_acceptance "$EXPECTED_GATE")" "$TOLERANCE"
else
    echo "model_gate: no originals at $ORIGINALS; the originals check is skipped" >&2
fi

/usr/bin/python3 test/gen_ood_set.py --out "$out/ood" --originals "$ORIGINALS"
/usr/bin/python3 test/ood_report.py "$out/ood" --infer "$BUILD/bin/infer" \
    --model "$MODEL" > "$out/ood.txt"
awk 'NF == 0 { blank++ } blank < 2' "$out/ood.txt"
check ood_rejection_non_xray "$(key non_xray.rejection_rate "$out/ood.txt")" \
    "$(value ood_rejection_non_xray "$EXPECTED_GATE")" "$OOD_TOLERANCE"
if [ -n "$(key xray_transformed.images "$out/ood.txt")" ] &&
   [ "$(key xray_transformed.images "$out/ood.txt")" -gt 0 ]; then
    check ood_rejection_xray_transformed "$(key xray_transformed.rejection_rate "$out/ood.txt")" \
        "$(value ood_rejection_xray_transformed "$EXPECTED_GATE")" "$OOD_TOLERANCE"
else
    echo "model_gate: no transformed X-rays in the OOD set; their check is skipped" >&2
fi
exit $failed
