"""The training loop: Adam on cross-entropy over GroupSum scores, resumable, optionally data-parallel."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, TextIO

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from lgn.nn import LogicNet


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    loss: float
    train_accuracy: float      # relaxed model, on the training batches seen
    hardened_accuracy: float   # hardened model on the test split
    samples_per_s: float
    wall_s: float              # the epoch's training and evaluation time

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EpochStats":
        return cls(**d)


@torch.no_grad()
def accuracy(model: LogicNet, x: np.ndarray, y: np.ndarray, *, hardened: bool, batch_size: int = 4096) -> float:
    """Fraction of ``x`` classified as ``y``, with the relaxed (train-mode) or hardened model."""
    was_training = model.training
    model.train(not hardened)
    device = _device(model)
    try:
        correct = sum(int((model(torch.as_tensor(x[i:i + batch_size]).to(device)).argmax(1).cpu() ==
                           torch.as_tensor(y[i:i + batch_size])).sum()) for i in range(0, len(x), batch_size))
    finally:
        model.train(was_training)
    return correct / len(x)


def _device(model: torch.nn.Module) -> torch.device:
    """Where the model's parameters live: batches go there."""
    return next(model.parameters()).device


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The sample order of ``epoch``: a function of the seed and the epoch alone, so a resumed run
    visits the same batches as an uninterrupted one."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


SCHEDULES: tuple[str, ...] = ("constant", "cosine")


class Diverged(ArithmeticError):
    """The loss became NaN or infinite: the epoch is abandoned, the last checkpoint kept."""

    def __init__(self, epoch: int, loss: float) -> None:
        super().__init__(f"the training loss became {loss} in epoch {epoch}")
        self.epoch, self.loss = epoch, loss


def epoch_lr(lr: float, schedule: str, epoch: int, epochs: int) -> float:
    """The learning rate of ``epoch`` (1-based): ``lr`` throughout, or annealed along a half
    cosine from ``lr`` to near zero by the last epoch. A function of the epoch alone, so resuming
    keeps the schedule."""
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")


def fit(model: LogicNet, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
        epochs: int, batch_size: int = 64, lr: float = 0.01, schedule: str = "constant", seed: int = 0,
        optimizer_state: dict | None = None, history: list[EpochStats] | None = None,
        on_epoch: Callable[[list[EpochStats], torch.optim.Optimizer], None] | None = None,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        freeze_wiring: int | None = None, hard_forward: int | None = None) -> list[EpochStats]:
    """Train ``model`` in place up to epoch ``epochs`` and return the history.

    Resumes after ``history[-1].epoch`` when given ``history`` and the optimizer's
    ``optimizer_state``. Calls ``on_epoch(history, optimizer)`` after each epoch (to checkpoint).
    Under ``torch.distributed`` every rank takes an interleaved share of each batch and
    gradients are averaged so that a step equals the single-process step on the whole batch.
    After epoch ``freeze_wiring`` the learned connections stay at their argmax
    (:meth:`LogicNet.freeze_wiring`) and only the gates or tables train on; after epoch
    ``hard_forward`` the wiring is frozen too and the forward pass runs on rounded bits
    (:attr:`LogicNet.straight_through`), so the loss is the hardened network's.
    """
    rank, world = _world()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)

    def wrap() -> torch.nn.Module:  # DDP hooks the parameters that learn when it is built
        return DistributedDataParallel(model, forward_sync_buffers=False) if world > 1 else model

    def after(phase: int | None, epoch: int) -> bool:
        return phase is not None and epoch > phase

    net, frozen = None, False
    # the training data where the model is (on a GPU: moved once, not per batch)
    xt, yt = torch.as_tensor(x_train).to(_device(model)), torch.as_tensor(y_train).to(_device(model))
    history = list(history or [])
    for epoch in range(len(history) + 1, epochs + 1):
        if (after(freeze_wiring, epoch) or after(hard_forward, epoch)) and not frozen:
            model.freeze_wiring()
            net, frozen = None, True
        if net is None:  # built once, and again after the freeze (on resume past it: once, frozen)
            net = wrap()
        model.straight_through = after(hard_forward, epoch)
        for group in optimizer.param_groups:
            group["lr"] = epoch_lr(lr, schedule, epoch, epochs)
        model.train()
        start = time.perf_counter()
        totals = torch.zeros(2, dtype=torch.float64)  # loss sum, correct
        draws = torch.Generator(xt.device).manual_seed(seed * 1_000_003 + epoch + 500_000)
        for idx in epoch_order(len(xt), seed, epoch).to(xt.device).split(batch_size):
            mine = idx[rank::world]
            # every rank augments the whole batch alike and keeps its share
            scores = net(xt[mine] if augment is None else augment(xt[idx], draws)[rank::world])
            loss = torch.nn.functional.cross_entropy(scores, yt[mine], reduction="sum")
            if not torch.isfinite(loss):
                raise Diverged(epoch, loss.item())
            optimizer.zero_grad(set_to_none=True)
            (loss * (world / len(idx))).backward()  # DDP averages over ranks: the whole batch's mean
            optimizer.step()
            totals += torch.tensor([loss.item(), int((scores.argmax(1) == yt[mine]).sum())], dtype=torch.float64)
        if world > 1:
            dist.all_reduce(totals)
        trained = time.perf_counter() - start
        hardened = accuracy(model, x_test, y_test, hardened=True)
        history.append(EpochStats(epoch, float(totals[0]) / len(xt), float(totals[1]) / len(xt), hardened,
                                  len(xt) / trained, time.perf_counter() - start))
        if on_epoch:
            on_epoch(history, optimizer)
    model.straight_through = False  # the trained model's own (relaxed) accuracy is reported
    model.eval()
    return history


def print_progress(epochs: int, stream: TextIO = sys.stderr) -> Callable[[EpochStats], None]:
    """A function printing one line for an epoch's stats."""
    def report(s: EpochStats) -> None:
        print(f"epoch {s.epoch:>{len(str(epochs))}}/{epochs}  loss {s.loss:.4f}  train acc {s.train_accuracy:.4f}  "
              f"hardened test acc {s.hardened_accuracy:.4f}  {s.samples_per_s:,.0f} samples/s  {s.wall_s:.1f} s",
              file=stream, flush=True)
    return report
