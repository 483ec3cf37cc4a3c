"""Local wiring: units read only a patch of the image around their position."""

import pytest
import torch

from lgn.nn import LogicLayer, LogicNet, LogicNetConfig
from lgn.nn.patches import input_positions, patch_connections, unit_positions

MNIST = (28, 28)


def test_every_unit_reads_only_its_window_and_all_of_it():
    sources = input_positions(MNIST, 2)
    assert sources.shape == (784 * 2, 2) and sources[2 * 30 + 1].tolist() == [1, 2]  # bit f*2+j on pixel f
    units = torch.tensor([[0, 0], [13, 14], [27, 5], [3, 27]])
    conn = patch_connections(sources, units, MNIST, 5, (4000,), torch.Generator().manual_seed(0))
    assert conn.shape == (4, 4000)
    for unit, read in zip(units, sources[conn]):
        low, high = read.amin(0), read.amax(0)
        assert (high - low).tolist() == [4, 4]  # a whole 5x5 patch, moved inward at the edges
        assert ((read - unit).abs() <= 4).all()
        # uniform draws with repetition: 4000 draws from 50 bits reach every one of them
        assert len(conn[0].unique()) == 50
    assert ((sources[conn[1]] - units[1]).abs() <= 2).all()  # an inner unit's patch is centred on it


def test_a_window_wider_than_the_image_reads_the_whole_image():
    conn = patch_connections(input_positions((8, 8), 1), torch.tensor([[4, 4]]), (8, 8), 11, (3, 1000),
                             torch.Generator().manual_seed(1))
    assert conn.shape == (1, 3, 1000) and len(conn.unique()) == 64
    with pytest.raises(ValueError, match="at least 1"):
        patch_connections(input_positions((8, 8), 1), torch.tensor([[4, 4]]), (8, 8), 0, (3,))


def test_each_class_group_of_the_last_layer_covers_the_whole_image():
    hidden, last = unit_positions(1000, MNIST), unit_positions(1000, MNIST, groups=10)
    for positions in (hidden, *last.view(10, 100, 2)):
        quadrant = (positions[:, 0] >= 14) * 2 + (positions[:, 1] >= 14)
        counts = torch.bincount(quadrant, minlength=4)
        assert counts.min() >= len(positions) // 5  # about a quarter in each quadrant
        assert positions.amin(0).tolist() == [0, 0] and (positions.amax(0) >= 26).all()


def _pins(layer) -> torch.Tensor:
    """Every input a unit may read, ``(units, pins)``, whatever the layer's kind."""
    if hasattr(layer, "candidate_connections"):  # a gate layer with learned connections: (2, gates, k)
        return layer.candidate_connections.movedim(1, 0).flatten(1)
    if isinstance(layer, LogicLayer):
        return layer.connections.t()
    return layer.connections.flatten(1)


@pytest.mark.parametrize("family, candidates, pins", [("dendritic", 1, 12), ("sparse", 1, 6), ("logic", 1, 2),
                                                      ("logic", 3, 6)])
def test_local_networks_wire_every_layer_from_patches_of_the_one_below(family, candidates, pins):
    config = LogicNetConfig(784, 10, (300, 200), 1, (0.0, 255.0), 4.0, wiring="local", window=5, family=family,
                            family_options={"dendritic": {"branches": 3, "synapses": 4}, "sparse": {"synapses": 6}}.get(family, {}),
                            candidates=candidates,
                            image_shape=MNIST)
    model = LogicNet(config)
    below = input_positions(MNIST, 1)
    for layer, groups in zip(model.layers, (1, 10)):
        units = unit_positions(layer.out_features, MNIST, groups)
        read = below[_pins(layer)]
        assert read.shape == (layer.out_features, pins, 2)
        assert ((read.amax(1) - read.amin(1)) <= 4).all() and ((read - units[:, None]).abs() <= 4).all()
        below = units
    rebuilt = LogicNet(LogicNetConfig.from_dict(config.to_dict()))
    rebuilt.load_state_dict(model.state_dict())
    assert all(torch.equal(_pins(a), _pins(b)) for a, b in zip(model.layers, rebuilt.layers))


@pytest.mark.parametrize("changes, message", [
    ({"family": "binary"}, "local wiring is for the logic, lut, sparse and dendritic families"),
    ({"image_shape": None}, "laid out as an image"),
    ({"image_shape": (27, 28)}, "laid out as an image"),
    ({"window": 0}, "at least 1"),
])
def test_local_wiring_needs_a_threshold_family_an_image_and_a_window(changes, message):
    config = dict(num_features=784, num_classes=10, widths=(100,), wiring="local", family="dendritic",
                  image_shape=MNIST) | changes
    with pytest.raises(ValueError, match=message):
        LogicNet(LogicNetConfig(**config))


def test_patch_mask_is_the_pool_patch_connections_draw_from():
    from lgn.nn.patches import input_positions, patch_connections, patch_mask, unit_positions

    sources, units = input_positions((9, 7), 2), unit_positions(40, (9, 7))
    mask = patch_mask(sources, units, (9, 7), 3)
    assert mask.shape == (126, 40) and (mask.sum(0) == 18).all()  # 3x3 pixels, 2 bits each: edges move inward
    drawn = patch_connections(sources, units, (9, 7), 3, (50,), torch.Generator().manual_seed(0))
    assert all(mask[drawn[j], j].all() for j in range(40))
