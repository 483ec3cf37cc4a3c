"""Where a build's LUTs go: the core (the network's layers), the head (popcounts and argmax) and
the board top (the input register, the UART and the class register).

For an output folder that ``lgn compile`` and ``lgn synth`` have built, Yosys maps the
classifier alone and its core alone with the board family's script, at the pipelining
``classifier.v`` was built with: head = classifier - core, top = the placed design (report.json
``synth.luts``, nextpnr's count) - classifier. Separate syntheses cannot pack across the cuts,
so the parts are estimates that need not add up exactly. The last line is one JSON object.

    python bench/lut_breakdown.py RUN_DIR [--board icebreaker]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from lgn.boards import targets
from lgn.boards.cells import count_cells
from lgn.hdl.core import GateCore
from lgn.hdl.emit import to_verilog
from lgn.ir import serialize

_LUTS = ("SB_LUT4", "LUT4")
_FFS = ("SB_DFF", "SB_DFFE", "SB_DFFSR", "SB_DFFSS", "SB_DFFR", "SB_DFFS", "SB_DFFESR", "SB_DFFESS", "SB_DFFER",
        "SB_DFFES", "TRELLIS_FF")


def _count(cells: dict[str, int], kinds: tuple[str, ...]) -> int:
    return sum(n for cell, n in cells.items() if cell in kinds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--board", default="icebreaker")
    args = parser.parse_args()
    rep = json.loads((args.run / "report.json").read_text())
    board, pipeline = targets.get(args.board), rep["hdl"]["pipeline"]
    net = serialize.load(args.run / "netlist.safetensors")
    with tempfile.TemporaryDirectory(prefix="lgn-breakdown-") as tmp:
        tmp = Path(tmp)
        synth = board.synth_command
        classifier, _ = count_cells(args.run / "classifier.v", "classifier", board.family, tmp / "classifier", synth=synth)
        to_verilog(GateCore(net, pipeline), "core", tmp / "core.v")
        core, _ = count_cells(tmp / "core.v", "core", board.family, tmp / "core", synth=synth)
    parts = {"core": (_count(core, _LUTS), _count(core, _FFS)),
             "classifier": (_count(classifier, _LUTS), _count(classifier, _FFS))}
    parts["head"] = tuple(c - k for c, k in zip(parts["classifier"], parts["core"]))
    synth = rep.get("synth", {})
    if synth.get("device") == board.device:
        parts["top"] = (synth["luts"] - parts["classifier"][0], synth["ffs"] - parts["classifier"][1])
    print(f"{'part':<12} {'LUT4':>7} {'FF':>7}   ({net.describe()}, pipeline {pipeline}, {board.device})")
    for name, (luts, ffs) in parts.items():
        print(f"{name:<12} {luts:>7,} {ffs:>7,}")
    print(json.dumps({name: {"luts": luts, "ffs": ffs} for name, (luts, ffs) in parts.items()}))


if __name__ == "__main__":
    main()
