"""golden.py - writes golden files for the C tests (format in test/util/golden.h)."""
import struct

import numpy as np


def write_golden(path, arrays):
    """arrays: dict name -> array-like (torch tensors are converted)."""
    with open(path, "wb") as f:
        for name, value in arrays.items():
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            a = np.ascontiguousarray(np.asarray(value, dtype="<f4"))
            encoded = name.encode()
            f.write(struct.pack("<I", len(encoded)))
            f.write(encoded)
            f.write(struct.pack("<I", a.ndim))
            for d in a.shape:
                f.write(struct.pack("<I", d))
            f.write(a.tobytes())
