"""gen_golden_conv.py - PyTorch goldens for test/test_conv.c and test/test_dense.c.

For every case: inputs x, weight w, bias b (if any), the forward output y and,
for the loss L = sum(y * r) with a fixed random r, the autograd gradients
dx, dw, db. TensorFlow 'same' padding is emulated with an explicit F.pad whose
odd pixel goes to the bottom/right, computed here from TF's formula:
    out = ceil(in / s), total = max((out - 1) * s + k - in, 0).
Array names are "<case>/<what>"; conv cases also store their geometry in
"<case>/shape" = [n, in_c, in_h, in_w, out_c, kh, kw, stride_h, stride_w,
same, has_bias].
Writes test/golden/conv.bin and test/golden/dense.bin.
Run: /usr/bin/python3 test/gen_golden_conv.py
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from golden import write_golden  # noqa: E402

# name, n, in_c, in_h, in_w, out_c, kh, kw, stride_h, stride_w, same, bias
CONV_CASES = [
    ("k1x1_s1", 1, 5, 6, 7, 4, 1, 1, 1, 1, True, True),
    ("k1x1_s1_n3", 3, 6, 5, 4, 3, 1, 1, 1, 1, False, False),
    ("k1x1_s2_valid", 3, 3, 7, 6, 4, 1, 1, 2, 2, False, False),
    ("k1x1_s2_same", 1, 4, 7, 8, 3, 1, 1, 2, 2, True, True),
    ("k3x3_same", 3, 4, 8, 9, 5, 3, 3, 1, 1, True, True),
    ("k3x3_valid", 1, 3, 7, 6, 2, 3, 3, 1, 1, False, False),
    ("k5x5_same", 1, 3, 9, 8, 4, 5, 5, 1, 1, True, True),
    ("k1x7_same", 3, 4, 7, 9, 3, 1, 7, 1, 1, True, False),
    ("k7x1_same", 1, 3, 9, 7, 4, 7, 1, 1, 1, True, True),
    ("k1x3_same", 3, 3, 5, 6, 2, 1, 3, 1, 1, True, True),
    ("k3x1_same", 1, 5, 6, 5, 3, 3, 1, 1, 1, True, False),
    ("k2x2_same", 3, 2, 5, 6, 3, 2, 2, 1, 1, True, True),
    ("k3x3_s2_valid_odd", 3, 3, 9, 9, 4, 3, 3, 2, 2, False, True),
    ("k3x3_s2_valid_even", 1, 3, 8, 10, 2, 3, 3, 2, 2, False, False),
    ("k3x3_s2_same_odd", 1, 3, 9, 7, 3, 3, 3, 2, 2, True, True),
    ("k3x3_s2_same_even", 3, 3, 8, 10, 4, 3, 3, 2, 2, True, True),
    ("k5x5_s2_same_even", 1, 2, 10, 8, 3, 5, 5, 2, 2, True, False),
    ("k3x3_s1x2_same", 3, 3, 6, 8, 2, 3, 3, 1, 2, True, True),
    ("k1x1_same_bigger_stride", 1, 2, 3, 3, 2, 1, 1, 3, 3, True, False),
    ("k5x5_same_tiny_image", 2, 2, 1, 2, 3, 5, 5, 1, 1, True, True),
]

# name, n, in, out, bias
DENSE_CASES = [
    ("n3_bias", 3, 7, 5, True),
    ("n4_nobias", 4, 6, 1, False),
    ("n1_bias", 1, 9, 4, True),
]


def same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv_case(gen, name, n, in_c, in_h, in_w, out_c, kh, kw, sh, sw, same, has_bias):
    x = torch.rand(n, in_c, in_h, in_w, generator=gen) * 2 - 1
    w = torch.rand(out_c, in_c, kh, kw, generator=gen) * 2 - 1
    b = torch.rand(out_c, generator=gen) * 2 - 1 if has_bias else None
    x.requires_grad_(True)
    w.requires_grad_(True)
    if b is not None:
        b.requires_grad_(True)
    xp = x
    if same:
        top, bottom = same_pads(in_h, kh, sh)
        left, right = same_pads(in_w, kw, sw)
        xp = F.pad(x, (left, right, top, bottom))
    y = F.conv2d(xp, w, b, stride=(sh, sw))
    r = torch.rand(y.shape, generator=gen) * 2 - 1
    (y * r).sum().backward()
    shape = [n, in_c, in_h, in_w, out_c, kh, kw, sh, sw, int(same), int(has_bias)]
    out = {"shape": torch.tensor(shape, dtype=torch.float32), "x": x, "w": w,
           "y": y, "r": r, "dx": x.grad, "dw": w.grad}
    if b is not None:
        out["b"] = b
        out["db"] = b.grad
    return {f"{name}/{k}": v for k, v in out.items()}


def dense_case(gen, name, n, fan_in, fan_out, has_bias):
    x = (torch.rand(n, fan_in, generator=gen) * 2 - 1).requires_grad_(True)
    w = (torch.rand(fan_out, fan_in, generator=gen) * 2 - 1).requires_grad_(True)
    b = (torch.rand(fan_out, generator=gen) * 2 - 1).requires_grad_(True) if has_bias else None
    y = F.linear(x, w, b)
    r = torch.rand(y.shape, generator=gen) * 2 - 1
    (y * r).sum().backward()
    out = {"shape": torch.tensor([n, fan_in, fan_out, int(has_bias)], dtype=torch.float32),
           "x": x, "w": w, "y": y, "r": r, "dx": x.grad, "dw": w.grad}
    if b is not None:
        out["b"] = b
        out["db"] = b.grad
    return {f"{name}/{k}": v for k, v in out.items()}


def main():
    gen = torch.Generator().manual_seed(20261126)
    conv = {}
    for case in CONV_CASES:
        conv.update(conv_case(gen, *case))
    write_golden(os.path.join(HERE, "golden", "conv.bin"), conv)
    dense = {}
    for case in DENSE_CASES:
        dense.update(dense_case(gen, *case))
    write_golden(os.path.join(HERE, "golden", "dense.bin"), dense)


if __name__ == "__main__":
    main()
