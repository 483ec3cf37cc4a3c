"""Lowering of trained torch models to the IR: the only module that knows both."""

from __future__ import annotations

import numpy as np
import torch

from lgn.ir.netlist import GateLayer, GroupSumHead, InputEncoding, Netlist
from lgn.nn import LogicNet


def harden(model: LogicNet, meta: dict | None = None) -> Netlist:
    """The discrete netlist of ``model``: every gate becomes its argmax function."""
    thresholds = model.encoder.thresholds.detach().cpu()
    num_features, per_feature = thresholds.shape
    inputs = InputEncoding(
        num_features=num_features,
        feature=np.repeat(np.arange(num_features, dtype=np.int32), per_feature),
        threshold=thresholds.numpy().astype(np.float32).reshape(-1),
    )
    layers, start = [], 0  # start: global index of the current layer's first input
    width = inputs.width
    for layer in model.layers:
        conn = layer.hardened_connections().detach().cpu().numpy().astype(np.int32) + np.int32(start)
        layers.append(GateLayer(layer.hardened_ops().cpu().numpy().astype(np.uint8), conn[0], conn[1]))
        start, width = start + width, layer.out_features
    head = GroupSumHead(model.head.k, np.arange(start, start + width, dtype=np.int32), float(model.head.tau))
    return Netlist(inputs, tuple(layers), head, dict(meta or {})).validate()


@torch.no_grad()
def hardened_scores(model: LogicNet, raw: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Integer group popcounts of ``model`` in hardened eval mode, ``(n, num_classes)`` int64.

    GroupSum divides by ``tau``; the popcounts are recovered by multiplying back and must land
    on integers, which is checked rather than assumed.
    """
    was_training = model.training
    model.eval()
    try:
        out = torch.cat([model(torch.as_tensor(raw[i:i + batch_size], dtype=torch.float32))
                         for i in range(0, len(raw), batch_size)]).double() * model.head.tau
    finally:
        model.train(was_training)
    counts = out.round()
    if not torch.allclose(out, counts, atol=1e-3):
        raise AssertionError("hardened model produced non-integer group counts")
    return counts.long().numpy()
