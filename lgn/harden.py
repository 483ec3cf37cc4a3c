"""Lowering of trained torch models to the IR: the encoder here, each layer by its family's
lowering (:mod:`lgn.nn.families`)."""

from __future__ import annotations

import numpy as np
import torch

from lgn.ir.netlist import InputEncoding, Netlist, feed_forward
from lgn.nn import LogicNet, families


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
    layers = [ir for layer in model.layers for ir in families.lower(layer)]
    return feed_forward(inputs, layers, model.head.k, float(model.head.tau), meta)


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
