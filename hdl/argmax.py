"""Index of the largest of several unsigned values."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.delay import delay
from lgn.hdl.popcount import tree_depth


#: Names of a node's comparison, kept value and index, and of the value and index carried past a
#: level (:func:`delay` chains): ``lgn verify --formal`` proves the argmax node by node at these.
RIGHT, MAX, ARG = "right_l{depth}_{k}", "max_l{depth}_{k}", "arg_l{depth}_{k}"
CARRY_MAX, CARRY_ARG = "carry_max_l{depth}", "carry_arg_l{depth}"


def tree_registers(count: int, width: int) -> int:
    """Flip-flops of a pipelined :class:`Argmax` of ``count`` values of ``width`` bits: a value and
    an index per node and per value carried up a level."""
    index, bits = max(1, (count - 1).bit_length()), 0
    while count > 1:
        count = -(-count // 2)
        bits += count * (width + index)
    return bits


class Argmax(wiring.Component):
    """Index of the largest element of ``values``; ties go to the lowest index.

    A balanced tree of comparators: each node keeps its left (lower-index) candidate unless the
    right one is strictly greater, which gives lowest-index tie breaking at every level.
    ``pipelined`` registers every level, so ``index`` follows ``values`` by :attr:`latency` cycles.

    Members
    -------
    values : In(ArrayLayout(width, count))
    index : Out(range(count))
    """

    def __init__(self, count: int, width: int, pipelined: bool = False) -> None:
        if count < 1:
            raise ValueError("Argmax needs at least one value")
        self.count, self.value_width = count, width
        self.pipelined = pipelined
        self.latency = tree_depth(count) if pipelined else 0
        super().__init__({"values": In(data.ArrayLayout(width, count)), "index": Out(range(count))})

    def elaborate(self, platform) -> Module:
        m = Module()
        domain = m.d.sync if self.pipelined else m.d.comb
        level: list[tuple[Value, Value]] = [(self.values[i], i) for i in range(self.count)]
        depth = 0
        while len(level) > 1:
            nxt = []
            for k in range(0, len(level) - 1, 2):
                (lv, li), (rv, ri) = level[k], level[k + 1]
                node = {"depth": depth, "k": k // 2}
                right = Signal(name=RIGHT.format(**node))
                v = Signal(self.value_width, name=MAX.format(**node), reset_less=True)
                i = Signal(range(self.count), name=ARG.format(**node), reset_less=True)
                m.d.comb += right.eq(rv > lv)
                domain += [v.eq(Mux(right, rv, lv)), i.eq(Mux(right, ri, li))]
                nxt.append((v, i))
            if len(level) % 2:
                v, i = level[-1]  # carried up a level: in a pipelined tree it keeps pace
                stages = int(self.pipelined)
                nxt.append((delay(m, v, stages, CARRY_MAX.format(depth=depth)),
                            delay(m, Value.cast(i), stages, CARRY_ARG.format(depth=depth))))
            level, depth = nxt, depth + 1
        m.d.comb += self.index.eq(level[0][1])
        return m
