"""iCE40 LUT4s of the GroupSum head: popcount trees of several fan-ins against Yosys' lowering of a flat ``+`` chain.

For each group size, ten popcounts (one per class, as an MNIST head has) are built as one
``+`` expression over the bits (Yosys' ``alumacc``/``maccmap`` lowering of a ``+`` chain: one
multi-operand adder per class) and as :class:`lgn.hdl.popcount.Popcount` trees of 2-operand
nodes and of lgn's :data:`~lgn.hdl.popcount.FAN_IN`, combinational and pipelined (a register
per tree level: what ``--pipeline K`` builds), each synthesized with ``synth_ice40``. The last
line is a JSON object of the headline figures.

    python bench/head_luts.py [--groups 100,400] [--classes 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from amaranth.hdl import Module, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lgn.boards.cells import count_cells
from lgn.boards.targets import ICE40
from lgn.hdl.emit import to_verilog
from lgn.hdl.popcount import FAN_IN, Popcount


class Heads(wiring.Component):
    """``classes`` popcounts of ``group`` bits each: a flat sum (``fan_in`` None) or a tree."""

    def __init__(self, group: int, classes: int, fan_in: int | None, pipelined: bool) -> None:
        self.group, self.classes, self.fan_in, self.pipelined = group, classes, fan_in, pipelined
        super().__init__({"i": In(group * classes), "o": Out(group.bit_length() * classes)})

    def elaborate(self, platform) -> Module:
        m = Module()
        w = self.group.bit_length()
        for c in range(self.classes):
            bits, out = self.i[c * self.group:(c + 1) * self.group], self.o[c * w:(c + 1) * w]
            if self.fan_in is None:
                m.d.comb += out.eq(_expression_sum([bits[j] for j in range(self.group)]))
            else:
                m.submodules[f"count{c}"] = count = Popcount(self.group, self.pipelined, self.fan_in)
                m.d.comb += [count.i.eq(bits), out.eq(count.o)]
        return m


def _expression_sum(terms: list[Value]) -> Value:
    """One ``+`` expression over ``terms``, nested as a balanced tree: Python's left-leaning
    ``sum`` exhausts Amaranth's recursion limit at a few hundred terms."""
    if len(terms) == 1:
        return terms[0]
    return _expression_sum(terms[:len(terms) // 2]) + _expression_sum(terms[len(terms) // 2:])


def synth(design: Heads, build: Path) -> dict:
    verilog = build / "head.v"
    to_verilog(design, "head", verilog)
    cells, wall = count_cells(verilog, "head", ICE40, build)
    return {"luts": cells.get("SB_LUT4", 0), "carries": cells.get("SB_CARRY", 0),
            "ffs": sum(n for cell, n in cells.items() if cell.startswith("SB_DFF")), "yosys_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default="100,400", help="bits per class group, comma-separated")
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()
    variants = {"flat sum": (None, False), "tree 2": (2, False), f"tree {FAN_IN}": (FAN_IN, False),
                "tree 2 pipelined": (2, True), f"tree {FAN_IN} pipelined": (FAN_IN, True)}
    headline = {}
    with tempfile.TemporaryDirectory(prefix="lgn-head-luts-") as tmp:
        print(f"{'group':>5}  {'head':<18} {'LUT4':>6} {'carry':>6} {'DFF':>6} {'yosys s':>8}", flush=True)
        for group in (int(g) for g in args.groups.split(",")):
            for name, (fan_in, pipelined) in variants.items():
                r = synth(Heads(group, args.classes, fan_in, pipelined), Path(tmp))
                print(f"{group:>5}  {name:<18} {r['luts']:>6} {r['carries']:>6} {r['ffs']:>6} {r['yosys_s']:>8}", flush=True)
                headline[f"luts_{name.replace(' ', '_')}_{group}"] = r["luts"]
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
