"""Lowering of trained torch models to the IR: the only module that knows both."""

from __future__ import annotations

import numpy as np
import torch

from lgn.ir import tables
from lgn.ir.netlist import InputEncoding, LutLayer, Netlist, ThresholdLayer, feed_forward
from lgn.nn import DendriticLinear, LogicLayer, LogicNet, LookupLayer, XnorLinear


def harden(model: LogicNet, meta: dict | None = None) -> Netlist:
    """The discrete netlist of ``model``: every gate becomes its argmax function, every lookup
    table its entries' signs (:meth:`LookupLayer.hardened_tables`), every binary,
    tiled or sparse neuron a threshold unit (:meth:`XnorLinear.fold`), every dendritic neuron a layer of
    AND branches and a layer of OR somas (:meth:`DendriticLinear.hardened`)."""
    thresholds = model.encoder.thresholds.detach().cpu()
    num_features, per_feature = thresholds.shape
    inputs = InputEncoding(
        num_features=num_features,
        feature=np.repeat(np.arange(num_features, dtype=np.int32), per_feature),
        threshold=thresholds.numpy().astype(np.float32).reshape(-1),
    )
    layers = [ir for layer in model.layers for ir in _lower(layer)]
    return feed_forward(inputs, layers, model.head.k, float(model.head.tau), meta)


def _lower(layer: LogicLayer | LookupLayer | XnorLinear | DendriticLinear) -> list:
    """The IR layers of one torch layer: gate layers as ``(op, a, b)``, each reading the previous
    IR layer's outputs."""
    if isinstance(layer, LogicLayer):
        return [(layer.hardened_ops().cpu().numpy(), *layer.hardened_connections().detach().cpu().numpy())]
    if isinstance(layer, LookupLayer):
        src = layer.hardened_connections().t().contiguous().cpu().numpy().astype(np.int32)
        return [LutLayer(src, tables.pack(layer.hardened_tables().cpu().numpy()))]
    if isinstance(layer, DendriticLinear):
        units, branch_of = layer.hardened()
        branches = ThresholdLayer.from_units((src.cpu().numpy(), w.cpu().numpy(), t) for src, w, t in units)
        somas = ThresholdLayer.from_units((row.numpy(), np.ones(len(row), np.uint8), 1) for row in branch_of)
        return [branches, somas]
    w, t = (v.cpu().numpy() for v in layer.fold())
    out, fan_in = w.shape
    return [ThresholdLayer(np.arange(0, out * fan_in + 1, fan_in, dtype=np.int32),
                           layer.sources().cpu().numpy().reshape(-1).astype(np.int32), w.reshape(-1).astype(np.uint8),
                           t.astype(np.int32))]


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
