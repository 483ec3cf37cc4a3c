"""The GroupSum head in hardware: one popcount per class group and an argmax over them."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Value

from lgn.hdl import argmax, popcount
from lgn.hdl.argmax import Argmax
from lgn.hdl.popcount import FAN_IN, Popcount, tree_depth
from lgn.ir.netlist import GroupSumHead


#: Instance names of the class popcounts and of the argmax: ``lgn verify --formal`` cuts the
#: classifier and names the head's nodes by them.
POPCOUNT, ARGMAX = "popcount{c}", "argmax"


def score_width(head: GroupSumHead) -> int:
    """Bits of each class score: enough for a full group's popcount."""
    return head.group_size.bit_length()


def head_latency(head: GroupSumHead) -> tuple[int, int]:
    """Cycles through the pipelined popcounts and through the pipelined argmax."""
    return tree_depth(head.group_size, FAN_IN), tree_depth(head.num_classes)


def head_registers(head: GroupSumHead) -> int:
    """Flip-flops of the pipelined head: the popcount trees, the scores kept in step with the
    argmax, and the argmax tree."""
    width, (_, argmax_latency) = score_width(head), head_latency(head)
    return (head.num_classes * (popcount.tree_registers(head.group_size) + width * argmax_latency)
            + argmax.tree_registers(head.num_classes, width))


def group_sum(m: Module, head: GroupSumHead, bits: Value, pipelined: bool) -> tuple[list[Value], Argmax]:
    """The class scores of ``head`` over ``bits`` (its distinct bits, as
    :meth:`GroupSumHead.distinct_bits` orders them) and the argmax reading them; ``pipelined``
    registers every level of both trees (:func:`head_latency`)."""
    _, position = head.distinct_bits()
    g = head.group_size
    m.submodules[ARGMAX] = argmax = Argmax(head.num_classes, score_width(head), pipelined)
    scores = []
    for c in range(head.num_classes):
        count = Popcount(g, pipelined)
        m.submodules[POPCOUNT.format(c=c)] = count
        m.d.comb += [count.i.eq(Cat(bits[p] for p in position[c * g:(c + 1) * g].tolist())),
                     argmax.values[c].eq(count.o)]
        scores.append(count.o)
    return scores, argmax
