"""The training loop: Adam on cross-entropy over GroupSum scores, progress per epoch."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, TextIO

import numpy as np
import torch

from lgn.nn import LogicNet


@dataclass
class EpochStats:
    epoch: int
    loss: float
    train_accuracy: float      # relaxed model, on the training batches seen
    hardened_accuracy: float   # hardened model on the test split
    samples_per_s: float


@torch.no_grad()
def accuracy(model: LogicNet, x: np.ndarray, y: np.ndarray, *, hardened: bool, batch_size: int = 4096) -> float:
    """Fraction of ``x`` classified as ``y``, with the relaxed (train-mode) or hardened model."""
    was_training = model.training
    model.train(not hardened)
    try:
        correct = sum(int((model(torch.as_tensor(x[i:i + batch_size])).argmax(1) ==
                           torch.as_tensor(y[i:i + batch_size])).sum()) for i in range(0, len(x), batch_size))
    finally:
        model.train(was_training)
    return correct / len(x)


def fit(model: LogicNet, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
        epochs: int, batch_size: int = 64, lr: float = 0.01, seed: int = 0,
        on_epoch: Callable[[EpochStats], None] | None = None) -> list[EpochStats]:
    """Train ``model`` in place; call ``on_epoch`` after each epoch and return the history."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.as_tensor(x_train), torch.as_tensor(y_train)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        start, total_loss, correct = time.perf_counter(), 0.0, 0
        for idx in torch.randperm(len(xt), generator=generator).split(batch_size):
            scores = model(xt[idx])
            loss = torch.nn.functional.cross_entropy(scores, yt[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(idx)
            correct += int((scores.argmax(1) == yt[idx]).sum())
        elapsed = time.perf_counter() - start
        stats = EpochStats(epoch, total_loss / len(xt), correct / len(xt),
                           accuracy(model, x_test, y_test, hardened=True), len(xt) / elapsed)
        history.append(stats)
        if on_epoch:
            on_epoch(stats)
    model.eval()
    return history


def print_progress(epochs: int, stream: TextIO = sys.stderr) -> Callable[[EpochStats], None]:
    """An ``on_epoch`` callback printing one line per epoch."""
    def report(s: EpochStats) -> None:
        print(f"epoch {s.epoch:>{len(str(epochs))}}/{epochs}  loss {s.loss:.4f}  train acc {s.train_accuracy:.4f}  "
              f"hardened test acc {s.hardened_accuracy:.4f}  {s.samples_per_s:,.0f} samples/s", file=stream, flush=True)
    return report
