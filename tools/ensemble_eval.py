#!/usr/bin/python3
"""ensemble_eval.py - would averaging trained models help? Reads each run's
predictions_val.csv and predictions_test.csv (written by the trainer and by
`trainer evaluate --split DATA/test`), averages the models' logits per image,
and reports:
  - the class-weighted validation loss, the figure early stopping and model
    selection use (weights n / (2 n_c), as in training);
  - the threshold the training rule picks on the validation predictions
    (the highest specificity with sensitivity >= 0.95, moved halfway down to
    the next lower score);
  - accuracy, sensitivity, specificity, AUC, FP and FN at that threshold,
    on validation and, only when every run has them, on test.
One run alone reproduces that run's own figures (a check of this script).

Usage: /usr/bin/python3 tools/ensemble_eval.py RUN_DIR [RUN_DIR...]
"""
import csv
import math
import os
import sys

MIN_SENSITIVITY = 0.95


def read_predictions(path):
    """{image key: (label, probability)}; the key is class/file name, so runs
    that saw the data under different roots still match."""
    out = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            parts = row["path"].split("/")
            out["/".join(parts[-2:])] = (int(row["label"]), float(row["probability"]))
    return out


def logit(p):
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def averaged(runs, split):
    preds = [read_predictions(os.path.join(r, f"predictions_{split}.csv")) for r in runs]
    keys = sorted(preds[0])
    for r, p in zip(runs, preds):
        if sorted(p) != keys:
            sys.exit(f"ensemble_eval: {r} predicted other {split} images than {runs[0]}")
    labels = [preds[0][k][0] for k in keys]
    probs = [1 / (1 + math.exp(-sum(logit(p[k][1]) for p in preds) / len(preds)))
             for k in keys]
    return labels, probs


def weighted_loss(labels, probs):
    n, n1 = len(labels), sum(labels)
    weight = {0: n / (2 * (n - n1)), 1: n / (2 * n1)}
    total = 0.0
    for y, p in zip(labels, probs):
        p = min(max(p, 1e-7), 1 - 1e-7)
        total -= weight[y] * math.log(p if y else 1 - p)
    return total / n


def choose_threshold(labels, probs):
    positives = sorted((p for y, p in zip(labels, probs) if y), reverse=True)
    # the fewest positives that reach the target, compared as the trainer
    # does (k / n >= target, not ceil(target * n), which rounding can shift)
    kept = next(k for k in range(1, len(positives) + 1)
                if k / len(positives) >= MIN_SENSITIVITY)
    highest = positives[kept - 1]
    lower = [p for p in probs if p < highest]
    return (highest + max(lower)) / 2 if lower else 0.0


def report(name, labels, probs, threshold):
    tp = sum(1 for y, p in zip(labels, probs) if y and p >= threshold)
    fp = sum(1 for y, p in zip(labels, probs) if not y and p >= threshold)
    n1 = sum(labels)
    n0 = len(labels) - n1
    pos = [p for y, p in zip(labels, probs) if y]
    neg = [p for y, p in zip(labels, probs) if not y]
    auc = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (n1 * n0)
    print(f"{name}: accuracy {(tp + n0 - fp) / len(labels):.4f}  sensitivity "
          f"{tp / n1:.4f}  specificity {(n0 - fp) / n0:.4f}  AUC {auc:.4f}  "
          f"FP {fp}  FN {n1 - tp}")


def main():
    runs = sys.argv[1:]
    if not runs:
        sys.exit(__doc__)
    labels, probs = averaged(runs, "val")
    threshold = choose_threshold(labels, probs)
    print(f"{len(runs)} model(s), logits averaged: validation loss "
          f"{weighted_loss(labels, probs):.4f}, threshold {threshold:.6f}")
    report("validation", labels, probs, threshold)
    if all(os.path.exists(os.path.join(r, "predictions_test.csv")) for r in runs):
        report("test", *averaged(runs, "test"), threshold)


if __name__ == "__main__":
    main()
