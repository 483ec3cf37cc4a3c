"""A classifier that runs its layers one after another, folded threshold layers over many clocks."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, Value
from amaranth.lib import wiring

from lgn.hdl.classifier import classifier_signature
from lgn.hdl.core import layer_logic
from lgn.hdl.delay import delay
from lgn.hdl.fold import FoldedLayer
from lgn.hdl.head import group_sum, head_latency, score_width
from lgn.hdl.mvu import MatrixVectorUnit, unit_latency
from lgn.ir.netlist import Netlist


def layer_cycles(folding: tuple[FoldedLayer | None, ...]) -> list[int]:
    """Clocks each layer takes in a :class:`FoldedClassifier`: one for an unrolled layer, its
    :class:`MatrixVectorUnit`'s latency for a folded one."""
    return [1 if f is None else unit_latency(f) for f in folding]


def sequence_latency(net: Netlist, folding: tuple[FoldedLayer | None, ...]) -> int:
    """Clocks from ``start`` to ``done`` of a :class:`FoldedClassifier`: one to load the input,
    the layers', the head's pipelined trees, one to load the result."""
    return 1 + sum(layer_cycles(folding)) + sum(head_latency(net.head)) + 1


class FoldedClassifier(wiring.Component):
    """The netlist as a sequence of layers, started and finished by a handshake.

    Every layer's outputs are a register, so each layer reads its inputs from registers holding
    still while it runs. An unrolled layer (``folding[i]`` is None) is logic loaded in one clock;
    a folded one is a :class:`MatrixVectorUnit` over its :class:`FoldedLayer` layout, taking many
    clocks and a fraction of the LUTs. The layers run in order, each started by the previous
    one's ``done``; the GroupSum head is pipelined behind the last.

    Protocol: with ``busy`` low, a clock with ``start`` high loads ``x`` and begins an inference
    (``start`` is ignored while ``busy``). :attr:`latency` clocks later ``done`` is high for one
    clock; from then ``scores`` and ``cls`` hold the result until the next one.

    Its ports are :func:`~lgn.hdl.classifier.classifier_signature` with the handshake.
    """

    def __init__(self, net: Netlist, folding: tuple[FoldedLayer | None, ...]) -> None:
        if len(folding) != len(net.layers):
            raise ValueError(f"the folding names {len(folding)} layers, the netlist has {len(net.layers)}")
        self._net, self.folding = net, tuple(folding)
        self.score_width = score_width(net.head)
        self.latency = sequence_latency(net, self.folding)
        super().__init__(classifier_signature(net, handshake=True))

    def elaborate(self, platform) -> Module:
        m = Module()
        net = self._net
        sample = Signal(net.inputs.width, reset_less=True)
        kick = Signal()  # the first layer's start: the clock after the sample loads
        accept = self.start & ~self.busy
        with m.If(accept):
            m.d.sync += [sample.eq(self.x), self.busy.eq(1)]
        m.d.sync += kick.eq(accept)
        bits: list[Value] = [sample[i] for i in range(net.inputs.width)]
        for i, (layer, layout) in enumerate(zip(net.layers, self.folding)):
            name = f"layer{i}"
            if layout is None:
                out = Signal(layer.size, name=name, reset_less=True)
                with m.If(kick):
                    m.d.sync += out.eq(layer_logic(m, layer, bits, name))
                bits.extend(out[j] for j in range(layer.size))
                done = Signal(name=f"{name}_done")
                m.d.sync += done.eq(kick)
            else:
                m.submodules[name] = unit = MatrixVectorUnit(layout)
                m.d.comb += [unit.x.eq(Cat(bits[s] for s in layout.src.tolist())), unit.start.eq(kick)]
                bits.extend(unit.y[s] if s >= 0 else Const(int(c), 1)
                            for s, c in zip(layout.slot.tolist(), layout.constant.tolist()))
                done = unit.done
            kick = done
        distinct, _ = net.head.distinct_bits()
        head_bits = Signal(len(distinct), name="head_bits")
        m.d.comb += head_bits.eq(Cat(bits[b] for b in distinct.tolist()))
        scores, argmax = group_sum(m, net.head, head_bits, pipelined=True)
        through = delay(m, kick, sum(head_latency(net.head)), "head")
        with m.If(through):
            m.d.sync += [self.scores[c].eq(s) for c, s in enumerate(scores)]
            m.d.sync += [self.cls.eq(argmax.index), self.busy.eq(0)]
        m.d.sync += self.done.eq(through)
        return m
