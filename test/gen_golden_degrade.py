#!/usr/bin/python3
"""Writes test/golden/degrade.bin: what Pillow and scipy do to small
synthetic images, for test/test_degrade.c (the model's input pipeline and
the pipeline augmentations of lib/resize.c, lib/jpeg_encode.c and
lib/degrade.c). Format: test/util/golden.h.

  src_grey          37x29 8-bit grey: gradients, a disc, a checkerboard, 1-px
                    stripes and hashed texture (odd sizes, full 0..255 range)
  src_mid           the same squeezed into 64..191 (float)
  src_rgb           [3][29][37] 8-bit RGB (three different patterns)
  resize8.F.WxH     Image.resize((W, H), F) of src_grey in mode "L": Pillow's
                    own 8-bit path (fixed-point weights, rounded to 8 bits
                    after each pass)
  resizef.F.WxH     the same of src_mid in mode "F": Pillow's double
                    precision path, no rounding; src_mid keeps every pass
                    inside 0..255, so that no clamp acts (checked here)
                    F = bicubic bilinear box lanczos nearest
  jpeg_grey.Q       Image.save(format="JPEG", quality=Q) of src_grey
                    ("L"), decoded again by Pillow
  jpeg_rgb.Q        the same of src_rgb ("RGB": YCbCr 4:2:0, Pillow's
                    default subsampling)
  gauss.S           scipy.ndimage.gaussian_filter(src_grey as float64, S/100,
                    mode="nearest", truncate=3.0)
  gamma_in, gamma.G 255 * (clip(v, 0, 255) / 255) ** (G/100), float64

Debian's Pillow (python3-pil) links the system libjpeg62-turbo, the library
lib/jpeg_encode.c uses, so its JPEG round trip must agree exactly.

usage (from the repository root): /usr/bin/python3 test/gen_golden_degrade.py
"""
import io
import os
import sys

import numpy as np
import scipy.ndimage
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden import write_golden  # noqa: E402

W, H = 37, 29
FILTERS = {
    "bicubic": Image.BICUBIC,
    "bilinear": Image.BILINEAR,
    "box": Image.BOX,
    "lanczos": Image.LANCZOS,
    "nearest": Image.NEAREST,
}
# down ~2.6x, down ~7x, slightly down, up ~1.2x, down in x and up in y
SIZES = [(14, 11), (5, 4), (33, 26), (45, 35), (23, 45)]
JPEG_GREY = [1, 10, 50, 75, 100]
JPEG_RGB = [30, 90]
SIGMAS = [30, 70, 110, 230, 600]  # hundredths: 0.7 and 1.1 round 3 sigma
GAMMAS = [50, 74, 135, 220]       # hundredths


def synthetic_grey():
    y, x = np.mgrid[0:H, 0:W]
    v = (x * 255 // (W - 1) + y * 255 // (H - 1)) // 2
    v = np.where((x - 20) ** 2 + (y - 12) ** 2 < 8 ** 2, 255 - v, v)
    v = np.where((x < 12) & (y > 17), ((x // 3 + y // 3) % 2) * 255, v)
    v = np.where((x > 28) & (y > 20), (x % 2) * 255, v)
    v = np.where((x > 26) & (y < 8), (x * 73 + y * 151 + (x * y) % 17 * 13) % 256, v)
    return v.astype(np.uint8)


def synthetic_rgb(grey):
    y, x = np.mgrid[0:H, 0:W]
    r = grey
    g = ((x * 7 + y * 3) % 64 * 4).astype(np.uint8)
    b = np.where((x // 5 + y // 4) % 2 == 1, 230, 25).astype(np.uint8)
    return np.stack([r, g, b])  # [3][H][W]


def jpeg_roundtrip(img, quality):
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    assert out.mode == img.mode
    return np.asarray(out)


def main():
    grey = synthetic_grey()
    mid = np.round(64 + grey.astype(np.float64) * 127 / 255).astype(np.float32)
    rgb = synthetic_rgb(grey)
    g = {"src_grey": grey, "src_mid": mid, "src_rgb": rgb}

    im8 = Image.fromarray(grey, "L")
    imf = Image.fromarray(mid, "F")
    for name, f in FILTERS.items():
        for w, h in SIZES:
            g[f"resize8.{name}.{w}x{h}"] = np.asarray(im8.resize((w, h), f))
            out = np.asarray(imf.resize((w, h), f))
            # A clamp in the C code must not act: keep well inside 0..255
            # (the horizontal pass alone stays inside the final range's
            # bounds, since the final pass only adds one more overshoot).
            assert out.min() > 10 and out.max() < 245, (name, w, h, out.min(), out.max())
            g[f"resizef.{name}.{w}x{h}"] = out

    for q in JPEG_GREY:
        g[f"jpeg_grey.{q}"] = jpeg_roundtrip(im8, q)
    im_rgb = Image.fromarray(np.ascontiguousarray(rgb.transpose(1, 2, 0)), "RGB")
    for q in JPEG_RGB:
        g[f"jpeg_rgb.{q}"] = jpeg_roundtrip(im_rgb, q).transpose(2, 0, 1)

    for s in SIGMAS:
        g[f"gauss.{s}"] = scipy.ndimage.gaussian_filter(
            grey.astype(np.float64), s / 100.0, mode="nearest", truncate=3.0)

    v = np.concatenate([np.arange(256, dtype=np.float64),
                        [-7.0, 0.25, 12.5, 127.75, 254.5, 255.0, 300.0]])
    g["gamma_in"] = v
    for gm in GAMMAS:
        g[f"gamma.{gm}"] = 255.0 * (np.clip(v, 0, 255) / 255.0) ** (gm / 100.0)

    path = "test/golden/degrade.bin"
    write_golden(path, g)
    print(f"{path}: {len(g)} arrays, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
