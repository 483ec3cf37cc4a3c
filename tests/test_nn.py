import pytest
import torch

from lgn.nn import GroupSum, LogicLayer, LogicNet, LogicNetConfig
from lgn.nn.logic import random_connections
from lgn.nn.reference import learned_sixteen_term, sixteen_term


def _layer_pair(seed: int, grad_factor: float = 1.0):
    layer = LogicLayer(37, 53, generator=torch.Generator().manual_seed(seed), grad_factor=grad_factor).train()
    x = torch.rand(17, 37, dtype=torch.float32, requires_grad=True)
    return layer, x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_equals_sixteen_term_values_and_gradients(seed):
    layer, x = _layer_pair(seed)
    weight = torch.randn(17, 53)  # a loss that weights every output differently
    out = layer(x.t()).t()
    grads_fast = torch.autograd.grad((out * weight).sum(), (layer.logits, x))
    ref = sixteen_term(x, layer.logits, layer.connections)
    grads_ref = torch.autograd.grad((ref * weight).sum(), (layer.logits, x))
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    for fast, slow in zip(grads_fast, grads_ref):
        torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)


def test_grad_factor_scales_only_the_input_gradient():
    plain, x = _layer_pair(4)
    scaled, _ = _layer_pair(4, grad_factor=2.5)
    g_plain = torch.autograd.grad(plain(x.t()).sum(), (plain.logits, x))
    g_scaled = torch.autograd.grad(scaled(x.t()).sum(), (scaled.logits, x))
    torch.testing.assert_close(g_scaled[0], g_plain[0])
    torch.testing.assert_close(g_scaled[1], 2.5 * g_plain[1])


def test_hardened_layer_outputs_bits_of_its_argmax_gate():
    layer = LogicLayer(8, 64, generator=torch.Generator().manual_seed(1)).eval()
    x = torch.randint(0, 2, (32, 8)).float()
    out = layer(x.t()).t()
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    one_hot = torch.nn.functional.one_hot(layer.hardened_ops(), 16).float() * 100
    torch.testing.assert_close(out, sixteen_term(x, one_hot, layer.connections), rtol=0, atol=1e-6)


def test_layer_rejects_batch_first_input():
    layer = LogicLayer(8, 4, generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="in_features=8, batch"):
        layer(torch.zeros(5, 8))


def test_unique_wiring_reads_every_input_and_no_pair_twice():
    conn = random_connections(100, 400, torch.Generator().manual_seed(2), "unique")
    assert set(conn.flatten().tolist()) == set(range(100))
    assert (conn[0] != conn[1]).all()
    pairs = {tuple(sorted(p)) for p in conn.t().tolist()}
    assert len(pairs) == 400


def test_random_wiring_is_difflogics_balanced_draw():
    conn = random_connections(10, 5000, torch.Generator().manual_seed(2), "random")
    assert (torch.bincount(conn.flatten(), minlength=10) == 1000).all()  # every input read equally often
    odd = random_connections(7, 30, torch.Generator().manual_seed(3), "random")  # 60 pins over 7 inputs
    assert set(torch.bincount(odd.flatten(), minlength=7).tolist()) <= {8, 9}
    generator = torch.Generator().manual_seed(4)  # difflogic draws the pin order, then the input order
    order = torch.randperm(60, generator=generator) % 7
    assert torch.equal(random_connections(7, 30, torch.Generator().manual_seed(4), "random"),
                       torch.randperm(7, generator=generator)[order].reshape(2, 30))


def test_groupsum_sums_groups_and_divides_by_tau():
    x = torch.tensor([[1.0, 0, 1, 1, 1, 0]])
    torch.testing.assert_close(GroupSum(3, tau=2.0)(x), torch.tensor([[0.5, 1.0, 0.5]]))


def test_model_rebuilds_from_config_and_state_dict():
    config = LogicNetConfig(5, 2, (10, 4), 3, (0.0, 1.0), 2.0, wiring="random", grad_factor=1.5, seed=7)
    a, b = LogicNet(config), LogicNet(LogicNetConfig.from_dict(config.to_dict()))
    b.load_state_dict(a.state_dict())
    x = torch.rand(9, 5)
    torch.testing.assert_close(a.eval()(x), b.eval()(x))


