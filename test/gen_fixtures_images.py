#!/usr/bin/python3
"""gen_fixtures_images.py - the image fixtures of the decoder/resize tests.

Writes test/fixtures/images/*.{png,jpeg} and test/golden/image_fixtures.bin
(expected pixels, format in test/util/golden.h). Run from the repository
root with Debian's python3 (numpy, PIL):  /usr/bin/python3 test/gen_fixtures_images.py

PNGs are written by the small encoder below, so that every colour type, bit
depth, transparency form and Adam7 interlacing is covered exactly; each file
is read back with Pillow as an independent check of the encoder. Expected
values follow lib/image.h: 0..255 floats, 16-bit as v*255/65535, alpha
composited over black. JPEGs are written by Pillow (libjpeg) and their
expected pixels are Pillow's decoding of the same file (CMYK converted to RGB
here with numpy as (255-C)(255-K)/255). The YCCK JPEG is written by
ImageMagick's convert.

Resize references are Pillow's Image.resize with the default filter on a
synthetic 1500x1200 grey image (the C test computes the same integer
formula: synthetic_pixel below) and on a real X-ray; they are stored as
8-bit PNGs.
"""
import os
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden import write_golden  # noqa: E402

OUT = "test/fixtures/images"
XRAYS = [  # (data set file, fixture name)
    ("train/NORMAL/IM-0115-0001.jpeg", "xray_normal_IM-0115-0001.jpeg"),
    ("train/PNEUMONIA/person1000_bacteria_2931.jpeg",
     "xray_pneumonia_person1000_bacteria_2931.jpeg"),
]
DATA = os.environ.get("DATA", "/work/shared/data/chest_xray")

