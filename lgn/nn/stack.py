"""Composing lgn's layers in a model of one's own."""

from __future__ import annotations

import torch
from torch import nn


class FeatureMajor(nn.Sequential):
    """lgn's family layers in sequence inside a batch-first model.

    The layers run feature-major, ``(features, batch)`` (a gate reads two rows, which is what
    makes them fast); this turns a ``(batch, features)`` input around before them and back after,
    so that a model reads like any PyTorch model::

        model = nn.Sequential(ThresholdEncoder(thresholds),
                              FeatureMajor(LogicLayer(256, 1000, generator=g),
                                           LookupLayer(1000, 500, 4, generator=g)),
                              GroupSum(10, tau=10.0))

    :func:`lgn.harden.harden` lowers such a model (any mix of families) to the IR.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.t().contiguous()).t()
