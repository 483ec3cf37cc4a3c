"""The streaming engine (hdl/stream.py) against the reference executor on the flat netlist its
streamed netlist means, in Amaranth's simulator: pixels in raster order with gaps, image after
image, one result per image."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from lgn.hdl.stream import StreamClassifier
from lgn.ir import executor
from lgn.ir.conv import ConvTrees, OrPool, StreamedNetlist, identity_inputs
from lgn.ir.netlist import InputEncoding
from lgn.testing import random_netlist, random_streamed, stream_disagreements, stream_in_simulator


def encoded(net: StreamedNetlist, x: np.ndarray) -> np.ndarray:
    """``(n, bits)`` input bits of raw samples ``x`` (the IR's encoding)."""
    return x[:, net.inputs.feature].astype(np.float32) > net.inputs.threshold


@pytest.mark.parametrize("seed", range(8))
def test_random_conv_networks_stream_bit_exact(seed):
    """Random geometry (odd sizes, 1x1 to 3x3 windows, trees of depth 1 to 3, pooling or not, one
    or two blocks), pixels with random gaps: the engine, and the flat netlist's every target,
    agree with the executor."""
    rng = np.random.default_rng(seed)
    net, raw = random_streamed(rng)
    assert stream_disagreements(net, raw, seed % 2, rng) == []


def test_two_blocks_stream_bit_exact():
    """Two blocks of trees and pooling (12x11 -> 10x9 -> 5x4 -> 3x2 -> 1x1): the second reads a stream with gaps."""
    rng = np.random.default_rng(11)
    stages, shape, ch = [], (12, 11), 3
    for kernels, depth in ((4, 3), (5, 2)):
        leaves = np.stack([rng.integers(0, 3, (kernels, 1 << depth)), rng.integers(0, 3, (kernels, 1 << depth)),
                           rng.integers(0, ch, (kernels, 1 << depth))], -1).astype(np.int32)
        tree = ConvTrees(shape, ch, 3, leaves, rng.integers(0, 16, (kernels, (1 << depth) - 1)).astype(np.uint8))
        stages += [tree, OrPool(tree.out_image, kernels)]
        shape, ch = stages[-1].out_image, kernels
    dense = random_netlist(rng, features=ch, per_feature=1, widths=(30, 24), classes=3, group=4)
    inputs = InputEncoding(132, np.repeat(np.arange(132, dtype=np.int32), 3), np.tile(np.float32([-0.5, 0, 0.5]), 132))
    net = StreamedNetlist(inputs, (12, 11), tuple(stages), replace(dense, inputs=identity_inputs(ch))).validate()
    raw = rng.normal(size=(10, 132)).astype(np.float32)
    want = executor.run(net.flat(), raw)
    for pipeline in (0, 1):
        got = stream_in_simulator(net, raw, pipeline, rng)
        np.testing.assert_array_equal(got.scores, want.scores)
        np.testing.assert_array_equal(got.classes, want.classes)


def test_a_digits_conv_model_streams_bit_exact_on_the_test_split(digits):
    """A conv block of 6 trees over the 8x8 digits (2 thresholds per pixel), then 120 gates:
    the engine agrees with the flat netlist, and that with the torch model, on 60 test images."""
    from lgn.harden import hardened_scores, harden_streamed
    from lgn.nn import LogicNet, LogicNetConfig

    model = LogicNet(LogicNetConfig(digits.num_features, 10, (120,), 2, digits.feature_range, 6.0,
                                    image_shape=(8, 8), conv=(6,), seed=5)).eval()
    net = harden_streamed(model)
    x = digits.x_test[:60]
    want = executor.run(net.flat(), x)
    np.testing.assert_array_equal(want.scores, hardened_scores(model, x))
    got = stream_in_simulator(net, x, 1, np.random.default_rng(0))
    np.testing.assert_array_equal(got.scores, want.scores)
    np.testing.assert_array_equal(got.classes, want.classes)


@pytest.mark.eda
def test_the_engine_in_verilator_streams_the_digits_test_split_bit_exact(digits, tmp_path):
    """The emitted Verilog of a trained digits conv model, all 360 test images through Verilator
    under cocotb, pixel by pixel: scores and classes equal the executor's on the flat netlist."""
    from lgn.harden import harden_streamed
    from lgn.hdl.emit import to_verilog
    from lgn.hdl.head import score_width
    from lgn.nn import LogicNet, LogicNetConfig
    from lgn.sim.runner import simulate_stream
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(digits.num_features, 10, (300,), 2, digits.feature_range, 6.0,
                                    image_shape=(8, 8), conv=(8,), residual_init=2.0, seed=1))
    loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=4, lr=0.05)
    net = harden_streamed(model)
    dut = StreamClassifier(net, pipeline=1)
    to_verilog(dut, "stream", tmp_path / "stream.v")
    bits = encoded(net, digits.x_test)
    want = executor.run(net.flat(), digits.x_test)
    result = simulate_stream(tmp_path / "stream.v", "stream", bits.reshape(len(bits), -1, net.channels), want,
                             score_width(net.dense.head), latency=dut.latency, build_dir=tmp_path / "build",
                             log=tmp_path / "sim.log", jobs=2)
    assert (result.matched, result.total) == (360, 360), (tmp_path / "sim.log").read_text()[-2000:]
    assert (want.classes == digits.y_test).mean() > 0.6  # a trained model (70%), not a constant one


