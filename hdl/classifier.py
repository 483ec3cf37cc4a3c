"""Gate core + GroupSum popcounts + argmax: a netlist's complete classifier."""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.core import GateCore, stage_ends
from lgn.hdl.delay import delay
from lgn.hdl.head import group_sum, head_latency, score_width
from lgn.ir.netlist import Netlist


#: Names of the class scores' delay chains, which keep them in step with the argmax.
SCORE = "score{c}"


def latencies(net: Netlist, pipeline: int) -> tuple[int, int]:
    """Cycles from ``x`` to the scores and from the scores to the class, for ``pipeline`` K."""
    if pipeline == 0:
        return 0, 0
    counts, argmax = head_latency(net.head)
    return len(stage_ends(len(net.layers), pipeline)) + counts, argmax


def classifier_signature(net: Netlist, *, handshake: bool = False) -> wiring.Signature:
    """The ports of ``net``'s classifier: what :class:`Classifier`, the sequenced
    :class:`~lgn.hdl.folded_classifier.FoldedClassifier` and the instance of ``classifier.v`` in
    the board tops (:class:`~lgn.hdl.verilog_classifier.VerilogClassifier`) present.

    Parameters
    ----------
    net:
        The netlist: its input width, class count and the head's score width.
    handshake:
        A sequenced classifier (:class:`~lgn.hdl.folded_classifier.FoldedClassifier`), started
        and finished by ``start``, ``busy`` and ``done``.

    Members
    -------
    x : In(inputs.width)
        Encoded input bits (bit ``i`` as the IR's input encoding defines it).
    start : In(1)
        With ``handshake``: loads ``x`` and starts an inference while ``busy`` is low.
    busy : Out(1)
        With ``handshake``: an inference is running.
    done : Out(1)
        With ``handshake``: high for one clock when ``scores`` and ``cls`` hold the result.
    scores : Out(ArrayLayout(score_width, num_classes))
        Group popcounts, equal to the reference executor's scores.
    cls : Out(range(num_classes))
        The argmax of ``scores``, lowest index on ties.
    """
    members = {"x": In(net.inputs.width)}
    if handshake:
        members |= {"start": In(1), "busy": Out(1), "done": Out(1)}
    return wiring.Signature(members | {
        "scores": Out(data.ArrayLayout(score_width(net.head), net.head.num_classes)),
        "cls": Out(range(net.head.num_classes)),
    })


class Classifier(wiring.Component):
    """The whole netlist: input bits in, class scores and class out.

    Combinational with ``pipeline = 0``. With ``pipeline = K > 0`` the gate core registers every
    K layers (:class:`GateCore`), and the popcount and argmax trees register every level, so the
    classifier takes a new input every clock and ``scores`` and ``cls`` (kept in step) follow
    ``x`` by :attr:`latency` cycles.

    Its ports are :func:`classifier_signature` without the handshake.
    """

    def __init__(self, net: Netlist, pipeline: int = 0) -> None:
        self._net = net
        self.pipeline = pipeline
        self.score_width = score_width(net.head)
        self._score_latency, self._argmax_latency = latencies(net, pipeline)
        self.latency = self._score_latency + self._argmax_latency
        super().__init__(classifier_signature(net))

    def elaborate(self, platform) -> Module:
        m = Module()
        pipelined = self.pipeline > 0
        m.submodules.core = core = GateCore(self._net, self.pipeline)
        # The core/head boundary as one named signal of distinct bits (no two of its bits are one
        # net): `lgn verify --formal` cuts the design here.
        head_bits = Signal(len(core.y), name="head_bits")
        m.d.comb += [core.x.eq(self.x), head_bits.eq(core.y)]
        scores, argmax = group_sum(m, self._net.head, head_bits, pipelined)
        for c, score in enumerate(scores):
            m.d.comb += self.scores[c].eq(delay(m, score, self._argmax_latency, SCORE.format(c=c)))
        m.d.comb += self.cls.eq(argmax.index)
        return m
