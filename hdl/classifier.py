"""Gate core + GroupSum popcounts + argmax: a netlist's complete classifier."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.argmax import Argmax
from lgn.hdl.core import GateCore
from lgn.hdl.popcount import Popcount
from lgn.ir.netlist import Netlist


def score_width(net: Netlist) -> int:
    """Bits of each class score: enough for a full group's popcount."""
    return net.head.group_size.bit_length()


class Classifier(wiring.Component):
    """The whole netlist, combinational: input bits in, class scores and class out.

    Members
    -------
    x : In(inputs.width)
        Encoded input bits (bit ``i`` as the IR's input encoding defines it).
    scores : Out(ArrayLayout(score_width, num_classes))
        Group popcounts, equal to the reference executor's scores.
    cls : Out(range(num_classes))
        The argmax of ``scores``, lowest index on ties.
    """

    def __init__(self, net: Netlist) -> None:
        self._net = net
        self.score_width = score_width(net)
        super().__init__({
            "x": In(net.inputs.width),
            "scores": Out(data.ArrayLayout(self.score_width, net.head.num_classes)),
            "cls": Out(range(net.head.num_classes)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        head = self._net.head
        m.submodules.core = core = GateCore(self._net)
        m.submodules.argmax = argmax = Argmax(head.num_classes, self.score_width)
        m.d.comb += core.x.eq(self.x)
        for c in range(head.num_classes):
            count = Popcount(head.group_size)
            m.submodules[f"popcount{c}"] = count
            m.d.comb += [count.i.eq(core.y[c * head.group_size:(c + 1) * head.group_size]),
                         self.scores[c].eq(count.o)]
        m.d.comb += [argmax.values.eq(self.scores), self.cls.eq(argmax.index)]
        return m
