"""The network's layers (gates, threshold units and lookup tables) as logic, combinational or pipelined."""

from __future__ import annotations

from typing import Callable

from amaranth.hdl import Cat, Const, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.popcount import Popcount
from lgn.ir import ops, tables
from lgn.ir.netlist import GateLayer, Layer, LutLayer, Netlist, ThresholdLayer


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


def stage_registers(net: Netlist, pipeline: int) -> int:
    """Flip-flops of :class:`GateCore`'s pipeline registers: the bits still read downstream at
    each of :func:`stage_ends`."""
    last_read = net.last_reads()
    offsets = net.layer_offsets()
    return sum(int((last_read[:offsets[i] + net.layers[i].size] > i).sum())
               for i in stage_ends(len(net.layers), pipeline))


def threshold_units(m: Module, layer: ThresholdLayer, bits: list[Value], name: str) -> list[Value]:
    """One bit per unit of ``layer`` over ``bits``, unrolled: weights become wiring and inverters,
    and each distinct set of literals gets one popcount (:class:`Popcount`), compared with every
    ``t`` that reads it.

    Units whose pins are equal, or equal with every weight flipped (a count of ``k - c``), share
    their popcount: the rows of a tiled-bit layer's tile differ only in ``t``, so the layer costs
    one popcount per tile row and one comparator per unit."""
    counts: dict[tuple, Value] = {}  # literal multiset -> its popcount
    out: list[Value] = []
    for j, (t, k) in enumerate(zip(layer.t.tolist(), layer.fan_in.tolist())):
        if t <= 0 or t > k:
            out.append(Const(int(t <= 0), 1))
            continue
        pins = slice(layer.ptr[j], layer.ptr[j + 1])
        # the unit's literals as a sorted multiset, or those of its flipped weights (whose count is
        # k - c), whichever sorts first: equal keys are equal counts up to that flip
        key, flipped = min((tuple(sorted(zip(layer.src[pins].tolist(), (layer.w[pins] ^ f).tolist()))), f)
                           for f in (0, 1))
        if key not in counts:
            count = Popcount(k)
            m.submodules[f"{name}_count{len(counts)}"] = count
            m.d.comb += count.i.eq(Cat(bits[s] if v else ~bits[s] for s, v in key))
            counts[key] = count.o
        out.append(counts[key] <= k - t if flipped else counts[key] >= t)
    return out


def lookup_tables(layer: LutLayer, bits: list[Value]) -> list[Value]:
    """One bit per node of ``layer`` over ``bits``: the table indexed by its pins, which Yosys
    maps to one LUT4 for up to four pins. A constant table is a constant and a table of one pin
    that pin (or its complement), as the gates FALSE, TRUE, A and NOT_A are."""
    identity, ones = tables.projection(layer.k), tables.full(layer.k)
    out: list[Value] = []
    for pins, table in zip(layer.src.tolist(), layer.table.tolist()):
        if table in (0, ones):
            out.append(Const(int(table == ones), 1))
        elif table in (identity, identity ^ ones):
            out.append(bits[pins[0]] if table == identity else ~bits[pins[0]])
        else:
            out.append(Const(table, 1 << layer.k).bit_select(Cat(bits[p] for p in pins), 1))
    return out


def layer_logic(m: Module, layer: Layer, bits: list[Value], name: str) -> Value:
    """``layer``'s outputs over ``bits``, unrolled into logic: gates as their expressions,
    threshold units as :func:`threshold_units`, LUT nodes as :func:`lookup_tables`."""
    if isinstance(layer, GateLayer):
        return Cat(GATE_EXPRESSIONS[op](bits[a], bits[b])
                   for op, a, b in zip(layer.op.tolist(), layer.a.tolist(), layer.b.tolist()))
    if isinstance(layer, LutLayer):
        return Cat(lookup_tables(layer, bits))
    return Cat(threshold_units(m, layer, bits, name))


class GateCore(wiring.Component):
    """All layers of a netlist (gate layers and unrolled threshold layers), combinational or
    pipelined.

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
            m.d.comb += out.eq(layer_logic(m, layer, bits, f"layer{i}"))
            bits.extend(out[j] for j in range(layer.size))
            if i in ends:  # register what later layers or the head still read
                live = [b for b in range(len(bits)) if last_read[b] > i]
                stage = Signal(len(live), name=f"stage{ends.index(i)}", reset_less=True)
                m.d.sync += stage.eq(Cat(bits[b] for b in live))
                for k, b in enumerate(live):
                    bits[b] = stage[k]
        m.d.comb += self.y.eq(Cat(bits[i] for i in self._head_bits.tolist()))
        return m
