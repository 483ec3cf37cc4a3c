import numpy as np

from lgn.harden import harden, hardened_scores
from lgn.ir import executor, ops
from lgn.ir.netlist import GateLayer, LutLayer
from lgn.testing import random_netlist


def naive_node_outputs(layer, values):
    """One layer's outputs for one sample, one node at a time."""
    if isinstance(layer, GateLayer):
        return [ops.output(int(o), values[a], values[b]) for o, a, b in zip(layer.op, layer.a, layer.b)]
    if isinstance(layer, LutLayer):  # the table's entry at the address its pins spell, pin 0 lowest
        return [(int(t) >> sum(values[s] << p for p, s in enumerate(src))) & 1 for src, t in zip(layer.src, layer.table)]
    out = []
    for j in range(layer.size):
        pins = range(layer.ptr[j], layer.ptr[j + 1])
        out.append(int(sum(values[layer.src[p]] == layer.w[p] for p in pins) >= layer.t[j]))
    return out


def naive_run(net, bits):
    """One sample at a time, one node at a time: an independent reading of the IR's meaning."""
    scores = []
    for row in bits:
        values = [int(v) for v in row]
        for layer in net.layers:
            values += naive_node_outputs(layer, values)
        head = [values[i] for i in net.head.bits]
        g = net.head.group_size
        scores.append([sum(head[c * g:(c + 1) * g]) for c in range(net.head.num_classes)])
    return np.array(scores)


def test_pack_unpack_round_trip_for_odd_sample_counts(rng):
    for n in (1, 63, 64, 65, 200):
        bits = rng.random((n, 7)) < 0.5
        assert np.array_equal(executor.unpack(executor.pack(bits), n), bits)


def test_executor_matches_naive_evaluation_with_skip_wiring(rng):
    net = random_netlist(rng)
    bits = rng.random((131, net.inputs.width)) < 0.5
    got = executor.run_bits(net, bits)
    want = naive_run(net, bits)
    assert np.array_equal(got.scores, want)
    assert np.array_equal(got.classes, want.argmax(1))


def test_threshold_layers_match_naive_evaluation(rng):
    net = random_netlist(rng, widths=(40, 30, 25, 20), thresholds=(0, 2, 3), group=6)
    assert net.num_thresholds == 85 and net.num_gates == 30
    bits = rng.random((300, net.inputs.width)) < 0.5
    got = executor.run_bits(net, bits)
    assert np.array_equal(got.scores, naive_run(net, bits))
    layer = net.layers[0]
    outputs = executor.unpack(executor.evaluate_bits(net, bits)[net.layer_offsets()[0]:][:layer.size], len(bits))
    assert outputs[:, layer.t == 0].all() and not outputs[:, layer.t > layer.fan_in].any()


def test_lut_layers_match_naive_evaluation(rng):
    net = random_netlist(rng, widths=(40, 30, 25, 20), luts=(0, 1, 3), thresholds=(2,), group=6)
    assert net.num_luts == 90
    bits = rng.random((300, net.inputs.width)) < 0.5
    assert np.array_equal(executor.run_bits(net, bits).scores, naive_run(net, bits))


def test_argmax_ties_go_to_lowest_class(rng):
    net = random_netlist(rng)
    scores = executor.run_bits(net, rng.random((500, net.inputs.width)) < 0.5).scores
    pred = executor.run_bits(net, rng.random((1, net.inputs.width)) < 0.5)
    assert pred.classes[0] == int(np.flatnonzero(pred.scores[0] == pred.scores[0].max())[0])
    assert (scores == scores.max(1, keepdims=True)).sum(1).max() > 1, "the sample should contain ties"


def test_encoding_compares_raw_features_with_thresholds():
    net = random_netlist(np.random.default_rng(0), features=3, per_feature=2)
    raw = np.array([[0.1, 0.5, 0.9]], dtype=np.float32)
    bits = executor.encode(net.inputs, raw)
    assert bits.tolist() == [[False, False, True, False, True, True]]  # thresholds 0.2 and 0.8


def test_executor_equals_hardened_torch_on_every_test_sample(trained_digits, digits):
    net = harden(trained_digits)
    assert net.num_gates == trained_digits.num_gates
    want = hardened_scores(trained_digits, digits.x_test)
    got = executor.run(net, digits.x_test)
    assert np.array_equal(got.scores, want)
    x = np.random.default_rng(5).uniform(0, 16, (700, digits.num_features)).astype(np.float32)
    assert np.array_equal(executor.run(net, x).scores, hardened_scores(trained_digits, x))


def test_learned_connections_harden_to_the_executor_bit_for_bit(digits):
    from lgn.nn import LogicNet, LogicNetConfig
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(digits.num_features, 10, (120, 100), 2, digits.feature_range, 6.0,
                                    candidates=3, seed=2))
    loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=2, seed=2)
    assert (model.layers[0].connection_logits != 0).any()
    net = harden(model)
    np.testing.assert_array_equal(executor.run(net, digits.x_test).scores, hardened_scores(model, digits.x_test))
