"""torch_models.py - the PyTorch side of bench/bench_models.c.

usage: torch_models.py ARCH SIZE BATCH THREADS
Builds, with random weights and the given thread count, the torchvision
architecture (inception_v3 without aux logits, or vgg16's features) with a
GAP -> dense(1) head, prints "ready", then answers commands on stdin, one a
line, each with the seconds of one call (so that bench_models can interleave
its own measurements with these):
  fwd     a forward of the batch (eval mode, no grad)
  full    a training step: BCE loss, full backward, SGD
  frozen  a training step with the backbone frozen (eval mode, no grad)
  quit
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


def main():
    arch, size, batch, threads = sys.argv[1], *map(int, sys.argv[2:5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Model(arch, size)
    x = torch.rand(batch, 3, size, size)
    target = torch.ones(batch, 1)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    opt_full = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    opt_head = torch.optim.SGD(model.head.parameters(), lr=1e-3, momentum=0.9)

    def fwd():
        model.eval()
        with torch.no_grad():
            model(x)

    def step(frozen):
        for p in model.base.parameters():
            p.requires_grad_(not frozen)
        model.train()
        if frozen:
            model.base.eval()
        opt = opt_head if frozen else opt_full

        def run():
            opt.zero_grad()
            loss_fn(model(x), target).backward()
            opt.step()
        return run

    calls = {"fwd": lambda: fwd, "full": lambda: step(False),
             "frozen": lambda: step(True)}
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            break
        run = calls[cmd]()  # mode switches are not timed
        start = time.perf_counter()
        run()
        print("%.6f" % (time.perf_counter() - start), flush=True)


if __name__ == "__main__":
    main()
