"""Feature-major row gathering shared by the layers with fixed sparse wiring."""

from __future__ import annotations

import torch


def gather_rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of the feature-major ``x`` ``(in, batch)`` at ``index`` (any shape):
    ``(*index.shape, batch)``.

    Gathered with ``index_select``, whose backward is an ``index_add_`` over rows: advanced
    indexing's accumulating backward is many times slower on a CPU.
    """
    return x.index_select(0, index.reshape(-1)).view(*index.shape, x.shape[-1])
