#!/usr/bin/env python3
"""PyTorch yardstick for bench/run.ts: the same consistency-training step as bench/ct-step.ts.

Same networks (the U-Net of src/models/unet.ts: widths 32/64, one ResBlock per level, GroupNorm(8),
SiLU, dropout, Fourier noise embedding (dim 32) + 2-layer MLP (128), AvgPool down, nearest up,
concat skips; the MLP of src/models/mlp.ts: [c_in x, emb] -> 3 x (Linear 256, SiLU, Dropout) ->
Linear), the same CM scalings, pseudo-Huber loss with weight 1/(sigma_{n+1} - sigma_n), teacher =
EMA weights with the same dropout masks (RNG state saved and restored, as OpenAI's CM code does),
Adam (lr 1e-4) and the EMA update. Prints one JSON line: {"threads", "msPerStep", ...}.

Run with Debian's python (`/usr/bin/python3`, package python3-torch). Not part of the kit.
"""
import argparse
import copy
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SIGMA_DATA, SIGMA_MIN, SIGMA_MAX, RHO = 0.5, 0.002, 80.0, 7.0


class FourierEmbedding(nn.Module):
    def __init__(self, dim, scale, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("freqs", 2 * math.pi * scale * torch.randn(dim // 2, generator=g))

    def forward(self, sigma):
        a = (0.25 * torch.log(sigma))[:, None] * self.freqs[None, :]
        return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim, groups, p):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.drop = nn.Dropout(p)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return self.skip(x) + h


class UNet(nn.Module):
    def __init__(self, image_channels=1, channels=(32, 64), num_res=1, emb_dim=32, emb_hidden=128, groups=8, p=0.1, seed=0):
        super().__init__()
        self.embed = FourierEmbedding(emb_dim, 0.02, seed)
        self.emb0 = nn.Linear(emb_dim, emb_hidden)
        self.emb1 = nn.Linear(emb_hidden, emb_hidden)
        self.inp = nn.Conv2d(image_channels, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        skips = []
        c = channels[0]
        for w in channels:
            blocks = nn.ModuleList()
            for _ in range(num_res):
                blocks.append(ResBlock(c, w, emb_hidden, groups, p))
                c = w
                skips.append(c)
            self.down.append(blocks)
        self.mid = ResBlock(c, c, emb_hidden, groups, p)
        self.up = nn.ModuleList()
        for w in reversed(channels):
            blocks = nn.ModuleList()
            for _ in range(num_res):
                blocks.append(ResBlock(c + skips.pop(), w, emb_hidden, groups, p))
                c = w
            self.up.append(blocks)
        self.out_norm = nn.GroupNorm(groups, c, eps=1e-5)
        self.out_conv = nn.Conv2d(c, image_channels, 3, padding=1)
        self.levels = len(channels)

    def forward(self, x, sigma):
        emb = self.emb1(F.silu(self.emb0(self.embed(sigma))))
        h = self.inp(x)
        skips = []
        for l, blocks in enumerate(self.down):
            for b in blocks:
                h = b(h, emb)
                skips.append(h)
            if l < self.levels - 1:
                h = F.avg_pool2d(h, 2)
        h = self.mid(h, emb)
        for i, blocks in enumerate(self.up):
            l = self.levels - 1 - i
            for b in blocks:
                h = b(torch.cat([h, skips.pop()], dim=1), emb)
            if l > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
        return self.out_conv(F.silu(self.out_norm(h)))


class Mlp(nn.Module):
    def __init__(self, data_dim=2, hidden=256, depth=3, emb_dim=32, p=0.1, seed=0):
        super().__init__()
        self.embed = FourierEmbedding(emb_dim, 0.02, seed)
        layers, fan_in = [], data_dim + emb_dim
        for _ in range(depth):
            layers += [nn.Linear(fan_in, hidden), nn.SiLU(), nn.Dropout(p)]
            fan_in = hidden
        layers.append(nn.Linear(fan_in, data_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x, sigma):
        return self.net(torch.cat([x, self.embed(sigma)], dim=1))


def consistency(model, x, sigma):
    shape = (-1,) + (1,) * (x.dim() - 1)
    d = sigma - SIGMA_MIN
    c_skip = SIGMA_DATA**2 / (d**2 + SIGMA_DATA**2)
    c_out = SIGMA_DATA * d / torch.sqrt(sigma**2 + SIGMA_DATA**2)
    c_in = 1 / torch.sqrt(sigma**2 + SIGMA_DATA**2)
    return c_skip.view(shape) * x + c_out.view(shape) * model(c_in.view(shape) * x, sigma)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["unet", "mlp"], default="unet")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample", action="store_true", help="time 1-step sampling (one U-Net forward, no grad) instead of a training step")
    ap.add_argument("--batch", type=int, default=None, help="examples per step (default 32 U-Net, 512 MLP) or per 1-step sampling call (default 256)")
    ap.add_argument("--size", type=int, default=16, help="U-Net image side (16 or 32)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (bench/gpu/run.sh)")
    args = ap.parse_args()
    args.dev = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.sample:
        return sample(args)
    if args.model == "unet":
        model, B, shape = UNet(seed=args.seed), args.batch or 32, (1, args.size, args.size)
    else:
        model, B, shape = Mlp(seed=args.seed), args.batch or 512, (2,)
    model.to(args.dev)
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    model.train()
    ema.train()  # dropout active in the teacher pass too, with the student's masks
    params = [p for p in model.parameters()]
    ema_params = [p for p in ema.parameters()]
    opt = torch.optim.Adam(params, lr=1e-4)
    d = math.prod(shape)
    c = 0.00054 * math.sqrt(d)
    N = 11
    grid = torch.tensor([(SIGMA_MIN ** (1 / RHO) + i / (N - 1) * (SIGMA_MAX ** (1 / RHO) - SIGMA_MIN ** (1 / RHO))) ** RHO for i in range(N)], device=args.dev)
    x0 = torch.rand((B,) + shape, device=args.dev) - 0.5
    cuda = args.dev.type == "cuda"
    rate = 0.999

    def step():
        idx = torch.randint(0, N - 1, (B,), device=args.dev)
        s_lo, s_hi = grid[idx], grid[idx + 1]
        z = torch.randn_like(x0)
        bshape = (-1,) + (1,) * len(shape)
        x_lo, x_hi = x0 + s_lo.view(bshape) * z, x0 + s_hi.view(bshape) * z
        weight = 1 / (s_hi - s_lo)
        rng = torch.cuda.get_rng_state() if cuda else torch.get_rng_state()
        with torch.no_grad():
            target = consistency(ema, x_lo, s_lo)
        # same dropout masks in the student pass
        torch.cuda.set_rng_state(rng) if cuda else torch.set_rng_state(rng)
        pred = consistency(model, x_hi, s_hi)
        dist = torch.sqrt(((pred - target).reshape(B, -1) ** 2).sum(1) + c * c) - c
        loss = (dist * weight).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            torch._foreach_mul_(ema_params, rate)
            torch._foreach_add_(ema_params, params, alpha=1 - rate)
        return loss

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()  # the step's kernels are queued; time them to completion
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({
        "model": args.model,
        "threads": torch.get_num_threads(),
        "msPerStep": statistics.median(times),
        "meanMs": statistics.fmean(times),
        "minMs": min(times),
        "steps": args.steps,
        "params": sum(p.numel() for p in params),
        "torch": torch.__version__,
        "device": device_name(args.dev),
        "batch": B,
        "size": args.size if args.model == "unet" else None,
    }))


def device_name(dev):
    return torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"


def sample(args):
    """1-step sampling images/s: f(sigma_max * z, sigma_max) for a batch of 16x16 images, eval mode."""
    model = UNet(seed=args.seed).to(args.dev)
    model.eval()
    B = args.batch or 256
    x = SIGMA_MAX * torch.randn((B, 1, args.size, args.size), device=args.dev)
    sigma = torch.full((B,), SIGMA_MAX, device=args.dev)
    times = []
    with torch.no_grad():
        for i in range(args.warmup + args.steps):
            t = time.perf_counter()
            consistency(model, x, sigma)
            if args.dev.type == "cuda":
                torch.cuda.synchronize()
            if i >= args.warmup:
                times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(json.dumps({
        "model": "unet-sample",
        "threads": torch.get_num_threads(),
        "batch": B,
        "msPerCall": med * 1000,
        "imagesPerSec": B / med,
        "steps": args.steps,
        "params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "device": device_name(args.dev),
        "size": args.size,
    }))


if __name__ == "__main__":
    sys.exit(main())
