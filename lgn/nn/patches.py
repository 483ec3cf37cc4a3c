"""Local wiring: layers whose units read a square patch of an image instead of random inputs.

Random sparse wiring makes a netlist that no FPGA router can close once it reaches a few
thousand units: every input bit drives units spread over the whole die. With local wiring
every layer is laid over the image grid, each unit reads only sources whose grid position lies
in a ``window x window`` patch around its own, and the netlist keeps the image's 2-D
neighbourhoods, which a placer maps onto the die's.

Positions: input bit ``f * per_feature + j`` (see :class:`~lgn.nn.encoder.ThresholdEncoder`)
sits on pixel ``f``; a layer of ``n`` units spreads them evenly over the grid in raster order.
The last layer feeds a GroupSum, which sums consecutive units per class, so there each class's
group is spread over the whole grid on its own and every class sees the whole image.
"""

from __future__ import annotations

import torch


def input_positions(shape: tuple[int, int], per_feature: int) -> torch.Tensor:
    """``(H * W * per_feature, 2)`` grid positions ``(row, col)`` of the encoder's bits."""
    cells = torch.arange(shape[0] * shape[1]).repeat_interleave(per_feature)
    return torch.stack([cells // shape[1], cells % shape[1]], 1)


def unit_positions(count: int, shape: tuple[int, int], groups: int = 1) -> torch.Tensor:
    """``(count, 2)`` grid positions of a layer's units, each of ``groups`` consecutive groups
    (``count`` must divide evenly) spread over the whole grid."""
    size, cells = count // groups, shape[0] * shape[1]
    cell = ((torch.arange(count) % size) * 2 + 1) * cells // (2 * size)
    return torch.stack([cell // shape[1], cell % shape[1]], 1)


def patch_connections(sources: torch.Tensor, units: torch.Tensor, shape: tuple[int, int], window: int,
                      per_unit: tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    """``(len(units), *per_unit)`` source indices, each unit's drawn uniformly (with repetition)
    from the sources inside its patch.

    A patch is the ``window x window`` square around the unit's position, moved inward at the
    image's edges so that every patch is whole (the whole grid where ``window`` exceeds it).

    Parameters
    ----------
    sources, units:
        ``(n, 2)`` grid positions, e.g. from :func:`input_positions` and :func:`unit_positions`.
    """
    low = _corners(units, shape, window)
    out = torch.empty(len(units), *per_unit, dtype=torch.long)
    # Units sharing a patch draw from one candidate list: at most one list per grid cell.
    corners, which = torch.unique(low, dim=0, return_inverse=True)
    for k, corner in enumerate(corners):
        inside = ((sources >= corner) & (sources < corner + window)).all(1).nonzero().flatten()
        if not len(inside):
            raise ValueError(f"no source lies in the {window}x{window} patch at {tuple(corner.tolist())}")
        members = (which == k).nonzero().flatten()
        out[members] = inside[torch.randint(len(inside), (len(members), *per_unit), generator=generator)]
    return out


def patch_mask(sources: torch.Tensor, units: torch.Tensor, shape: tuple[int, int], window: int) -> torch.Tensor:
    """``(len(sources), len(units))`` bools: the sources inside each unit's patch, the pool that
    :func:`patch_connections` draws from (the whole grid where ``window`` exceeds it)."""
    low = _corners(units, shape, window)
    return ((sources[:, None] >= low[None]) & (sources[:, None] < low[None] + window)).all(-1)


def _corners(units: torch.Tensor, shape: tuple[int, int], window: int) -> torch.Tensor:
    """``(len(units), 2)`` top-left corners of the units' patches, moved inward at the edges."""
    if window < 1:
        raise ValueError("a patch must be at least 1 pixel wide")
    sides = torch.tensor(shape)
    return torch.minimum((units - window // 2).clamp(min=0), (sides - window).clamp(min=0))
