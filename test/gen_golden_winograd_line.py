"""gen_golden_winograd_line.py - PyTorch goldens for test/test_winograd_line.c.

1x7 and 7x1 stride-1 convolutions of the shapes F(4, 7) along a line must
get right (lib/winograd_line.c): lines that are not multiples of the 4-wide
tile, shorter than a tile or than the kernel, 'same' and 'valid' padding,
batches, both orientations. Same layout as gen_golden_conv.py. Writes
test/golden/winograd_line.bin.
Run: /usr/bin/python3 test/gen_golden_winograd_line.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from golden import write_golden  # noqa: E402
from gen_golden_conv import conv_case  # noqa: E402

# name, n, in_c, in_h, in_w, out_c, kh, kw, same, bias
CASES = [
    ("row_same_17_n2", 2, 16, 5, 17, 19, 1, 7, True, True),
    ("col_same_17_n2", 2, 19, 17, 6, 16, 7, 1, True, False),
    ("row_valid_11", 3, 5, 3, 11, 4, 1, 7, False, True),
    ("col_valid_9", 1, 4, 9, 2, 6, 7, 1, False, True),
    ("row_same_shorter_than_kernel", 2, 3, 2, 3, 5, 1, 7, True, True),
    ("col_same_1x1_image", 2, 4, 1, 1, 3, 7, 1, True, False),
    ("row_valid_one_output", 1, 6, 4, 7, 5, 1, 7, False, True),
]


def main():
    gen = torch.Generator().manual_seed(20261201)
    out = {}
    for name, n, in_c, in_h, in_w, out_c, kh, kw, same, bias in CASES:
        out.update(conv_case(gen, name, n, in_c, in_h, in_w, out_c, kh, kw, 1,
                             1, same, bias))
    write_golden(os.path.join(HERE, "golden", "winograd_line.bin"), out)


if __name__ == "__main__":
    main()
