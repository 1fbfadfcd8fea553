"""W1 training step in PyTorch, for `faceinv bench` to compare against (same architecture as
daemon/nets/decoder.ts: dense+BN+ReLU → 4×4×512, four ConvTranspose(k4,s2,p1)+BN+ReLU blocks with a residual
unit (3×3 conv+BN+ReLU, `--res` layers) after each of the first three, ConvTranspose + sigmoid, L1 loss, Adam).
NHWC in our code, NCHW here (PyTorch's native CPU layout). Prints one JSON line: {"ms_per_step": …, ...}.
"""
import argparse
import json
import time

import torch
import torch.nn as nn


class Res(nn.Module):
    def __init__(self, c, layers):
        super().__init__()
        mods = []
        for _ in range(layers):
            mods += [nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=False)]
        self.f = nn.Sequential(*mods)

    def forward(self, x):
        return x + self.f(x)


class W1(nn.Module):
    def __init__(self, d=512, size=128, res=1, base=512):
        super().__init__()
        self.base = base
        self.dense = nn.Linear(d, 16 * base, bias=False)
        self.bn0 = nn.BatchNorm1d(16 * base)
        chans = [base // 2, base // 4, base // 8] + ([base // 16] if size == 128 else [])
        blocks, cin = [], base
        for i, c in enumerate(chans):
            blocks += [nn.ConvTranspose2d(cin, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
            if res and i < len(chans) - 1:
                blocks.append(Res(c, res))
            cin = c
        blocks += [nn.ConvTranspose2d(cin, 3, 4, 2, 1), nn.Sigmoid()]
        self.up = nn.Sequential(*blocks)

    def forward(self, z):
        h = torch.relu(self.bn0(self.dense(z)))
        return self.up(h.view(-1, self.base, 4, 4))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--res', type=int, default=1)
    p.add_argument('--size', type=int, default=128)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = W1(size=a.size, res=a.res)
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    z = torch.randn(a.batch, 512)
    t = torch.rand(a.batch, 3, a.size, a.size)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = (net(z + 0.001 ** 0.5 * torch.randn_like(z)) - t).abs().mean()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    ms = (time.perf_counter() - t0) * 1000 / a.steps
    print(json.dumps({'ms_per_step': ms, 'batch': a.batch, 'threads': a.threads, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
