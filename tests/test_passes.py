"""Optimising passes: each one, and the pipeline, keeps every class score of every input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgn.harden import harden
from lgn.ir import executor, ops, passes
from lgn.ir.netlist import GateLayer, GroupSumHead, InputEncoding, Netlist, ThresholdLayer
from lgn.testing import random_netlist

OP = {name: code for code, name in enumerate(ops.NAMES)}


def same_scores(before: Netlist, after: Netlist, bits: np.ndarray) -> bool:
    return np.array_equal(executor.run_bits(before, bits).scores, executor.run_bits(after, bits).scores)


def tiny(layers, head_bits, width=3):
    """A netlist over ``width`` raw input bits; layers are lists of ``(op name, a, b)``."""
    enc = InputEncoding(width, np.arange(width, dtype=np.int32), np.full(width, 0.5, np.float32))
    gate_layers = tuple(GateLayer(np.array([OP[o] for o, _, _ in layer], np.uint8),
                                  np.array([a for _, a, _ in layer], np.int32),
                                  np.array([b for _, _, b in layer], np.int32)) for layer in layers)
    return Netlist(enc, gate_layers, GroupSumHead(2, np.array(head_bits, np.int32))).validate()


ALL_BITS3 = np.array([[(i >> k) & 1 for k in range(3)] for i in range(8)], dtype=bool)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), widths=st.lists(st.integers(1, 70), min_size=1, max_size=5),
       group=st.integers(1, 9), samples=st.integers(1, 200), name=st.sampled_from([*passes.PASSES, "pipeline"]),
       threshold_layers=st.sets(st.integers(0, 4)))
def test_every_pass_keeps_the_scores_of_random_networks(seed, widths, group, samples, name, threshold_layers):
    rng = np.random.default_rng(seed)
    net = random_netlist(rng, features=5, per_feature=3, widths=tuple(widths), classes=3, group=group,
                         thresholds=tuple(threshold_layers))
    if name == "pipeline":
        out, reports = passes.run(net)
    else:
        out, report = passes.PASSES[name](net)
        reports = [report]
    assert out.num_nodes <= net.num_nodes
    assert reports[-1].gates_after == out.num_nodes and reports[0].gates_before == net.num_nodes
    bits = rng.integers(0, 2, (samples, net.inputs.width)).astype(bool)
    assert same_scores(net, out, bits)


def test_constprop_folds_constants_through_gates():
    # g0 = FALSE; g1 = x0 AND g0 (= 0); g2 = x1 OR g1 (= x1); head reads g1, g2
    net = tiny([[("FALSE", 0, 1)], [("AND", 0, 3)], [("OR", 1, 4)]], [4, 5])
    out, report = passes.constprop(net)
    assert ops.NAMES[out.layers[1].op[0]] == "FALSE"
    assert ops.NAMES[out.layers[2].op[0]] == "A" and out.layers[2].a[0] == 1
    assert report.rewrites["constant_gates"] == 2
    assert same_scores(net, out, ALL_BITS3)


def test_bypass_folds_inverters_into_readers_but_not_into_the_head():
    # g0 = NOT x0; g1 = B(x2, x1) = x1; g2 = g0 AND g1 = ~x0 & x1; head reads g0 (an inverter) and g2
    net = tiny([[("NOT_A", 0, 2), ("B", 2, 1)], [("AND", 3, 4)]], [3, 5])
    out, _ = passes.bypass(net)
    g2 = out.layers[1]
    assert (g2.a[0], g2.b[0], ops.NAMES[g2.op[0]]) == (0, 1, "NOT_A_AND_B")
    assert list(out.head.bits) == [3, 5]
    assert same_scores(net, out, ALL_BITS3)
    optimised, _ = passes.run(net)
    assert optimised.num_gates == 2  # the head's inverter and the AND


def test_strash_merges_gates_with_swapped_pins():
    net = tiny([[("AND", 0, 1), ("AND", 1, 0), ("A_AND_NOT_B", 0, 1), ("NOT_A_AND_B", 1, 0)]], [3, 4, 5, 6])
    out, report = passes.strash(net)
    assert list(out.head.bits) == [3, 3, 5, 5]
    assert report.rewrites["gates_merged"] == 2
    assert passes.dce(out)[0].num_gates == 2
    assert same_scores(net, out, ALL_BITS3)


def test_dce_removes_unread_gates_and_empty_layers():
    net = tiny([[("AND", 0, 1), ("OR", 0, 1)], [("XOR", 3, 2)], [("NAND", 0, 2)]], [3, 3])
    out, report = passes.dce(net)
    assert out.num_gates == 1 and len(out.layers) == 1
    assert report.rewrites == {"gates_removed": 3, "layers_removed": 2}
    assert same_scores(net, out, ALL_BITS3)


def units(*rows):
    """A threshold layer from ``(pins, t)`` rows; a pin is a bit index, negative for its complement
    (``~x`` as ``-x - 1``)."""
    pins = [p for row, _ in rows for p in row]
    return ThresholdLayer(np.cumsum([0] + [len(row) for row, _ in rows]).astype(np.int32),
                          np.array([p if p >= 0 else -p - 1 for p in pins], np.int32),
                          np.array([p >= 0 for p in pins], np.uint8), np.array([t for _, t in rows], np.int32))


def mixed(layers, head_bits, width=3):
    enc = InputEncoding(width, np.arange(width, dtype=np.int32), np.full(width, 0.5, np.float32))
    return Netlist(enc, tuple(layers), GroupSumHead(2, np.array(head_bits, np.int32))).validate()


def test_constprop_folds_constants_into_thresholds():
    # g3 = FALSE; u4 = [x0 + ~g3 + x1 >= 2] = [x0 + x1 >= 1] (x0 OR x1); u5 = [x2 + ~x2 >= 1] = 1
    net = mixed([tiny([[("FALSE", 0, 1)]], [3, 3]).layers[0], units(([0, -4, 1], 2), ([2, -3], 1))], [4, 5])
    out, report = passes.constprop(net)
    u = out.layers[1]
    assert list(u.fan_in) == [2, 0] and list(u.t) == [1, 0]
    assert report.rewrites["constant_gates"] == 2  # g3 and u5
    assert same_scores(net, out, ALL_BITS3)


def test_bypass_flips_threshold_weights_through_inverters():
    # g3 = NOT x0; u4 = [g3 + x1 >= 2] becomes [~x0 + x1 >= 2]; u5 = [~u4 >= 1] is an inverter of u4
    net = mixed([tiny([[("NOT_A", 0, 0)]], [3, 3]).layers[0], units(([3, 1], 2)), units(([-5], 1))], [4, 5])
    out, _ = passes.bypass(net)
    u = out.layers[1]
    assert list(u.src) == [0, 1] and list(u.w) == [0, 1]
    assert list(out.head.bits) == [4, 5]  # the head keeps reading the inverter
    assert same_scores(net, out, ALL_BITS3)


def test_strash_merges_threshold_units_with_permuted_pins():
    net = mixed([units(([0, -2, 2], 2), ([2, 0, -2], 2), ([0, -2, 2], 3))], [3, 4, 5, 5])
    out, report = passes.strash(net)
    assert list(out.head.bits) == [3, 3, 5, 5] and report.rewrites["gates_merged"] == 1
    assert passes.dce(out)[0].num_thresholds == 2
    assert same_scores(net, out, ALL_BITS3)


def test_unknown_pass_is_named():
    with pytest.raises(ValueError, match="unknown pass 'nope'"):
        passes.run(tiny([[("AND", 0, 1)]], [3, 3]), ("dce", "nope"))


def test_pipeline_shrinks_a_trained_network_and_keeps_its_predictions(trained_digits, digits):
    net = harden(trained_digits)
    out, reports = passes.run(net)
    assert out.num_gates < net.num_gates
    for raw in (digits.x_test, np.random.default_rng(0).uniform(0, 16, (500, 64)).astype(np.float32)):
        assert np.array_equal(executor.run(net, raw).scores, executor.run(out, raw).scores)
