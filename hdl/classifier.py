"""Gate core + GroupSum popcounts + argmax: a netlist's complete classifier."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.argmax import Argmax
from lgn.hdl.core import GateCore, stage_ends
from lgn.hdl.delay import delay
from lgn.hdl.popcount import FAN_IN, Popcount, tree_depth
from lgn.ir.netlist import Netlist


def score_width(net: Netlist) -> int:
    """Bits of each class score: enough for a full group's popcount."""
    return net.head.group_size.bit_length()


def latencies(net: Netlist, pipeline: int) -> tuple[int, int]:
    """Cycles from ``x`` to the scores and from the scores to the class, for ``pipeline`` K."""
    if pipeline == 0:
        return 0, 0
    return len(stage_ends(len(net.layers), pipeline)) + tree_depth(net.head.group_size, FAN_IN), tree_depth(net.head.num_classes)


class Classifier(wiring.Component):
    """The whole netlist: input bits in, class scores and class out.

    Combinational with ``pipeline = 0``. With ``pipeline = K > 0`` the gate core registers every
    K layers (:class:`GateCore`), and the popcount and argmax trees register every level, so the
    classifier takes a new input every clock and ``scores`` and ``cls`` (kept in step) follow
    ``x`` by :attr:`latency` cycles.

    Members
    -------
    x : In(inputs.width)
        Encoded input bits (bit ``i`` as the IR's input encoding defines it).
    scores : Out(ArrayLayout(score_width, num_classes))
        Group popcounts, equal to the reference executor's scores.
    cls : Out(range(num_classes))
        The argmax of ``scores``, lowest index on ties.
    """

    def __init__(self, net: Netlist, pipeline: int = 0) -> None:
        self._net = net
        self.pipeline = pipeline
        self.score_width = score_width(net)
        self._score_latency, self._argmax_latency = latencies(net, pipeline)
        self.latency = self._score_latency + self._argmax_latency
        super().__init__({
            "x": In(net.inputs.width),
            "scores": Out(data.ArrayLayout(self.score_width, net.head.num_classes)),
            "cls": Out(range(net.head.num_classes)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        head = self._net.head
        pipelined = self.pipeline > 0
        m.submodules.core = core = GateCore(self._net, self.pipeline)
        m.submodules.argmax = argmax = Argmax(head.num_classes, self.score_width, pipelined)
        # The core/head boundary as one named signal of distinct bits (no two of its bits are one
        # net): `lgn verify --formal` cuts the design here.
        distinct, position = head.distinct_bits()
        head_bits = Signal(len(distinct), name="head_bits")
        m.d.comb += [core.x.eq(self.x), head_bits.eq(core.y)]
        g = head.group_size
        for c in range(head.num_classes):
            count = Popcount(g, pipelined)
            m.submodules[f"popcount{c}"] = count
            m.d.comb += [count.i.eq(Cat(head_bits[p] for p in position[c * g:(c + 1) * g].tolist())),
                         argmax.values[c].eq(count.o),
                         self.scores[c].eq(delay(m, count.o, self._argmax_latency, f"score{c}"))]
        m.d.comb += self.cls.eq(argmax.index)
        return m
