#!/usr/bin/python3
"""Writes test/fixtures/gate/: images the input gate must refuse, for
test/infer_test.sh and test/web_test.sh.

  flat.png            300x300, grey levels 120..135: almost no contrast
  colour_photo.jpeg   320x240, a synthetic outdoor scene: sky, sun, grass
  document.png        400x300, black lines of "text" on white paper
  inverted_xray.jpeg  the normal X-ray fixture with its grey levels
                      inverted (passes the image checks; the learned layout
                      check refuses it)
  rotated_xray.jpeg   the same X-ray turned by 90 degrees

The X-ray is test/fixtures/images/xray_normal_IM-0115-0001.jpeg, from
Kermany, Zhang and Goldbaum (2018), Mendeley Data v2,
doi:10.17632/rscbjbr9sj.2, CC BY 4.0.

usage: /usr/bin/python3 test/gen_fixtures_gate.py
"""
import os

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "gate")
XRAY = os.path.join(HERE, "fixtures", "images", "xray_normal_IM-0115-0001.jpeg")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(15)

    y, x = np.mgrid[0:300, 0:300]
    flat = 120 + 15 * (x + y) / 598.0
    Image.fromarray(np.clip(flat, 0, 255).astype(np.uint8)).save(
        os.path.join(OUT, "flat.png"))

    h, w = 240, 320
    y, x = np.mgrid[0:h, 0:w]
    sky = np.stack([90 + 60 * y / h, 150 + 60 * y / h, 250 - 20 * y / h], -1)
    grass = np.stack([60 + 0 * y, 150 - 40 * (y - h / 2) / h, 50 + 0 * y], -1)
    scene = np.where((y < h * 0.55)[..., None], sky, grass)
    sun = (x - 250) ** 2 + (y - 50) ** 2 < 25 ** 2
    scene[sun] = [250, 210, 60]
    scene += rng.normal(0, 6, scene.shape)
    Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8)).save(
        os.path.join(OUT, "colour_photo.jpeg"), quality=90)

    doc = Image.new("L", (400, 300), 255)
    draw = ImageDraw.Draw(doc)
    for line in range(12):
        top = 20 + 22 * line
        left = 30
        while left < 360:
            word = int(rng.integers(15, 60))
            draw.rectangle([left, top, min(left + word, 370), top + 9], fill=0)
            left += word + 10
    doc.save(os.path.join(OUT, "document.png"))

    xray = Image.open(XRAY).convert("L")
    Image.fromarray(255 - np.asarray(xray)).save(
        os.path.join(OUT, "inverted_xray.jpeg"), quality=90)
    xray.transpose(Image.Transpose.ROTATE_90).save(
        os.path.join(OUT, "rotated_xray.jpeg"), quality=90)
    with open(os.path.join(OUT, "CREDITS.txt"), "w") as f:
        f.write("Made by test/gen_fixtures_gate.py. inverted_xray.jpeg and "
                "rotated_xray.jpeg come from\na chest X-ray of Kermany, Zhang "
                "and Goldbaum (2018), Mendeley Data v2,\n"
                "doi:10.17632/rscbjbr9sj.2, licence CC BY 4.0.\n")


if __name__ == "__main__":
    main()
