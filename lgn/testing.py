"""Random IR networks and a differential check of every target against the reference executor.

Shared by the test suite's short campaign (``tests/test_differential.py``) and the long one
(``bench/fuzz.py``), like ``numpy.testing``: helpers for checking lgn, not part of the pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lgn.ir import executor, ops, passes, tables
from lgn.ir.netlist import GateLayer, GroupSumHead, InputEncoding, LutLayer, Netlist, ThresholdLayer

if TYPE_CHECKING:
    from lgn.ir.conv import StreamedNetlist


def random_threshold_layer(rng: np.random.Generator, available: int, size: int, max_fan_in: int = 9) -> ThresholdLayer:
    """Rows of random fan-in (0 included) over bits ``0 .. available-1`` with every threshold from
    constant 1 to constant 0; a third of the rows repeat an earlier row's pins, as tiled-bit layers
    do, half of those with every weight flipped."""
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    for j in range(size):
        if j and rng.random() < 1 / 3:
            src, w = rows[int(rng.integers(0, j))]
            rows.append((src, w ^ np.uint8(rng.integers(0, 2))))
        else:
            k = int(rng.integers(0, max_fan_in + 1))
            rows.append((rng.integers(0, available, k, dtype=np.int32), rng.integers(0, 2, k, dtype=np.uint8)))
    fan_in = np.array([len(src) for src, _ in rows])
    return ThresholdLayer.from_units(zip(*zip(*rows), rng.integers(0, fan_in + 2)))


def dense_threshold_layer(rng: np.random.Generator, available: int, size: int, fan_in: int = 40,
                          tiles: int = 3) -> ThresholdLayer:
    """Rows that all read the same ``fan_in`` bits (a random sequence over ``0 .. available-1``,
    repeats allowed) as foldable binary layers do: a tile of ``size // tiles`` rows repeated with
    random flips (a tiled-bit layer's copies), every threshold from constant 1 to constant 0."""
    src = rng.integers(0, available, fan_in, dtype=np.int32)
    tile = rng.integers(0, 2, (max(1, size // tiles), fan_in), dtype=np.uint8)
    return ThresholdLayer.from_units((src, tile[j % len(tile)] ^ np.uint8(rng.integers(0, 2)),
                                      int(rng.integers(0, fan_in + 2))) for j in range(size))


def random_lut_layer(rng: np.random.Generator, available: int, size: int, k: int | None = None) -> LutLayer:
    """``k``-input tables (1 to 6 when not given) over bits ``0 .. available-1``, pins repeating
    a bit now and then; an eighth of the tables constant, an eighth a single pin or its
    complement (what the passes fold), the rest random."""
    k = int(rng.integers(1, tables.MAX_INPUTS + 1)) if k is None else k
    src = rng.integers(0, available, (size, k), dtype=np.int32)
    repeat = rng.random((size, k)) < 0.1
    src[repeat] = src[:, :1].repeat(k, 1)[repeat]
    table = rng.integers(0, 2, (size, 1 << k)).astype(bool)
    kind = rng.integers(0, 8, size)
    table[kind == 0] = rng.integers(0, 2, (int((kind == 0).sum()), 1)).astype(bool)
    pin = rng.integers(0, k, size)
    entries = np.arange(1 << k)
    single = (kind == 1)
    table[single] = ((entries[None, :] >> pin[single, None]) & 1).astype(bool) ^ rng.integers(0, 2, (int(single.sum()), 1)).astype(bool)
    return LutLayer(src, tables.pack(table))


def random_netlist(rng: np.random.Generator, *, features: int = 12, per_feature: int = 2,
                   widths: tuple[int, ...] = (40, 30), classes: int = 3, group: int = 5,
                   thresholds: tuple[int, ...] = (), dense: tuple[int, ...] = (),
                   luts: tuple[int, ...] = ()) -> Netlist:
    """A netlist with every op, skip wiring (layers read any earlier bit) and a head over mixed
    layers; the layers numbered in ``thresholds`` are sparse threshold layers
    (:func:`random_threshold_layer`), those in ``dense`` foldable ones (:func:`dense_threshold_layer`),
    those in ``luts`` LUT layers (:func:`random_lut_layer`)."""
    width = features * per_feature
    inputs = InputEncoding(features, np.repeat(np.arange(features, dtype=np.int32), per_feature),
                           np.tile(np.linspace(0.2, 0.8, per_feature, dtype=np.float32), features))
    layers, available = [], width
    for i, w in enumerate(widths):
        if i in thresholds:
            layers.append(random_threshold_layer(rng, available, w))
        elif i in dense:
            layers.append(dense_threshold_layer(rng, available, w))
        elif i in luts:
            layers.append(random_lut_layer(rng, available, w))
        else:
            op = np.resize(np.arange(ops.NUM_OPS, dtype=np.uint8), w)
            rng.shuffle(op)
            layers.append(GateLayer(op, rng.integers(0, available, w, dtype=np.int32),
                                    rng.integers(0, available, w, dtype=np.int32)))
        available += w
    head = GroupSumHead(classes, rng.integers(width, available, classes * group, dtype=np.int32))
    return Netlist(inputs, tuple(layers), head).validate()


def random_case(rng: np.random.Generator, *, max_width: int = 120) -> tuple[Netlist, np.ndarray]:
    """A random network and raw samples for it: odd feature counts and sample counts (not multiples
    of a machine word), 1-5 layers, 2-12 classes, groups from 1 bit to more than 64, samples that
    sit exactly on a threshold, NaNs (never above a threshold), and each layer a gate, threshold
    or LUT layer (1 to 6 inputs) at random."""
    features, per_feature = int(rng.integers(1, 100)), int(rng.integers(1, 5))
    widths = tuple(int(w) for w in rng.integers(1, max_width, rng.integers(1, 6)))
    kind = rng.integers(0, 3, len(widths))  # per layer: 0 gate, 1 threshold, 2 LUT layer
    thresholds, luts = (tuple(np.flatnonzero(kind == k).tolist()) for k in (1, 2))
    net = random_netlist(rng, features=features, per_feature=per_feature, widths=widths,
                         classes=int(rng.integers(2, 13)), group=int(rng.integers(1, 90)), thresholds=thresholds,
                         luts=luts)
    raw = rng.uniform(0, 1, (int(rng.integers(1, 700)), features)).astype(np.float32)
    on_threshold = rng.random(raw.shape) < 0.05
    raw[on_threshold] = net.inputs.threshold[0]
    raw[rng.random(raw.shape) < 0.01] = np.nan
    return net, raw


def disagreements(net: Netlist, raw: np.ndarray, *, rtl_dir: Path | None = None) -> list[str]:
    """The targets whose scores or classes differ from the reference executor's on ``raw``:
    the compiled engine, each pass alone, the default pass pipeline (in the executor and the
    engine), and with ``rtl_dir`` the emitted Verilog under simulation."""
    from lgn import engine

    ref = executor.run(net, raw)

    def differs(pred: executor.Prediction) -> bool:
        return not (np.array_equal(pred.scores, ref.scores) and np.array_equal(pred.classes, ref.classes))

    bad = []
    if differs(engine.build(net, "c").run(raw)):
        bad.append("engine")
    for name, run_pass in passes.PASSES.items():
        if differs(executor.run(run_pass(net)[0], raw)):
            bad.append(f"pass:{name}")
    optimised, _ = passes.run(net)
    if differs(executor.run(optimised, raw)):
        bad.append("passes")
    if differs(engine.build(optimised, "c").run(raw)):
        bad.append("engine(optimised)")
    if rtl_dir is not None and _rtl_differs(net, raw, ref, Path(rtl_dir)):
        bad.append("rtl")
    return bad


def _rtl_differs(net: Netlist, raw: np.ndarray, ref: executor.Prediction, build: Path) -> bool:
    from lgn.hdl import Classifier
    from lgn.hdl.emit import to_verilog
    from lgn.hdl.head import score_width
    from lgn.sim.runner import simulate

    build.mkdir(parents=True, exist_ok=True)
    to_verilog(Classifier(net), "classifier", build / "classifier.v")
    result = simulate(build / "classifier.v", "classifier", executor.encode(net.inputs, raw), ref, score_width(net.head),
                      build_dir=build / "sim", log=build / "sim.log")
    return result.matched != result.total


def write_compiled(out: Path, net: Netlist, pipeline: int = 0) -> Path:
    """``out`` holding ``net`` as ``lgn compile`` leaves it: the netlist, ``classifier.v`` built
    unrolled every ``pipeline`` layers, and the design record that pairs them."""
    from lgn import design_record
    from lgn.hdl.design import Design
    from lgn.hdl.emit import to_verilog
    from lgn.ir import serialize

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    serialize.save(net, out / "netlist.safetensors")
    design = Design(net, pipeline)
    to_verilog(design.classifier(), "classifier", out / "classifier.v")
    design_record.write(out, design.to_dict("none", 0, (1, 1)),
                        design_record.sha256((out / "netlist.safetensors").read_bytes()), out / "classifier.v")
    return out


def random_streamed(rng: np.random.Generator, *, max_blocks: int = 2) -> tuple[StreamedNetlist, np.ndarray]:
    """A random convolutional network (:class:`~lgn.ir.conv.StreamedNetlist`: 1 to ``max_blocks``
    blocks of logic trees of depth 1 to 3 over 1x1 to 3x3 windows, each followed by 2x2 pooling
    or not, odd image sizes included) over a random dense netlist, and raw samples for it."""
    from lgn.ir.conv import ConvTrees, OrPool, StreamedNetlist, identity_inputs

    rows, cols = (int(v) for v in rng.integers(6, 15, 2))
    channels = int(rng.integers(1, 4))
    stages, shape, ch = [], (rows, cols), channels
    for _ in range(int(rng.integers(1, max_blocks + 1))):
        if min(shape) < 2:
            break
        kernel, depth, kernels = int(rng.integers(1, min(3, *shape) + 1)), int(rng.integers(1, 4)), int(rng.integers(1, 7))
        leaves = np.stack([rng.integers(0, kernel, (kernels, 1 << depth)), rng.integers(0, kernel, (kernels, 1 << depth)),
                           rng.integers(0, ch, (kernels, 1 << depth))], -1).astype(np.int32)
        tree = ConvTrees(shape, ch, kernel, leaves, rng.integers(0, ops.NUM_OPS, (kernels, (1 << depth) - 1)).astype(np.uint8))
        stages.append(tree)
        shape, ch = tree.out_image, kernels
        if min(shape) >= 2 and rng.random() < 0.7:
            stages.append(OrPool(shape, ch))
            shape = stages[-1].out_image
    width = shape[0] * shape[1] * ch
    classes = int(rng.integers(2, 5))
    dense = random_netlist(rng, features=width, per_feature=1, widths=tuple(int(w) for w in rng.integers(classes, 40, 2)),
                           classes=classes, group=int(rng.integers(1, 6)), luts=(1,) if rng.random() < 0.5 else ())
    dense = Netlist(identity_inputs(width), dense.layers, dense.head, dense.meta)
    pixels = rows * cols
    inputs = InputEncoding(pixels, np.repeat(np.arange(pixels, dtype=np.int32), channels),
                           np.tile(np.linspace(-0.5, 0.5, channels), pixels).astype(np.float32))
    net = StreamedNetlist(inputs, (rows, cols), tuple(stages), dense).validate()
    return net, rng.normal(size=(int(rng.integers(3, 9)), pixels)).astype(np.float32)


def stream_in_simulator(net: StreamedNetlist, raw: np.ndarray, pipeline: int = 0,
                        rng: np.random.Generator | None = None) -> executor.Prediction:
    """What :class:`~lgn.hdl.stream.StreamClassifier` reports for each sample of ``raw`` in
    Amaranth's simulator, pixels fed in raster order (with random gaps when ``rng`` is given)
    and images back to back: one result per ``done``."""
    from amaranth.sim import Simulator

    from lgn.hdl.stream import StreamClassifier

    bits = raw[:, net.inputs.feature].astype(np.float32) > net.inputs.threshold
    dut = StreamClassifier(net, pipeline)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    classes = net.dense.head.num_classes
    width = len(dut.scores.as_value()) // classes
    scores, labels = [], []

    def sample(ctx) -> None:
        if ctx.get(dut.done):
            packed = ctx.get(dut.scores.as_value())
            scores.append([(packed >> (c * width)) & ((1 << width) - 1) for c in range(classes)])
            labels.append(ctx.get(dut.cls))

    async def bench(ctx) -> None:
        for image in bits:
            for pixel in image.reshape(-1, net.channels):
                while rng is not None and rng.random() < 0.2:  # a gap in the stream
                    ctx.set(dut.valid, 0)
                    await ctx.tick()
                    sample(ctx)
                ctx.set(dut.pixel, sum(int(b) << c for c, b in enumerate(pixel)))
                ctx.set(dut.valid, 1)
                await ctx.tick()
                sample(ctx)
        ctx.set(dut.valid, 0)
        for _ in range(dut.latency + 2):
            await ctx.tick()
            sample(ctx)

    sim.add_testbench(bench)
    sim.run()
    return executor.Prediction(np.array(scores, dtype=np.int64).reshape(-1, classes), np.array(labels, dtype=np.int64))


def stream_disagreements(net: StreamedNetlist, raw: np.ndarray, pipeline: int, rng: np.random.Generator) -> list[str]:
    """The targets of a streamed network that differ from the executor on its flat netlist: the
    flat netlist's own targets (:func:`disagreements`) and the streaming engine in simulation."""
    flat = net.flat()
    bad = disagreements(flat, raw)
    ref = executor.run(flat, raw)
    got = stream_in_simulator(net, raw, pipeline, rng)
    if got.scores.shape != ref.scores.shape or (got.scores != ref.scores).any() or (got.classes != ref.classes).any():
        bad.append(f"stream (pipeline {pipeline})")
    return bad
