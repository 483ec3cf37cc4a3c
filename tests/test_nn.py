import torch

from lgn.nn import GroupSum, LogicLayer, LogicNet, LogicNetConfig


def sixteen_term(x: torch.Tensor, layer: LogicLayer) -> torch.Tensor:
    """difflogic's plain relaxation: the softmax-weighted sum of all 16 real-valued gates."""
    a, b = x[:, layer.connections[0]], x[:, layer.connections[1]]
    ab = a * b
    gates = torch.stack([
        torch.zeros_like(a), ab, a - ab, a, b - ab, b, a + b - 2 * ab, a + b - ab,
        1 - (a + b - ab), 1 - (a + b - 2 * ab), 1 - b, 1 - b + ab, 1 - a, 1 - a + ab, 1 - ab, torch.ones_like(a),
    ], dim=-1)
    return (gates * torch.softmax(layer.logits, -1)).sum(-1)


def test_closed_form_equals_sixteen_term_values_and_gradients():
    layer = LogicLayer(37, 53, generator=torch.Generator().manual_seed(0)).train()
    x = torch.rand(17, 37, dtype=torch.float32)
    out = layer(x)
    grad_fast, = torch.autograd.grad(out.square().sum(), layer.logits)
    ref = sixteen_term(x, layer)
    grad_ref, = torch.autograd.grad(ref.square().sum(), layer.logits)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_fast, grad_ref, rtol=1e-4, atol=1e-6)


def test_hardened_layer_outputs_bits_of_its_argmax_gate():
    layer = LogicLayer(8, 64, generator=torch.Generator().manual_seed(1)).eval()
    x = torch.randint(0, 2, (32, 8)).float()
    out = layer(x)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    hard = layer.hardened_ops()
    layer.logits.data = torch.nn.functional.one_hot(hard, 16).float() * 100
    torch.testing.assert_close(out, sixteen_term(x, layer), rtol=0, atol=1e-6)


def test_random_connections_cover_every_input():
    layer = LogicLayer(100, 60, generator=torch.Generator().manual_seed(2))
    assert set(layer.connections.flatten().tolist()) == set(range(100))
    assert (layer.connections[0] != layer.connections[1]).all()


def test_groupsum_sums_groups_and_divides_by_tau():
    x = torch.tensor([[1.0, 0, 1, 1, 1, 0]])
    torch.testing.assert_close(GroupSum(3, tau=2.0)(x), torch.tensor([[0.5, 1.0, 0.5]]))


def test_model_rebuilds_from_config_and_state_dict():
    config = LogicNetConfig(5, 2, (10, 4), 3, (0.0, 1.0), 2.0, seed=7)
    a, b = LogicNet(config), LogicNet(LogicNetConfig.from_dict(config.to_dict()))
    b.load_state_dict(a.state_dict())
    x = torch.rand(9, 5)
    torch.testing.assert_close(a.eval()(x), b.eval()(x))
