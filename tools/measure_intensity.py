#!/usr/bin/python3
"""measure_intensity.py - where CNN_STANDARD_MEAN and CNN_STANDARD_SD
(lib/image.h) come from: the average per-image mean and standard deviation
of the grey levels, in [0, 1] units, over every 5th image of DATA/train
(sorted by path), with their 1st, 50th and 99th percentiles.

Usage: /usr/bin/python3 tools/measure_intensity.py DATA   (Debian's numpy, PIL)
"""
import glob
import sys

import numpy as np
from PIL import Image

files = sorted(glob.glob(f"{sys.argv[1]}/train/*/*"))[::5]
means, sds = [], []
for f in files:
    a = np.asarray(Image.open(f).convert("L"), dtype=np.float64) / 255.0
    means.append(a.mean())
    sds.append(a.std())
for name, v in (("mean", means), ("sd", sds)):
    p1, p50, p99 = np.percentile(v, [1, 50, 99])
    print(f"{name}: average {np.mean(v):.4f} over {len(v)} images; "
          f"percentiles 1/50/99: {p1:.3f} {p50:.3f} {p99:.3f}")
