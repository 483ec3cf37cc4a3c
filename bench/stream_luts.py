"""iCE40 cells of a convolutional network built unrolled (every position's tree in logic, the
flat netlist's :class:`Classifier`) against the streaming engine (:class:`StreamClassifier`: one
tree per kernel, line buffers, pixels in one per clock), both synthesized by Yosys'
``synth_ice40`` out of context, each after lgn's IR passes (on the whole unrolled netlist; on the
dense layers of the streamed one, whose trees the engine shares). The networks are untrained
(Gaussian gate logits): the cost of the structure, not of a trained model's ops. The last line
is a JSON object of the figures.

    python bench/stream_luts.py [--sizes digits,16x16,mnist]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from lgn.boards.cells import count_cells
from lgn.boards.targets import ICE40
from lgn.harden import harden_streamed
from lgn.hdl.classifier import Classifier
from lgn.hdl.emit import to_verilog
from lgn.hdl.stream import StreamClassifier
from lgn.ir import passes
from lgn.nn import LogicNet, LogicNetConfig

#: name -> (image, thresholds per pixel, kernels per conv block, dense widths)
SIZES = {"digits": ((8, 8), 2, (8,), (200,)), "16x16": ((16, 16), 2, (16,), (500,)),
         "mnist": ((28, 28), 2, (16,), (1000,))}


def cells(component, name: str, build: Path) -> dict:
    verilog = build / f"{name}.v"
    to_verilog(component, name, verilog)
    found, wall = count_cells(verilog, name, ICE40, build / name)
    return {"luts": found.get("SB_LUT4", 0), "ffs": sum(n for c, n in found.items() if c.startswith("SB_DFF")),
            "carries": found.get("SB_CARRY", 0), "yosys_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="digits,16x16", help=f"comma-separated, of {', '.join(SIZES)}")
    args = parser.parse_args()
    figures = {}
    print(f"{'size':>7} {'gates unrolled':>15} {'unrolled LUT4/FF':>17} {'stream LUT4/FF':>15} {'LUT4 ratio':>10}")
    for size in args.sizes.split(","):
        image, thresholds, conv, widths = SIZES[size]
        torch.manual_seed(0)
        model = LogicNet(LogicNetConfig(image[0] * image[1], 10, widths, thresholds, (0.0, 1.0), 8.0,
                                        image_shape=image, conv=conv, seed=0)).eval()
        net = harden_streamed(model)
        gates = net.flat().num_gates
        flat, _ = passes.run(net.flat(), passes.DEFAULT)
        net = replace(net, dense=passes.run(net.dense, passes.DEFAULT)[0])
        with tempfile.TemporaryDirectory() as tmp:
            unrolled = cells(Classifier(flat, pipeline=1), "unrolled", Path(tmp))
            streamed = cells(StreamClassifier(net, pipeline=1), "streamed", Path(tmp))
        ratio = unrolled["luts"] / max(streamed["luts"], 1)
        print(f"{size:>7} {gates:>15,} {unrolled['luts']:>9,} / {unrolled['ffs']:<5,} "
              f"{streamed['luts']:>7,} / {streamed['ffs']:<5,} {ratio:>9.1f}x", flush=True)
        figures[size] = {"gates_unrolled": gates, "gates_after_passes": flat.num_gates, "unrolled": unrolled, "streamed": streamed,
                         "lut_ratio": round(ratio, 2)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
