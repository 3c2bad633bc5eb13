"""torch_models.py - the PyTorch side of bench/bench_models.c.

usage: torch_models.py ARCH SIZE BATCH THREADS REPS WARM
Times, with random weights and the given thread count, the torchvision
architecture (inception_v3 without aux logits, or vgg16's features):
  forward ms per image (eval mode, no grad),
  training-step images/s with a GAP -> dense(1) head, BCE loss and SGD,
    full backward, and with the backbone frozen (eval mode, no grad).
Prints one line: "fwd_ms_per_image full_images_per_s frozen_images_per_s".
"""
import sys
import time

import torch
import torchvision


def backbone(arch):
    if arch == "inception_v3":
        net = torchvision.models.inception_v3(weights=None, aux_logits=False,
                                              init_weights=False)
        net.avgpool = torch.nn.Identity()  # the head pools
        net.dropout = torch.nn.Identity()
        net.fc = torch.nn.Identity()
        return net, 2048
    return torchvision.models.vgg16(weights=None).features, 512


class Model(torch.nn.Module):
    def __init__(self, arch, size):
        super().__init__()
        self.base, self.channels = backbone(arch)
        self.arch = arch
        self.size = size
        self.head = torch.nn.Linear(self.channels, 1)

    def forward(self, x):
        y = self.base(x)
        if self.arch == "inception_v3":  # flattened [n, 2048 * h * w]
            y = y.view(x.shape[0], self.channels, -1)
        else:
            y = y.flatten(2)
        return self.head(y.mean(dim=2))


def timed(fn, reps, warm):
    if warm:
        fn()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def main():
    arch, size, batch, threads, reps, warm = sys.argv[1], *map(int, sys.argv[2:7])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Model(arch, size)
    x = torch.rand(batch, 3, size, size)
    target = torch.ones(batch, 1)

    model.eval()
    with torch.no_grad():
        fwd = timed(lambda: model(x), reps, warm)

    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step(params):
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)

        def run():
            opt.zero_grad()
            loss_fn(model(x), target).backward()
            opt.step()
        return run

    model.train()
    full = timed(step(model.parameters()), reps, warm)

    for p in model.base.parameters():
        p.requires_grad_(False)
    model.base.eval()
    frozen = timed(step(model.head.parameters()), reps, warm)
    print("%.3f %.3f %.3f" % (fwd * 1000 / batch, batch / full, batch / frozen))


if __name__ == "__main__":
    main()
