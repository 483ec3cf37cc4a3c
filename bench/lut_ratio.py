"""LUTs of lgn's flow against the naive emission of the same trained model, after Yosys synthesis.

Naive: the hardened netlist as plain Verilog with one ``assign`` per gate and each class score
one ``+`` over its group (:mod:`lgn.formal.reference`, the netlist ``lgn verify`` proves
against). lgn: the netlist after the IR passes, emitted as lgn's classifier (popcount trees of
3-operand nodes, argmax tree). Both combinational, both through the same ``synth_ice40`` (or
``synth_ecp5``) script one after the other; the optimised netlist is first checked equal to
the hardened one on random vectors. The last line is a JSON object of the headline figures.

    python bench/lut_ratio.py OUT/model.safetensors [--family ice40|ecp5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from lgn.boards.cells import count_cells
from lgn.boards.targets import ECP5, ICE40
from lgn.formal.reference import core_verilog, head_verilog
from lgn.hdl import Classifier
from lgn.hdl.head import score_width
from lgn.hdl.emit import to_verilog

from _trained import hardened_and_optimised

FAMILIES = {"ice40": ICE40, "ecp5": ECP5}


def naive_verilog(net, path: Path) -> None:
    """The reference core and head under one top, ``classifier(x, scores, cls)``."""
    n, w, c = net.inputs.width, score_width(net.head), net.head.num_classes
    top = (f"module classifier(input [{n - 1}:0] x, output [{w * c - 1}:0] scores, "
           f"output [{max((c - 1).bit_length(), 1) - 1}:0] cls);\n"
           f"  wire [{len(net.head.distinct_bits()[0]) - 1}:0] head_bits;\n"
           "  ref_core core(.x(x), .head_bits(head_bits));\n"
           "  ref_head head(.x(x), .head_bits(head_bits), .scores(scores), .cls(cls));\nendmodule\n")
    path.write_text(core_verilog(net) + head_verilog(net, w) + top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--family", choices=FAMILIES, default="ice40")
    parser.add_argument("--keep", type=Path, help="keep the Verilog and Yosys logs in this folder")
    args = parser.parse_args()
    family = FAMILIES[args.family]
    hardened, optimised = hardened_and_optimised(args.checkpoint)
    print(f"gates: {hardened.num_gates} hardened (naive), {optimised.num_gates} after lgn's passes", flush=True)
    with tempfile.TemporaryDirectory(prefix="lgn-lut-ratio-") as tmp:
        build = args.keep or Path(tmp)
        build.mkdir(parents=True, exist_ok=True)
        naive_verilog(hardened, build / "naive.v")
        to_verilog(Classifier(optimised), "classifier", build / "lgn.v")
        rows = {}
        for name in ("naive", "lgn"):
            cells, wall = count_cells(build / f"{name}.v", "classifier", family, build / name)
            rows[name] = {"luts": cells.get(family.lut_cell, 0), "carries": cells.get(family.carry_cell, 0),
                          "yosys_s": round(wall, 1)}
            print(f"{name:>6}: {rows[name]['luts']} LUT4, {rows[name]['carries']} carry cells, "
                  f"yosys {rows[name]['yosys_s']} s", flush=True)
    print(json.dumps({"family": args.family, "gates_naive": hardened.num_gates, "gates_lgn": optimised.num_gates,
                      "luts_naive": rows["naive"]["luts"], "luts_lgn": rows["lgn"]["luts"],
                      "lut_ratio_vs_naive": round(rows["lgn"]["luts"] / rows["naive"]["luts"], 3),
                      "yosys_s_naive": rows["naive"]["yosys_s"], "yosys_s_lgn": rows["lgn"]["yosys_s"]}))


if __name__ == "__main__":
    main()
