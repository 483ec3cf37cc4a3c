"""The gate network as combinational logic."""

from __future__ import annotations

from typing import Callable

from amaranth.hdl import Cat, Const, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lgn.ir import ops
from lgn.ir.netlist import Netlist



def _gate(expression: str) -> Callable[[Value, Value], Value]:
    if expression in ("0", "1"):
        return lambda a, b: Const(int(expression), 1)
    return eval(f"lambda a, b: {expression}")  # one of ops.EXPRESSIONS: ~ & | ^ on two names


# The 16 ops in difflogic's order, built from the expressions every backend shares.
GATE_EXPRESSIONS: tuple[Callable[[Value, Value], Value], ...] = tuple(_gate(e) for e in ops.EXPRESSIONS)


class GateCore(wiring.Component):
    """All gate layers of a netlist, combinational.

    Each layer's outputs are one named signal (``layer0``, ``layer1``, ...), so the emitted
    Verilog reads layer by layer and equivalence checkers can match internal points by name.

    Members
    -------
    x : In(inputs.width)
        The encoded input bits.
    y : Out(len(head.bits))
        The bits the head reads, in head order.
    """

    def __init__(self, net: Netlist) -> None:
        self._net = net
        super().__init__({"x": In(net.inputs.width), "y": Out(len(net.head.bits))})

    def elaborate(self, platform) -> Module:
        m = Module()
        bits: list[Value] = [self.x[i] for i in range(self._net.inputs.width)]
        for i, layer in enumerate(self._net.layers):
            out = Signal(layer.size, name=f"layer{i}")
            m.d.comb += out.eq(Cat(GATE_EXPRESSIONS[op](bits[a], bits[b])
                                   for op, a, b in zip(layer.op.tolist(), layer.a.tolist(), layer.b.tolist())))
            bits.extend(out[j] for j in range(layer.size))
        m.d.comb += self.y.eq(Cat(bits[i] for i in self._net.head.bits.tolist()))
        return m
