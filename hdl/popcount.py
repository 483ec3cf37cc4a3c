"""Population count as a balanced tree of multi-operand adders."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.delay import delay

#: Operands per node of a pipelined popcount: Yosys maps each node's sum as one compressor tree
#: (``alumacc`` / ``maccmap``) that ABC packs into LUTs with the logic feeding it; two-operand
#: nodes would force a carry-chain adder per register level instead (bench/head_luts.py).
FAN_IN = 3

#: Names of a tree node's sum and of the value carried past a level (a :func:`delay` chain's
#: name): ``lgn verify --formal`` proves the head node by node at these names.
NODE, CARRY = "sum_l{depth}_{k}", "carry_l{depth}"


def tree_depth(leaves: int, fan_in: int = 2) -> int:
    """Levels of a balanced tree with ``fan_in`` children per node over ``leaves`` inputs."""
    depth, nodes = 0, leaves
    while nodes > 1:
        nodes, depth = -(-nodes // fan_in), depth + 1
    return depth


def tree_registers(width: int, fan_in: int = FAN_IN) -> int:
    """Flip-flops of a pipelined :class:`Popcount` over ``width`` bits: each level's sums, and the
    values carried up a level, at the width of the count they hold."""
    level, bits = [1] * width, 0
    while len(level) > 1:
        level = [sum(level[k:k + fan_in]) for k in range(0, len(level), fan_in)]
        bits += sum(count.bit_length() for count in level)
    return bits


class Popcount(wiring.Component):
    """Number of set bits of ``i``.

    Built as a balanced tree whose nodes each sum up to ``fan_in`` operands into their own
    signal: a flat sum of hundreds of terms is slow for Yosys (and crashes it past ~400 terms),
    and an Amaranth expression used twice would be emitted twice. ``pipelined`` registers every
    level of the tree, so ``o`` follows ``i`` by :attr:`latency` = :func:`tree_depth` cycles.

    Members
    -------
    i : In(width)
    o : Out(width.bit_length())
    """

    def __init__(self, width: int, pipelined: bool = False, fan_in: int = FAN_IN) -> None:
        if width < 1:
            raise ValueError("Popcount needs at least one input bit")
        if fan_in < 2:
            raise ValueError("a popcount tree node needs at least two operands")
        self.width, self.fan_in = width, fan_in
        self.pipelined = pipelined
        self.latency = tree_depth(width, fan_in) if pipelined else 0
        super().__init__({"i": In(width), "o": Out(width.bit_length())})

    def elaborate(self, platform) -> Module:
        m = Module()
        domain = m.d.sync if self.pipelined else m.d.comb
        level: list[tuple[Value, int]] = [(self.i[j], 1) for j in range(self.width)]  # (value, max count)
        depth = 0
        while len(level) > 1:
            nxt = []
            for k in range(0, len(level), self.fan_in):
                node = level[k:k + self.fan_in]
                if len(node) == 1:  # carried up a level: in a pipelined tree it keeps pace
                    value, count = node[0]
                    nxt.append((delay(m, value, int(self.pipelined), CARRY.format(depth=depth)), count))
                    continue
                count = sum(c for _, c in node)
                s = Signal(range(count + 1), name=NODE.format(depth=depth, k=k // self.fan_in), reset_less=True)
                domain += s.eq(sum(v for v, _ in node))
                nxt.append((s, count))
            level, depth = nxt, depth + 1
        m.d.comb += self.o.eq(level[0][0])
        return m
