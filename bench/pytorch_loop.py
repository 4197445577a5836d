#!/usr/bin/env python3
"""PyTorch yardstick for bench/train-loop.ts: a whole consistency-training run, written the way a
PyTorch user would write it, from the kit's own resolved config (config.json of a ctlab run).

Per step: a random batch indexed from an in-memory tensor, N(k) from the config's curriculum, the
Karras grid of N(k) and its pair probabilities (cached per N), pair indices by torch.multinomial,
noise, the target pass under no_grad with the student's dropout masks (RNG state saved and restored),
the student pass, the weighted distance, backward, torch.optim (Adam or RAdam as configured), the
sampling EMA with torch._foreach ops; every logEvery steps the window's mean loss (kept as a tensor,
read once) appended to a JSONL file; every checkpointEvery steps torch.save of model, EMA and
optimizer (the two newest kept), as ctlab's trainer does. Networks: bench/pytorch_step.py's (the
kit's MLP and U-Net). Only the iCT settings the bench uses are implemented (target = stop-gradient
of the student, no EMA target network); anything else is refused.

Prints one JSON line: {"msPerStep", "loopSec", "steps", "threads", "peakRssMb", ...}.
Run with Debian's python (`/usr/bin/python3`, package python3-torch). Not part of the kit.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_step import Mlp, UNet, consistency  # noqa: E402  (the same networks as the step bench)


def curriculum(cfg, k):
    c, K = cfg["curriculum"], cfg["steps"]
    if c["kind"] == "ict":  # iCT Eq. (5), as src/schedules/curriculum.ts
        stages = int(math.floor(math.log2(c["s1"] // c["s0"]))) + 1
        kp = K // stages
        stage = k // kp if kp > 0 else k
        return min(c["s0"] * 2**stage, c["s1"]) + 1
    inner = math.ceil(math.sqrt(k / K * ((c["s1"] + 1) ** 2 - c["s0"] ** 2) + c["s0"] ** 2) - 1)  # CM Appendix C
    return max(inner, 1) + 1


def grid_and_probs(cfg, n):
    nz = cfg["noise"]
    lo, hi, rho = nz["sigmaMin"] ** (1 / nz["rho"]), nz["sigmaMax"] ** (1 / nz["rho"]), nz["rho"]
    sig = torch.tensor([(lo + i / (n - 1) * (hi - lo)) ** rho for i in range(n)], dtype=torch.float64)
    s = cfg["noiseSampler"]
    if s["kind"] == "lognormal":  # iCT Eq. (7)
        cdf = torch.special.erf((torch.log(sig) - s["pMean"]) / (math.sqrt(2) * s["pStd"]))
        p = cdf[1:] - cdf[:-1]
    else:
        p = torch.ones(n - 1, dtype=torch.float64)
    return sig.float(), (p / p.sum()).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, help="a ctlab config.json (resolved)")
    ap.add_argument("--out", required=True, help="directory for metrics.jsonl and checkpoints")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--channels-last", action="store_true", help="U-Net in channels_last memory format")
    args = ap.parse_args()
    cfg = json.load(open(args.config))
    target = cfg.get("target", cfg.get("teacher", {"kind": "none"}))
    if (target.get("kind") if isinstance(target, dict) else target) not in ("none", "stopgrad") or cfg["distance"]["kind"] != "pseudo-huber":
        sys.exit("pytorch_loop.py: only the iCT target (stop-gradient) and the pseudo-Huber distance are implemented")
    torch.set_num_threads(args.threads)
    torch.manual_seed(cfg["seed"])
    os.makedirs(args.out, exist_ok=True)
    m, B = cfg["model"], cfg["batchSize"]
    if cfg["data"]["kind"] == "fashion-mnist":
        size = cfg["data"].get("size", 16)
        shape = (1, size, size)
        data = torch.rand((60000,) + shape) - 0.5  # the step's cost does not depend on the pixel values
        model = UNet(channels=tuple(m["channels"]), num_res=m["numResBlocks"], emb_dim=m["embedding"]["dim"], groups=m["groups"], p=m["dropout"], seed=cfg["seed"])
    else:
        shape = (2,)
        angles = torch.randint(0, 8, (20000,)) * (math.pi / 4)
        data = torch.stack([torch.cos(angles), torch.sin(angles)], 1) * 2 + 0.1 * torch.randn(20000, 2)
        model = Mlp(hidden=m["hidden"], depth=m["depth"], emb_dim=m["embedding"]["dim"], p=m["dropout"], seed=cfg["seed"])
    fmt = torch.channels_last if args.channels_last and len(shape) == 3 else torch.contiguous_format
    model = model.to(memory_format=fmt)
    data = data.contiguous(memory_format=fmt) if len(shape) == 3 else data
    ema = [p.detach().clone() for p in model.parameters()]
    params = list(model.parameters())
    o = cfg["optimizer"]
    Opt = torch.optim.RAdam if o["kind"] == "radam" else torch.optim.Adam
    opt = Opt(params, lr=o["lr"], betas=(o.get("beta1", 0.9), o.get("beta2", 0.999)), eps=o.get("eps", 1e-8))
    d = math.prod(shape)
    c = cfg["distance"].get("c", 0.00054 * math.sqrt(d))  # iCT Sec. 3.3
    rate, log_every, ckpt_every, steps = cfg["emaRate"], cfg["logEvery"], cfg["checkpointEvery"], cfg["steps"]
    ict_weight = cfg["weighting"] == "ict"
    bshape = (-1,) + (1,) * len(shape)
    cache = {}
    metrics = open(os.path.join(args.out, "metrics.jsonl"), "w")
    saved = []
    model.train()
    window = torch.zeros(())
    window_n = 0
    t0 = time.perf_counter()
    for k in range(steps):
        n = curriculum(cfg, k)
        if n not in cache:
            cache = {n: grid_and_probs(cfg, n)}
        sig, probs = cache[n]
        x = data[torch.randint(0, data.shape[0], (B,))]
        i = torch.multinomial(probs, B, replacement=True)
        s_lo, s_hi = sig[i], sig[i + 1]
        z = torch.randn_like(x)
        rng = torch.get_rng_state()
        with torch.no_grad():
            target = consistency(model, x + s_lo.view(bshape) * z, s_lo)  # θ⁻ = stopgrad(θ) (iCT Sec. 3.2)
        torch.set_rng_state(rng)  # the same dropout masks in the student pass
        pred = consistency(model, x + s_hi.view(bshape) * z, s_hi)
        dist = torch.sqrt(((pred - target).reshape(B, -1) ** 2).sum(1) + c * c) - c
        loss = (dist / (s_hi - s_lo)).mean() if ict_weight else dist.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            torch._foreach_mul_(ema, rate)
            torch._foreach_add_(ema, params, alpha=1 - rate)
            window += loss.detach()
        window_n += 1
        step = k + 1
        if step % log_every == 0 or step == steps:
            metrics.write(json.dumps({"step": step, "kind": "train", "loss": window.item() / window_n, "N": n}) + "\n")
            metrics.flush()
            window.zero_()
            window_n = 0
        if step % ckpt_every == 0 or step == steps:
            path = os.path.join(args.out, f"ckpt-{step:08d}.pt")
            torch.save({"step": step, "model": model.state_dict(), "ema": ema, "opt": opt.state_dict()}, path)
            saved.append(path)
            while len(saved) > 2:
                os.remove(saved.pop(0))
    loop = time.perf_counter() - t0
    metrics.close()
    print(json.dumps({
        "msPerStep": loop / steps * 1000,
        "loopSec": loop,
        "steps": steps,
        "threads": torch.get_num_threads(),
        "channelsLast": fmt == torch.channels_last,
        "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "params": sum(p.numel() for p in params),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    sys.exit(main())
