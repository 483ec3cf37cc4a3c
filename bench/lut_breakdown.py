"""Where a build's LUTs go: the core (the network's layers), the head (popcounts and argmax) and
the board top (the input register, the UART and the class register).

For an output folder that ``lgn compile`` and ``lgn synth`` have built, Yosys maps the
classifier alone and its core alone with the board family's script, at the pipelining
``classifier.v`` was built with: head = classifier - core, top = the placed design (report.json
``synth.luts``, nextpnr's count) - classifier (:func:`lgn.boards.cells.breakdown`, which
``lgn synth`` runs too). Separate syntheses cannot pack across the cuts, so the parts are
estimates that need not add up exactly. The last line is one JSON object.

    python bench/lut_breakdown.py RUN_DIR [--board icebreaker]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from lgn.boards import targets
from lgn.boards.cells import breakdown
from lgn.ir import serialize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--board", default="icebreaker")
    args = parser.parse_args()
    rep = json.loads((args.run / "report.json").read_text())
    board, pipeline = targets.get(args.board), rep["hdl"]["pipeline"]
    net = serialize.load(args.run / "netlist.safetensors")
    synth = rep.get("synth", {})
    with tempfile.TemporaryDirectory(prefix="lgn-breakdown-") as tmp:
        parts = breakdown(args.run / "classifier.v", net, pipeline, board, Path(tmp),
                          placed=synth if synth.get("device") == board.device else None)
    print(f"{'part':<12} {'LUT4':>7} {'FF':>7}   ({net.describe()}, pipeline {pipeline}, {board.device})")
    for name, part in parts.items():
        print(f"{name:<12} {part['luts']:>7,} {part['ffs']:>7,}")
    print(json.dumps(parts))


if __name__ == "__main__":
    main()
