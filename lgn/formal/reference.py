"""A plain-Verilog netlist written straight from the IR, not through Amaranth.

It is the independent side of ``lgn verify --formal`` and the naive emission that
``bench/lut_ratio.py`` measures lgn's flow against: one ``assign`` per gate in the IR's own op
expressions, one shifted truth table per LUT node, one ``+`` of its literals compared with ``t`` per threshold unit, each class score one ``+`` over its group's bits, and the argmax as a loop that
keeps the first maximum. Pipelined RTL is matched by delay lines: ``core_latency`` registers on
the core's input and ``head_latency`` on the head's outputs.
"""

from __future__ import annotations

from lgn.hdl.argmax import ARG, CARRY_ARG, CARRY_MAX, MAX, RIGHT
from lgn.hdl.classifier import SCORE
from lgn.hdl.delay import delayed_name
from lgn.hdl.head import ARGMAX, POPCOUNT
from lgn.hdl.popcount import CARRY, FAN_IN, NODE, tree_levels
from lgn.ir import ops
from lgn.ir.conv import ConvTrees, StreamedNetlist
from lgn.ir.netlist import GateLayer, LutLayer, Netlist

CORE, HEAD, WHOLE = "ref_core", "ref_head", "ref_whole"


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


def _gate(op: int, a: str, b: str) -> str:
    """Gate ``op`` of the IR over the Verilog expressions ``a`` and ``b``, in its own expression."""
    expr = ops.EXPRESSIONS[op]
    return f"1'b{expr}" if expr in ("0", "1") else f"({expr.replace('a', '{a}').replace('b', '{b}').format(a=a, b=b)})"


def _gates(layer, names: list[str]) -> list[str]:
    return [_gate(op, names[a], names[b]) for op, a, b in zip(layer.op.tolist(), layer.a.tolist(), layer.b.tolist())]


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
    cls_width = class_index_width(c)
    _, position = head.distinct_bits()
    lines = [head_ports(net, score_width, clocked or latency > 0)]
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


def whole_verilog(net: Netlist, score_width: int, core_latency: int, head_latency: int, clocked: bool) -> str:
    """Module ``ref_whole([clk, rst,] x, scores, cls)``: :func:`core_verilog` feeding
    :func:`head_verilog`, with both modules."""
    distinct, _ = net.head.distinct_bits()
    clock = ".clk(clk), .rst(rst), " if clocked else ""
    return (core_verilog(net, core_latency, clocked) + head_verilog(net, score_width, head_latency, clocked)
            + "\n".join([head_ports(net, score_width, clocked, WHOLE, head_bits=False),
                         f"  wire [{len(distinct) - 1}:0] head_bits;",
                         f"  {CORE} core({clock}.x(x), .head_bits(head_bits));",
                         f"  {HEAD} head({clock}.x(x), .head_bits(head_bits), .scores(scores), .cls(cls));",
                         "endmodule", ""]))


def class_index_width(classes: int) -> int:
    return max((classes - 1).bit_length(), 1)


def head_ports(net: Netlist, score_width: int, clocked: bool, module: str = HEAD, *, head_bits: bool = True) -> str:
    """The header of a Verilog module ``module`` with the ports of ``net``'s head (without the
    ``head_bits`` input: the whole classifier's)."""
    distinct, _ = net.head.distinct_bits()
    bits = f"input [{len(distinct) - 1}:0] head_bits, " if head_bits else ""
    return (f"module {module}({_clock_ports(clocked)}input [{net.inputs.width - 1}:0] x, {bits}"
            f"output [{score_width * net.head.num_classes - 1}:0] scores, "
            f"output [{class_index_width(net.head.num_classes) - 1}:0] cls);")


def _net(name: str) -> str:
    """``name`` as a Verilog identifier: flattened names hold dots, so they are escaped."""
    return f"\\{name} "


