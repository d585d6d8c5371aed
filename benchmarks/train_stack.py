"""Stacked training: M models in one loop (stack.train_many) against M runs of training.train.

Each stack member ends with the weights it reaches alone, bit for bit
(tests/test_training_stack.py), so the only question is time. For M in 1, 2, 4, 6 and 8 models
of the book's network (seeds 0..M-1, ``--epochs`` each, one thread) it prints the best of
``--repeats`` runs:

    stack_<M>_ms_per_model_step: <stack time / (M * gradient steps)>
    stack_<M>_speedup: <M runs of training.train / one stack of M>

and ``single_ms_per_step`` for one model trained by ``training.train`` (the plain loop). Run it on
an otherwise idle machine:

    python benchmarks/train_stack.py [--epochs 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

from diffusion2d.stack import train_many
from diffusion2d.training import TrainConfig, split_for, train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base = TrainConfig(epochs=args.epochs)
    n = len(split_for(base)[0]) * base.repeats
    steps = args.epochs * -(-n // base.batch_size)
    sizes = (1, 2, 4, 6, 8)
    best = dict.fromkeys(("single", *sizes), float("inf"))
    for _ in range(args.repeats):  # interleaved, so that a slow spell hits every size alike
        start = time.perf_counter()
        train(base, progress=False)
        best["single"] = min(best["single"], time.perf_counter() - start)
        for m in sizes:
            start = time.perf_counter()
            train_many([base.replace(seed=s) for s in range(m)], progress=False)
            best[m] = min(best[m], time.perf_counter() - start)
    print(f"single_ms_per_step: {1000 * best['single'] / steps:.2f}")
    for m in sizes:
        print(f"stack_{m}_ms_per_model_step: {1000 * best[m] / (m * steps):.2f}")
        print(f"stack_{m}_speedup: {m * best['single'] / best[m]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
