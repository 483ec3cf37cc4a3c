"""Binary, tiled-bit, sparse binary and dendritic neurons: training, BatchNorm folding, lowering to threshold units."""

import numpy as np
import pytest
import torch

from lgn.harden import harden, hardened_scores
from lgn.ir import executor, passes
from lgn.nn import LogicNet, LogicNetConfig, SparseXnorLinear, TiledLinear, XnorLinear
from lgn.nn.binary import sign, step


def test_straight_through_estimators_binarise_and_pass_gradients_inside_one():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], requires_grad=True)
    assert sign(x).tolist() == [-1, -1, 1, 1, 1] and step(x).tolist() == [0, 0, 1, 1, 1]
    sign(x).sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 0]


def _float_bn_bits(layer: XnorLinear, x: torch.Tensor) -> torch.Tensor:
    """The unfolded eval-mode definition: sign(BN(scale * w_pm1 . (2x - 1))) with float BatchNorm,
    each weight reading the input :meth:`XnorLinear.sources` names."""
    pre = torch.einsum("ok,okb->ob", layer.signs().double(), 2 * x.double()[layer.sources()] - 1)
    if layer.row_scale() is not None:
        pre = pre * layer.row_scale().double()[:, None]
    bn = layer.norm
    y = (pre.t() - bn.running_mean.double()) / torch.sqrt(bn.running_var.double() + bn.eps) * bn.weight.double() \
        + bn.bias.double()
    return (y.t() >= 0).double()


@pytest.mark.parametrize("seed, kind", [(0, "binary"), (1, "binary"), (2, "tiled"), (3, "tiled"), (4, "sparse")])
def test_folded_thresholds_equal_float_batchnorm_with_negative_and_zero_scales(seed, kind):
    g = torch.Generator().manual_seed(seed)
    tiled = kind == "tiled"
    layer = {"binary": lambda: XnorLinear(37, 64, g), "tiled": lambda: TiledLinear(37, 64, 4, g),
             "sparse": lambda: SparseXnorLinear(37, 64, 37, g)}[kind]()
    with torch.no_grad():  # statistics as training leaves them, scales of every sign (a few exactly 0)
        if tiled:
            layer.scale.copy_(torch.tensor([1.5, -0.7, 0.0, 0.2]))
        layer.norm.running_mean.copy_(torch.randn(64, generator=g) * 5)
        layer.norm.running_var.copy_(torch.rand(64, generator=g) * 30 + 0.5)
        layer.norm.weight.copy_(torch.randn(64, generator=g))
        layer.norm.weight[:4] = 0
        layer.norm.bias.copy_(torch.randn(64, generator=g))
    layer.eval()
    x = (torch.rand(37, 3000, generator=g) < 0.5).float()
    w, t = layer.fold()
    assert (layer.norm.weight < 0).any() and ((t == 0) | (t == 38)).any()
    assert torch.equal(layer(x).double(), _float_bn_bits(layer, x))
    # flipped rows: where the overall scale is negative the weight bits are the complement of the signs
    scale = layer.norm.weight * (layer.row_scale() if tiled else 1)
    flipped = scale < 0
    assert torch.equal(w[flipped].bool(), ~(layer.signs()[flipped] > 0))


def test_training_mode_uses_batch_statistics_and_learns(digits):
    from lgn.train import loop

    config = LogicNetConfig(digits.num_features, 10, (64, 50), 2, digits.feature_range, 4.0, family="binary", seed=1)
    model = LogicNet(config)
    assert model.num_units == 114 and model.num_gates == 0 and model.describe() == "114 binary neurons"
    history = loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=4, seed=1)
    assert history[-1].hardened_accuracy > 0.8


@pytest.fixture(scope="module")
def trained_bnn(digits):
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(digits.num_features, 10, (96, 60), 2, digits.feature_range, 4.0,
                                    family="binary", seed=3))
    loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=6, seed=3)
    return model


def test_binary_network_hardens_to_threshold_units_bit_for_bit(trained_bnn, digits):
    net = harden(trained_bnn)
    assert net.num_thresholds == 156 and net.num_gates == 0
    assert len(net.layers[0].src) == 96 * digits.num_features * 2
    x_random = np.random.default_rng(0).uniform(0, 16, (1000, digits.num_features)).astype(np.float32)
    for x in (digits.x_test, x_random):
        np.testing.assert_array_equal(executor.run(net, x).scores, hardened_scores(trained_bnn, x))
    optimised, _ = passes.run(net)
    np.testing.assert_array_equal(executor.run(optimised, digits.x_test).scores, executor.run(net, digits.x_test).scores)


def test_binary_checkpoint_round_trip(trained_bnn, digits, tmp_path):
    from lgn.train import checkpoint

    checkpoint.save(trained_bnn, tmp_path / "m.safetensors")
    back, _ = checkpoint.load(tmp_path / "m.safetensors")
    assert back.config.family == "binary"
    np.testing.assert_array_equal(hardened_scores(back, digits.x_test), hardened_scores(trained_bnn, digits.x_test))


