"""What the training-speed benchmarks share: timing Adam steps of a model on fixed batches."""

from __future__ import annotations

import time

import torch


def best_step_s(model: torch.nn.Module, batches, lr: float) -> tuple[float, list[float]]:
    """The fastest of ``model``'s Adam steps on ``batches`` after the first (which warms up
    allocators and caches), and every step's loss, so two sides can be checked to train alike."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    times, losses = [], []
    for x, y in batches:
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    return min(times[1:]), losses
