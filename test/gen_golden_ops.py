"""gen_golden_ops.py - PyTorch goldens for the non-convolution ops of lib/cnn.h.

Every backward golden is the autograd gradient of L = sum(y * r) for a fixed
random r, stored as "<case>/r". Array names are "<case>/<what>"; integers
(shapes, labels, hyper-parameters) are stored as floats.

Writes test/golden/{batchnorm,activation,pool,concat,loss,optimizer}.bin.
Run: /usr/bin/python3 test/gen_golden_ops.py
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from golden import write_golden  # noqa: E402

OUT = os.path.join(HERE, "golden")


def uniform(gen, *shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape, generator=gen) * (hi - lo) + lo


def flt(values):
    return torch.tensor(values, dtype=torch.float32)


def batchnorm(gen):
    """Training mode (with and without gamma, N>1 and N=1) and inference mode.
    Keras momentum m is PyTorch momentum 1-m; PyTorch updates the running
    variance with the unbiased batch variance, as the C library does."""
    out = {}
    # name, n, c, h, w, has_gamma
    cases = [("train_n2", 2, 3, 4, 5, True), ("train_n2_nogamma", 2, 3, 4, 5, False),
             ("train_n1", 1, 4, 3, 3, True)]
    for name, n, c, h, w, has_gamma in cases:
        x = (uniform(gen, n, c, h, w) * 2 + uniform(gen, 1, c, 1, 1) * 3).requires_grad_(True)
        gamma = uniform(gen, c, lo=0.5, hi=1.5).requires_grad_(True) if has_gamma else None
        beta = uniform(gen, c).requires_grad_(True)
        rmean, rvar = uniform(gen, c), uniform(gen, c, lo=0.5, hi=2.0)
        momentum, eps = 0.9, 1e-3
        out[f"{name}/shape"] = flt([n, c, h * w, momentum, eps])
        out[f"{name}/x"] = x
        if has_gamma:
            out[f"{name}/gamma"] = gamma
        out[f"{name}/beta"] = beta
        out[f"{name}/running_mean_in"] = rmean.clone()
        out[f"{name}/running_var_in"] = rvar.clone()
        y = F.batch_norm(x, rmean, rvar, gamma, beta, training=True,
                         momentum=1 - momentum, eps=eps)
        r = uniform(gen, *y.shape)
        (y * r).sum().backward()
        out[f"{name}/y"] = y
        out[f"{name}/running_mean"] = rmean
        out[f"{name}/running_var"] = rvar
        out[f"{name}/r"] = r
        out[f"{name}/dx"] = x.grad
        if has_gamma:
            out[f"{name}/dgamma"] = gamma.grad
        out[f"{name}/dbeta"] = beta.grad
    # inference: the running statistics are constants
    for name, has_gamma in [("infer", True), ("infer_nogamma", False)]:
        n, c, h, w = 2, 3, 3, 4
        x = (uniform(gen, n, c, h, w) * 2).requires_grad_(True)
        gamma = uniform(gen, c, lo=0.5, hi=1.5).requires_grad_(True) if has_gamma else None
        beta = uniform(gen, c).requires_grad_(True)
        rmean, rvar = uniform(gen, c), uniform(gen, c, lo=0.5, hi=2.0)
        eps = 1e-3
        y = F.batch_norm(x, rmean, rvar, gamma, beta, training=False, eps=eps)
        r = uniform(gen, *y.shape)
        (y * r).sum().backward()
        out[f"{name}/shape"] = flt([n, c, h * w, 0.0, eps])
        out[f"{name}/x"] = x
        if has_gamma:
            out[f"{name}/gamma"] = gamma
            out[f"{name}/dgamma"] = gamma.grad
        out[f"{name}/beta"] = beta
        out[f"{name}/running_mean"] = rmean
        out[f"{name}/running_var"] = rvar
        out[f"{name}/y"] = y
        out[f"{name}/r"] = r
        out[f"{name}/dx"] = x.grad
        out[f"{name}/dbeta"] = beta.grad
    return out


def activation(gen):
    out = {}
    # away from ReLU's kink at 0: |x| >= 0.05
    x = uniform(gen, 4, 10, lo=0.05, hi=3.0) * torch.where(
        torch.rand(4, 10, generator=gen) < 0.5, -1.0, 1.0)
    x[0, :6] = flt([-100.0, -30.0, 30.0, 100.0, 0.1, -0.1])  # sigmoid saturation
    out["x"] = x
    for name, fn in [("relu", torch.relu), ("sigmoid", torch.sigmoid),
                     ("softmax", lambda t: torch.softmax(t, dim=1))]:
        xg = x.clone().requires_grad_(True)
        y = fn(xg)
        r = uniform(gen, *y.shape)
        (y * r).sum().backward()
        out[f"{name}/y"] = y
        out[f"{name}/r"] = r
        out[f"{name}/dx"] = xg.grad
    # softmax with a huge spread (exp would overflow without the max shift)
    xs = flt([[1000.0, 0.0, -1000.0], [50.0, 51.0, 52.0]]).requires_grad_(True)
    ys = torch.softmax(xs, dim=1)
    out["softmax_big/x"] = xs
    out["softmax_big/y"] = ys
    return out


def same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pool(gen):
    """Max and average pooling. TF 'same': max pools the -inf padded input;
    avg divides avg_pool(zero padded x) by avg_pool(zero padded ones-mask),
    i.e. the sum over real pixels by their count."""
    out = {}
    # name, n, c, h, w, kh, kw, sh, sw, same
    cases = [("k3s1_same_odd", 2, 3, 7, 7, 3, 3, 1, 1, True),
             ("k3s1_same_even_n1", 1, 2, 6, 8, 3, 3, 1, 1, True),
             ("k3s2_valid_odd", 2, 2, 9, 7, 3, 3, 2, 2, False),
             ("k3s2_valid_even_n1", 1, 3, 8, 10, 3, 3, 2, 2, False),
             ("k2s2_valid", 2, 2, 6, 6, 2, 2, 2, 2, False),
             ("k2s2_valid_odd", 1, 2, 7, 5, 2, 2, 2, 2, False),
             ("k3s2_same_odd", 2, 2, 7, 9, 3, 3, 2, 2, True),
             ("k3s2_same_even", 1, 3, 8, 6, 3, 3, 2, 2, True),
             ("k2s2_same_odd", 1, 2, 5, 7, 2, 2, 2, 2, True),
             ("k5s1_same_small", 2, 1, 3, 4, 5, 5, 1, 1, True),
             # rows wider than the C code's column spans (510 at stride 1, 255 at 2)
             ("k3s1_same_wide", 1, 1, 2, 520, 3, 3, 1, 1, True),
             ("k3s2_same_wide", 1, 1, 2, 521, 3, 3, 2, 2, True)]
    names = []
    for name, n, c, h, w, kh, kw, sh, sw, same in cases:
        # a permutation: no two values are equal, so max pooling has no ties
        x = (torch.randperm(n * c * h * w, generator=gen).float() /
             (n * c * h * w) * 4 - 2).reshape(n, c, h, w)
        pad = (0, 0, 0, 0)
        if same:
            top, bottom = same_pads(h, kh, sh)
            left, right = same_pads(w, kw, sw)
            pad = (left, right, top, bottom)
        out[f"{name}/shape"] = flt([n, c, h, w, kh, kw, sh, sw, int(same)])
        out[f"{name}/x"] = x
        xm = x.clone().requires_grad_(True)
        ym = F.max_pool2d(F.pad(xm, pad, value=float("-inf")), (kh, kw), (sh, sw))
        r = uniform(gen, *ym.shape)
        (ym * r).sum().backward()
        xa = x.clone().requires_grad_(True)
        ones = torch.ones_like(x)
        ya = (F.avg_pool2d(F.pad(xa, pad), (kh, kw), (sh, sw)) /
              F.avg_pool2d(F.pad(ones, pad), (kh, kw), (sh, sw)))
        (ya * r).sum().backward()
        out[f"{name}/r"] = r
        out[f"{name}/max_y"] = ym
        out[f"{name}/max_dx"] = xm.grad
        out[f"{name}/avg_y"] = ya
        out[f"{name}/avg_dx"] = xa.grad
        names.append(name)
    for name, n, c, h, w in [("global_n2", 2, 3, 5, 5), ("global_n1", 1, 4, 2, 3)]:
        x = uniform(gen, n, c, h, w).requires_grad_(True)
        y = x.mean(dim=(2, 3))
        r = uniform(gen, *y.shape)
        (y * r).sum().backward()
        out[f"{name}/shape"] = flt([n, c, h * w])
        out[f"{name}/x"] = x
        out[f"{name}/y"] = y
        out[f"{name}/r"] = r
        out[f"{name}/dx"] = x.grad
    return out


def concat(gen):
    out = {}
    for name, n, hw, channels in [("three", 2, 6, [2, 5, 3]), ("four_n1", 1, 4, [4, 1, 3, 2]),
                                  ("four_n3", 3, 5, [1, 3, 2, 4])]:
        parts = [uniform(gen, n, c, hw).requires_grad_(True) for c in channels]
        y = torch.cat(parts, dim=1)
        r = uniform(gen, *y.shape)
        (y * r).sum().backward()
        out[f"{name}/shape"] = flt([n, hw] + channels)
        out[f"{name}/y"] = y
        out[f"{name}/r"] = r
        for i, p in enumerate(parts):
            out[f"{name}/x{i}"] = p
            out[f"{name}/dx{i}"] = p.grad
    return out


def loss(gen):
    """Weighted means sum(w_i * l_i) / n, as BCEWithLogitsLoss(weight=w,
    reduction='mean'); softmax CE likewise (reduction='none', weighted, then
    the plain mean - not PyTorch's weighted-mean divisor sum(w_i)). Computed
    in double."""
    out = {}
    z = torch.cat([flt([1e4, -1e4, 1e4, -1e4, 60.0, -60.0, 0.0]),
                   uniform(gen, 9, lo=-4, hi=4)]).double()
    t = flt([1, 0, 0, 1, 0, 1, 1] + [i % 2 for i in range(9)]).double()
    w = flt([0.7, 2.5]).double()
    out["bce/logits"] = z
    out["bce/targets"] = t
    out["bce/class_weight"] = w
    for name, weight in [("bce", w[t.long()]), ("bce_unweighted", None)]:
        zg = z.clone().requires_grad_(True)
        value = F.binary_cross_entropy_with_logits(zg, t, weight=weight, reduction="mean")
        value.backward()
        out[f"{name}/loss"] = value.reshape(1)
        out[f"{name}/dlogits"] = zg.grad
    logits = torch.cat([flt([[1000.0, -1000.0, 0.0], [-500.0, 0.0, 500.0]]),
                        uniform(gen, 4, 3, lo=-3, hi=3)]).double()
    labels = torch.tensor([1, 2, 0, 1, 2, 2])
    cw = flt([1.5, 0.5, 3.0]).double()
    out["ce/logits"] = logits
    out["ce/labels"] = labels.float()
    out["ce/class_weight"] = cw
    for name, weight in [("ce", cw[labels]), ("ce_unweighted", torch.ones(6).double())]:
        lg = logits.clone().requires_grad_(True)
        value = (F.cross_entropy(lg, labels, reduction="none") * weight).mean()
        value.backward()
        out[f"{name}/loss"] = value.reshape(1)
        out[f"{name}/dlogits"] = lg.grad
    return out


def optimizer(gen):
    """Trajectories of torch.optim over 5 steps of fixed gradients."""
    out = {}
    count, steps = 12, 5
    p0 = uniform(gen, count)
    grads = uniform(gen, steps, count)
    out["param0"] = p0
    out["grads"] = grads
    configs = [
        ("sgd_momentum_wd", lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9,
                                                      weight_decay=0.01)),
        ("sgd_plain", lambda p: torch.optim.SGD([p], lr=0.05)),
        ("adam", lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)),
        ("adam_wd", lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.8, 0.99), eps=1e-6,
                                               weight_decay=0.05)),
        ("adamw", lambda p: torch.optim.AdamW([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8,
                                              weight_decay=0.1)),
    ]
    for name, make in configs:
        p = p0.clone().requires_grad_(True)
        opt = make(p)
        trajectory = []
        for k in range(steps):
            p.grad = grads[k].clone()
            opt.step()
            trajectory.append(p.detach().clone())
        out[f"{name}/trajectory"] = torch.stack(trajectory)
    return out


def main():
    gen = torch.Generator().manual_seed(20261126)
    for name, fn in [("batchnorm", batchnorm), ("activation", activation), ("pool", pool),
                     ("concat", concat), ("loss", loss), ("optimizer", optimizer)]:
        write_golden(os.path.join(OUT, f"{name}.bin"), fn(gen))


if __name__ == "__main__":
    main()
