"""Constant propagation: FALSE/TRUE gates, and what reading them forces downstream."""

from __future__ import annotations

import numpy as np

from lgn.ir import ops
from lgn.ir.netlist import Netlist
from lgn.ir.passes.common import PassReport, canonical, gates, rebuild

UNKNOWN = -1


def constprop(net: Netlist) -> tuple[Netlist, PassReport]:
    """Fold constant pins into each gate's function; gates that become constant propagate further.

    A pin reading a constant is fixed in the op's truth table (``f(c, b)``), and the pin rewired to
    the other pin's bit, so the constant gate loses a reader. Gate count is unchanged; dead-gate
    elimination removes what no longer has readers.
    """
    value = np.full(net.num_bits, UNKNOWN, dtype=np.int8)
    layers, folded_pins, constants = [], 0, 0
    for start, op, a, b in gates(net):
        for pin, other, fix in ((a, b, ops.FIX_A), (b, a, ops.FIX_B)):
            known = value[pin] != UNKNOWN
            op[known] = fix[value[pin][known], op[known]]
            pin[known] = other[known]
            folded_pins += int(known.sum())
        op, a, b = canonical(op, a, b)
        is_const = (op == 0) | (op == ops.NUM_OPS - 1)
        value[start:start + len(op)][is_const] = (op[is_const] == ops.NUM_OPS - 1)
        constants += int(is_const.sum())
        layers.append((op, a, b))
    out = rebuild(net, layers, net.head.bits)
    return out, PassReport("constprop", net.num_gates, out.num_gates,
                           {"pins_folded": folded_pins, "constant_gates": constants})
