#!/usr/bin/python3
"""measure_polarity.py - the margin of the input gate's polarity check.

The gate refuses an image whose layout thumbnail (16x16 cell means of the
224x224 model input, standardized) correlates negatively with the mean
thumbnail of the training X-rays: a negative. This prints how far above 0
the real X-rays stay: every training copy and every original, each brought
to 224x224 with Pillow's bilinear filter (the model's resize; the JPEG step
is left out, it moves cell means by a fraction of a grey level).

Usage: /usr/bin/python3 tools/measure_polarity.py TRAIN_DIR [ORIGINALS_DIR]
  e.g. ../shared/data/chest_xray/train ../shared/data/chest_xray_originals/train
"""
import glob
import os
import sys

import numpy as np
from PIL import Image


def thumbnail(path):
    a = np.asarray(Image.open(path).convert("L").resize((224, 224), Image.BILINEAR), float)
    t = a.reshape(16, 14, 16, 14).mean(axis=(1, 3)).ravel()
    return (t - t.mean()) / (t.std() + 1e-12)


def polarity(thumbs, mean):
    return thumbs @ mean / (np.linalg.norm(thumbs, axis=1) * np.linalg.norm(mean))


def report(name, c):
    print(f"{name}: {len(c)} images, polarity min {c.min():.3f}, 0.1% {np.percentile(c, 0.1):.3f}, "
          f"1% {np.percentile(c, 1):.3f}, median {np.median(c):.3f}; "
          f"their negatives: max {-c.min():.3f}")


def main():
    train = sorted(glob.glob(os.path.join(sys.argv[1], "*", "*.jpeg")))
    thumbs = np.array([thumbnail(f) for f in train])
    mean = thumbs.mean(axis=0)
    report("training copies", polarity(thumbs, mean))
    if len(sys.argv) > 2:
        originals = sorted(glob.glob(os.path.join(sys.argv[2], "*", "*.jpeg")))
        report("originals", polarity(np.array([thumbnail(f) for f in originals]), mean))
    return 0


if __name__ == "__main__":
    sys.exit(main())