def head_tree_verilog(net: Netlist, score_width: int, pipelined: bool, clocked: bool) -> str:
    """Module ``ref_head`` as trees: the specification the head is proven against node by node.

    Each class score is a tree of sums over its group's bits (:func:`~lgn.hdl.popcount.tree_levels`), in group order,
    each node as wide as the largest count it holds (so no sum overflows, and the root is the
    group's popcount), and the class is a tree of comparisons in which a node keeps its left
    (lower-index) value unless the right one is strictly greater (so the root is the first
    maximum). ``pipelined`` registers every level and keeps the scores in step with the class.
    Nodes carry the names the emitted head gives them once flattened (``popcount3.sum_l1_0``):
    ``equiv_make`` pairs them, and each pair is proven from the pairs below it.
    """
    head = net.head
    g, c = head.group_size, head.num_classes
    _, position = head.distinct_bits()
    lines = [head_ports(net, score_width, clocked)]

    def node(name: str, width: int, expr: str) -> str:
        kind = "reg" if pipelined else "wire"
        lines.append(f"  {kind} [{width - 1}:0] {_net(name)}{' = 0' if pipelined else ''};")
        lines.append(f"  always @(posedge clk) {_net(name)}<= {expr};" if pipelined
                     else f"  assign {_net(name)}= {expr};")
        return _net(name)

    def carried(name: str, width: int, value: str) -> str:
        return node(delayed_name(name, 0), width, value) if pipelined else value

    scores = []
    for k in range(c):
        prefix = POPCOUNT.format(c=k) + "."
        level = [(f"head_bits[{p}]", 1) for p in position[k * g:(k + 1) * g].tolist()]
        for depth, nodes in enumerate(tree_levels(g, FAN_IN, pipelined)):
            nxt = []
            for j, children in enumerate(nodes):
                operands = [level[i] for i in children]
                if len(operands) == 1:
                    value, count = operands[0]
                    nxt.append((carried(prefix + CARRY.format(depth=depth), count.bit_length(), value), count))
                    continue
                count = sum(n for _, n in operands)
                name = prefix + NODE.format(depth=depth, k=j)
                nxt.append((node(name, count.bit_length(), " + ".join(v for v, _ in operands)), count))
            level = nxt
        lines.append(f"  wire [{score_width - 1}:0] s{k} = {level[0][0]};")
        scores.append(f"s{k}")

    cls_width, prefix = class_index_width(c), ARGMAX + "."
    level, depth = [(f"s{k}", f"{cls_width}'d{k}") for k in range(c)], 0
    while len(level) > 1:
        nxt = []
        for j in range(0, len(level) - 1, 2):
            (lv, li), (rv, ri) = level[j], level[j + 1]
            at = {"depth": depth, "k": j // 2}
            right = _net(prefix + RIGHT.format(**at))
            lines.append(f"  wire {right}= {rv} > {lv};")
            nxt.append((node(prefix + MAX.format(**at), score_width, f"{right}? {rv} : {lv}"),
                        node(prefix + ARG.format(**at), cls_width, f"{right}? {ri} : {li}")))
        if len(level) % 2:
            v, i = level[-1]
            nxt.append((carried(prefix + CARRY_MAX.format(depth=depth), score_width, v),
                        carried(prefix + CARRY_ARG.format(depth=depth), cls_width, i)))
        level, depth = nxt, depth + 1
    for k in range(c):
        for t in range(depth if pipelined else 0):
            scores[k] = node(delayed_name(SCORE.format(c=k), t), score_width, scores[k])
    lines += [f"  assign scores = {{{', '.join(reversed(scores))}}};", f"  assign cls = {level[0][1]};", "endmodule"]
    return "\n".join(lines) + "\n"


def stages_checker(net: StreamedNetlist, present: set[str]) -> str:
    """Module ``check(clk, pixel, valid)``: the streaming engine (``rtl``, its line-buffer taps
    ``s<n>_line_<i>``, stage outputs ``s<n>_out`` and strobes ``s<n>_valid`` exposed) beside
    assertions written from the IR: one clock after any state, each stage's output register
    holds its trees (or 2x2 ORs) of the window its input and taps held, and each tap holds its
    predecessor's value if the stage's input was valid, else its own. Of those registers, only
    the ``present`` ones exist in the emitted design (the rest drive nothing and were dropped):
    the others are left unconnected, so a reference that read one would fail, and get no
    assertion of their own.

    A window's pixel ``(dy, dx)`` of a ``kernel``-wide window over ``cols`` columns is the one
    that arrived ``(kernel - 1 - dy) * cols + kernel - 1 - dx`` valid pixels before its
    bottom-right one (raster order), which is tap ``j - 1`` for ``j`` pixels back, 0 the input.
    """
    ports, asserts, regs, lines = [".clk(clk)", ".rst(1'b0)", ".pixel(pixel)", ".valid(valid)"], [], [], []
    bits, valid = "pixel", "valid"
    for n, stage in enumerate(net.stages):
        name, cols, width = f"s{n}", stage.image[1], stage.channels
        depth = (stage.kernel - 1) * (cols + 1) if isinstance(stage, ConvTrees) else cols + 1
        taps = [f"{name}_line_{i}" for i in range(depth)]
        back = [bits, *taps]
        out_width = stage.kernels if isinstance(stage, ConvTrees) else width
        lines += [f"  wire [{width - 1}:0] {tap};" for tap in taps]
        lines += [f"  wire [{out_width - 1}:0] {name}_out;", f"  wire {name}_valid;"]
        ports += [f".{w}({w})" for w in (*taps, f"{name}_out", f"{name}_valid") if w in present]
        if isinstance(stage, ConvTrees):
            k = stage.kernel
            roots = []
            for kernel in range(stage.kernels):
                level = [f"{back[(k - 1 - dy) * cols + k - 1 - dx]}[{c}]" for dy, dx, c in stage.leaves[kernel].tolist()]
                for ops_ in stage.level_ops():
                    level = [_gate(op, level[2 * i], level[2 * i + 1]) for i, op in enumerate(ops_[kernel].tolist())]
                roots.append(level[0])
            want = "{" + ", ".join(reversed(roots)) + "}"
        else:
            want = f"{back[0]} | {back[1]} | {back[cols]} | {back[cols + 1]}"
        regs += [(f"want_{name}", out_width, want), (f"was_valid_{name}", 1, valid)]
        regs += [(f"was_{w}", width, w) for w in back]
        asserts += [f"{name}_out == want_{name}"] if f"{name}_out" in present else []
        asserts += [f"{tap} == (was_valid_{name} ? was_{prev} : was_{tap})" for prev, tap in zip(back, taps)
                    if tap in present]
        bits, valid = f"{name}_out", f"{name}_valid"
    return "\n".join([
        f"module check(input clk, input [{net.channels - 1}:0] pixel, input valid);", *lines,
        f"  rtl dut({', '.join(ports)});",
        *(f"  reg [{w - 1}:0] {r};" for r, w, _ in regs),
        "  always @(posedge clk) begin", *(f"    {r} <= {expr};" for r, _, expr in regs), "  end",
        "  always @* begin", *(f"    assert({a});" for a in asserts), "  end",
        "endmodule", ""])
