"""Structural hashing: gates computing the same function of the same bits merged into one."""

from __future__ import annotations

import numpy as np

from lgn.ir.netlist import Netlist
from lgn.ir.passes.common import PassReport, canonical, gates, rebuild


def strash(net: Netlist) -> tuple[Netlist, PassReport]:
    """Readers of a duplicate gate read the first gate with the same canonical ``(op, a, b)``,
    in this layer or any earlier one; duplicates are left for dead-gate elimination."""
    representative = np.arange(net.num_bits, dtype=np.int32)
    first: dict[tuple[int, int, int], int] = {}
    layers, merged = [], 0
    for start, op, a, b in gates(net):
        op, a, b = canonical(op, representative[a], representative[b])
        for j, key in enumerate(zip(op.tolist(), a.tolist(), b.tolist())):
            rep = first.setdefault(key, start + j)
            representative[start + j] = rep
            merged += rep != start + j
        layers.append((op, a, b))
    result = rebuild(net, layers, representative[net.head.bits])
    return result, PassReport("strash", net.num_gates, result.num_gates, {"gates_merged": merged})
