"""The training curves as a PNG beside the checkpoint."""

from __future__ import annotations

import io
from pathlib import Path

from lgn.fileio import write_bytes
from lgn.train.loop import EpochStats


def plot_history(history: list[EpochStats], path: Path, title: str = "") -> None:
    """Loss (left) and accuracies (right) per epoch, written atomically to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    epochs = [s.epoch for s in history]
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    loss, acc = fig.subplots(1, 2)
    loss.plot(epochs, [s.loss for s in history], marker=".")
    loss.set(xlabel="epoch", ylabel="cross-entropy", title="training loss")
    acc.plot(epochs, [s.train_accuracy for s in history], marker=".", label="train (relaxed)")
    acc.plot(epochs, [s.hardened_accuracy for s in history], marker=".", label="test (hardened)")
    acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    acc.grid(alpha=0.3)
    acc.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    write_bytes(Path(path), buf.getvalue())
