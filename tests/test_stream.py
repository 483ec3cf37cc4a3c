"""The streaming engine (hdl/stream.py) against the reference executor on the flat netlist its
streamed netlist means, in Amaranth's simulator: pixels in raster order with gaps, image after
image, one result per image."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from amaranth.sim import Simulator

from lgn.hdl.stream import StreamClassifier
from lgn.ir import executor
from lgn.ir.conv import ConvTrees, OrPool, StreamedNetlist, identity_inputs
from lgn.ir.netlist import InputEncoding
from lgn.testing import random_netlist


def encoded(net: StreamedNetlist, x: np.ndarray) -> np.ndarray:
    """``(n, bits)`` input bits of raw samples ``x`` (the IR's encoding)."""
    return x[:, net.inputs.feature].astype(np.float32) > net.inputs.threshold


def stream(net: StreamedNetlist, bits: np.ndarray, pipeline: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, classes)`` the engine reports, one ``done`` per image, pixels fed with random gaps."""
    dut = StreamClassifier(net, pipeline)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    channels, classes = net.channels, net.dense.head.num_classes
    width = len(dut.scores.as_value()) // classes
    results = []

    def sample(ctx) -> None:
        if ctx.get(dut.done):
            scores = ctx.get(dut.scores.as_value())
            results.append(([(scores >> (c * width)) & ((1 << width) - 1) for c in range(classes)], ctx.get(dut.cls)))

    async def bench(ctx):
        for image in bits:
            for pixel in image.reshape(-1, channels):
                while rng.random() < 0.2:  # a gap in the stream
                    ctx.set(dut.valid, 0)
                    await ctx.tick()
                    sample(ctx)
                ctx.set(dut.pixel, int(sum(int(b) << c for c, b in enumerate(pixel))))
                ctx.set(dut.valid, 1)
                await ctx.tick()
                sample(ctx)
        ctx.set(dut.valid, 0)
        for _ in range(dut.latency + 2):
            await ctx.tick()
            sample(ctx)

    sim.add_testbench(bench)
    sim.run()
    return np.array([s for s, _ in results]), np.array([c for _, c in results])


def random_streamed(rng: np.random.Generator, image=(12, 11), channels=3, blocks=(4, 5), widths=(40, 30)) -> StreamedNetlist:
    """Random conv blocks (trees of depth 2 and 3, pooling) over ``image`` and a random dense part."""
    stages, shape, ch = [], image, channels
    for n, kernels in enumerate(blocks):
        depth = 3 if n == 0 else 2
        leaves = np.stack([rng.integers(0, 3, (kernels, 1 << depth)), rng.integers(0, 3, (kernels, 1 << depth)),
                           rng.integers(0, ch, (kernels, 1 << depth))], -1).astype(np.int32)
        tree = ConvTrees(shape, ch, 3, leaves, rng.integers(0, 16, (kernels, (1 << depth) - 1)).astype(np.uint8))
        pool = OrPool(tree.out_image, kernels)
        stages += [tree, pool]
        shape, ch = pool.out_image, kernels
    width = shape[0] * shape[1] * ch
    dense = random_netlist(rng, features=width, per_feature=1, widths=widths, classes=3, group=5, luts=(1,))
    dense = replace(dense, inputs=identity_inputs(width))
    inputs = InputEncoding(image[0] * image[1], np.repeat(np.arange(image[0] * image[1], dtype=np.int32), channels),
                           np.tile(np.linspace(-0.5, 0.5, channels), image[0] * image[1]).astype(np.float32))
    return StreamedNetlist(inputs, image, tuple(stages), dense).validate()


@pytest.mark.parametrize("pipeline", [0, 1])
def test_two_random_conv_blocks_stream_bit_exact(pipeline):
    rng = np.random.default_rng(pipeline)
    net = random_streamed(rng)
    x = rng.normal(size=(12, net.inputs.num_features)).astype(np.float32)
    bits = encoded(net, x)
    scores, classes = stream(net, bits, pipeline, rng)
    want = executor.run(net.flat(), x)
    np.testing.assert_array_equal(scores, want.scores)
    np.testing.assert_array_equal(classes, want.classes)


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
    scores, classes = stream(net, encoded(net, x), 1, np.random.default_rng(0))
    np.testing.assert_array_equal(scores, want.scores)
    np.testing.assert_array_equal(classes, want.classes)


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
