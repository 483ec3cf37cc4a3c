"""A netlist's hardware mapping: which classifier it becomes, and what that costs in clocks and memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from amaranth.lib import wiring

from lgn.errors import LgnError
from lgn.hdl import fold
from lgn.hdl.classifier import Classifier, classifier_signature, latencies
from lgn.hdl.core import stage_registers
from lgn.hdl.fold import FoldedLayer
from lgn.hdl.folded_classifier import FoldedClassifier, layer_cycles, sequence_latency
from lgn.hdl.head import head_registers
from lgn.hdl.stream import StreamClassifier, stream_cycles, stream_signature
from lgn.ir.conv import ConvTrees, StreamedNetlist
from lgn.ir.netlist import Netlist

AUTO = "auto"  # --pipeline auto: :func:`choose_pipeline`


def registers(net: Netlist, pipeline: int) -> int:
    """Flip-flops of ``net``'s unrolled classifier pipelined every ``pipeline`` layers (0: none)."""
    return stage_registers(net, pipeline) + head_registers(net.head) if pipeline else 0


def choose_pipeline(net: Netlist, lut_budget: int = fold.LUT_BUDGET) -> tuple[int, str]:
    """``--pipeline auto``: the register spacing for ``net``'s unrolled classifier, and why.

    A register after every layer where the design fits: the shortest paths, and randomly wired
    gate networks route (on the ECP5-85F a 4,511-gate import registered every layer routed in
    43 s at 128 MHz; registered every second layer, 5,734 gates were still routing after 7 min
    with 8,000 overused wires). When the logic (:func:`lgn.hdl.fold.unrolled_luts`, a LUT per
    head bit) and flip-flops (:func:`registers`, none assumed to share a cell with a LUT) overrun
    ``lut_budget`` (a small part: the UP5K's 5,280 cells), the spacing widens to the first that
    fits, or to the fewest registers (only the head's) when none does. Combinational designs
    are built only when asked for: without registers the longest path spans the whole network.
    """
    logic = sum(fold.unrolled_luts(layer) for layer in net.layers) + len(net.head.bits)
    cost = {k: logic + registers(net, k) for k in range(1, max(1, len(net.layers)) + 1)}
    fits = [k for k, c in cost.items() if c <= lut_budget]
    if fits and fits[0] == 1:
        return 1, f"a register after every layer; ~{cost[1]:,} LUT4 + FF within the {lut_budget:,} budget"
    if fits:
        return fits[0], (f"every layer would need ~{cost[1]:,} LUT4 + FF, over the {lut_budget:,} budget; "
                         f"every {fits[0]}: ~{cost[fits[0]]:,}")
    k = max(cost)
    return k, f"~{cost[k]:,} LUT4 + FF even with only the head registered, over the {lut_budget:,} budget: the fewest registers"


