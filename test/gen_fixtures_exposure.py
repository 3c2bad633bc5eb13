#!/usr/bin/python3
"""gen_fixtures_exposure.py - one X-ray at two exposures, for the check in
test/train_test.sh that a --standardize model answers the same for both.

Writes test/fixtures/exposure/{xray,xray_other_exposure}.png from a 75x75
image of the tiny training fixture, doubled to 150x150 by repeating pixels
(the input gate refuses images below 150 px a side as too small to judge):
the second is 0.6 x + 70 (darker contrast, brighter overall; no value
leaves 0..255, so no clipping).
Run from the repository root: /usr/bin/python3 test/gen_fixtures_exposure.py
"""
import numpy as np
from PIL import Image

SRC = "test/fixtures/train/chest_xray_tiny/test/NORMAL/IM-0001-0001.jpeg"
OUT = "test/fixtures/exposure"

x = np.asarray(Image.open(SRC).convert("L"), dtype=np.float64)
x = x.repeat(2, axis=0).repeat(2, axis=1)
Image.fromarray(x.astype(np.uint8)).save(f"{OUT}/xray.png")
other = np.rint(0.6 * x + 70.0)
assert other.max() <= 255
Image.fromarray(other.astype(np.uint8)).save(f"{OUT}/xray_other_exposure.png")
