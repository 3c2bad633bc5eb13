#!/bin/bash
# plot.sh - PNG plots of a training run, drawn with gnuplot (Debian's
# gnuplot-nox):
#   plot.sh RUN_DIR [SPLIT ...]
# RUN_DIR/log.csv                      -> RUN_DIR/training_curves.png
# RUN_DIR/roc_<SPLIT>.csv              -> RUN_DIR/roc_<SPLIT>.png
# RUN_DIR/confusion_<SPLIT>.dat        -> RUN_DIR/confusion_<SPLIT>.png
# (the last two come from `trainer evaluate`). Missing inputs are skipped.
set -euo pipefail

run=${1:?usage: plot.sh RUN_DIR [SPLIT ...]}
shift
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not installed (apt-get install gnuplot-nox)" >&2; exit 1; }

if [ -s "$run/log.csv" ] && [ "$(wc -l < "$run/log.csv")" -gt 1 ]; then
    # the restored (best) epoch, when the run has finished
    best=$(awk -F, '$1 == "best_epoch" { print $2 }' "$run/train_summary.csv" 2>/dev/null || true)
    gnuplot <<GP
set terminal pngcairo size 1200,450 font "sans,10" noenhanced
set output "$run/training_curves.png"
set datafile separator ","
set key autotitle columnhead
set multiplot layout 1,2 title "Training curves ($run)"
set xlabel "epoch"
set grid
if ("$best" ne "" && "$best" ne "0") set arrow from $best, graph 0 to $best, graph 1 nohead dashtype 2 lc rgb "gray"; set label "best epoch" at $best, graph 0.55 right offset -0.5, 0
set title "loss (binary cross-entropy, class-weighted)"
plot "$run/log.csv" using "epoch":"train_loss" with linespoints title "train", \
     "" using "epoch":"val_loss" with linespoints title "validation"
set title "accuracy (at 0.5) and validation ROC AUC"
set yrange [*:1]
set key bottom right
plot "$run/log.csv" using "epoch":"train_acc" with linespoints title "train accuracy", \
     "" using "epoch":"val_acc" with linespoints title "validation accuracy", \
     "" using "epoch":"val_auc" with linespoints title "validation AUC"
unset multiplot
GP
    echo "wrote $run/training_curves.png"
fi

for split in "$@"; do
    if [ -s "$run/roc_$split.csv" ]; then
        auc=$(sed -n 's/^auc,//p' "$run/eval_$split.csv" 2>/dev/null || true)
        [ -n "$auc" ] && auc=$(printf '%.4f' "$auc")
        gnuplot <<GP
set terminal pngcairo size 600,600 font "sans,10" noenhanced
set output "$run/roc_$split.png"
set datafile separator ","
set title "ROC curve, $split split${auc:+ (AUC $auc)}"
set xlabel "false positive rate (1 - specificity)"
set ylabel "true positive rate (sensitivity)"
set xrange [0:1]
set yrange [0:1]
set size square
set grid
set key bottom right
plot "$run/roc_$split.csv" using 2:3 skip 1 with lines lw 2 title "model", \
     x with lines dashtype 2 lc rgb "gray" title "chance"
GP
        echo "wrote $run/roc_$split.png"
    fi
    if [ -s "$run/confusion_$split.dat" ]; then
        gnuplot <<GP
set terminal pngcairo size 560,500 font "sans,11" noenhanced
set output "$run/confusion_$split.png"
set title "Confusion matrix, $split split (at the stored threshold)"
set xlabel "predicted"
set ylabel "actual"
set xrange [-0.5:1.5]
set yrange [1.5:-0.5]
set xtics ("NORMAL" 0, "PNEUMONIA" 1)
set ytics ("NORMAL" 0, "PNEUMONIA" 1)
set palette defined (0 "white", 1 "#2b6cb0")
unset colorbox
set size square
plot "$run/confusion_$split.dat" using 2:1:3 with image notitle, \
     "" using 2:1:(sprintf("%d", \$3)) with labels font "sans,16" notitle
GP
        echo "wrote $run/confusion_$split.png"
    fi
done
