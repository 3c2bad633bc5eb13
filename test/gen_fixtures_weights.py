"""gen_fixtures_weights.py - small weight-file fixtures for test/test_safetensors.c
and test/test_tfjs.c, written with numpy directly from the format specs (no
project code involved), plus the float values the C code must produce.

Writes under test/fixtures/weights/:
  foreign.safetensors   a safetensors file laid out the way other writers may
                        do it: data section NOT 8-aligned, an F16 tensor with
                        an odd element count before an F32 one (so that F32
                        tensor is unaligned in a mapping), JSON keys in an
                        order different from the data order.
  tfjs_float32/         a TF.js layers model (model.json + 2 weight shards,
                        one tensor split across the shard boundary; topology
                        under modelTopology.model_config as Keras 2.2.4 writes)
  tfjs_float16/         the same weights, quantization dtype float16, names
                        with a "model_1/" prefix and ":0" suffix, topology
                        directly under modelTopology
  tfjs_uint8/           the same weights, uint8 affine quantized per tensor
                        (value = q * scale + min), two weight groups
and test/golden/weights.bin with the expected float32 arrays:
  foreign/<name>         values of foreign.safetensors (F16 widened)
  tfjs_<dtype>/<name>    tensors in OUR layout: conv [out,in,kh,kw], dense
                         [out,in], everything else unchanged.
Run: /usr/bin/python3 test/gen_fixtures_weights.py
"""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from golden import write_golden  # noqa: E402

OUT = os.path.join(HERE, "fixtures", "weights")
rng = np.random.default_rng(20261126)


def write_foreign(golden):
    a = rng.standard_normal((2, 3)).astype("<f4")
    b = rng.standard_normal(3).astype("<f2")  # odd count: 6 bytes
    c = rng.standard_normal(4).astype("<f4")
    data_order = [("b", b, "F16"), ("c", c, "F32"), ("a", a, "F32")]
    entries, offset = {}, 0
    for name, arr, dtype in data_order:
        entries[name] = {"dtype": dtype, "shape": list(arr.shape),
                         "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    header = {"__metadata__": {"format": "pt", "note": "written by numpy"}}
    for name in ("a", "c", "b"):  # key order differs from data order
        header[name] = entries[name]
    text = json.dumps(header).encode()
    # make 8 + len(header) odd so that no tensor is 4-byte aligned by luck
    if (8 + len(text)) % 2 == 0:
        text += b" "
    with open(os.path.join(OUT, "foreign.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, arr, _ in data_order:
            f.write(arr.tobytes())
    golden["foreign/a"] = a
    golden["foreign/b"] = b.astype("<f4")
    golden["foreign/c"] = c


# The fixture network: layer name, Keras class, weights (Keras layout).
def fixture_weights():
    return [
        ("conv2d_1", "Conv2D", [
            ("kernel", rng.standard_normal((2, 3, 2, 4)) * 0.5),  # kh,kw,in,out
            ("bias", rng.standard_normal(4) * 0.1)]),
        ("batch_normalization_1", "BatchNormalization", [
            ("gamma", 1 + 0.1 * rng.standard_normal(4)),
            ("beta", 0.1 * rng.standard_normal(4)),
            ("moving_mean", 0.2 * rng.standard_normal(4)),
            ("moving_variance", 0.5 + rng.random(4))]),
        ("conv2d_2", "Conv2D", [
            ("kernel", rng.standard_normal((1, 1, 4, 2)))]),
        ("dense_1", "Dense", [
            ("kernel", rng.standard_normal((32, 8))),  # in, out
            ("bias", rng.standard_normal(8))]),
    ]


def ours(cls, wname, value):
    """Keras layout -> ours, done with numpy."""
    if cls == "Conv2D" and wname == "kernel":
        return np.transpose(value, (3, 2, 0, 1))
    if cls == "Dense" and wname == "kernel":
        return value.T
    return value


def topology(layers):
    cfg = [{"name": "input_1", "class_name": "InputLayer",
            "config": {"name": "input_1",
                       "batch_input_shape": [None, 4, 5, 2]}}]
    for name, cls, _ in layers:
        cfg.append({"name": name, "class_name": cls, "config": {"name": name}})
    return {"class_name": "Model", "config": {"name": "model_1", "layers": cfg}}


def write_tfjs(kind, layers, golden):
    d = os.path.join(OUT, "tfjs_" + kind)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.remove(os.path.join(d, old))
    specs, blobs = [], []
    for lname, cls, weights in layers:
        for wname, value in weights:
            value = value.astype(np.float32)
            name = f"{lname}/{wname}"
            spec = {"name": name, "shape": list(value.shape), "dtype": "float32"}
            if kind == "float32":
                blob = value.astype("<f4").tobytes()
                decoded = value
            elif kind == "float16":
                spec["name"] = f"model_1/{name}:0"
                spec["quantization"] = {"dtype": "float16"}
                half = value.astype("<f2")
                blob = half.tobytes()
                decoded = half.astype(np.float32)
            else:
                lo, hi = float(min(value.min(), 0)), float(max(value.max(), 0))
                scale = (hi - lo) / 255.0
                # as the TF.js converter does: nudge min so that 0.0 is
                # exactly q * scale + min for an integer q (a fused
                # multiply-add would get a tiny residue instead)
                lo = -round(-lo / scale) * scale
                q = np.clip(np.round((value.astype(np.float64) - lo) / scale),
                            0, 255).astype(np.uint8)
                spec["quantization"] = {"dtype": "uint8", "min": lo,
                                        "scale": scale}
                blob = q.tobytes()
                # TF.js dequantizes in double precision, then stores float32
                decoded = (q.astype(np.float64) * scale + lo).astype(np.float32)
            specs.append(spec)
            blobs.append(blob)
            golden[f"tfjs_{kind}/{name}"] = ours(cls, wname, decoded)

    manifest = []
    if kind == "float32":
        data = b"".join(blobs)
        cut = len(blobs[0]) + 10  # inside the second tensor
        paths = ["group1-shard1of2", "group1-shard2of2"]
        for p, part in zip(paths, (data[:cut], data[cut:])):
            with open(os.path.join(d, p), "wb") as f:
                f.write(part)
        manifest.append({"paths": paths, "weights": specs})
    elif kind == "float16":
        with open(os.path.join(d, "group1-shard1of1.bin"), "wb") as f:
            f.write(b"".join(blobs))
        manifest.append({"paths": ["group1-shard1of1.bin"], "weights": specs})
    else:
        half = 3  # conv2d_1 + gamma in group 1, the rest in group 2
        for g, (lo, hi) in enumerate(((0, half), (half, len(specs))), start=1):
            p = f"group{g}-shard1of1"
            with open(os.path.join(d, p), "wb") as f:
                f.write(b"".join(blobs[lo:hi]))
            manifest.append({"paths": [p], "weights": specs[lo:hi]})

    topo = topology(layers)
    if kind == "float32":
        topo = {"keras_version": "2.2.4", "backend": "tensorflow",
                "model_config": topo}
    model = {"format": "layers-model", "modelTopology": topo,
             "weightsManifest": manifest}
    with open(os.path.join(d, "model.json"), "w") as f:
        json.dump(model, f, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    golden = {}
    write_foreign(golden)
    layers = fixture_weights()
    for kind in ("float32", "float16", "uint8"):
        write_tfjs(kind, layers, golden)
    write_golden(os.path.join(HERE, "golden", "weights.bin"), golden)


if __name__ == "__main__":
    main()
