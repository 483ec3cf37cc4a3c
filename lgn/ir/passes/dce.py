"""Dead-gate elimination: gates no class score depends on are removed and the rest renumbered."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lgn.ir import ops
from lgn.ir.netlist import GateLayer, Netlist
from lgn.ir.passes.common import CONSTANT_PIN, PassReport, canonical


def dce(net: Netlist) -> tuple[Netlist, PassReport]:
    """Keep the gates the head reaches through pins their ops use; drop layers left empty.

    Input bits are never removed: the input encoding is the design's interface.
    """
    live = net.last_reads() >= 0
    live[:net.inputs.width] = True
    offsets = net.layer_offsets()
    renumber = np.cumsum(live, dtype=np.int64).astype(np.int32) - 1
    layers = []
    for layer, start in zip(net.layers, offsets):
        keep = live[start:start + layer.size]
        if keep.any():
            op = layer.op[keep]
            # pins an op ignores may read dead bits: canonical form points them at used ones
            op, a, b = canonical(op, np.where(ops.USES_A[op], layer.a[keep], CONSTANT_PIN),
                                 np.where(ops.USES_B[op], layer.b[keep], CONSTANT_PIN))
            layers.append(GateLayer(op, renumber[a], renumber[b]))
    result = replace(net, layers=tuple(layers), head=replace(net.head, bits=renumber[net.head.bits])).validate()
    return result, PassReport("dce", net.num_gates, result.num_gates,
                              {"gates_removed": net.num_gates - result.num_gates,
                               "layers_removed": len(net.layers) - len(layers)})
