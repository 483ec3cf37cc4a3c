"""``lgn sim``: ``classifier.v`` (or the netlist Yosys maps it to) simulated against the netlist."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lgn import report
from lgn.errors import LgnError
from lgn.ir import executor, serialize
from lgn.stages.common import (
    NETLIST, RANDOM_VECTORS, SIM_LOG, TOPLEVEL, VECTORS_PER_JOB, VERILOG, dataset_of, design_of, prepare_out,
    random_samples, say,
)


def sim_stage(out: Path, netlist_path: Path | None = None, simulator: str | None = None,
              dataset: str | None = None, data_dir: Path | None = None, post_synth: str | None = None,
              jobs: int | None = None) -> dict:
    """Simulate the emitted Verilog under cocotb against the reference executor; with
    ``post_synth`` (a board name), the netlist Yosys maps it to for that board's FPGA family,
    simulated with Yosys' cell models, instead. ``jobs`` simulator processes share the vectors
    (default: one per :data:`VECTORS_PER_JOB`, at most one per core)."""
    from lgn.hdl.head import score_width
    from lgn.sim.runner import default_simulator, simulate, simulate_stream

    board = None
    if post_synth:  # options first: nothing is loaded for a run that cannot go ahead
        from lgn.boards import targets

        board = targets.get(post_synth)
        simulator = simulator or default_simulator()
        if simulator not in board.family.simulators:
            raise LgnError(f"{simulator} cannot run Yosys' models of {board.family.name} cells",
                           f"pass --simulator {board.family.simulators[0]}")
    out = prepare_out(out)
    net = serialize.load(netlist_path or out / NETLIST)
    ds = dataset_of(net, dataset, data_dir)
    verilog = out / VERILOG
    if not verilog.exists():
        raise LgnError(f"{verilog} does not exist", "run `lgn compile` first")
    design = design_of(out, net, netlist_path)
    what, sources, log, extra = "rtl", verilog, out / SIM_LOG, {}
    if board is not None:
        from lgn.boards.cells import map_to_cells

        family = board.family
        say("sim", f"mapping {VERILOG} to {family.name} cells with Yosys `{board.synth_command}` ...")
        sources, yosys_s = map_to_cells(verilog, TOPLEVEL, board, out / "build" / f"postsynth-{family.name}")
        what, log, extra = "postsynth", out / f"postsynth-{family.name}-sim.log", {"family": family.name,
                                                                                 "yosys_s": round(yosys_s, 2)}
    x = np.concatenate([ds.x_test, random_samples(net, ds, RANDOM_VECTORS)])
    bits = executor.encode(net.inputs, x)
    expected = executor.run_bits(net, bits)
    n_test = len(ds.x_test)
    jobs = jobs or max(1, min(os.cpu_count() or 1, len(x) // VECTORS_PER_JOB))
    say("sim", f"simulating {len(x)} vectors ({n_test} test + {RANDOM_VECTORS} random) in {jobs} process(es) ...")
    build = out / "build" / f"sim-{what}"
    if design.stream is not None:  # pixel by pixel in raster order, image after image
        result = simulate_stream(sources, TOPLEVEL, bits.reshape(len(bits), -1, design.stream.channels), expected,
                                 score_width(net.head), latency=design.latency, build_dir=build, log=log,
                                 simulator=simulator, jobs=jobs, progress=lambda m: say("sim", m))
    else:
        result = simulate(sources, TOPLEVEL, bits, expected, score_width(net.head), build_dir=build, log=log,
                          simulator=simulator, latency=design.latency, handshake=design.handshake, jobs=jobs,
                          progress=lambda m: say("sim", m))
    same = (result.prediction.scores == expected.scores).all(1) & (result.prediction.classes == expected.classes)
    test_ok, random_ok = int(same[:n_test].sum()), int(same[n_test:].sum())
    say("sim", f"{result.simulator}: {what} vs netlist {test_ok}/{n_test} test, {random_ok}/{RANDOM_VECTORS} random "
                f"bit-exact ({result.wall_s:.1f} s)")
    rep = report.update(out, {
        "accuracy": {what: float((result.prediction.classes[:n_test] == ds.y_test).mean())},
        "bit_exact": {f"{what}_vs_netlist": [test_ok, n_test], f"{what}_vs_netlist_random": [random_ok, RANDOM_VECTORS]},
        "sim" if what == "rtl" else "sim_postsynth": {"simulator": result.simulator, "vectors": len(x),
                                                        "wall_s": round(result.wall_s, 2)} | extra,
        "artifacts": {f"{what}_sim_log": log.name},
    })
    if result.matched != result.total:
        raise LgnError(f"the {'RTL' if what == 'rtl' else 'mapped netlist'} differs from the netlist on "
                       f"{result.total - result.matched} of {result.total} vectors", f"see {log}")
    return rep
