"""Folded threshold layers: the layout, the matrix-vector unit, the sequenced classifier in RTL and
on FPGA cells, and the per-layer choice between unrolled and folded."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from lgn.boards import targets
from lgn.boards.cells import map_to_cells
from lgn.hdl.design import Design
from lgn.hdl.emit import to_verilog
from lgn.hdl.fold import LANES, LUT_BUDGET, fit, fold_layer, plan, unrolled_luts
from lgn.hdl.head import score_width
from lgn.hdl.mvu import MatrixVectorUnit
from lgn.ir import executor
from lgn.ir.netlist import ThresholdLayer
from lgn.ir.passes.common import canonical_row
from lgn.sim.runner import simulate
from lgn.testing import dense_threshold_layer, random_netlist


def _layer_outputs(layer: ThresholdLayer, bits: np.ndarray) -> np.ndarray:
    """What the IR says the units output for one vector of ``bits``: the definition, unit by unit."""
    return np.array([int((bits[layer.src[a:b]] == layer.w[a:b]).sum() >= t)
                     for a, b, t in zip(layer.ptr[:-1], layer.ptr[1:], layer.t)])


@pytest.fixture(scope="module")
def net():
    """Dense (foldable) threshold layers around a gate layer and a sparse threshold layer."""
    return random_netlist(np.random.default_rng(7), features=20, per_feature=3, widths=(60, 40, 30, 36), classes=3,
                          group=8, thresholds=(2,), dense=(0, 3))


def test_a_board_sets_the_budget_and_lanes_by_its_size():
    small, mid, big = (fit(targets.get(b).luts) for b in ("icebreaker", "orangecrab", "ulx3s"))
    assert small == (int(0.7 * 5280), (4, 32))  # the lanes digits-bnn fits the UP5K with
    assert mid[1] == (8, 64) and big == (LUT_BUDGET, LANES)
    assert fit(1) == (0, (1, 1))


def test_only_layers_whose_rows_read_the_same_bits_fold(net):
    assert fold_layer(net.layers[0]) is not None and fold_layer(net.layers[3]) is not None
    assert fold_layer(net.layers[2]) is None  # rows of different fan-in and sources
    assert plan(net, "none") == (None,) * 4
    assert [f is not None for f in plan(net, "all")] == [True, False, False, True]
    costs = [unrolled_luts(layer) for layer in net.layers]
    biggest = max((0, 3), key=lambda i: costs[i])
    just_over = sum(costs) - costs[biggest]  # folding the biggest foldable layer is enough
    assert [f is not None for f in plan(net, "auto", just_over)] == [i == biggest for i in range(4)]
    assert plan(net, "auto", sum(costs)) == (None,) * 4
    with pytest.raises(ValueError, match="folds layers 0, 3"):
        Design.plan(net, pipeline=1, mode="all")


def test_a_tiled_layer_stores_one_tile_and_counts_it_once():
    layer = dense_threshold_layer(np.random.default_rng(3), 50, 48, fan_in=30, tiles=4)
    f = fold_layer(layer, 4, 8)
    assert len(np.unique(f.rows[:12], axis=0)) == 12 and f.copies == 4  # 12 tile rows (up to complement), 4 copies each
    assert (f.pe, f.simd) == (4, 6)  # 6 divides the 30 pins: no padding
    assert f.weight_bits == 12 * 30  # one tile: 3 groups of 4 lanes, 5 steps of 6 pins


def _canonical(layer: ThresholdLayer) -> ThresholdLayer:
    """Every row as the passes leave it: pins sorted, ``x``/``not x`` pairs cancelled."""
    return ThresholdLayer.from_units(canonical_row(layer.src[a:b], layer.w[a:b], int(t))
                                     for a, b, t in zip(layer.ptr[:-1], layer.ptr[1:], layer.t))


@pytest.mark.parametrize("pe, simd, cancelled", [
    (4, 8, False), (5, 40, False), (1, 7, False), (64, 64, False),  # padded rows and pins; one lane; one step
    (4, 8, True),  # rows of different fan-in: a bit read twice lost its x/not x pair in some rows
])
def test_matrix_vector_unit_computes_every_unit(pe, simd, cancelled):
    rng = np.random.default_rng(pe * 100 + simd)
    layer = dense_threshold_layer(rng, 20, 45, fan_in=37, tiles=3)  # 37 pins over 20 bits: many read twice
    if cancelled:
        layer = _canonical(layer)
        assert len(set(layer.fan_in[(layer.t > 0) & (layer.t <= layer.fan_in)].tolist())) > 1
    f = fold_layer(layer, pe, simd)
    dut = MatrixVectorUnit(f)
    vectors = rng.integers(0, 2, (4, 20), dtype=np.uint8)
    seen = []

    async def bench(ctx):
        for bits in vectors:
            ctx.set(dut.x, int.from_bytes(np.packbits(bits[f.src], bitorder="little").tobytes(), "little"))
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            cycles = 1
            while not ctx.get(dut.done):
                await ctx.tick()
                cycles += 1
            y = ctx.get(dut.y)
            seen.append((cycles, [(y >> int(s)) & 1 if s >= 0 else int(c) for s, c in zip(f.slot, f.constant)]))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    for bits, (cycles, got) in zip(vectors, seen):
        assert cycles == dut.latency
        np.testing.assert_array_equal(got, _layer_outputs(layer, bits))


def _simulate(design: Design, sources, tmp_path, n: int = 400):
    bits = np.random.default_rng(8).random((n, design.net.inputs.width)) < 0.5
    expected = executor.run_bits(design.net, bits)
    return simulate(sources, "classifier", bits, expected, score_width(design.net.head), build_dir=tmp_path / "build",
                    log=tmp_path / "sim.log", latency=design.latency, handshake=True)


def _folded_verilog(net, lanes, folder):
    design = Design.plan(net, mode="all", lanes=lanes)
    to_verilog(design.classifier(), "classifier", folder / "c.v")
    return design, folder / "c.v"


def test_folded_classifier_in_rtl_matches_the_executor(net, tmp_path):
    """Every vector, and done exactly the design's latency after start (the testbench checks)."""
    design, path = _folded_verilog(net, (2, 4), tmp_path)
    words = sum(f.groups * f.steps for f in design.folding if f is not None)
    assert design.cycles_per_inference == design.latency > words > 100  # a word per clock per folded layer
    result = _simulate(design, path, tmp_path)
    assert (result.matched, result.total) == (400, 400)