# ------------------------------------------------------------------ PNG writer

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]  # (x0, y0, dx, dy)
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def pack_row(samples, depth):
    """samples: 1-D uint array of one scanline -> bytes (filter type 0)."""
    if depth == 16:
        return b"\0" + samples.astype(">u2").tobytes()
    if depth == 8:
        return b"\0" + samples.astype(np.uint8).tobytes()
    per_byte = 8 // depth
    padded = np.zeros(-(-len(samples) // per_byte) * per_byte, dtype=np.uint32)
    padded[:len(samples)] = samples
    out = bytearray()
    for i in range(0, len(padded), per_byte):
        byte = 0
        for s in padded[i:i + per_byte]:
            byte = (byte << depth) | int(s)
        out.append(byte)
    return b"\0" + bytes(out)


def encode_png(pixels, colour_type, depth, interlace=False, palette=None,
               trns=None):
    """pixels: [h, w, channels] of raw sample values (palette indices for 3)."""
    h, w = pixels.shape[:2]
    flat = pixels.reshape(h, w, -1)

    def scanlines(sub):
        return b"".join(pack_row(row.reshape(-1), depth) for row in sub)

    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = flat[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += scanlines(sub)
    else:
        raw = scanlines(flat)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0,
                                      0, 1 if interlace else 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    return png


def composite(colour, alpha, maxval):
    """colour [h,w,c], alpha [h,w] or None -> expected [c,h,w] floats."""
    c = colour.astype(np.float64) * 255.0 / maxval
    if alpha is not None:
        c = c * (alpha.astype(np.float64) / maxval)[:, :, None]
    return np.transpose(c, (2, 0, 1)).astype(np.float32)


def check_with_pillow(path, colour, alpha, depth, mode_palette=None):
    """Pillow must read back what we meant to write (checks the encoder)."""
    im = Image.open(path)
    im.load()
    a = np.asarray(im)
    if mode_palette is not None:                 # palette indices
        assert np.array_equal(a, mode_palette), path
        return
    want = colour if alpha is None else np.concatenate([colour, alpha[:, :, None]], 2)
    if depth == 16 and want.shape[2] > 1:        # Pillow keeps only the high byte
        want = want >> 8
    if depth < 8:                                # Pillow reads 1-bit as bool/0..1, L;2/L;4 as scaled
        want = want * (255 // (2 ** depth - 1))
        if im.mode == "1":
            a = a.astype(np.uint8) * 255
    if im.mode == "RGBA" and want.shape[2] == 2:  # Pillow widens 16-bit LA
        a = a[:, :, [0, 3]]
    assert np.array_equal(a.reshape(want.shape).astype(np.int64),
                          want.astype(np.int64)), (path, im.mode)


def make_pngs(golden):
    rng = np.random.default_rng(1234)
    h, w = 9, 13  # odd sizes exercise bit packing and Adam7 partial passes

    def rnd(maxval, c):
        return rng.integers(0, maxval + 1, size=(h, w, c), dtype=np.int64)

    cases = []
    for depth in (1, 2, 4, 8, 16):
        cases.append((f"png_grey{depth}", 0, depth, rnd(2 ** depth - 1, 1), None, False))
    cases.append(("png_grey8_adam7", 0, 8, rnd(255, 1), None, True))
    cases.append(("png_grey2_adam7", 0, 2, rnd(3, 1), None, True))
    cases.append(("png_rgb8", 2, 8, rnd(255, 3), None, False))
    cases.append(("png_rgb16", 2, 16, rnd(65535, 3), None, False))
    cases.append(("png_rgb8_adam7", 2, 8, rnd(255, 3), None, True))
    cases.append(("png_greyalpha8", 4, 8, rnd(255, 1), rnd(255, 1)[:, :, 0], False))
    cases.append(("png_greyalpha16", 4, 16, rnd(65535, 1), rnd(65535, 1)[:, :, 0], False))
    cases.append(("png_rgba8", 6, 8, rnd(255, 3), rnd(255, 1)[:, :, 0], False))
    cases.append(("png_rgba16", 6, 16, rnd(65535, 3), rnd(65535, 1)[:, :, 0], False))
    cases.append(("png_rgba16_adam7", 6, 16, rnd(65535, 3), rnd(65535, 1)[:, :, 0], True))
    for name, ctype, depth, colour, alpha, interlace in cases:
        raw = colour if alpha is None else np.concatenate([colour, alpha[:, :, None]], 2)
        path = f"{OUT}/{name}.png"
        with open(path, "wb") as f:
            f.write(encode_png(raw, ctype, depth, interlace))
        check_with_pillow(path, colour, alpha, depth)
        golden[name] = composite(colour, alpha, 2 ** depth - 1)

    # Palette images: 4-bit and 8-bit, one with per-entry alpha (tRNS).
    for name, depth, with_trns in (("png_palette4", 4, False),
                                   ("png_palette8_trns", 8, True),
                                   ("png_palette1_adam7", 1, False)):
        n = 2 ** depth
        palette = rng.integers(0, 256, size=(n, 3))
        index = rng.integers(0, n, size=(h, w, 1))
        trns = rng.integers(0, 256, size=n) if with_trns else None
        path = f"{OUT}/{name}.png"
        with open(path, "wb") as f:
            f.write(encode_png(index, 3, depth, name.endswith("adam7"), palette,
                               bytes(trns.astype(np.uint8)) if with_trns else None))
        check_with_pillow(path, None, None, depth, mode_palette=index[:, :, 0])
        colour = palette[index[:, :, 0]]
        golden[name] = composite(colour, trns[index[:, :, 0]] if with_trns else None, 255)

    # Colour-key transparency on 8-bit grey: the key value becomes alpha 0.
    colour = rnd(255, 1)
    key = int(colour[0, 0, 0])
    path = f"{OUT}/png_grey8_colourkey.png"
    with open(path, "wb") as f:
        f.write(encode_png(colour, 0, 8, trns=struct.pack(">H", key)))
    alpha = np.where(colour[:, :, 0] == key, 0, 255)
    golden["png_grey8_colourkey"] = composite(colour, alpha, 255)

    # A header that claims 100000 x 100000 pixels, followed by a tiny IDAT.
    with open(f"{OUT}/huge_header.png", "wb") as f:
        png = b"\x89PNG\r\n\x1a\n"
        png += chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
        png += chunk(b"IDAT", zlib.compress(b"\0" * 64))
        png += chunk(b"IEND", b"")
        f.write(png)


# ------------------------------------------------------------------ JPEG


def smooth_rgb(h, w):
    y, x = np.mgrid[0:h, 0:w]
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 255.0 * x / (w - 1)
    b = 255.0 * y / (h - 1)
    return np.clip(np.stack([r, g, b], 2), 0, 255).astype(np.uint8)


def expected_from_pillow(path):
    im = Image.open(path)
    a = np.asarray(im).astype(np.float64)
    if im.mode == "L":
        return a[None].astype(np.float32)
    if im.mode == "CMYK":
        c, k = a[:, :, :3], a[:, :, 3:]
        a = (255.0 - c) * (255.0 - k) / 255.0
    return np.transpose(a, (2, 0, 1)).astype(np.float32)


def make_jpegs(golden):
    rgb = Image.fromarray(smooth_rgb(24, 40))
    grey = rgb.convert("L")
    cmyk = Image.fromarray(np.dstack([smooth_rgb(24, 40), smooth_rgb(24, 40)[:, :, :1]]), "CMYK")
    jobs = [("jpeg_grey_baseline", grey, {}),
            ("jpeg_grey_progressive", grey, {"progressive": True}),
            ("jpeg_rgb_baseline", rgb, {}),
            ("jpeg_rgb_progressive", rgb, {"progressive": True}),
            ("jpeg_rgb_444", rgb, {"subsampling": 0}),
            ("jpeg_cmyk", cmyk, {})]
    for name, im, opts in jobs:
        path = f"{OUT}/{name}.jpeg"
        im.save(path, quality=90, **opts)
        golden[name] = expected_from_pillow(path)
    # YCCK (Adobe transform 2): libjpeg writers such as ImageMagick's turn
    # CMYK into YCCK; Pillow cannot write it, so ImageMagick does.
    cmyk.save("/tmp/gen_fixtures_cmyk.tif")
    subprocess.run(["convert", "/tmp/gen_fixtures_cmyk.tif", "-quality", "90",
                    f"{OUT}/jpeg_ycck.jpeg"], check=True)
    os.remove("/tmp/gen_fixtures_cmyk.tif")
    with open(f"{OUT}/jpeg_ycck.jpeg", "rb") as f:
        data = f.read()
    adobe = data.find(b"Adobe")
    assert adobe > 0 and data[adobe + 11] == 2, "expected an Adobe YCCK JPEG"
    golden["jpeg_ycck"] = expected_from_pillow(f"{OUT}/jpeg_ycck.jpeg")


# ------------------------------------------------------------------ X-rays and resize


def synthetic_pixel(x, y):
    """Integer formula shared with test/test_resize.c (synthetic_image):
    gradients, a sharp-edged disc, a 37-px checkerboard and fine 1-px
    stripes that only an antialiasing resampler averages to grey."""
    v = (x * 255 // 1499 + y * 255 // 1199) // 2
    v = np.where((x - 600) ** 2 + (y - 500) ** 2 < 300 ** 2, 255 - v, v)
    v = np.where((x < 400) & (y > 700), ((x // 37 + y // 37) % 2) * 200 + 20, v)
    v = np.where((x > 1100) & (y > 800), ((x + y // 3) % 2) * 255, v)
    return v.astype(np.uint8)


def make_resize_refs():
    y, x = np.mgrid[0:1200, 0:1500]
    big = Image.fromarray(synthetic_pixel(x, y), "L")
    big.resize((224, 224)).save(f"{OUT}/resize_synthetic_224.png")
    big.resize((150, 100)).save(f"{OUT}/resize_synthetic_150x100.png")
    xray = Image.open(f"{OUT}/{XRAYS[0][1]}").convert("L")
    xray.resize((299, 299)).save(f"{OUT}/resize_xray_299.png")


def copy_xrays(golden):
    for src, name in XRAYS:
        shutil.copyfile(os.path.join(DATA, src), f"{OUT}/{name}")
        full = expected_from_pillow(f"{OUT}/{name}")
        # Every 8th pixel and the mean keep the golden small.
        key = name.split("_")[1]
        golden[f"xray_{key}_sampled"] = full[:, ::8, ::8]
        golden[f"xray_{key}_mean"] = np.array([full.mean()], np.float32)
        golden[f"xray_{key}_shape"] = np.array(full.shape, np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    golden = {}
    make_pngs(golden)
    make_jpegs(golden)
    copy_xrays(golden)
    make_resize_refs()
    write_golden("test/golden/image_fixtures.bin", golden)


if __name__ == "__main__":
    main()
