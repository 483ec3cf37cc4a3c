"""The command line, stage by stage (bad input: test_bad_input.py)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lgn.ir import serialize
from lgn.testing import random_netlist, write_compiled


def lgn(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "lgn.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=900, env=None if env is None else os.environ | env)




@pytest.fixture(scope="module")
def netlist_dir(tmp_path_factory):
    """A random netlist compiled as `lgn compile` leaves it: the netlist, classifier.v (combinational)
    and the design record that pairs them."""
    return write_compiled(tmp_path_factory.mktemp("net"), random_netlist(np.random.default_rng(0)))


def compiled_copy(netlist_dir, out):
    """``out`` holding a copy of the compiled netlist folder."""
    out.mkdir()
    for name in ("netlist.safetensors", "classifier.v", "classifier.json"):
        (out / name).write_bytes((netlist_dir / name).read_bytes())
    return out


def test_design_too_big_for_the_device(netlist_dir, tmp_path):
    from dataclasses import replace

    from lgn.boards import targets
    from lgn.boards.flow import synthesize
    from lgn.errors import LgnError
    from lgn.hdl.design import Design

    tiny = replace(targets.get("icebreaker"), luts=20)
    with pytest.raises(LgnError, match=r"needs \d+ LUTs but the iCE40UP5K-SG48 on icebreaker has 20"):
        synthesize(Design(serialize.load(netlist_dir / "netlist.safetensors")), netlist_dir / "classifier.v", tiny,
                   tmp_path)


@pytest.mark.parametrize("board, device, clock_mhz, image_bytes, pipeline, placer", [
    ("ulx3s", "LFE5U-85F-6BG381C", 25.0, 1_000_000, 1, "heap"),     # an uncompressed LFE5U-85F image; pipelined
    ("orangecrab", "LFE5U-25F-8MG285C", 48.0, 500_000, 0, "static"),  # LFE5U-25F; UART on the Feather RX/TX pins
])
def test_synth_for_an_ecp5_board(tmp_path, board, device, clock_mhz, image_bytes, pipeline, placer):
    """The UART top on ECP5 boards, whose clock domain has no reset (a pipelined classifier's rst is 0),
    placed by either of nextpnr's placers."""
    out = write_compiled(tmp_path / board, random_netlist(np.random.default_rng(0)), pipeline)
    result = lgn("synth", "--board", board, "--out", out, "--placer", placer)
    assert result.returncode == 0, result.stderr[-3000:]
    synth = json.loads((out / "report.json").read_text())["synth"]
    log = (out / "build" / board / "nextpnr.log").read_text()
    assert synth["placer"] == placer and ("Running Static placer" in log) == (placer == "static")
    assert synth["device"] == device and 0 < synth["luts"] < 1000 and synth["carries"] > 0 and synth["bram"] == 0
    assert synth["fmax_mhz"] * synth["path_cycles"] >= synth["clock_mhz"] == clock_mhz
    assert synth["board_inferences_per_s"] == round(clock_mhz * 1e6 / synth["path_cycles"])  # a class per settle
    assert (out / f"{board}.bit").stat().st_size > image_bytes
    assert b"\xff\xff\xbd\xb3" in (out / f"{board}.bit").read_bytes()[:4096]  # what `lgn flash` checks
    # the bitstream synth recorded is flashed (here up to the missing programmer); an edited one is not
    missing = {"OPENFPGALOADER": "no-such-loader", "DFU_UTIL": "no-such-dfu-util"}
    result = lgn("flash", "--board", board, "--out", out, env=missing)
    assert result.returncode == 1 and "is not installed" in result.stderr.splitlines()[-1], result.stderr
    with open(out / f"{board}.bit", "ab") as f:
        f.write(b"\0")
    result = lgn("flash", "--board", board, "--out", out, env=missing)
    last = result.stderr.splitlines()[-1]
    assert result.returncode == 1 and f"is not the bitstream `lgn synth --board {board}` built" in last, result.stderr


def test_out_of_context_build_reports_luts_and_fmax_without_a_bitstream(netlist_dir, tmp_path):
    out = compiled_copy(netlist_dir, tmp_path / "ooc")
    result = lgn("synth", "--board", "none", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    synth = json.loads((out / "report.json").read_text())["synth"]
    net = serialize.load(out / "netlist.safetensors")
    assert synth["device"].endswith("out of context") and synth["bitstream"] == ""
    assert 0 < synth["luts"] < 1000 and synth["ffs"] > net.inputs.width // 2  # inputs (those read) and outputs registered
    assert synth["fmax_mhz"] > 25 and synth["latency_cycles"] == 2  # input and output registers
    parts = synth["breakdown"]  # the combinational classifier alone, its core alone, the rest
    assert parts["core"]["luts"] > 0 and parts["head"]["luts"] > 0 and parts["core"]["ffs"] == 0
    assert parts["core"]["luts"] + parts["head"]["luts"] == parts["classifier"]["luts"]
    assert parts["top"]["ffs"] == synth["ffs"] - parts["classifier"]["ffs"] > 0  # the top's registers
    assert "LUT4 / FF by part" in result.stdout + result.stderr
    assert not list(out.glob("none.*"))
    result = lgn("flash", "--board", "none", "--out", out)
    assert result.returncode == 1 and "out-of-context build" in result.stderr.splitlines()[-1]


def test_stages_one_by_one_end_to_end(tmp_path):
    """A small digits model through train, compile (pipelined), sim and synth as separate commands
    (the combinational design goes through synth in test_determinism.py)."""
    out = tmp_path / "out"
    small = ["--widths", "300,300", "--thresholds", "2", "--epochs", "4"]
    for args in (["train", *small], ["compile", "--pipeline", "1"], ["verify", "--formal", "--timeout", "120"], ["sim"],
                 ["sim", "--post-synth", "icebreaker"], ["synth"]):
        result = lgn(*args, "--out", out)
        assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["dataset"] == "digits" and report["test_samples"] == 360
    n = report["test_samples"]
    assert report["bit_exact"]["netlist_vs_torch"] == [n, n]
    assert report["bit_exact"]["rtl_vs_netlist"] == [n, n]
    assert report["bit_exact"]["rtl_vs_netlist_random"][0] == report["bit_exact"]["rtl_vs_netlist_random"][1]
    assert report["bit_exact"]["postsynth_vs_netlist"] == [n, n]  # the iCE40-mapped netlist, too
    assert report["sim_postsynth"]["family"] == "ice40" and report["accuracy"]["postsynth"] == report["accuracy"]["rtl"]
    acc = report["accuracy"]
    assert acc["hardened"] == acc["netlist"] == acc["rtl"] and acc["hardened"] > 0.5
    gates = report["gates"]
    assert gates["trained"] == gates["hardened"] == report["opt"]["gates_before"] == 600
    assert 0 < gates["netlist"] == report["opt"]["gates_after"] < 600  # the passes removed gates
    assert report["formal"]["core"]["status"] == report["formal"]["head"]["status"] == "proven"
    hdl = report["hdl"]
    layers = len(serialize.load(out / "netlist.safetensors").layers)
    assert hdl["pipeline"] == 1 and hdl["latency_cycles"] == layers - 1 + 5 + 4  # a stage per layer but the last, popcount(30: 30→10→5→3→2→1), argmax(10)
    # `lgn flash` hands the programmer (a stand-in here) exactly the bitstream synth recorded
    programmer = tmp_path / "iceprog"
    programmer.write_text(f'#!/bin/sh\nfor last; do :; done\ncp "$last" {tmp_path / "flashed.bin"}\n')
    programmer.chmod(0o755)
    result = lgn("flash", "--out", out, env={"ICEPROG": str(programmer)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "flashed.bin").read_bytes() == (out / "icebreaker.bin").read_bytes()
    synth = report["synth"]
    assert synth["device"] == "iCE40UP5K-SG48" and 0 < synth["luts"] <= 5280
    assert "synth_ice40 -device u " in (out / "build" / "icebreaker" / "top.ys").read_text()  # UltraPlus delays
    assert synth["pipeline"] == 1 and synth["latency_cycles"] == hdl["latency_cycles"] and synth["path_cycles"] == 1
    assert synth["fmax_mhz"] >= synth["clock_mhz"] == 12.0  # pipelined, it meets the board clock in one cycle
    assert abs(synth["inferences_per_s"] - synth["fmax_mhz"] * 1e6) < 1e4
    assert synth["board_inferences_per_s"] == 12_000_000  # a class a clock at the board's 12 MHz
    bitstream = out / synth["bitstream"]
    assert bitstream.stat().st_size > 100_000  # an UP5K image is ~104 kB
    for name in ("model.safetensors", "netlist.safetensors", "classifier.v", "sim.log", "nextpnr-report.json"):
        assert (out / name).exists(), name
    assert not list(out.glob(".*.tmp"))


def test_predict_writes_the_executors_classes(netlist_dir, tmp_path):
    from lgn.ir import executor

    raw = np.random.default_rng(1).uniform(0, 1, (300, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", raw)
    result = lgn("predict", netlist_dir / "netlist.safetensors", "--data", tmp_path / "x.npy",
                 "--output", tmp_path / "p.npy")
    assert result.returncode == 0, result.stderr
    assert "images_per_s" in result.stdout
    want = executor.run(serialize.load(netlist_dir / "netlist.safetensors"), raw).classes
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), want)


def test_a_folded_binary_network_end_to_end(tmp_path):
    """A small BNN compiled with its layers folded over block RAM: RTL and ECP5 post-synthesis
    simulation bit-exact (the DP16KD model), then out of context on the ECP5-85F with its block
    RAMs, cycles per inference and throughput reported."""
    out = tmp_path / "out"
    train = ["--family", "binary", "--widths", "48,40", "--thresholds", "2", "--epochs", "2"]
    result = lgn("train", *train, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    result = lgn("compile", "--pipeline", "1", "--fold", "all", "--out", out)
    assert result.returncode == 1 and "--pipeline applies to unrolled designs" in result.stderr
    assert not (out / "classifier.v").exists()
    for args in (["compile", "--fold", "all", "--lanes", "4,16"], ["sim"], ["sim", "--post-synth", "ulx3s"],
                 ["synth", "--board", "none"]):
        result = lgn(*args, "--out", out)
        assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    hdl, synth, n = report["hdl"], report["synth"], report["test_samples"]
    assert hdl["handshake"] and [f["layer"] for f in hdl["folded_layers"]] == [0, 1]
    assert all(f["pe"] <= 4 and f["simd"] <= 16 for f in hdl["folded_layers"])
    assert hdl["bram_bits"] >= report["weight_bits"]  # every weight, in block RAM (padding aside)
    assert report["bit_exact"]["rtl_vs_netlist"] == report["bit_exact"]["postsynth_vs_netlist"] == [n, n]
    assert synth["bram"] >= 2 and synth["cycles_per_inference"] == hdl["cycles_per_inference"] == hdl["latency_cycles"]
    assert synth["latency_cycles"] == hdl["latency_cycles"] + 2  # the out-of-context registers
    assert abs(synth["inferences_per_s"] - synth["fmax_mhz"] * 1e6 / synth["cycles_per_inference"]) < 1e3
    assert synth["board_inferences_per_s"] is None  # out of context: no board clock
    result = lgn("verify", "--formal", "--out", out)  # simulation checks a folded design; no proof claims to
    assert result.returncode == 1 and "folds threshold layers over block RAM" in result.stderr.splitlines()[-1]


def test_a_new_netlist_forgets_the_old_hardware(tmp_path):
    """Recompiling a finished run drops its simulation and synthesis figures and its bitstream:
    they described the old classifier.v (and `lgn flash` would program it)."""
    from lgn import report

    out = tmp_path / "out"
    assert lgn("train", "--widths", "60,40", "--epochs", "1", "--out", out).returncode == 0
    assert lgn("compile", "--out", out).returncode == 0
    checkpoint = (out / "model.safetensors").read_bytes()
    (out / "model.safetensors").write_bytes(checkpoint + b" ")  # another checkpoint, copied in
    result = lgn("verify", "--formal", "--out", out)
    assert result.returncode == 1 and "is not the checkpoint netlist.safetensors was compiled from" in result.stderr
    (out / "model.safetensors").write_bytes(checkpoint)
    report.update(out, {"synth": {"luts": 1}, "accuracy": {"rtl": 0.5}, "bit_exact": {"rtl_vs_netlist": [1, 1]},
                        "artifacts": {"bitstream": "icebreaker.bin"}})
    (out / "icebreaker.bin").write_bytes(b"old design")
    result = lgn("compile", "--pipeline", "1", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    rep = json.loads((out / "report.json").read_text())
    assert "synth" not in rep and "rtl" not in rep["accuracy"] and "rtl_vs_netlist" not in rep["bit_exact"]
    assert "bitstream" not in rep["artifacts"] and rep["hdl"]["pipeline"] == 1
    result = lgn("verify", "--formal", "--part", "stages", "--out", out)
    assert result.returncode == 1 and "--part stages is a streamed design's" in result.stderr.splitlines()[-1]
    assert not (out / "icebreaker.bin").exists()
    (out / "icebreaker.bin").write_bytes(b"\xff\0\0\xff~\xaa\x99~" + b"\0" * 64)  # an iCE40 image, not this design's
    result = lgn("flash", "--out", out, env={"ICEPROG": "no-such-iceprog"})
    assert result.returncode == 1 and "is not the bitstream `lgn synth --board icebreaker` built" in result.stderr
    assert lgn("train", "--widths", "60,40", "--epochs", "1", "--out", out).returncode == 0
    assert not (out / "icebreaker.bin").exists()


def test_hardware_stages_refuse_a_verilog_that_is_not_the_netlists(netlist_dir, tmp_path):
    """classifier.v and the netlist must be the pair one compile wrote: an edited Verilog, or a
    netlist from elsewhere, is refused with the stage to re-run, before any tool runs."""
    out = compiled_copy(netlist_dir, tmp_path / "edited")
    verilog = out / "classifier.v"
    verilog.write_text(verilog.read_text() + "\n// edited\n")
    for args in (["verify", "--formal"], ["synth", "--board", "none"]):
        result = lgn(*args, "--out", out)
        last = result.stderr.strip().splitlines()[-1]
        assert result.returncode == 1 and "is not the Verilog that classifier.json records" in last, result.stderr
        assert "lgn compile" in last
    other = compiled_copy(netlist_dir, tmp_path / "other")
    serialize.save(random_netlist(np.random.default_rng(1)), other / "netlist.safetensors")
    result = lgn("synth", "--board", "none", "--out", other)
    assert result.returncode == 1 and "is not the netlist classifier.v was built from" in result.stderr
    (other / "classifier.json").unlink()
    result = lgn("verify", "--formal", "--out", other)
    assert result.returncode == 1 and "classifier.json does not exist" in result.stderr


def test_run_walks_a_part_of_the_stage_list(tmp_path):
    out = tmp_path / "out"
    result = lgn("run", "--to", "compile", "--widths", "60,40", "--epochs", "1", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    rep = json.loads((out / "report.json").read_text())
    assert (out / "classifier.v").exists() and "sim" not in rep and "synth" not in rep
    result = lgn("run", "--from", "sim", "--to", "sim", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    rep = json.loads((out / "report.json").read_text())
    assert rep["bit_exact"]["rtl_vs_netlist"] == [360, 360] and "synth" not in rep
    result = lgn("run", "--from", "synth", "--to", "compile", "--out", out)
    assert result.returncode == 1 and "--from synth comes after --to compile" in result.stderr.splitlines()[-1]


def test_the_bitstream_is_built_from_the_checked_verilog(netlist_dir, tmp_path):
    """`lgn synth` reads classifier.v itself (the file sim and verify checked), not a second
    elaboration of the netlist: one edited gate in classifier.v (its design record renewed, as
    if compile had written it) changes the netlist nextpnr places."""
    import re

    from lgn import design_record

    built = {}
    for name, edit in (("as compiled", False), ("one gate edited", True)):
        out = compiled_copy(netlist_dir, tmp_path / name.replace(" ", "-"))
        verilog = out / "classifier.v"
        if edit:
            text, count = re.subn(r"(assign \S+ = \S+) & (\S+;)", r"\1 | \2", verilog.read_text(), count=1)
            assert count == 1
            verilog.write_text(text)
            record = json.loads((out / "classifier.json").read_text())
            design_record.write(out, record["hdl"], record["netlist_sha256"], verilog)
        result = lgn("synth", "--board", "none", "--out", out)
        assert result.returncode == 0, result.stderr[-2000:]
        assert (out / "build" / "none" / "classifier.v").read_text() == verilog.read_text()
        built[name] = (out / "build" / "none" / "top.json").read_text()
    assert built["as compiled"] != built["one gate edited"]


def test_two_commands_on_one_folder_do_not_mix(tmp_path):
    """While one lgn command holds an output folder, a second gets a clear error and writes nothing."""
    import fcntl
    import os

    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a running lgn command holds
    try:
        result = lgn("train", "--widths", "60,40", "--epochs", "1", "--out", out)
    finally:
        os.close(fd)
    assert result.returncode == 1 and "another lgn command is working in" in result.stderr.splitlines()[-1]
    assert not list(out.iterdir())
    assert lgn("train", "--widths", "60,40", "--epochs", "1", "--out", out).returncode == 0  # free again
