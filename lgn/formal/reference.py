"""A plain-Verilog netlist written straight from the IR, not through Amaranth.

It is the independent side of ``lgn verify --formal`` and the naive emission that
``bench/lut_ratio.py`` measures lgn's flow against: one ``assign`` per gate in the IR's own op
expressions, one shifted truth table per LUT node, one ``+`` of its literals compared with ``t`` per threshold unit, each class score one ``+`` over its group's bits, and the argmax as a loop that
keeps the first maximum. Pipelined RTL is matched by delay lines: ``core_latency`` registers on
the core's input and ``head_latency`` on the head's outputs.
"""

from __future__ import annotations

from lgn.ir import ops
from lgn.ir.netlist import GateLayer, LutLayer, Netlist

CORE, HEAD = "ref_core", "ref_head"


def _delay_line(name: str, width: int, cycles: int, source: str) -> tuple[list[str], str]:
    """Verilog lines delaying ``source`` by ``cycles`` clocks; the delayed signal's name."""
    lines = []
    for k in range(cycles):
        lines += [f"  reg [{width - 1}:0] {name}_d{k} = 0;", f"  always @(posedge clk) {name}_d{k} <= {source};"]
        source = f"{name}_d{k}"
    return lines, source


def _clock_ports(clocked: bool) -> str:
    """A pipelined classifier's clock and reset ports, which each of its halves keeps even where
    that half has no register (the reference has no use for the reset)."""
    return "input clk, input rst, " if clocked else ""


def core_verilog(net: Netlist, latency: int = 0, clocked: bool = False) -> str:
    """Module ``ref_core([clk, rst,] x, head_bits)``: the bits the head reads, each once in
    ascending order, ``latency`` clocks after ``x``."""
    distinct, _ = net.head.distinct_bits()
    n, h = net.inputs.width, len(distinct)
    lines = [f"module {CORE}({_clock_ports(clocked or latency > 0)}input [{n - 1}:0] x, output [{h - 1}:0] head_bits);"]
    delayed, x = _delay_line("x", n, latency, "x")
    lines += delayed
    names = [f"{x}[{i}]" for i in range(n)]
    for li, layer in enumerate(net.layers):
        exprs = {GateLayer: _gates, LutLayer: _luts}.get(type(layer), _thresholds)(layer, names)
        for j, expr in enumerate(exprs):
            lines.append(f"  wire g{li}_{j} = {expr};")
            names.append(f"g{li}_{j}")
    lines.append(f"  assign head_bits = {{{', '.join(names[i] for i in reversed(distinct.tolist()))}}};")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def _gates(layer, names: list[str]) -> list[str]:
    exprs = []
    for op, a, b in zip(layer.op.tolist(), layer.a.tolist(), layer.b.tolist()):
        expr = ops.EXPRESSIONS[op]
        exprs.append(f"1'b{expr}" if expr in ("0", "1")
                     else expr.replace("a", "{a}").replace("b", "{b}").format(a=names[a], b=names[b]))
    return exprs


def _luts(layer, names: list[str]) -> list[str]:
    """``2**k'hTABLE >> {pin k-1, ..., pin 0}`` per node, truncated to its one-bit wire."""
    size = 1 << layer.k
    return [f"{size}'h{table:0{size // 4 or 1}x} >> {{{', '.join(names[p] for p in reversed(pins))}}}"
            for pins, table in zip(layer.src.tolist(), layer.table.tolist())]


def _thresholds(layer, names: list[str]) -> list[str]:
    """``(W'd0 + lit + lit ...) >= W'dT`` per unit: the zero sizes the sum, and a complemented
    literal is ``!x`` (1 bit), since ``~x`` would be widened to W bits before inverting."""
    exprs = []
    for j, (t, k) in enumerate(zip(layer.t.tolist(), layer.fan_in.tolist())):
        width = max(k, t, 1).bit_length()
        pins = range(layer.ptr[j], layer.ptr[j + 1])
        terms = "".join(f" + {'' if layer.w[p] else '!'}{names[layer.src[p]]}" for p in pins)
        exprs.append(f"({width}'d0{terms}) >= {width}'d{t}")
    return exprs


#: Terms of one ``+`` expression: Yosys' Verilog frontend runs out of stack on a flat sum of ~400
#: (a 400-bit class group), so longer groups are summed in parts of this many bits.
MAX_TERMS = 200


def head_verilog(net: Netlist, score_width: int, latency: int = 0, clocked: bool = False) -> str:
    """Module ``ref_head([clk, rst,] x, head_bits, scores, cls)``: group popcounts and the first
    maximum's index, ``latency`` clocks after ``head_bits`` (``x`` unread: it is there because
    the cut classifier's head keeps that port)."""
    head = net.head
    g, c = head.group_size, head.num_classes
    cls_width = max((c - 1).bit_length(), 1)
    distinct, position = head.distinct_bits()
    lines = [f"module {HEAD}({_clock_ports(clocked or latency > 0)}input [{net.inputs.width - 1}:0] x, "
             f"input [{len(distinct) - 1}:0] head_bits, "
             f"output [{score_width * c - 1}:0] scores, output [{cls_width - 1}:0] cls);"]
    for k in range(c):
        terms = [f"head_bits[{p}]" for p in position[k * g:(k + 1) * g].tolist()]
        parts = range(0, len(terms), MAX_TERMS)
        for j in parts:  # each sum sized by its wire: no overflow
            lines.append(f"  wire [{score_width - 1}:0] s{k}_{j // MAX_TERMS} = {' + '.join(terms[j:j + MAX_TERMS])};")
        lines.append(f"  wire [{score_width - 1}:0] s{k} = {' + '.join(f's{k}_{j // MAX_TERMS}' for j in parts)};")
    lines += [f"  reg [{cls_width - 1}:0] best;", f"  reg [{score_width - 1}:0] top;", "  always @* begin",
              "    best = 0;", "    top = s0;"]
    for k in range(1, c):
        lines.append(f"    if (s{k} > top) begin best = {k}; top = s{k}; end")
    lines.append("  end")
    packed = "{" + ", ".join(f"s{k}" for k in reversed(range(c))) + "}"
    delayed, scores = _delay_line("scores", score_width * c, latency, packed)
    lines += delayed
    delayed, best = _delay_line("cls", cls_width, latency, "best")
    lines += delayed
    lines += [f"  assign scores = {scores};", f"  assign cls = {best};", "endmodule"]
    return "\n".join(lines) + "\n"
