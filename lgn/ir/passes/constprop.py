"""Constant propagation: FALSE/TRUE gates, constant threshold units, and what reading them forces downstream."""

from __future__ import annotations

import numpy as np

from lgn.ir import ops, tables
from lgn.ir.netlist import LutLayer, Netlist, ThresholdLayer
from lgn.ir.passes.common import PassReport, canonical, canonical_luts, canonical_row, layers, rebuild, rows

UNKNOWN = -1


def constprop(net: Netlist) -> tuple[Netlist, PassReport]:
    """Fold constant pins into each node; nodes that become constant propagate further.

    A gate pin reading a constant is fixed in the op's truth table (``f(c, b)``), and the pin
    rewired to the other pin's bit, so the constant gate loses a reader. A threshold pin reading
    a constant is dropped, lowering ``t`` by one where it matched. Node count is unchanged;
    dead-gate elimination removes what no longer has readers.
    """
    value = np.full(net.num_bits, UNKNOWN, dtype=np.int8)
    out_layers, folded_pins, constants = [], 0, 0
    for start, layer in layers(net):
        if isinstance(layer, ThresholdLayer):
            units = []
            for (src, w), t in zip(rows(layer), layer.t.tolist()):
                known = value[src] != UNKNOWN
                folded_pins += int(known.sum())
                units.append(canonical_row(src[~known], w[~known], t - int((value[src][known] == w[known]).sum())))
            layer = ThresholdLayer.from_units(units)
            is_const, const = layer.fan_in == 0, layer.t == 0
        elif isinstance(layer, LutLayer):
            bits, src = tables.expand(layer.table, layer.k), layer.src
            for p in range(layer.k):
                known = value[src[:, p]] != UNKNOWN
                bits[known] = tables.cofactor(bits[known], p, value[src[known, p]])
                folded_pins += int(known.sum())
            layer = canonical_luts(src, bits)
            is_const = ~layer.used_pins().any(1)
            const = (layer.table & np.uint64(1)).astype(bool)
        else:
            op, a, b = layer
            for pin, other, fix in ((a, b, ops.FIX_A), (b, a, ops.FIX_B)):
                known = value[pin] != UNKNOWN
                op[known] = fix[value[pin][known], op[known]]
                pin[known] = other[known]
                folded_pins += int(known.sum())
            layer = canonical(op, a, b)
            is_const, const = (layer[0] == 0) | (layer[0] == ops.NUM_OPS - 1), layer[0] == ops.NUM_OPS - 1
        value[start:start + len(is_const)][is_const] = const[is_const]
        constants += int(is_const.sum())
        out_layers.append(layer)
    out = rebuild(net, out_layers, net.head.bits)
    return out, PassReport("constprop", net.num_nodes, out.num_nodes,
                           {"pins_folded": folded_pins, "constant_gates": constants})
