"""Dead-node elimination: nodes no class score depends on are removed and the rest renumbered."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lgn.ir import ops, tables
from lgn.ir.netlist import GateLayer, LutLayer, Netlist, ThresholdLayer
from lgn.ir.passes.common import CONSTANT_PIN, PassReport, canonical, canonical_luts, canonical_row, rows


def dce(net: Netlist) -> tuple[Netlist, PassReport]:
    """Keep the nodes the head reaches through pins they use; drop layers left empty.

    Input bits are never removed: the input encoding is the design's interface.
    """
    live = net.last_reads() >= 0
    live[:net.inputs.width] = True
    renumber = np.cumsum(live, dtype=np.int64).astype(np.int32) - 1
    layers = []
    for layer, start in zip(net.layers, net.layer_offsets()):
        keep = live[start:start + layer.size]
        if not keep.any():
            continue
        if isinstance(layer, GateLayer):
            op = layer.op[keep]
            # pins an op ignores may read dead bits: canonical form points them at used ones
            op, a, b = canonical(op, np.where(ops.USES_A[op], layer.a[keep], CONSTANT_PIN),
                                 np.where(ops.USES_B[op], layer.b[keep], CONSTANT_PIN))
            layers.append(GateLayer(op, renumber[a], renumber[b]))
        elif isinstance(layer, LutLayer):  # ignored pins may read dead bits: canonical form points them at bit 0
            kept = canonical_luts(layer.src[keep], tables.expand(layer.table[keep], layer.k))
            layers.append(LutLayer(renumber[kept.src], kept.table))
        else:  # constant units read dead bits: canonical form drops their pins
            units = [canonical_row(src, w, t) for (src, w), t, k in zip(rows(layer), layer.t.tolist(), keep) if k]
            layers.append(ThresholdLayer.from_units([(renumber[src], w, t) for src, w, t in units]))
    result = replace(net, layers=tuple(layers), head=replace(net.head, bits=renumber[net.head.bits])).validate()
    return result, PassReport("dce", net.num_nodes, result.num_nodes,
                              {"gates_removed": net.num_nodes - result.num_nodes,
                               "layers_removed": len(net.layers) - len(layers)})
