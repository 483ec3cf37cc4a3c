"""Population count as a balanced tree of multi-operand adders."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.delay import delay

#: Operands per node of a popcount tree: Yosys maps a node's sum as a compressor (``alumacc`` /
#: ``maccmap``) that ABC packs into LUTs, where two-bit nodes would each take a carry-chain adder
#: (bench/head_luts.py). Above the first level a pipelined tree adds two counts per node instead
#: (:func:`tree_levels`).
FAN_IN = 3

#: Names of a tree node's sum and of the value carried past a level (a :func:`delay` chain's
#: name): ``lgn verify --formal`` proves the head node by node at these names.
NODE, CARRY = "sum_l{depth}_{k}", "carry_l{depth}"


def tree_levels(leaves: int, fan_in: int = 2, pipelined: bool = True) -> list[list[range]]:
    """The shape of a balanced tree over ``leaves`` inputs: per level, each node's children as a
    range of the level below (a node of one child carries it up a level). :class:`Popcount`, the
    formal reference and every latency follow this one shape.

    Nodes have ``fan_in`` children; above the first level of a ``pipelined`` tree, two. There a
    three-operand sum of counts chains two carry adders between registers, which nextpnr may
    place far apart on the ECP5 (the critical path of ``mnist-ecp5``); two-operand levels also
    take fewer iCE40 LUTs, for more flip-flops (bench/head_luts.py; docs/hardware.md). A
    combinational tree keeps ``fan_in`` throughout: ABC merges its levels into one compressor."""
    levels, nodes = [], leaves
    while nodes > 1:
        fan = fan_in if not levels or not pipelined else 2
        levels.append([range(k, min(k + fan, nodes)) for k in range(0, nodes, fan)])
        nodes = len(levels[-1])
    return levels


def tree_depth(leaves: int, fan_in: int = 2) -> int:
    """Levels of a pipelined tree (:func:`tree_levels`): its latency in cycles."""
    return len(tree_levels(leaves, fan_in))


def tree_registers(width: int, fan_in: int = FAN_IN) -> int:
    """Flip-flops of a pipelined :class:`Popcount` over ``width`` bits: each level's sums, and the
    values carried up a level, at the width of the count they hold."""
    counts, bits = [1] * width, 0
    for level in tree_levels(width, fan_in, pipelined=True):
        counts = [sum(counts[j] for j in node) for node in level]
        bits += sum(count.bit_length() for count in counts)
    return bits


class Popcount(wiring.Component):
    """Number of set bits of ``i``.

    Built as the balanced tree of :func:`tree_levels`, whose nodes each sum their operands into
    their own signal: a flat sum of hundreds of terms is slow for Yosys (and crashes it past ~400 terms),
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
        for depth, nodes in enumerate(tree_levels(self.width, self.fan_in, self.pipelined)):
            nxt = []
            for k, children in enumerate(nodes):
                node = [level[j] for j in children]
                if len(node) == 1:  # carried up a level: in a pipelined tree it keeps pace
                    value, count = node[0]
                    nxt.append((delay(m, value, int(self.pipelined), CARRY.format(depth=depth)), count))
                    continue
                count = sum(c for _, c in node)
                s = Signal(range(count + 1), name=NODE.format(depth=depth, k=k), reset_less=True)
                domain += s.eq(sum(v for v, _ in node))
                nxt.append((s, count))
            level = nxt
        m.d.comb += self.o.eq(level[0][0])
        return m
