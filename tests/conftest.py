"""Shared fixtures: random IR netlists and a small trained digits model."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lgn.ir import ops  # noqa: E402
from lgn.ir.netlist import GateLayer, GroupSumHead, InputEncoding, Netlist  # noqa: E402

torch.set_num_threads(2)


def random_netlist(rng: np.random.Generator, *, features: int = 12, per_feature: int = 2,
                   widths: tuple[int, ...] = (40, 30), classes: int = 3, group: int = 5) -> Netlist:
    """A netlist with every op, skip wiring (layers read any earlier bit) and a head over mixed layers."""
    width = features * per_feature
    inputs = InputEncoding(features, np.repeat(np.arange(features, dtype=np.int32), per_feature),
                           np.tile(np.linspace(0.2, 0.8, per_feature, dtype=np.float32), features))
    layers, available = [], width
    for w in widths:
        op = np.resize(np.arange(ops.NUM_OPS, dtype=np.uint8), w)
        rng.shuffle(op)
        layers.append(GateLayer(op, rng.integers(0, available, w, dtype=np.int32),
                                rng.integers(0, available, w, dtype=np.int32)))
        available += w
    head = GroupSumHead(classes, rng.integers(width, available, classes * group, dtype=np.int32))
    return Netlist(inputs, tuple(layers), head).validate()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def digits():
    from lgn.train import data
    return data.load("digits")


@pytest.fixture(scope="session")
def trained_digits(digits):
    """A small logic net trained briefly on digits (accuracy is not the point, exactness is)."""
    from lgn.nn import LogicNet, LogicNetConfig
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(digits.num_features, digits.num_classes, (300, 300), 2,
                                    digits.feature_range, 10.0, seed=3))
    loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=3, seed=3)
    return model
