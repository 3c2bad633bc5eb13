#!/bin/bash
# compare.sh - trains and evaluates InceptionV3 and VGG16 under one protocol
# (same data, validation split, seed, augmentation, optimiser, early
# stopping) and writes the head-to-head table to RUNS/compare.md.
#   compare.sh TRAINER DATA RUNS "COMMON_ARGS" "INCEPTION_ARGS" "VGG16_ARGS"
# The test split (DATA/test) is used once per model, after training.
# Runs of hours: a model whose run finished (train_summary.csv) is not
# trained again, an interrupted one continues from its checkpoint, and a
# model already evaluated on the test split is not evaluated again.
set -euo pipefail

trainer=${1:?usage: compare.sh TRAINER DATA RUNS COMMON_ARGS INCEPTION_ARGS VGG16_ARGS}
data=${2:?}
runs=${3:?}
common=${4:-}
args_inception=${5:-}
args_vgg=${6:-}
here=$(dirname "$0")

for model in inception_v3 vgg16; do
    out="$runs/compare_$model"
    extra=$args_inception
    [ "$model" = vgg16 ] && extra=$args_vgg
    resume=
    [ -f "$out/checkpoint.safetensors" ] && resume=--resume
    if [ ! -f "$out/train_summary.csv" ]; then
        # shellcheck disable=SC2086  # the argument strings are word lists
        "$trainer" train --model "$model" --data "$data" --out "$out" $common $extra $resume
    fi
    if [ ! -f "$out/eval_test.csv" ]; then
        "$trainer" evaluate --model-file "$out/model.safetensors" --split "$data/test"
    fi
    "$here/plot.sh" "$out" val test || true
done

value() { awk -F, -v k="$2" '$1 == k { print $2 }' "$1"; }

{
    echo "# InceptionV3 vs VGG16, one protocol"
    echo
    echo "Data: \`$data\` (train: patient-grouped validation split from train/;"
    echo "test: the official test split, used once per model after training)."
    echo "Common options: \`${common:-defaults}\`; InceptionV3: \`${args_inception:-defaults}\`;"
    echo "VGG16: \`${args_vgg:-defaults}\`. Metrics at each model's stored threshold"
    echo "(highest validation specificity with sensitivity >= 0.95)."
    echo
    echo "| model | backbone | input | epochs (early stop) | best epoch | accuracy | sensitivity | specificity | AUC | FP | FN | training time | images/s |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for model in inception_v3 vgg16; do
        s="$runs/compare_$model/train_summary.csv"
        e="$runs/compare_$model/eval_test.csv"
        stopped=$(value "$s" stopped_epoch)
        epochs=$(value "$s" epochs)
        [ "$stopped" != 0 ] && epochs="$epochs (stopped)"
        printf '| %s | %s | %s | %s | %s | %.4f | %.4f | %.4f | %.4f | %s | %s | %.0f s | %.1f |\n' \
            "$model" "$(value "$s" backbone)" "$(value "$s" input_size)" "$epochs" \
            "$(value "$s" best_epoch)" "$(value "$e" accuracy)" "$(value "$e" sensitivity)" \
            "$(value "$e" specificity)" "$(value "$e" auc)" "$(value "$e" fp)" \
            "$(value "$e" fn)" "$(value "$s" train_seconds)" "$(value "$s" images_per_second)"
    done
} > "$runs/compare.md"
echo "wrote $runs/compare.md"
