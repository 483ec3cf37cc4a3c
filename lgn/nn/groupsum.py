"""The GroupSum head: class scores from groups of output bits."""

from __future__ import annotations

import torch
from torch import nn


class GroupSum(nn.Module):
    """Splits the last layer's outputs into ``k`` contiguous groups and sums each, divided by ``tau``.

    ``tau`` is a softmax temperature for training; it scales every score alike, so the hardened
    class is the argmax of the plain group popcounts.
    """

    def __init__(self, k: int, tau: float = 1.0) -> None:
        super().__init__()
        self.k = k
        self.tau = tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.k:
            raise ValueError(f"GroupSum: {x.shape[-1]} inputs do not split into {self.k} groups")
        return x.reshape(*x.shape[:-1], self.k, -1).sum(-1) / self.tau

    def extra_repr(self) -> str:
        return f"k={self.k}, tau={self.tau}"
