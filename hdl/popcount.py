"""Population count as a balanced adder tree."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.delay import delay


def tree_depth(leaves: int) -> int:
    """Levels of a balanced binary tree over ``leaves`` inputs."""
    return max(leaves - 1, 0).bit_length()


class Popcount(wiring.Component):
    """Number of set bits of ``i``.

    Built as a balanced tree of two-input adders, each result in its own signal: a flat sum of
    hundreds of terms is slow for Yosys (and crashes it past ~400 terms), and an Amaranth
    expression used twice would be emitted twice. ``pipelined`` registers every level of the
    tree, so ``o`` follows ``i`` by :attr:`latency` = :func:`tree_depth` cycles.

    Members
    -------
    i : In(width)
    o : Out(width.bit_length())
    """

    def __init__(self, width: int, pipelined: bool = False) -> None:
        if width < 1:
            raise ValueError("Popcount needs at least one input bit")
        self.width = width
        self.pipelined = pipelined
        self.latency = tree_depth(width) if pipelined else 0
        super().__init__({"i": In(width), "o": Out(width.bit_length())})

    def elaborate(self, platform) -> Module:
        m = Module()
        domain = m.d.sync if self.pipelined else m.d.comb
        level: list[tuple[Value, int]] = [(self.i[j], 1) for j in range(self.width)]  # (value, max count)
        depth = 0
        while len(level) > 1:
            nxt = []
            for k in range(0, len(level) - 1, 2):
                (x, mx), (y, my) = level[k], level[k + 1]
                s = Signal(range(mx + my + 1), name=f"sum_l{depth}_{k // 2}")
                domain += s.eq(x + y)
                nxt.append((s, mx + my))
            if len(level) % 2:
                value, count = level[-1]  # carried up a level: in a pipelined tree it keeps pace
                nxt.append((delay(m, value, int(self.pipelined), f"carry_l{depth}"), count))
            level, depth = nxt, depth + 1
        m.d.comb += self.o.eq(level[0][0])
        return m