@pytest.mark.eda
def test_trained_binary_network_in_rtl_matches_the_executor(digits, tmp_path):
    """A small trained BNN, unrolled (one popcount per neuron) and pipelined, under Verilator."""
    from lgn.hdl import Classifier
    from lgn.hdl.emit import to_verilog
    from lgn.hdl.head import score_width
    from lgn.sim.runner import simulate
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(digits.num_features, 10, (16, 20), 1, digits.feature_range, 2.0,
                                    family="binary", seed=4))
    loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=3, seed=4)
    net, _ = passes.run(harden(model))
    classifier = Classifier(net, pipeline=1)
    to_verilog(classifier, "classifier", tmp_path / "c.v")
    bits = executor.encode(net.inputs, digits.x_test)
    expected = executor.run_bits(net, bits)
    np.testing.assert_array_equal(expected.scores, hardened_scores(model, digits.x_test))
    result = simulate(tmp_path / "c.v", "classifier", bits, expected, score_width(net.head), build_dir=tmp_path / "build",
                      log=tmp_path / "sim.log", latency=classifier.latency)
    assert (result.matched, result.total) == (len(bits), len(bits))


def test_tiled_rows_repeat_the_tile_and_fold_to_shared_popcounts():
    g = torch.Generator().manual_seed(5)
    layer = TiledLinear(30, 12, 4, g)
    signs = layer.signs()
    assert layer.weight_bits == 90
    for r in range(3):  # rows r, r+3, r+6, r+9 carry the same weights
        assert all(torch.equal(signs[r], signs[r + 3 * k]) for k in range(4))
    with torch.no_grad():
        layer.scale.copy_(torch.tensor([1.0, -2.0, 0.5, 3.0]))
    layer.eval()
    w, _ = layer.fold()
    # copies with a negative scale fold into complemented rows: still one literal set per tile row
    assert torch.equal(w[3].bool(), ~w[0].bool()) and torch.equal(w[6], w[0])
    with pytest.raises(ValueError, match="equal tiles"):
        TiledLinear(30, 10, 4)


def test_tiled_network_trains_hardens_and_reports_weight_bits(digits):
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(digits.num_features, 10, (64, 40), 2, digits.feature_range, 4.0,
                                    family="tiled", family_options={"tiles": 4}, seed=6))
    assert model.weight_bits == (128 * 64 + 64 * 40) // 4
    loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=3, seed=6)
    net = harden(model)
    np.testing.assert_array_equal(executor.run(net, digits.x_test).scores, hardened_scores(model, digits.x_test))


def test_dendritic_neuron_hardens_to_and_branches_and_an_or_soma():
    from lgn.nn.dendritic import INPUT, NEGATION, ONE, ZERO, DendriticLinear

    layer = DendriticLinear(4, 1, branches=2, synapses=3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # neuron = (x0 AND NOT x1) OR (x2 AND 0), synapse states by one-hot logits
        layer.connections.copy_(torch.tensor([[[0, 1, 3], [2, 3, 3]]]))
        states = torch.tensor([[[INPUT, NEGATION, ONE], [INPUT, ZERO, ONE]]])
        layer.logits.copy_(torch.nn.functional.one_hot(states, 4).float() * 5)
    layer.eval()
    x = torch.tensor([[(i >> k) & 1 for i in range(16)] for k in range(4)], dtype=torch.float32)
    assert layer(x)[0].tolist() == [float(r[0] and not r[1]) for r in x.t().tolist()]
    units, branch_of = layer.hardened()
    assert [(src.tolist(), w.tolist(), t) for src, w, t in units] == [([0, 1], [1, 0], 2), ([], [], 1)]
    assert branch_of.tolist() == [[0, 1]]


@pytest.mark.parametrize("wiring", ["random", "local"])
def test_dendritic_network_trains_and_hardens_bit_for_bit(digits, wiring):
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(digits.num_features, 10, (60, 50), 2, digits.feature_range, 4.0,
                                    wiring=wiring, family="dendritic", family_options={"branches": 3, "synapses": 4}, seed=7,
                                    image_shape=digits.image_shape, window=5))
    assert model.num_units == 110 * 4 and "dendritic neurons" in model.describe()
    history = loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=4, lr=0.02, seed=7)
    assert history[-1].hardened_accuracy > 0.5
    net = harden(model)
    assert len(net.layers) == 4 and net.num_thresholds == 440
    x_random = np.random.default_rng(1).uniform(0, 16, (700, digits.num_features)).astype(np.float32)
    for x in (digits.x_test, x_random):
        np.testing.assert_array_equal(executor.run(net, x).scores, hardened_scores(model, x))


def test_sparse_binary_network_reads_its_random_inputs_and_hardens_bit_for_bit(digits):
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(digits.num_features, 10, (300, 200), 2, digits.feature_range, 4.0,
                                    family="sparse", family_options={"synapses": 6}, seed=8))
    assert model.num_units == 500 and model.weight_bits == 500 * 6
    history = loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=4, seed=8)
    assert history[-1].hardened_accuracy > 0.6
    net = harden(model)
    first = net.layers[0]
    assert np.diff(first.ptr).tolist() == [6] * 300  # six pins a unit, on the layer's own wiring (inputs come first)
    np.testing.assert_array_equal(first.src.reshape(300, 6), model.layers[0].connections.numpy())
    x_random = np.random.default_rng(2).uniform(0, 16, (700, digits.num_features)).astype(np.float32)
    for x in (digits.x_test, x_random):
        np.testing.assert_array_equal(executor.run(net, x).scores, hardened_scores(model, x))
    with pytest.raises(ValueError, match="at least one input"):
        SparseXnorLinear(10, 4, 0)
