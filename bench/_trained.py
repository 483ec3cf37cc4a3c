"""What the LUT benchmarks share: a trained checkpoint's hardened netlist and its optimised twin."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lgn.harden import harden
from lgn.ir import executor, passes
from lgn.ir.netlist import Netlist
from lgn.train import checkpoint


def hardened_and_optimised(path: Path, names: tuple[str, ...] = passes.DEFAULT) -> tuple[Netlist, Netlist]:
    """The checkpoint at ``path`` hardened, and after the IR passes ``names``; the two are checked
    equal on 4,096 random input vectors first, so a benchmark compares like with like."""
    model, _ = checkpoint.load(path)
    hardened = harden(model)
    optimised, _ = passes.run(hardened, names)
    bits = np.random.default_rng(0).integers(0, 2, (4096, hardened.inputs.width), dtype=np.uint8)
    assert (executor.run_bits(hardened, bits).scores == executor.run_bits(optimised, bits).scores).all()
    return hardened, optimised
