"""gen_golden_winograd.py - PyTorch goldens for test/test_winograd.c.

3x3 stride-1 convolutions of the shapes Winograd F(4x4, 3x3) must get right:
map sizes that are not multiples of the 4x4 tile (odd, smaller than a tile,
1x1), 'same' and 'valid' padding, batches, channel counts on both sides of
the network's rule (lib/winograd.c). Same layout as gen_golden_conv.py
("<case>/shape", x, w, b, y, r, dx, dw, db; L = sum(y * r)).
Writes test/golden/winograd.bin.
Run: /usr/bin/python3 test/gen_golden_winograd.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from golden import write_golden  # noqa: E402
from gen_golden_conv import conv_case  # noqa: E402

# name, n, in_c, in_h, in_w, out_c, same, bias
CASES = [
    ("same_odd_n2", 2, 16, 13, 11, 17, True, True),
    ("valid_odd_n3", 3, 17, 9, 7, 16, False, False),
    ("same_smaller_than_tile", 1, 16, 3, 5, 16, True, True),
    ("valid_one_tile", 2, 3, 6, 6, 5, False, True),
    ("same_1x1_image", 2, 4, 1, 1, 3, True, False),
    ("same_19x17", 1, 16, 19, 17, 16, True, True),
    ("valid_3x3_image", 2, 5, 3, 3, 4, False, True),
]


def main():
    gen = torch.Generator().manual_seed(20261130)
    out = {}
    for name, n, in_c, in_h, in_w, out_c, same, bias in CASES:
        out.update(conv_case(gen, name, n, in_c, in_h, in_w, out_c, 3, 3, 1, 1,
                             same, bias))
    write_golden(os.path.join(HERE, "golden", "winograd.bin"), out)


if __name__ == "__main__":
    main()
