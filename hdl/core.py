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


def stage_ends(num_layers: int, pipeline: int) -> list[int]:
    """The layers after which a pipelined core registers its live bits: every ``pipeline``-th but
    the last (none when ``pipeline`` is 0, a purely combinational core).

    The last layer is left to the head, whose first popcount level is a register anyway: a
    register there would cost a logic cell per head bit that is not a last-layer gate, and keep
    ABC from packing the last gates into the first adders (on the UP5K, 4,915 logic cells that do
    not route against 4,652 that do for mnist-xs)."""
    if pipeline == 0 or num_layers == 0:
        return []
    return list(range(pipeline - 1, num_layers - 1, pipeline))


class GateCore(wiring.Component):
    """All gate layers of a netlist, combinational or pipelined.

    Each layer's outputs are one named signal (``layer0``, ``layer1``, ...), so the emitted
    Verilog reads layer by layer.

    With ``pipeline = K > 0`` the bits still needed downstream are registered after every K-th
    layer but the last (:func:`stage_ends`; the head registers the last layer's outputs), skip
    wiring included: a bit read several stages later passes through one register per stage, so
    every path has the same :attr:`latency` in clock cycles and the core takes a new input every
    cycle.

    Members
    -------
    x : In(inputs.width)
        The encoded input bits.
    y : Out(len(head.distinct_bits()[0]))
        The bits the head reads, each once in ascending order (:meth:`GroupSumHead.distinct_bits`),
        :attr:`latency` cycles after ``x``.
    """

    def __init__(self, net: Netlist, pipeline: int = 0) -> None:
        if pipeline < 0:
            raise ValueError("pipeline must be 0 (combinational) or a positive layer count")
        self._net = net
        self._head_bits, _ = net.head.distinct_bits()
        self.pipeline = pipeline
        self.latency = len(stage_ends(len(net.layers), pipeline))
        super().__init__({"x": In(net.inputs.width), "y": Out(len(self._head_bits))})

    def elaborate(self, platform) -> Module:
        m = Module()
        net = self._net
        bits: list[Value] = [self.x[i] for i in range(net.inputs.width)]
        last_read = net.last_reads()
        ends = stage_ends(len(net.layers), self.pipeline)
        for i, layer in enumerate(net.layers):
            out = Signal(layer.size, name=f"layer{i}")
            m.d.comb += out.eq(Cat(GATE_EXPRESSIONS[op](bits[a], bits[b])
                                   for op, a, b in zip(layer.op.tolist(), layer.a.tolist(), layer.b.tolist())))
            bits.extend(out[j] for j in range(layer.size))
            if i in ends:  # register what later layers or the head still read
                live = [b for b in range(len(bits)) if last_read[b] > i]
                stage = Signal(len(live), name=f"stage{ends.index(i)}", reset_less=True)
                m.d.sync += stage.eq(Cat(bits[b] for b in live))
                for k, b in enumerate(live):
                    bits[b] = stage[k]
        m.d.comb += self.y.eq(Cat(bits[i] for i in self._head_bits.tolist()))
        return m
