#!/usr/bin/python3
"""Writes the tiny training fixture set test/fixtures/train/chest_xray_tiny:
a few chest X-rays per class, downscaled to 75x75 (the smallest InceptionV3
input), laid out like the real data set (train/ and test/, NORMAL/ and
PNEUMONIA/), file names kept so that patient ids still parse.

Images: Kermany, Zhang, Goldbaum (2018), Mendeley Data v2,
doi:10.17632/rscbjbr9sj.2, CC BY 4.0.

usage: DATA=/work/shared/data/chest_xray /usr/bin/python3 test/gen_fixtures_train.py
"""
import os
import sys

from PIL import Image

DATA = os.environ.get("DATA", "/work/shared/data/chest_xray")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "fixtures", "train", "chest_xray_tiny")
SIZE = 75
# Every 120th NORMAL / 350th PNEUMONIA train file (sorted), plus a few test
# files: spread over many patients.
PICK = {("train", "NORMAL"): (10, 120), ("train", "PNEUMONIA"): (10, 350),
        ("test", "NORMAL"): (4, 50), ("test", "PNEUMONIA"): (4, 90)}


def main():
    for (split, cls), (count, step) in PICK.items():
        src = os.path.join(DATA, split, cls)
        names = sorted(os.listdir(src))[::step][:count]
        dst = os.path.join(OUT, split, cls)
        os.makedirs(dst, exist_ok=True)
        for name in names:
            img = Image.open(os.path.join(src, name)).convert("L")
            img = img.resize((SIZE, SIZE), Image.BICUBIC)
            img.save(os.path.join(dst, name), quality=90)
            print(os.path.join(split, cls, name))
    with open(os.path.join(OUT, "CREDITS.txt"), "w") as f:
        f.write("Chest X-rays downscaled to 75x75 from Kermany, Zhang and "
                "Goldbaum (2018),\n\"Labeled Optical Coherence Tomography "
                "(OCT) and Chest X-Ray Images for\nClassification\", Mendeley "
                "Data v2, doi:10.17632/rscbjbr9sj.2, licence CC BY 4.0.\n"
                "Made by test/gen_fixtures_train.py.\n")


if __name__ == "__main__":
    sys.exit(main())
