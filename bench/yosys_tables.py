"""Yosys' time on LUT nodes: a layer of random k-input tables as lgn emits it (constant shifts),
synthesized for a family with and without the rewrite of the shifts into $lut cells
(boards/lut_shifts.v, :func:`lgn.boards.cells.tables_as_luts`), which every lgn synthesis runs.
The baseline (the family's script alone) runs in the same process on the same file; both must
give the same cells. The last line is one JSON object.

    python bench/yosys_tables.py [--nodes 1500] [--k 5] [--family ecp5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from lgn import toolchain
from lgn.boards import targets
from lgn.boards.cells import tables_as_luts, yosys_cells
from lgn.hdl.core import GateCore
from lgn.hdl.emit import to_verilog
from lgn.ir import tables
from lgn.ir.netlist import LutLayer
from lgn.testing import random_netlist


def _synth(folder: Path, synth: str, rewrite: bool) -> tuple[float, dict[str, int]]:
    """Wall seconds and cells of ``synth`` on ``folder``/core.v, after the rewrite or not."""
    before = f"{tables_as_luts(folder)}; " if rewrite else ""
    start = time.perf_counter()
    toolchain.yosys_flat(folder / "core.v", "core", f"{before}{synth} -top core; tee -q -o stat.json stat -json",
                         folder, "yosys.log")
    return time.perf_counter() - start, yosys_cells(folder / "stat.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1500)
    parser.add_argument("--k", type=int, default=5, choices=range(2, tables.MAX_INPUTS + 1))
    parser.add_argument("--family", default="ecp5", choices=("ecp5", "ice40"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    family = targets.ECP5 if args.family == "ecp5" else targets.ICE40
    rng = np.random.default_rng(args.seed)
    net = random_netlist(rng, features=150, per_feature=2, widths=(8,), classes=2, group=args.nodes // 2)
    src = np.array([rng.choice(net.inputs.width, args.k, replace=False) for _ in range(args.nodes)], dtype=np.int32)
    table = tables.pack(rng.random((args.nodes, 1 << args.k)) < 0.5)
    net = replace(net, layers=(LutLayer(src, table),),
                  head=replace(net.head, bits=np.arange(net.inputs.width, net.inputs.width + args.nodes // 2 * 2,
                                                        dtype=np.int32))).validate()
    results = {}
    with tempfile.TemporaryDirectory(prefix="lgn-yosys-tables-") as tmp:
        for name, rewrite in (("shifts", False), ("luts", True)):
            folder = Path(tmp) / name
            folder.mkdir()
            to_verilog(GateCore(net), "core", folder / "core.v")
            results[name] = _synth(folder, family.synth, rewrite)
            print(f"{name:<7} {results[name][0]:8.1f} s  {results[name][1]}", flush=True)
    (base_s, base_cells), (lut_s, lut_cells) = results["shifts"], results["luts"]
    if base_cells != lut_cells:
        raise SystemExit(f"the rewrite changed the cells: {base_cells} against {lut_cells}")
    print(json.dumps({"nodes": args.nodes, "k": args.k, "family": args.family, "shifts_s": round(base_s, 1),
                      "luts_s": round(lut_s, 1), "speedup": round(base_s / lut_s, 2), "cells": lut_cells}))


if __name__ == "__main__":
    main()
