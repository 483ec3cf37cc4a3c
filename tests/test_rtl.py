"""Executor vs RTL: emitted Verilog simulated under cocotb (Verilator)."""

import shutil
from collections import Counter

import numpy as np
import pytest

from lgn.boards import targets
from lgn.boards.cells import map_to_cells
from lgn.hdl import Classifier
from lgn.hdl.classifier import latencies
from lgn.hdl.head import score_width
from lgn.hdl.emit import to_verilog
from lgn.ir import executor
from lgn.ir.netlist import GateLayer, Netlist
from lgn.sim.runner import simulate
from lgn.testing import random_netlist


@pytest.fixture(scope="module")
def net():
    return random_netlist(np.random.default_rng(7), widths=(64, 48, 40), classes=4, group=10)


def _bits(net, n):
    return np.random.default_rng(8).random((n, net.inputs.width)) < 0.5


def _simulate(net, expected_net, tmp_path, n=600, pipeline=0, jobs=1, simulator=None, progress=None):
    bits = _bits(net, n)
    expected = executor.run_bits(expected_net, bits)
    classifier = Classifier(net, pipeline)
    to_verilog(classifier, "classifier", tmp_path / "c.v")
    return simulate(tmp_path / "c.v", "classifier", bits, expected, score_width(net.head), build_dir=tmp_path / "build",
                    log=tmp_path / "sim.log", latency=classifier.latency, jobs=jobs, simulator=simulator,
                    progress=progress), expected


needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog (iverilog) is not installed")


def test_rtl_matches_executor_on_every_vector(net, tmp_path):
    result, expected = _simulate(net, net, tmp_path)
    assert (result.matched, result.total) == (600, 600)
    assert np.array_equal(result.prediction.scores, expected.scores)
    assert "PASS=1" in (tmp_path / "sim.log").read_text()


@pytest.fixture(scope="module")
def mixed():
    """Threshold layers between gate layers, with shared and complemented rows (tiled-bit form)."""
    return random_netlist(np.random.default_rng(9), widths=(48, 40, 36, 30), classes=3, group=10, thresholds=(0, 2))


@pytest.mark.parametrize("pipeline", [0, 1])
def test_threshold_layers_in_rtl_match_executor(mixed, tmp_path, pipeline):
    result, expected = _simulate(mixed, mixed, tmp_path, n=800, pipeline=pipeline)
    assert (result.matched, result.total) == (800, 800)
    assert np.array_equal(result.prediction.scores, expected.scores)


def test_threshold_units_share_popcounts(mixed, tmp_path):
    """Rows with equal pins, or equal pins under flipped weights, get one popcount between them."""
    to_verilog(Classifier(mixed), "classifier", tmp_path / "c.v")
    text = (tmp_path / "c.v").read_text()
    layer = mixed.layers[0]

    def literals(i, j):  # a row's literals as a multiset, up to flipping every weight
        return frozenset(frozenset(Counter(zip(layer.src[i:j].tolist(), (layer.w[i:j] ^ f).tolist())).items())
                         for f in (0, 1))

    # one-pin counts are wires, which Amaranth inlines rather than emit as a module
    rows = {literals(i, j) for i, j, t in zip(layer.ptr[:-1], layer.ptr[1:], layer.t) if 0 < t <= j - i and j - i > 1}
    assert text.count("module \\classifier.core.layer0_count") == len(rows) < layer.size


@pytest.mark.parametrize("pipeline", [1, 2])
def test_pipelined_rtl_takes_a_vector_every_clock(net, tmp_path, pipeline):
    """Registers every K layers but the last (skip wiring delayed to match) and every level of the
    popcount and argmax trees; a new vector every clock, each checked ``latency`` cycles later.
    Two simulator processes share the vectors, each filling its pipeline from reset."""
    result, expected = _simulate(net, net, tmp_path, pipeline=pipeline, jobs=2)
    assert (result.matched, result.total) == (600, 600)
    assert len(net.layers) == 3
    core = {1: 2, 2: 1}[pipeline]  # 3 layers: a stage after each K-th but the last, which the head registers
    assert sum(latencies(net, pipeline)) == core + 3 + 2  # + popcount(10: 10→4→2→1) + argmax(4)