@pytest.mark.parametrize("board, lanes, port_width", [
    ("icebreaker", (2, 4), None),  # SB_RAM40_4K, with Yosys' model
    ("ulx3s", (2, 4), "9"),        # DP16KD with lgn's model (sim/models): 8-bit words in 9-bit mode,
    ("ulx3s", (4, 8), "36"),       # 32-bit words through the 36-bit port,
    ("ulx3s", (1, 2), "2"),        # 2-bit words packed in the 8 data bits of each 9-bit half row
])
def test_folded_classifier_on_fpga_cells_matches_the_executor(net, tmp_path, board, lanes, port_width):
    """Post-synthesis, with the weights in the family's block RAM."""
    design, path = _folded_verilog(net, lanes, tmp_path)
    family = targets.get(board).family
    sources, _ = map_to_cells(path, "classifier", targets.get(board), tmp_path / "map")
    mapped = sources[0].read_text()
    assert {"ecp5": " DP16KD ", "ice40": " SB_RAM40_4K "}[family.name] in mapped
    if port_width:
        assert f"DATA_WIDTH_A(32'd{port_width})" in mapped or f"DATA_WIDTH_B(32'd{port_width})" in mapped
    result = _simulate(design, sources, tmp_path, n=150)
    assert (result.matched, result.total) == (150, 150)
