#!/usr/bin/env python3
"""compare_weights.py A B TOLERANCE - two float32 safetensors files hold the
same tensors (names and shapes) and no value differs by more than TOLERANCE
(absolute). Prints the largest difference and where it is; exits 1 when it
is over the tolerance or the files hold different tensors. Standard library
only (the test machines need no numpy)."""
import json
import struct
import sys
from array import array


def tensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    size = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        if t['dtype'] != 'F32':
            sys.exit(f'{path}: {name} is {t["dtype"]}, not F32')
        begin, end = t['data_offsets']
        out[name] = (t['shape'], array('f', raw[8 + size + begin:8 + size + end]))
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit('usage: compare_weights.py A B TOLERANCE')
    a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
    tolerance = float(sys.argv[3])
    if a.keys() != b.keys():
        print('different tensors:', sorted(a.keys() ^ b.keys()))
        return 1
    worst, where = 0.0, ''
    for name, (shape, values) in a.items():
        if b[name][0] != shape:
            print(f'{name}: shape {shape} against {b[name][0]}')
            return 1
        for i, (x, y) in enumerate(zip(values, b[name][1])):
            if abs(x - y) > worst or x != x or y != y:
                worst, where = abs(x - y), f'{name}[{i}]: {x!r} against {y!r}'
    print(f'largest difference {worst:.3g} ({where or "none"})')
    return 0 if worst <= tolerance else 1


if __name__ == '__main__':
    sys.exit(main())