def test_learned_connections_train_the_choice_and_harden_to_the_argmax_candidate():
    layer = LogicLayer(20, 30, generator=torch.Generator().manual_seed(3), candidates=4).train()
    x = torch.rand(20, 16)
    out = layer(x)
    grad, = torch.autograd.grad((out * torch.randn_like(out)).sum(), layer.connection_logits)
    assert grad.abs().sum() > 0
    with torch.no_grad():  # make one candidate clearly preferred, then harden
        layer.connection_logits.normal_()
    chosen = layer.hardened_connections()
    expect = layer.candidate_connections.gather(2, layer.connection_logits.argmax(-1, keepdim=True)).squeeze(-1)
    assert torch.equal(chosen, expect)
    bits = torch.randint(0, 2, (16, 20)).float()
    one_hot = torch.nn.functional.one_hot(layer.hardened_ops(), 16).float() * 100
    torch.testing.assert_close(layer.eval()(bits.t()).t(), sixteen_term(bits, one_hot, chosen), rtol=0, atol=1e-6)


@pytest.mark.parametrize("grad_factor", [1.0, 2.5])
def test_learned_connections_equal_their_oracle_in_values_and_gradients(grad_factor):
    layer = LogicLayer(37, 53, generator=torch.Generator().manual_seed(5), candidates=3, grad_factor=grad_factor)
    with torch.no_grad():
        layer.connection_logits.normal_()
    x = torch.rand(17, 37, requires_grad=True)
    weight = torch.randn(17, 53)
    params = (layer.logits, layer.connection_logits, x)
    out = layer.train()(x.t()).t()
    fast = torch.autograd.grad((out * weight).sum(), params)
    ref = learned_sixteen_term(x, layer.logits, layer.candidate_connections, layer.connection_logits)
    slow = torch.autograd.grad((ref * weight).sum(), params)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast[0], slow[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast[1], slow[1], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast[2], grad_factor * slow[2], rtol=1e-4, atol=1e-5)  # grad_factor: input only


def test_learned_connections_at_a_single_candidate_are_plain_gates():
    """With one-hot connection logits the mixture is the plain relaxation of the chosen wiring."""
    layer = LogicLayer(20, 30, generator=torch.Generator().manual_seed(4), candidates=3).train()
    with torch.no_grad():
        layer.connection_logits.copy_(torch.nn.functional.one_hot(torch.randint(0, 3, (2, 30)), 3) * 1e4)
    x = torch.rand(7, 20)
    torch.testing.assert_close(layer(x.t()).t(), sixteen_term(x, layer.logits, layer.hardened_connections()),
                               rtol=1e-5, atol=1e-6)