def test_a_long_simulation_shows_its_progress(net, tmp_path, monkeypatch):
    """While the simulator processes run, the vectors they have logged as done, summed over both,
    rising to the thousands each has logged."""
    monkeypatch.setattr("lgn.sim.runner.PROGRESS_S", 0.05)
    shown = []
    result, _ = _simulate(net, net, tmp_path, n=4000, pipeline=1, jobs=2, progress=shown.append)
    assert (result.matched, result.total) == (4000, 4000)
    assert shown and all(" of 4,000 simulated (" in line for line in shown)
    counts = [int(line.split(" of ")[0].replace(",", "")) for line in shown]
    assert counts == sorted(counts) and set(counts) <= {0, 1000, 2000, 3000, 4000} and counts[-1] > 0, counts


@pytest.mark.parametrize("board, pipeline, kind", [("icebreaker", 1, "gates"), ("ulx3s", 0, "gates"),
                                                  ("ulx3s", 1, "mixed")])
def test_post_synthesis_netlist_matches_executor(net, mixed, tmp_path, board, pipeline, kind):
    """The Verilog Yosys maps to iCE40 / ECP5 cells, simulated with Yosys' cell models."""
    net = mixed if kind == "mixed" else net
    classifier = Classifier(net, pipeline)
    to_verilog(classifier, "classifier", tmp_path / "c.v")
    sources, _ = map_to_cells(tmp_path / "c.v", "classifier", targets.get(board), tmp_path / "map")
    assert "SB_LUT4" in sources[0].read_text() or "LUT4" in sources[0].read_text()
    bits = _bits(net, 300)
    expected = executor.run_bits(net, bits)
    result = simulate(sources, "classifier", bits, expected, score_width(net.head), build_dir=tmp_path / "build",
                      log=tmp_path / "sim.log", latency=classifier.latency)
    assert (result.matched, result.total) == (300, 300)


@needs_icarus
@pytest.mark.parametrize("pipeline", [0, 1])
def test_icarus_simulates_the_rtl_bit_exact(mixed, tmp_path, pipeline):
    """Icarus runs a per-bit rewrite of the RTL (:func:`lgn.sim.runner._per_bit`): fast, and still the same logic."""
    result, _ = _simulate(mixed, mixed, tmp_path, n=500, pipeline=pipeline, simulator="icarus")
    assert (result.simulator, result.matched, result.total) == ("icarus", 500, 500)
    assert (tmp_path / "build" / "classifier_per_bit.v").exists()


@needs_icarus
def test_icarus_catches_a_wrong_gate_and_runs_mapped_cells(net, tmp_path):
    first = net.layers[-1]
    broken = Netlist(net.inputs, (*net.layers[:-1], GateLayer(first.op ^ 1, first.a, first.b)), net.head)
    (tmp_path / "rtl").mkdir()
    result, _ = _simulate(broken, net, tmp_path / "rtl", n=200, pipeline=1, simulator="icarus")
    assert result.matched < result.total
    classifier = Classifier(net, 1)
    to_verilog(classifier, "classifier", tmp_path / "c.v")
    sources, _ = map_to_cells(tmp_path / "c.v", "classifier", targets.get("icebreaker"), tmp_path / "map")
    bits = _bits(net, 200)
    result = simulate(sources, "classifier", bits, executor.run_bits(net, bits), score_width(net.head),
                      build_dir=tmp_path / "build", log=tmp_path / "sim.log", latency=classifier.latency,
                      simulator="icarus")
    assert (result.matched, result.total) == (200, 200)


def test_a_single_wrong_gate_is_caught(net, tmp_path):
    first = net.layers[-1]
    op = first.op.copy()
    op[:] = op ^ 1  # flip one truth-table entry of every gate the head may read
    broken = Netlist(net.inputs, (*net.layers[:-1], GateLayer(op, first.a, first.b)), net.head)
    result, _ = _simulate(broken, net, tmp_path, jobs=3)
    assert result.matched < result.total
    # what the three processes read back, joined in order, is the broken network's every output
    assert np.array_equal(result.prediction.scores, executor.run_bits(broken, _bits(net, 600)).scores)
    assert "FAIL=1" in (tmp_path / "sim.log").read_text()


def test_two_classes_and_one_input_bit(tmp_path):
    """Regression (bench/fuzz.py, seed 0): with two classes the class port is a single bit."""
    net = random_netlist(np.random.default_rng(3), features=1, per_feature=1, widths=(3,), classes=2, group=1)
    result, expected = _simulate(net, net, tmp_path, n=50)
    assert (result.matched, result.total) == (50, 50)


def test_verilog_is_deterministic(net, tmp_path):
    to_verilog(Classifier(net), "classifier", tmp_path / "a.v")
    to_verilog(Classifier(net), "classifier", tmp_path / "b.v")
    assert (tmp_path / "a.v").read_bytes() == (tmp_path / "b.v").read_bytes()