@dataclass(frozen=True)
class Design:
    """How ``net`` is built: *unrolled* (a :class:`Classifier`, combinational or pipelined every
    ``pipeline`` layers, a new input every clock), *folded* (a :class:`FoldedClassifier` whose
    ``folding`` folds some threshold layers onto lanes over block RAM, one inference per
    :attr:`latency` clocks behind a start/done handshake) or *streamed* (a
    :class:`~lgn.hdl.stream.StreamClassifier` taking ``stream``'s pixels one per clock through
    its convolutional stages, ``net`` its flat netlist). Folded and streamed designs are
    *sequenced*: many clocks per inference."""

    net: Netlist
    pipeline: int = 0
    folding: tuple[FoldedLayer | None, ...] = ()  # empty: nothing folded
    choice: str = field(default="", compare=False)  # why ``--pipeline auto`` planned it so ("": not asked)
    stream: StreamedNetlist | None = field(default=None, compare=False)

    @classmethod
    def streamed(cls, stream: StreamedNetlist, flat: Netlist | None = None, pipeline: int = 1) -> "Design":
        """The streaming engine of ``stream``, its dense part registered every ``pipeline`` layers (at
        least 1: the head's levels are registered); ``flat``, its
        :meth:`~lgn.ir.conv.StreamedNetlist.flat` netlist where the caller has it."""
        if pipeline < 1:
            raise ValueError("a streamed design's dense part is registered every K >= 1 layers")
        return cls(stream.flat() if flat is None else flat, pipeline=pipeline, stream=stream)

    @classmethod
    def plan(cls, net: Netlist, pipeline: int | str = 0, mode: str = "none", lut_budget: int = fold.LUT_BUDGET,
             lanes: tuple[int, int] = fold.LANES) -> "Design":
        """The design :func:`lgn.hdl.fold.plan` gives, pipelined every ``pipeline`` layers
        (``"auto"``: :func:`choose_pipeline`; a folded design is sequenced instead); ValueError
        when it folds layers of a design asked to be pipelined (a folded design schedules its own
        clocks)."""
        folding = fold.plan(net, mode, lut_budget, lanes)
        if not any(f is not None for f in folding):
            if pipeline != AUTO:
                return cls(net, pipeline)
            k, why = choose_pipeline(net, lut_budget)
            return cls(net, k, choice=why)
        if pipeline and pipeline != AUTO:
            raise ValueError(f"--pipeline applies to unrolled designs, but --fold {mode} folds layers "
                             f"{', '.join(str(i) for i, f in enumerate(folding) if f is not None)}")
        return cls(net, 0, folding, choice="folded layers schedule their own clocks" if pipeline == AUTO else "")

    @property
    def folded(self) -> bool:
        return bool(self.folding)

    @property
    def sequenced(self) -> bool:
        """Many clocks per inference (folded or streamed), not a new input every clock."""
        return self.folded or self.stream is not None

    @property
    def handshake(self) -> bool:
        """Started and finished by the start/done handshake (folded)."""
        return self.folded

    @property
    def latency(self) -> int:
        """Clocks from input to class: the pipeline's depth, a folded inference's length, or the
        clocks from a streamed image's first pixel to its ``done`` (pixels arriving every clock)."""
        if self.stream is not None:
            return stream_cycles(self.stream, self.pipeline)
        return sequence_latency(self.net, self.folding) if self.folded else sum(latencies(self.net, self.pipeline))

    @property
    def cycles_per_inference(self) -> int:
        """Clocks between inferences when inputs arrive back to back: 1 unrolled, a folded
        inference's length, a streamed image's pixels."""
        if self.stream is not None:
            return self.stream.image[0] * self.stream.image[1]
        return self.latency if self.sequenced else 1

    def signature(self) -> wiring.Signature:
        """The ports of :meth:`classifier`: :func:`~lgn.hdl.classifier.classifier_signature`, or
        :func:`~lgn.hdl.stream.stream_signature` for a streamed design."""
        if self.stream is not None:
            return stream_signature(self.stream)
        return classifier_signature(self.net, handshake=self.handshake)

    def classifier(self) -> Classifier | FoldedClassifier | StreamClassifier:
        if self.stream is not None:
            return StreamClassifier(self.stream, self.pipeline)
        return FoldedClassifier(self.net, self.folding) if self.folded else Classifier(self.net, self.pipeline)

    def describe(self) -> str:
        if self.stream is not None:
            stages = sum(isinstance(s, ConvTrees) for s in self.stream.stages)
            return (f"streamed, {stages} convolutional stage{'s' if stages != 1 else ''} with one tree per kernel, "
                    f"a pixel per clock: an image every {self.cycles_per_inference} cycles, its class {self.latency} "
                    f"cycles after its first pixel" + (f", the dense layers registered every {self.pipeline} layers"
                                                       if self.pipeline > 1 else ""))
        if self.folded:
            return f"sequenced, {sum(f is not None for f in self.folding)} layers folded, {self.latency} cycles per inference"
        every = "every layer" if self.pipeline == 1 else f"every {self.pipeline} layers"
        return f"pipelined {every}, latency {self.latency} cycles" if self.pipeline else "combinational"

    def to_dict(self, mode: str = "none", lut_budget: int = fold.LUT_BUDGET,
                lanes: tuple[int, int] = fold.LANES) -> dict:
        """report.json's ``hdl`` section (the planning options ``mode``, ``lut_budget`` and
        ``lanes`` of an unrolled or folded design let later stages rebuild it: :meth:`from_dict`;
        a streamed design has none)."""
        layers = [{"layer": i, "pe": f.pe, "simd": f.simd, "rows": len(f.rows), "copies": f.copies,
                   "cycles": unit_cycles, "weight_bits": f.weight_bits, "threshold_bits": f.threshold_bits}
                  for i, (f, unit_cycles) in enumerate(zip(self.folding, layer_cycles(self.folding))) if f is not None]
        hdl = {"pipeline": self.pipeline, "mapping": self.describe(), "latency_cycles": self.latency,
               "cycles_per_inference": self.cycles_per_inference, "handshake": self.handshake, "folded_layers": layers,
               "stream": self.stream is not None,
               "bram_bits": sum(entry["weight_bits"] + entry["threshold_bits"] for entry in layers)}
        if self.stream is None:
            hdl |= {"fold": mode, "lut_budget": lut_budget, "lanes": list(lanes)}
        if self.choice:
            hdl["pipeline_choice"] = self.choice
        return hdl

    @classmethod
    def from_dict(cls, net: Netlist, hdl: dict) -> "Design":
        if hdl.get("stream"):
            if hdl.get("handshake"):  # lgn before 2026-12-01 wrapped the engine in a whole-image register
                raise LgnError("this classifier.v streams behind a start/done wrapper that lgn no longer builds",
                               "re-run `lgn compile --stream` into this folder")
            return cls.streamed(StreamedNetlist.from_flat(net), net, hdl.get("pipeline", 1))
        return cls.plan(net, hdl.get("pipeline", 0), hdl.get("fold", "none"), hdl.get("lut_budget", fold.LUT_BUDGET),
                        tuple(hdl.get("lanes", fold.LANES)))