def _expected_table(pins: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """E[table[address]] for independent pin bits with probabilities ``pins`` ``(batch, k, out)``:
    a sum over all 2**k addresses of the entry times the address's probability."""
    k = pins.shape[1]
    out = 0
    for address in range(1 << k):
        prob = 1
        for q in range(k):
            prob = prob * (pins[:, q] if (address >> q) & 1 else 1 - pins[:, q])
        out = out + prob * p[:, address]
    return out


@pytest.mark.parametrize("k", [1, 2, 4, 6])
def test_lookup_layer_is_the_expected_table_in_value_and_gradient(k):
    from lgn.nn import LookupLayer

    layer = LookupLayer(23, 31, k, generator=torch.Generator().manual_seed(k)).train()
    x = torch.rand(9, 23, requires_grad=True)
    weight = torch.randn(9, 31)
    out = layer(x.t()).t()
    ref = _expected_table(x[:, layer.connections], torch.sigmoid(layer.logits))
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    fast = torch.autograd.grad((out * weight).sum(), (layer.logits, x))
    slow = torch.autograd.grad((ref * weight).sum(), (layer.logits, x))
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_lookup_pins_learn_their_input_among_candidates():
    from lgn.nn import LookupLayer

    layer = LookupLayer(15, 20, 3, generator=torch.Generator().manual_seed(0), candidates=4).train()
    with torch.no_grad():
        layer.connection_logits.normal_()
    x = torch.rand(7, 15)
    weights = torch.softmax(layer.connection_logits, -1)  # (k, out, c)
    pins = (x[:, layer.candidate_connections] * weights).sum(-1)  # (batch, k, out)
    torch.testing.assert_close(layer(x.t()).t(), _expected_table(pins, torch.sigmoid(layer.logits)))
    chosen = layer.candidate_connections.gather(2, layer.connection_logits.argmax(-1, keepdim=True)).squeeze(-1)
    assert torch.equal(layer.hardened_connections(), chosen)
    layer.eval()
    bits = torch.randint(0, 2, (7, 15)).float()
    address = (bits[:, chosen].long() << torch.arange(3)[None, :, None]).sum(1)
    assert torch.equal(layer(bits.t()).t(), layer.hardened_tables().gather(1, address.t()).t().float())


def _kernel_is_definition(kernel, definition, inputs: tuple, weight: torch.Tensor) -> tuple:
    """``kernel`` equals ``definition`` on ``inputs`` in value and in the gradients of
    ``(out * weight).sum()``, and is bit-identical on 1 and 2 threads (one order of every sum
    whatever the split); the kernel's gradients."""
    want = definition(*inputs)
    want_grads = torch.autograd.grad((want * weight).sum(), inputs)
    runs = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            got = kernel(*inputs)
            runs.append((got, *torch.autograd.grad((got * weight).sum(), inputs)))
    finally:
        torch.set_num_threads(before)
    for a, b in zip(*runs):
        assert torch.equal(a, b)
    torch.testing.assert_close(runs[0][0], want)
    for a, b in zip(runs[0][1:], want_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    return runs[0][1:]


@pytest.mark.parametrize("k", range(1, 7))
def test_compiled_multilinear_is_the_torch_definition(k):
    from lgn.nn import lookup, cpu_kernels

    if not cpu_kernels.available(torch.zeros(1)):
        pytest.skip("no C compiler")
    gen = torch.Generator().manual_seed(k)
    pins = torch.rand(k, 150, 37, generator=gen, requires_grad=True)  # 37: not a whole number of blocks
    entries = torch.rand(150, 1 << k, generator=gen, requires_grad=True)
    weight = torch.randn(150, 37, generator=gen)
    _kernel_is_definition(cpu_kernels.multilinear, lookup.multilinear, (pins, entries), weight)


def test_compiled_candidate_mixture_is_the_torch_definition():
    from lgn.nn import lookup, cpu_kernels

    if not cpu_kernels.available(torch.zeros(1)):
        pytest.skip("no C compiler")
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(90, 21, generator=gen, requires_grad=True)
    candidates = torch.randint(0, 80, (3, 200, 5), generator=gen)  # inputs 80..89 unread: zero gradient
    weights = torch.rand(3, 200, 5, generator=gen, requires_grad=True)
    weight = torch.randn(3, 200, 21, generator=gen)
    grad_x, _ = _kernel_is_definition(lambda x, w: cpu_kernels.mix(x, candidates, w),
                                      lambda x, w: lookup.mix(x, candidates, w), (x, weights), weight)
    assert not grad_x[80:].any()
    with pytest.raises(IndexError, match="outside 0..89"):  # a damaged wiring: no read past the inputs
        cpu_kernels.mix(x, candidates + 20, weights)


def test_lookup_layer_trains_alike_through_the_kernels_and_torch():
    """float32 CPU tensors take the compiled kernels, float64 ones torch's definitions."""
    from lgn.nn import LookupLayer

    layer = LookupLayer(40, 300, 6, generator=torch.Generator().manual_seed(1), candidates=3).train()
    with torch.no_grad():
        layer.connection_logits.normal_()
    twin = LookupLayer(40, 300, 6, generator=torch.Generator().manual_seed(1), candidates=3).double().train()
    twin.load_state_dict(layer.state_dict())
    x = torch.rand(40, 50)
    outs = [m(x.to(dtype)).sum() for m, dtype in ((layer, torch.float32), (twin, torch.float64))]
    torch.testing.assert_close(outs[0].double(), outs[1], rtol=1e-5, atol=1e-4)
    for out in outs:
        out.backward()
    for a, b in ((layer.logits, twin.logits), (layer.connection_logits, twin.connection_logits)):
        torch.testing.assert_close(a.grad.double(), b.grad, rtol=1e-4, atol=1e-5)


def test_hardened_lookup_layer_reads_the_addressed_entry():
    from lgn.nn import LookupLayer

    layer = LookupLayer(10, 40, 5, generator=torch.Generator().manual_seed(3)).eval()
    x = torch.randint(0, 2, (64, 10)).float()
    address = (x[:, layer.connections].long() << torch.arange(5)[None, :, None]).sum(1)  # (batch, out)
    want = layer.hardened_tables().gather(1, address.t()).t().float()
    assert torch.equal(layer(x.t()).t(), want)


def test_lookup_connections_read_every_input_on_distinct_pins():
    from lgn.nn.lookup import lookup_connections

    pins = lookup_connections(50, 40, 4, torch.Generator().manual_seed(0))
    assert pins.shape == (4, 40) and set(pins.flatten().tolist()) == set(range(50))
    assert all(len(set(pins[:, j].tolist())) == 4 for j in range(40))


def test_residual_lookup_layer_starts_as_a_buffer_of_pin_zero():
    from lgn.nn import LookupLayer

    layer = LookupLayer(12, 20, 4, generator=torch.Generator().manual_seed(0), residual_init=5.0).eval()
    x = torch.randint(0, 2, (12, 30)).float()
    assert torch.equal(layer(x), x[layer.connections[0]])


@pytest.mark.parametrize("kernels", ["1", "0"])
def test_learned_mapping_reads_its_best_input_and_scores_by_straight_through(kernels, monkeypatch):
    """Restricted to ``allowed`` inputs, the mapping keeps only their scores; it picks, reads and
    scores as a mapping over the whole pool with the others masked out (the dense oracle), through
    the compiled gathered dot products or torch's product."""
    from lgn.nn.mapping import LearnedMapping

    monkeypatch.setenv("LGN_CPU_KERNELS", kernels)
    allowed = torch.rand(30, 12, generator=torch.Generator().manual_seed(1)) < 0.3
    allowed[0] = True  # every node has an input
    mapping = LearnedMapping(30, 12, 3, generator=torch.Generator().manual_seed(0), allowed=allowed)
    dense = LearnedMapping(30, 12, 3, generator=torch.Generator().manual_seed(0))  # the same draw, every input
    assert mapping.weights.shape == (3, int(allowed.sum(0).max()), 12) and torch.equal(mapping.allowed, allowed)
    index = mapping.connections()
    assert all(allowed[index[p, j], j] for p in range(3) for j in range(12))
    assert torch.equal(index, dense.weights.detach().masked_fill(~allowed, float("-inf")).argmax(1))
    x = torch.rand(30, 5, requires_grad=True)
    out = mapping(x)
    assert torch.equal(out, x.detach()[index])
    weight = torch.randn(3, 12, 5)
    grad_w, grad_x = torch.autograd.grad((out * weight).sum(), (mapping.weights, x))
    want_w = torch.einsum("ib,pjb->pij", 2 * x.detach() - 1, weight)  # the dense score gradient
    torch.testing.assert_close(grad_w, want_w.gather(1, mapping.pool.expand(3, -1, -1)))
    want_x = torch.zeros(30, 5).index_add_(0, index.reshape(-1), weight.reshape(-1, 5))
    torch.testing.assert_close(grad_x, want_x)
    # a state dict of the dense form (a score per input and the mask) loads into the compact one
    fresh = LearnedMapping(30, 12, 3, generator=torch.Generator().manual_seed(9), allowed=allowed)
    fresh.load_state_dict({"weights": dense.weights.detach() * 2 - 1, "allowed": allowed})
    assert torch.equal(fresh.connections(), index)
    with pytest.raises(ValueError, match="input mask differs"):
        fresh.load_state_dict({"weights": dense.weights.detach(), "allowed": ~allowed})


def test_lookup_layer_over_the_whole_pool_hardens_to_its_mapping(digits):
    from lgn.harden import harden, hardened_scores
    from lgn.ir import executor
    from lgn.train import loop

    for wiring in ("unique", "local"):
        model = LogicNet(LogicNetConfig(digits.num_features, 10, (120, 100), 2, digits.feature_range, 6.0, wiring=wiring,
                                        family="lut", family_options={"lut_inputs": 4}, candidates=0, image_shape=(8, 8), window=3, seed=2))
        before = model.layers[0].hardened_connections().clone()
        loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=2, seed=2, lr=0.05)
        assert not torch.equal(before, model.layers[0].hardened_connections())  # the wiring moved
        if wiring == "local":
            allowed = model.layers[0].mapping.allowed
            index = model.layers[0].hardened_connections()
            assert all(allowed[index[p, j], j] for p in range(4) for j in range(120))
        net = harden(model)
        assert torch.equal(torch.from_numpy(net.layers[0].src.T).long(), model.layers[0].hardened_connections())
        assert (executor.run(net, digits.x_test).scores == hardened_scores(model, digits.x_test)).all()


def test_quantile_thresholds_split_each_feature_evenly():
    from lgn.nn.encoder import quantile_thresholds

    x = torch.rand(4001, 5) * torch.tensor([1.0, 10.0, 100.0, 0.5, 3.0])
    t = quantile_thresholds(x, 3)
    assert t.shape == (5, 3) and (t[:, 1:] > t[:, :-1]).all()
    above = (x.unsqueeze(-1) > t).float().mean(0)  # share of samples above each threshold
    torch.testing.assert_close(above, torch.tensor([0.75, 0.5, 0.25]).expand(5, 3), atol=2e-3, rtol=0)


def test_gates_over_the_whole_pool_harden_to_their_mapping(digits):
    from lgn.harden import harden, hardened_scores
    from lgn.ir import executor
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(digits.num_features, 10, (200, 100), 2, digits.feature_range, 6.0, wiring="local",
                                    candidates=0, image_shape=(8, 8), window=3, grad_factor=1.5, seed=3))
    before = model.layers[0].hardened_connections().clone()
    loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=2, seed=3, lr=0.05)
    index = model.layers[0].hardened_connections()
    assert not torch.equal(before, index)
    assert all(model.layers[0].mapping.allowed[index[p, j], j] for p in range(2) for j in range(200))
    net = harden(model)
    assert (executor.run(net, digits.x_test).scores == hardened_scores(model, digits.x_test)).all()
