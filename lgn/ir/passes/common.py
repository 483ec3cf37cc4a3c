"""What every pass shares: canonical gate form and rebuilding a netlist layer by layer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from lgn.ir import ops
from lgn.ir.netlist import GateLayer, Netlist

CONSTANT_PIN = 0  # constant gates read input bit 0; it keeps the IR's "every pin reads a bit" rule


@dataclass(frozen=True)
class PassReport:
    """What one pass did: gates before and after, and counts of its rewrites by kind."""

    name: str
    gates_before: int
    gates_after: int
    rewrites: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"pass": self.name, "gates_before": self.gates_before, "gates_after": self.gates_after,
                **self.rewrites}


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


def rebuild(net: Netlist, layers: list[tuple[np.ndarray, np.ndarray, np.ndarray]], head_bits: np.ndarray) -> Netlist:
    """``net`` with new gate layers (same sizes, so bit addresses are unchanged) and head bits."""
    new_layers = tuple(GateLayer(*(np.ascontiguousarray(v, dtype=t) for v, t in
                                   zip(layer, (np.uint8, np.int32, np.int32)))) for layer in layers)
    head = replace(net.head, bits=np.ascontiguousarray(head_bits, dtype=np.int32))
    return replace(net, layers=new_layers, head=head).validate()


def gates(net: Netlist):
    """``(start, op, a, b)`` per layer: the first output bit and copies of the layer's arrays."""
    for layer, start in zip(net.layers, net.layer_offsets()):
        yield start, layer.op.copy(), layer.a.copy(), layer.b.copy()
