"""Input encoding: raw features to bits."""

from __future__ import annotations

import torch
from torch import nn


def even_thresholds(num_features: int, per_feature: int, low: float, high: float) -> torch.Tensor:
    """``(num_features, per_feature)`` thresholds spaced evenly inside ``(low, high)``."""
    steps = torch.arange(1, per_feature + 1, dtype=torch.float32) / (per_feature + 1)
    return (low + (high - low) * steps).expand(num_features, per_feature).clone()


def quantile_thresholds(x: torch.Tensor, per_feature: int) -> torch.Tensor:
    """``(num_features, per_feature)`` thresholds at each feature's quantiles ``j / (per_feature + 1)``
    over the samples ``x`` ``(n, num_features)``: every bit splits the training data as evenly as
    the feature's values allow (DWN's distributive thermometer)."""
    q = torch.arange(1, per_feature + 1, dtype=torch.float64) / (per_feature + 1)
    return torch.quantile(x.double(), q, dim=0).t().float().contiguous()


#: How the encoder's thresholds are placed: evenly over the feature range, at the data's
#: quantiles, or ``auto``: evenly for images (one scale for every pixel), at the quantiles for
#: tables (each column its own scale).
ENCODINGS: tuple[str, ...] = ("auto", "even", "quantile")


class ThresholdEncoder(nn.Module):
    """Thermometer code: bit ``f * k + j`` is ``x[:, f] > thresholds[f, j]``.

    Thresholds are in the raw data's units and travel into the IR, so a board or a user encodes
    raw data exactly as training did.
    """

    def __init__(self, thresholds: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("thresholds", thresholds.float())

    @property
    def out_features(self) -> int:
        return self.thresholds.numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float().unsqueeze(-1) > self.thresholds).flatten(-2).float()
