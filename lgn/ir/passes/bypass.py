"""Pass-through bypass: A, B, NOT_A and NOT_B gates folded into the gates that read them."""

from __future__ import annotations

import numpy as np

from lgn.ir import ops
from lgn.ir.netlist import Netlist
from lgn.ir.passes.common import PassReport, canonical, gates, rebuild

_A, _B = ops.NAMES.index("A"), ops.NAMES.index("B")
_NOT_A, _NOT_B = ops.NAMES.index("NOT_A"), ops.NAMES.index("NOT_B")


def bypass(net: Netlist) -> tuple[Netlist, PassReport]:
    """Readers of a buffer read its source; readers of an inverter read its source with the
    inversion folded into their truth table (``f(~x, y)`` is another two-input gate).

    The head counts bits and cannot absorb an inversion: it skips buffers but keeps reading
    inverters. Bypassed gates are left for dead-gate elimination.
    """
    source = np.arange(net.num_bits, dtype=np.int32)   # the bit each bit equals (or inverts)
    inverted = np.zeros(net.num_bits, dtype=bool)
    layers, rewired = [], 0
    for start, op, a, b in gates(net):
        for pin, flip in ((a, ops.FLIP_A), (b, ops.FLIP_B)):
            rewired += int((source[pin] != pin).sum())
            inv = inverted[pin]
            op[inv] = flip[op[inv]]
            pin[:] = source[pin]
        op, a, b = canonical(op, a, b)
        out = slice(start, start + len(op))
        for code, pin, inv in ((_A, a, False), (_B, b, False), (_NOT_A, a, True), (_NOT_B, b, True)):
            hit = op == code
            source[out][hit] = pin[hit]
            inverted[out][hit] = inv
        layers.append((op, a, b))
    bits = net.head.bits
    head = np.where(inverted[bits], bits, source[bits])
    result = rebuild(net, layers, head)
    return result, PassReport("bypass", net.num_gates, result.num_gates,
                              {"pins_rewired": rewired, "head_bits_rewired": int((head != bits).sum())})
