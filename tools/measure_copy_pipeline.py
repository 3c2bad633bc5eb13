#!/usr/bin/python3
"""measure_copy_pipeline.py - how were the 224x224 Kermany copies made from
their originals? Resizes every 10th full-resolution original with each
Pillow filter, with and without a JPEG round trip at quality 75, and prints
the mean |difference| to its copy in grey levels, best first. The winner
(bilinear + JPEG 75) is the model input pipeline (docs/trainer.md).

Usage: /usr/bin/python3 tools/measure_copy_pipeline.py ORIGINALS_DIR COPIES_DIR
  e.g. ../shared/data/chest_xray_originals/train ../shared/data/chest_xray/train
"""
import glob
import io
import os
import sys

import numpy as np
from PIL import Image


def jpeg75(a):
    b = io.BytesIO()
    Image.fromarray(a).save(b, "JPEG", quality=75)
    return np.array(Image.open(b).convert("L"))


def point_bilinear(a, size):
    """Bilinear sampling without antialiasing (OpenCV INTER_LINEAR)."""
    h, w = a.shape
    ys = np.clip((np.arange(size) + 0.5) * h / size - 0.5, 0, h - 1)
    xs = np.clip((np.arange(size) + 0.5) * w / size - 0.5, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    f = a.astype(float)
    v = (f[y0][:, x0] * (1 - fx) + f[y0][:, x1] * fx) * (1 - fy) + \
        (f[y1][:, x0] * (1 - fx) + f[y1][:, x1] * fx) * fy
    return np.clip(np.round(v), 0, 255).astype(np.uint8)


def main():
    originals, copies = sys.argv[1], sys.argv[2]
    files = sorted(glob.glob(os.path.join(originals, "*", "*.jpeg")))[::10]
    filters = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
               "box": Image.BOX, "nearest": Image.NEAREST, "lanczos": Image.LANCZOS}
    errors = {}
    for f in files:
        rel = os.path.relpath(f, originals)
        copy = np.array(Image.open(os.path.join(copies, rel)).convert("L")).astype(float)
        img = Image.open(f).convert("L")
        candidates = {name: np.array(img.resize(copy.shape[::-1], flt))
                      for name, flt in filters.items()}
        candidates["bilinear, no antialiasing"] = point_bilinear(np.array(img), copy.shape[0])
        for name, a in candidates.items():
            for jpeg in (False, True):
                b = jpeg75(a) if jpeg else a
                key = name + (" + JPEG 75" if jpeg else "")
                errors.setdefault(key, []).append(np.abs(b.astype(float) - copy).mean())
    print(f"{len(files)} originals; mean |difference| to the copy, grey levels")
    for key, e in sorted(errors.items(), key=lambda kv: np.mean(kv[1])):
        print(f"  {np.mean(e):6.3f}  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
