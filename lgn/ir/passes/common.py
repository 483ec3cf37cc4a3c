"""What every pass shares: canonical node forms and rebuilding a netlist layer by layer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from lgn.ir import ops, tables
from lgn.ir.netlist import GateLayer, LutLayer, Netlist, ThresholdLayer

CONSTANT_PIN = 0  # constant gates read input bit 0; it keeps the IR's "every pin reads a bit" rule


@dataclass(frozen=True)
class PassReport:
    """What one pass did: nodes (gates and threshold units) before and after, and counts of its
    rewrites by kind."""

    name: str
    gates_before: int
    gates_after: int
    rewrites: dict[str, int] = field(default_factory=dict)


def canonical(op: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same gates in canonical form, so equal functions of equal bits look equal.

    A pin the op ignores reads what the other pin reads; a gate whose pins read one bit becomes
    FALSE, TRUE, A or NOT_A of it; constants read :data:`CONSTANT_PIN`; and ``a <= b``.
    """
    op, a, b = op.copy(), a.copy(), b.copy()
    ignore_a = ~ops.USES_A[op]
    a[ignore_a] = b[ignore_a]
    ignore_b = ~ops.USES_B[op]
    b[ignore_b] = a[ignore_b]
    same = a == b
    op[same] = ops.SAME[op[same]]
    constant = (op == 0) | (op == ops.NUM_OPS - 1)
    a[constant] = b[constant] = CONSTANT_PIN
    swap = a > b
    op[swap] = ops.SWAP[op[swap]]
    a[swap], b[swap] = b[swap], a[swap]
    return op, a, b


Row = tuple[np.ndarray, np.ndarray]  # one threshold unit's pins: (src, w)


def rows(layer: ThresholdLayer) -> list[Row]:
    """Copies of each threshold unit's ``(src, w)``."""
    return [(layer.src[i:j].copy(), layer.w[i:j].copy()) for i, j in zip(layer.ptr[:-1], layer.ptr[1:])]


def canonical_row(src: np.ndarray, w: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The same threshold unit in canonical form, so equal functions of equal bits look equal.

    A bit read once as itself and once inverted always adds exactly one: both pins go and ``t``
    drops by one. Pins are sorted by ``(src, w)``. A constant unit (``t <= 0`` or ``t`` above its
    fan-in) reads nothing, with ``t`` 0 (constant 1) or 1 (constant 0).
    """
    order = np.lexsort((w, src))
    src, w = src[order], w[order]
    if len(src):  # pair off each bit's inverted pins (sorted first) against its plain ones
        _, first, count = np.unique(src, return_index=True, return_counts=True)
        plain = np.add.reduceat(w.astype(np.int64), first)
        inverted = count - plain
        pairs = np.minimum(plain, inverted)
        group = np.repeat(np.arange(len(first)), count)
        rank = np.arange(len(src)) - first[group] - np.where(w == 1, inverted[group], 0)  # within (bit, w)
        keep = rank >= pairs[group]
        src, w, t = src[keep], w[keep], t - int(pairs.sum())
    if t <= 0 or t > len(src):
        return src[:0], w[:0], int(t > 0)
    return src, w, int(t)


def canonical_luts(src: np.ndarray, bits: np.ndarray) -> LutLayer:
    """LUT nodes (pins ``src``, expanded tables ``bits``) in canonical form, so equal functions of
    equal bits look equal: pins reading one bit are tied into the first of them, the pins a
    table uses come first in ascending bit order, and the pins it ignores read
    :data:`CONSTANT_PIN` (a constant node reads nothing else)."""
    src, bits, k = src.copy(), bits.copy(), src.shape[1]
    for p in range(k):
        for q in range(p + 1, k):
            same = src[:, p] == src[:, q]
            if same.any():
                bits[same] = tables.merge(bits[same], p, q)
    used = tables.uses(bits, k)
    order = np.argsort(np.where(used, src.astype(np.int64), np.iinfo(np.int64).max), axis=1, kind="stable")
    bits, src, used = tables.permute(bits, order), np.take_along_axis(src, order, 1), np.take_along_axis(used, order, 1)
    src[~used] = CONSTANT_PIN
    return LutLayer(np.ascontiguousarray(src, dtype=np.int32), tables.pack(bits))


def rebuild(net: Netlist, layers: list, head_bits: np.ndarray) -> Netlist:
    """``net`` with new layers (same sizes, so bit addresses are unchanged) and head bits; a gate
    layer may be given as its ``(op, a, b)`` arrays."""
    new_layers = tuple(layer if isinstance(layer, (ThresholdLayer, LutLayer)) else
                       GateLayer(*(np.ascontiguousarray(v, dtype=t) for v, t in zip(layer, (np.uint8, np.int32, np.int32))))
                       for layer in layers)
    head = replace(net.head, bits=np.ascontiguousarray(head_bits, dtype=np.int32))
    return replace(net, layers=new_layers, head=head).validate()


def layers(net: Netlist):
    """``(start, layer)`` per layer: its first output bit, and copies of a gate layer's
    ``(op, a, b)``, or the :class:`ThresholdLayer` (read it through :func:`rows`) or
    :class:`LutLayer` itself."""
    for layer, start in zip(net.layers, net.layer_offsets()):
        if isinstance(layer, GateLayer):
            yield start, (layer.op.copy(), layer.a.copy(), layer.b.copy())
        else:
            yield start, layer
