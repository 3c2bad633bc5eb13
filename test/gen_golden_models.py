"""gen_golden_models.py - whole-network goldens for test/test_models.c.

An independent PyTorch re-implementation of keras.applications InceptionV3
and VGG16 (include_top=False) plus the project's binary head
(GAP -> dense(hidden, relu) -> dropout -> dense(1)), run in inference mode
(batch norm with moving statistics, eps 1e-3).

Weights are too large to commit, so both this script and the C test derive
every value from the parameter's name and the element's index with the
same integer hash (deterministic_values below, weight_value in
test_models.c). Only the outputs at a few layers are written:
    test/golden/models.bin
Also the stem (up to mixed0) with the genuine Keras ImageNet weights of
$REF/tfjs-inception_v3-imagenet-mixed0 (read here with numpy straight from
the TF.js manifest and shard, independently of lib/tfjs.c):
    test/golden/models_stem.bin
Run: REF=../shared/ref /usr/bin/python3 test/gen_golden_models.py
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden import write_golden  # noqa: E402

INCEPTION_SIZE = 107
VGG_SIZE = 32
BATCH = 2
HEAD_HIDDEN = 8


def fnv1a32(text):
    h = 0x811C9DC5
    for byte in text.encode():
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def uniform01(name, count):
    """u[k] in [0, 1): lowbias32(fnv1a(name) ^ (k * 2654435761 mod 2^32))."""
    mask = np.uint64(0xFFFFFFFF)
    k = np.arange(count, dtype=np.uint64)
    x = (np.uint64(fnv1a32(name)) ^ ((k * np.uint64(2654435761)) & mask)) & mask
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & mask
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & mask
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 4294967296.0


def deterministic_values(name, shape):
    """The value of every element of parameter `name` (our layout)."""
    count = int(np.prod(shape))
    u = uniform01(name, count)
    if name.endswith("/kernel"):
        fan_in = count // shape[0]
        v = (2.0 * u - 1.0) * math.sqrt(6.0 / fan_in)
    elif name.endswith("/gamma"):
        v = 0.8 + 0.4 * u
    elif name.endswith("/moving_variance"):
        v = 0.6 + 0.8 * u
    else:  # bias, beta, moving_mean
        v = (2.0 * u - 1.0) * 0.1
    # rounded to float32 like the C side, then computed in double
    return torch.from_numpy(v.astype(np.float32).reshape(shape)).double()


def deterministic_input(batch, size):
    u = uniform01("input", batch * 3 * size * size)
    v = (2.0 * u - 1.0).astype(np.float32).reshape(batch, 3, size, size)
    return torch.from_numpy(v).double()


STEM_SIZE = 75


def tfjs_weights(directory):
    """name -> float64 tensor in our layout, from a float32 TF.js model."""
    with open(os.path.join(directory, "model.json")) as f:
        manifest = json.load(f)["weightsManifest"]
    out = {}
    for group in manifest:
        data = b"".join(open(os.path.join(directory, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            assert w["dtype"] == "float32"
            count = int(np.prod(w["shape"]))
            a = np.frombuffer(data, dtype="<f4", count=count, offset=offset).reshape(w["shape"])
            offset += 4 * count
            if a.ndim == 4:  # [kh, kw, in, out] -> [out, in, kh, kw]
                a = a.transpose(3, 2, 0, 1)
            out[w["name"]] = torch.from_numpy(np.array(a)).double()
    return out


class InceptionV3:
    """Keras' inception_v3.py, conv2d_bn numbered in creation order."""

    def __init__(self, weights=None):
        self.weights = weights
        self.n = 0
        self.avg = 0
        self.concat = 0
        self.outputs = {}

    def value(self, name, shape):
        if self.weights is None:
            return deterministic_values(name, shape)
        v = self.weights[name]
        assert tuple(v.shape) == tuple(shape), (name, v.shape, shape)
        return v

    def conv_bn(self, x, filters, kh, kw, stride=1, padding="same"):
        self.n += 1
        name = "conv2d_%d" % self.n
        bn = "batch_normalization_%d" % self.n
        w = self.value(name + "/kernel", (filters, x.shape[1], kh, kw))
        if padding == "same":
            assert stride == 1
            x = F.conv2d(x, w, padding=(kh // 2, kw // 2))
        else:
            x = F.conv2d(x, w, stride=stride)
        c = filters
        beta = self.value(bn + "/beta", (c,))
        mean = self.value(bn + "/moving_mean", (c,))
        var = self.value(bn + "/moving_variance", (c,))
        x = F.batch_norm(x, mean, var, None, beta, training=False, eps=1e-3)
        return F.relu(x)

    def avg_pool(self, x):
        self.avg += 1
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)

    @staticmethod
    def max_pool(x):
        return F.max_pool2d(x, 3, stride=2)

    def cat(self, name, parts):
        y = torch.cat(parts, dim=1)
        self.outputs[name] = y
        return y

    def block_35(self, x, pool_filters, name):
        b1 = self.conv_bn(x, 64, 1, 1)
        b5 = self.conv_bn(x, 48, 1, 1)
        b5 = self.conv_bn(b5, 64, 5, 5)
        d = self.conv_bn(x, 64, 1, 1)
        d = self.conv_bn(d, 96, 3, 3)
        d = self.conv_bn(d, 96, 3, 3)
        p = self.conv_bn(self.avg_pool(x), pool_filters, 1, 1)
        return self.cat(name, [b1, b5, d, p])

    def block_17(self, x, c7, name):
        b1 = self.conv_bn(x, 192, 1, 1)
        s = self.conv_bn(x, c7, 1, 1)
        s = self.conv_bn(s, c7, 1, 7)
        s = self.conv_bn(s, 192, 7, 1)
        d = self.conv_bn(x, c7, 1, 1)
        d = self.conv_bn(d, c7, 7, 1)
        d = self.conv_bn(d, c7, 1, 7)
        d = self.conv_bn(d, c7, 7, 1)
        d = self.conv_bn(d, 192, 1, 7)
        p = self.conv_bn(self.avg_pool(x), 192, 1, 1)
        return self.cat(name, [b1, s, d, p])

    def block_8(self, x, i):
        b1 = self.conv_bn(x, 320, 1, 1)
        t = self.conv_bn(x, 384, 1, 1)
        t = self.cat("mixed9_%d" % i, [self.conv_bn(t, 384, 1, 3), self.conv_bn(t, 384, 3, 1)])
        d = self.conv_bn(x, 448, 1, 1)
        d = self.conv_bn(d, 384, 3, 3)
        self.concat += 1
        d = self.cat("concatenate_%d" % self.concat,
                     [self.conv_bn(d, 384, 1, 3), self.conv_bn(d, 384, 3, 1)])
        p = self.conv_bn(self.avg_pool(x), 192, 1, 1)
        return self.cat("mixed%d" % (9 + i), [b1, t, d, p])

    def forward(self, x, last="mixed10"):
        x = self.conv_bn(x, 32, 3, 3, 2, "valid")
        x = self.conv_bn(x, 32, 3, 3, 1, "valid")
        x = self.conv_bn(x, 64, 3, 3)
        x = self.max_pool(x)
        x = self.conv_bn(x, 80, 1, 1, 1, "valid")
        x = self.conv_bn(x, 192, 3, 3, 1, "valid")
        x = self.max_pool(x)
        x = self.block_35(x, 32, "mixed0")
        if last == "mixed0":
            return x
        x = self.block_35(x, 64, "mixed1")
        x = self.block_35(x, 64, "mixed2")
        b3 = self.conv_bn(x, 384, 3, 3, 2, "valid")
        d = self.conv_bn(x, 64, 1, 1)
        d = self.conv_bn(d, 96, 3, 3)
        d = self.conv_bn(d, 96, 3, 3, 2, "valid")
        x = self.cat("mixed3", [b3, d, self.max_pool(x)])
        x = self.block_17(x, 128, "mixed4")
        x = self.block_17(x, 160, "mixed5")
        x = self.block_17(x, 160, "mixed6")
        x = self.block_17(x, 192, "mixed7")
        t = self.conv_bn(x, 192, 1, 1)
        t = self.conv_bn(t, 320, 3, 3, 2, "valid")
        s = self.conv_bn(x, 192, 1, 1)
        s = self.conv_bn(s, 192, 1, 7)
        s = self.conv_bn(s, 192, 7, 1)
        s = self.conv_bn(s, 192, 3, 3, 2, "valid")
        x = self.cat("mixed8", [t, s, self.max_pool(x)])
        x = self.block_8(x, 0)
        return self.block_8(x, 1)


def vgg16(x, outputs):
    filters = [64, 128, 256, 512, 512]
    convs = [2, 2, 3, 3, 3]
    for b in range(5):
        for k in range(convs[b]):
            name = "block%d_conv%d" % (b + 1, k + 1)
            w = deterministic_values(name + "/kernel", (filters[b], x.shape[1], 3, 3))
            bias = deterministic_values(name + "/bias", (filters[b],))
            x = F.relu(F.conv2d(x, w, bias, padding=1))
            outputs[name] = x
        x = F.max_pool2d(x, 2, stride=2)
        outputs["block%d_pool" % (b + 1)] = x
    return x


def binary_head(x, hidden):
    """GAP -> dense_1 (relu) -> dropout (identity) -> dense_2 -> logit."""
    x = x.mean(dim=(2, 3))
    c = x.shape[1]
    w1 = deterministic_values("dense_1/kernel", (hidden, c))
    b1 = deterministic_values("dense_1/bias", (hidden,))
    x = F.relu(F.linear(x, w1, b1))
    w2 = deterministic_values("dense_2/kernel", (1, hidden))
    b2 = deterministic_values("dense_2/bias", (1,))
    return F.linear(x, w2, b2)


def main():
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    out = {}

    net = InceptionV3()
    # double precision reference: our float32 result is compared against it
    x = deterministic_input(BATCH, INCEPTION_SIZE)
    y = net.forward(x)
    # intermediate layers of the last image only (keeps the file small)
    for name in ["mixed0", "mixed5", "mixed10"]:
        out["inception_v3/" + name] = net.outputs[name][-1].float()
    out["inception_v3/logit"] = binary_head(y, HEAD_HIDDEN).float()

    outputs = {}
    x = deterministic_input(BATCH, VGG_SIZE)
    y = vgg16(x, outputs)
    for name in ["block3_pool", "block5_pool"]:
        out["vgg16/" + name] = outputs[name][-1].float()
    out["vgg16/logit"] = binary_head(y, HEAD_HIDDEN).float()

    here = os.path.dirname(os.path.abspath(__file__))
    write_golden(os.path.join(here, "golden", "models.bin"), out)
    for k, v in out.items():
        print(k, tuple(v.shape), float(v.abs().max()))

    ref = os.environ.get("REF", os.path.join(here, "..", "..", "shared", "ref"))
    stem = InceptionV3(tfjs_weights(os.path.join(ref, "tfjs-inception_v3-imagenet-mixed0")))
    y = stem.forward(deterministic_input(1, STEM_SIZE), last="mixed0")
    write_golden(os.path.join(here, "golden", "models_stem.bin"), {"mixed0": y[0].float()})
    print("stem mixed0", tuple(y.shape), float(y.abs().max()))


if __name__ == "__main__":
    main()