@pytest.mark.parametrize("seed", range(6))
def test_a_streamed_designs_latency_is_the_clocks_to_done(seed):
    """:attr:`Design.latency` of a streamed design (:func:`stream_cycles`) is exact: an image whose
    pixels come every clock has its ``done`` that many clocks after its first pixel, its dense
    layers registered every layer or more sparsely."""
    from amaranth.sim import Simulator

    from lgn.hdl.design import Design

    net, _ = random_streamed(np.random.default_rng(seed))
    design = Design.streamed(net, pipeline=1 + seed % 3)
    dut = design.classifier()
    pixels = net.image[0] * net.image[1]
    assert design.cycles_per_inference == pixels
    seen = []

    async def bench(ctx) -> None:
        ctx.set(dut.valid, 1)
        for clock in range(pixels + dut.latency + 2):
            if clock == pixels:
                ctx.set(dut.valid, 0)
            await ctx.tick()
            if ctx.get(dut.done):
                seen.append(clock + 1)  # clocks since the first pixel was valid

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen == [design.latency]


@pytest.mark.eda
def test_compile_stream_then_sim_is_bit_exact_and_bad_requests_are_refused(tmp_path):
    """`lgn compile --stream` on a conv model: the netlist file keeps the stages (a fresh load
    rebuilds the design), `lgn sim` streams the test split through it pixel by pixel bit-exact,
    `lgn verify --formal` proves it, with its dense layers registered every layer or every second
    one; a model without conv blocks, or --stream with --fold or --pipeline 0, is one clear error."""
    from lgn import stages
    from lgn.errors import LgnError
    from lgn.hdl.design import Design
    from lgn.ir import serialize
    from lgn.train.options import resolve

    stages.train_stage(tmp_path / "conv", resolve("digits", {"widths": (100, 60), "epochs": 1, "conv": (4,)}))
    unrolled = stages.compile_stage(tmp_path / "conv")  # --pipeline auto: says why
    assert "pipeline_choice" in unrolled["hdl"] and "stream" not in unrolled["hdl"]["mapping"]
    rep = stages.compile_stage(tmp_path / "conv", stream=True)
    assert "pipeline_choice" not in rep["hdl"] and "lut_budget" not in rep["hdl"]  # nothing left of the last design
    assert rep["hdl"]["stream"] and not rep["hdl"]["handshake"] and rep["bit_exact"]["netlist_vs_torch"] == [360, 360]
    design = Design.from_dict(serialize.load(tmp_path / "conv" / "netlist.safetensors"), rep["hdl"])
    assert design.stream is not None and design.latency == rep["hdl"]["latency_cycles"] > 64
    assert rep["hdl"]["cycles_per_inference"] == 64  # a pixel per clock, images back to back
    rep = stages.sim_stage(tmp_path / "conv")
    assert rep["bit_exact"]["rtl_vs_netlist"] == [360, 360]
    rep = stages.verify_stage(tmp_path / "conv")  # the trees window by window, the dense part through the taps
    assert {part: r["status"] for part, r in rep["formal"].items()} == dict.fromkeys(("stages", "core", "head"), "proven")
    every_layer = rep["hdl"]["latency_cycles"]
    rep = stages.compile_stage(tmp_path / "conv", pipeline=2, stream=True)  # no register between the two layers
    assert rep["hdl"]["pipeline"] == 2 and rep["hdl"]["latency_cycles"] == every_layer - 1
    assert stages.sim_stage(tmp_path / "conv")["bit_exact"]["rtl_vs_netlist"] == [360, 360]
    rep = stages.verify_stage(tmp_path / "conv")
    assert {part: r["status"] for part, r in rep["formal"].items()} == dict.fromkeys(("stages", "core", "head"), "proven")
    with pytest.raises(LgnError, match="--stream builds its own schedule"):
        stages.compile_stage(tmp_path / "conv", fold="all", stream=True)
    with pytest.raises(LgnError, match="--pipeline 0 is combinational"):
        stages.compile_stage(tmp_path / "conv", pipeline=0, stream=True)
    stages.train_stage(tmp_path / "dense", resolve("digits", {"widths": (60,), "epochs": 1}))
    with pytest.raises(LgnError, match="no convolutional layers"):
        stages.compile_stage(tmp_path / "dense", stream=True)
