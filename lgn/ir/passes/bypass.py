"""Pass-through bypass: buffers and inverters (A, B, NOT_A, NOT_B gates; one-pin threshold units
with ``t = 1``; tables of one pin) folded into the nodes that read them."""

from __future__ import annotations

import numpy as np

from lgn.ir import ops, tables
from lgn.ir.netlist import LutLayer, Netlist, ThresholdLayer
from lgn.ir.passes.common import PassReport, canonical, canonical_luts, canonical_row, layers, rebuild, rows

_A, _B = ops.NAMES.index("A"), ops.NAMES.index("B")
_NOT_A, _NOT_B = ops.NAMES.index("NOT_A"), ops.NAMES.index("NOT_B")


def bypass(net: Netlist) -> tuple[Netlist, PassReport]:
    """Readers of a buffer read its source; readers of an inverter read its source with the
    inversion folded in (``f(~x, y)`` is another two-input gate; a threshold pin flips its weight; a table swaps
    the halves of that pin).

    The head counts bits and cannot absorb an inversion: it skips buffers but keeps reading
    inverters. Bypassed nodes are left for dead-gate elimination.
    """
    source = np.arange(net.num_bits, dtype=np.int32)   # the bit each bit equals (or inverts)
    inverted = np.zeros(net.num_bits, dtype=bool)
    out_layers, rewired = [], 0
    for start, layer in layers(net):
        if isinstance(layer, ThresholdLayer):
            units = []
            for (src, w), t in zip(rows(layer), layer.t.tolist()):
                rewired += int((source[src] != src).sum())
                units.append(canonical_row(source[src], w ^ inverted[src].astype(np.uint8), t))
            layer = ThresholdLayer.from_units(units)
            out = slice(start, start + layer.size)
            follows = (layer.fan_in == 1) & (layer.t == 1)   # [x XNOR w >= 1]: x itself or ~x
            first = layer.ptr[:-1][follows]  # the one pin, already reading a source bit
            source[out][follows] = layer.src[first]
            inverted[out][follows] = layer.w[first] == 0
        elif isinstance(layer, LutLayer):
            bits, src, k = tables.expand(layer.table, layer.k), layer.src.copy(), layer.k
            for p in range(k):
                rewired += int((source[src[:, p]] != src[:, p]).sum())
                inv = inverted[src[:, p]]
                bits[inv] = tables.flip(bits[inv], p)
                src[:, p] = source[src[:, p]]
            layer = canonical_luts(src, bits)
            out = slice(start, start + layer.size)
            identity = np.uint64(tables.projection(k))
            follows = (layer.table == identity) | (layer.table == (identity ^ np.uint64(tables.full(k))))
            source[out][follows] = layer.src[follows, 0]  # canonical: the one used pin is pin 0
            inverted[out][follows] = layer.table[follows] != identity
        else:
            op, a, b = layer
            for pin, flip in ((a, ops.FLIP_A), (b, ops.FLIP_B)):
                rewired += int((source[pin] != pin).sum())
                inv = inverted[pin]
                op[inv] = flip[op[inv]]
                pin[:] = source[pin]
            layer = canonical(op, a, b)
            op, a, b = layer
            out = slice(start, start + len(op))
            for code, pin, inv in ((_A, a, False), (_B, b, False), (_NOT_A, a, True), (_NOT_B, b, True)):
                hit = op == code
                source[out][hit] = pin[hit]
                inverted[out][hit] = inv
        out_layers.append(layer)
    bits = net.head.bits
    head = np.where(inverted[bits], bits, source[bits])
    result = rebuild(net, out_layers, head)
    return result, PassReport("bypass", net.num_nodes, result.num_nodes,
                              {"pins_rewired": rewired, "head_bits_rewired": int((head != bits).sum())})
