#!/usr/bin/python3
"""blur_sensitivity.py - does a model read sharpness as a sign of pneumonia?

The test split's NORMAL copies are blurrier than train's, and sharpness alone
separates the training classes (issue 15). This blurs validation X-rays
(Gaussian, each sigma given, at the 224x224 copy's scale) and runs ./infer on
the originals and the blurred versions: if blur pushes NORMAL X-rays towards
PNEUMONIA, the model leans on the cue.

Reports per class and sigma: the mean probability before and after, the mean
change, and how many verdicts flip.

Usage: /usr/bin/python3 tools/blur_sensitivity.py MODEL PREDICTIONS_VAL_CSV
         [--infer ./infer] [--sigmas 1,2] [--limit N]
PREDICTIONS_VAL_CSV: a run's predictions_val.csv (columns path, label, ...),
so the images are the patient-grouped validation split.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

from PIL import Image, ImageFilter


def infer(binary, model, paths):
    """{path: (verdict, probability or None)} from ./infer --json."""
    out = {}
    for start in range(0, len(paths), 200):
        chunk = paths[start:start + 200]
        res = subprocess.run([binary, "--model", model, "--json", *chunk],
                             capture_output=True, text=True)
        for line in res.stdout.splitlines():
            o = json.loads(line)
            if "file" in o and "verdict" in o:
                out[o["file"]] = (o["verdict"], o.get("probability"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("predictions")
    ap.add_argument("--infer", default="./infer")
    ap.add_argument("--sigmas", default="1,2")
    ap.add_argument("--limit", type=int, default=0, help="images per class (0: all)")
    a = ap.parse_args()
    rows = list(csv.DictReader(open(a.predictions)))
    by_class = {0: [], 1: []}
    for r in rows:
        by_class[int(r["label"])].append(r["path"])
    if a.limit:
        by_class = {k: v[:a.limit] for k, v in by_class.items()}
    sigmas = [float(s) for s in a.sigmas.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        variants = {0.0: {}}
        for s in sigmas:
            variants[s] = {}
        for label, paths in by_class.items():
            for i, p in enumerate(paths):
                variants[0.0][p] = p
                img = Image.open(p).convert("L")
                for s in sigmas:
                    q = os.path.join(tmp, f"{label}_{i}_s{s}.png")
                    img.filter(ImageFilter.GaussianBlur(s)).save(q)
                    variants[s][p] = q
        results = {s: infer(a.infer, a.model, list(v.values()))
                   for s, v in variants.items()}
    print("class      sigma  n    mean p before  after   mean dp  flips  refused")
    for label, name in ((0, "NORMAL"), (1, "PNEUMONIA")):
        for s in sigmas:
            before, after, flips, refused, n = 0.0, 0.0, 0, 0, 0
            for p in by_class[label]:
                v0, p0 = results[0.0].get(variants[0.0][p], (None, None))
                v1, p1 = results[s].get(variants[s][p], (None, None))
                if p0 is None or p1 is None:
                    refused += 1
                    continue
                n += 1
                before += p0
                after += p1
                flips += v0 != v1
            if n:
                print(f"{name:10s} {s:5.1f}  {n:4d} {before / n:13.4f} {after / n:7.4f}"
                      f" {(after - before) / n:+9.4f} {flips:6d} {refused:8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
