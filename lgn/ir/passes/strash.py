"""Structural hashing: nodes computing the same function of the same bits merged into one."""

from __future__ import annotations

import numpy as np

from lgn.ir import tables
from lgn.ir.netlist import LutLayer, Netlist, ThresholdLayer
from lgn.ir.passes.common import PassReport, canonical, canonical_luts, canonical_row, layers, rebuild, rows


def strash(net: Netlist) -> tuple[Netlist, PassReport]:
    """Readers of a duplicate node read the first node with the same canonical form (a gate's
    ``(op, a, b)``, a threshold unit's pins and ``t``, a LUT's pins and table), in this layer or any earlier one;
    duplicates are left for dead-gate elimination."""
    representative = np.arange(net.num_bits, dtype=np.int32)
    first: dict[tuple, int] = {}
    out_layers, merged = [], 0
    for start, layer in layers(net):
        if isinstance(layer, ThresholdLayer):
            units = [canonical_row(representative[src], w, t) for (src, w), t in zip(rows(layer), layer.t.tolist())]
            keys = [("T", src.tobytes(), w.tobytes(), t) for src, w, t in units]
            layer = ThresholdLayer.from_units(units)
        elif isinstance(layer, LutLayer):
            layer = canonical_luts(representative[layer.src], tables.expand(layer.table, layer.k))
            keys = [("L", t, row.tobytes()) for t, row in zip(layer.table.tolist(), layer.src)]
        else:
            op, a, b = layer
            op, a, b = layer = canonical(op, representative[a], representative[b])
            keys = zip(op.tolist(), a.tolist(), b.tolist())
        for j, key in enumerate(keys):
            rep = first.setdefault(key, start + j)
            representative[start + j] = rep
            merged += rep != start + j
        out_layers.append(layer)
    result = rebuild(net, out_layers, representative[net.head.bits])
    return result, PassReport("strash", net.num_nodes, result.num_nodes, {"gates_merged": merged})
