"""Seconds per MNIST epoch of lgn's training step against difflogic's plain 16-term relaxation.

Both sides run the same network (same wiring and logits), the same batches of 784 MNIST bits
(pixels > 127), the same GroupSum/cross-entropy loss and Adam step, on the same thread count.
Each step is timed over a few repetitions after a warm-up; seconds per epoch are the best step
time times the steps in a 60,000-sample epoch. The last line is a JSON object of the headline figures.

    python bench/train_speed.py [--data-dir DIR] [--batch 128] [--threads 2] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from lgn.nn import GroupSum, LogicLayer  # noqa: E402
from lgn.nn.reference import sixteen_term  # noqa: E402
from lgn import data  # noqa: E402

SIZES = {"4x2000": (2000,) * 4, "6x8000": (8000,) * 6}
EPOCH = 60_000


def make_layers(widths: tuple[int, ...], seed: int = 0) -> list[LogicLayer]:
    generator = torch.Generator().manual_seed(seed)
    dims = (784, *widths)
    return [LogicLayer(i, o, generator=generator).train() for i, o in zip(dims, dims[1:])]


def lgn_step(layers, head, x, y, optimizer):
    h = x.t().contiguous()
    for layer in layers:
        h = layer(h)
    loss = torch.nn.functional.cross_entropy(head(h.t()), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def sixteen_term_step(layers, head, x, y, optimizer):
    h = x
    for layer in layers:
        h = sixteen_term(h, layer.logits, layer.connections)
    loss = torch.nn.functional.cross_entropy(head(h), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def best_step_s(step, widths, batches) -> tuple[float, float]:
    """``(best seconds per step, first loss)`` for ``step`` on fresh layers of ``widths``."""
    layers = make_layers(widths)
    head = GroupSum(10, tau=20.0)
    optimizer = torch.optim.Adam([layer.logits for layer in layers], lr=0.01)
    times, first_loss = [], None
    for x, y in batches:
        start = time.perf_counter()
        loss = step(layers, head, x, y, optimizer)
        times.append(time.perf_counter() - start)
        first_loss = loss if first_loss is None else first_loss
    return min(times[1:]), first_loss  # the first step warms up allocators and caches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="MNIST idx files (else $LGN_MNIST_DIR, else a download)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LGN_THREADS", 2)))
    parser.add_argument("--steps", type=int, default=3, help="timed steps per method and size (after one warm-up)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ds = data.load("mnist", args.data_dir)
    bits = torch.as_tensor(ds.x_train[: args.batch * (args.steps + 1)] > 127).float()
    labels = torch.as_tensor(ds.y_train[: len(bits)])
    batches = list(zip(bits.split(args.batch), labels.split(args.batch)))
    steps_per_epoch = math.ceil(EPOCH / args.batch)

    print(f"batch {args.batch}, {args.threads} threads, {steps_per_epoch} steps per 60,000-sample epoch")
    print(f"{'network':>8} {'gates':>6} {'16-term s/epoch':>16} {'lgn s/epoch':>12} {'speedup':>8} {'loss diff':>10}")
    figures = {"batch": args.batch, "threads": args.threads}
    for name, widths in SIZES.items():
        base, base_loss = best_step_s(sixteen_term_step, widths, batches)
        fast, fast_loss = best_step_s(lgn_step, widths, batches)
        speedup = base / fast
        print(f"{name:>8} {sum(widths):>6} {base * steps_per_epoch:>16.1f} {fast * steps_per_epoch:>12.1f} "
              f"{speedup:>7.1f}x {abs(base_loss - fast_loss):>10.2e}", flush=True)
        figures |= {f"speedup_{name}": round(speedup, 2), f"lgn_s_per_epoch_{name}": round(fast * steps_per_epoch, 1),
                    f"sixteen_term_s_per_epoch_{name}": round(base * steps_per_epoch, 1)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
