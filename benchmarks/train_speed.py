"""Training speed and sample quality: the workshop's training loop against ours, in one run.

Both loops train the same four experiments (diffusion2d.experiments.EXPERIMENTS: same model, same
schedule, same L_simple); only the loop differs:

- workshop: the 142 points repeated 6x, split 80/20 after repetition, a DataLoader with batch 32,
  Adam lr 1e-3, 1000 epochs, 2 intra-op threads, one model after the other;
- ours: diffusion2d.training.train via cache.load_or_train_many (whole-tensor batches of 256,
  fused AdamW with cosine decay, one thread per process, two models at once).

Quality is the Chamfer distance between 2000 DDPM samples and the 142 normalised points. The last
two lines are ``speedup: <workshop seconds / our seconds>`` and ``best_chamfer: <value>``.
Targets: speedup >= 5 with every experiment at least as good as the workshop loop's, best Chamfer
<= 0.05, and sampling 1000 points x 50 steps well under a second.

    python benchmarks/train_speed.py [--workshop-epochs 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from diffusion2d.cache import load_or_train_many
from diffusion2d.data import load_datasaurus
from diffusion2d.experiments import EXPERIMENTS
from diffusion2d.loss import get_loss
from diffusion2d.metrics import chamfer_distance
from diffusion2d.samplers import sample
from diffusion2d.training import TrainConfig, build_model
from diffusion2d.utils import torch_threads


def workshop_loop(config: TrainConfig, epochs: int, threads: int = 2):
    """The workshop notebook's loop (with the correct math), for comparison only."""
    with torch_threads(threads):
        torch.manual_seed(config.seed)
        data = load_datasaurus(config.dataset).repeat(6, 1)  # (852, 2)
        perm = torch.randperm(len(data))
        train_x = data[perm[: int(0.8 * len(data))]]
        loader = DataLoader(TensorDataset(train_x), batch_size=32, shuffle=True)
        model = build_model(config)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(epochs):
            for (x0,) in loader:
                t = torch.randint(0, config.T, (len(x0),))
                loss = get_loss(model, x0, torch.randn_like(x0), model.alpha_bars, t)
                opt.zero_grad()
                loss.backward()
                opt.step()
    return model.eval()


def quality(model, data) -> float:
    xs = sample(2000, model, generator=torch.Generator().manual_seed(0))
    return chamfer_distance(xs[-1], data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workshop-epochs", type=int, default=1000)
    args = parser.parse_args()
    data = load_datasaurus("dino")

    rows = {}
    start = time.perf_counter()
    for name, cfg in EXPERIMENTS.items():
        t0 = time.perf_counter()
        model = workshop_loop(cfg, args.workshop_epochs)
        rows[name] = [time.perf_counter() - t0, quality(model, data)]
        print(f"workshop {name}: {rows[name][0]:6.1f} s  chamfer {rows[name][1]:.4f}", flush=True)
    workshop_seconds = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as cold_cache:
        start = time.perf_counter()
        trained = load_or_train_many(EXPERIMENTS, directory=cold_cache)
        ours_seconds = time.perf_counter() - start
    for name, (model, history) in trained.items():
        rows[name] += [history.seconds, quality(model, data)]

    model = trained["v3"][0]
    sample(1000, model, generator=torch.Generator().manual_seed(1))  # warm-up
    t0 = time.perf_counter()
    sample(1000, model, generator=torch.Generator().manual_seed(1))
    sample_seconds = time.perf_counter() - t0

    print()
    print("| experiment | workshop s | workshop chamfer | ours s (per model) | ours chamfer |")
    print("|---|---:|---:|---:|---:|")
    for name, (ws, wc, os_, oc) in rows.items():
        print(f"| {name} | {ws:.1f} | {wc:.4f} | {os_:.1f} | {oc:.4f} |")
    print(f"| total wall time | {workshop_seconds:.1f} | | {ours_seconds:.1f} | |")
    print("| reference: data resampled + jitter | | 0.016 | | |")
    print("| reference: Gaussian noise | | 0.32 | | |")
    print()
    not_worse = all(r[3] <= r[1] for r in rows.values())
    print(f"every experiment at least as good as the workshop loop: {not_worse}")
    print(f"sampling 1000 points x {model.T} steps: {sample_seconds:.3f} s")
    print(f"speedup: {workshop_seconds / ours_seconds:.2f}")
    print(f"best_chamfer: {min(r[3] for r in rows.values()):.4f}")


if __name__ == "__main__":
    main()
