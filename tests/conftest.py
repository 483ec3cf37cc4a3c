"""Shared fixtures: the digits data and a small model trained on it (random netlists: lgn.testing)."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)

#: Modules every test of which runs Yosys, nextpnr, a simulator or the lgn command itself; tests
#: elsewhere that do carry ``@pytest.mark.eda`` themselves. Every other test is ``unit``.
EDA_MODULES = {"test_bad_input", "test_cli", "test_determinism", "test_fold", "test_formal", "test_host", "test_rtl",
               "test_toolchain"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in EDA_MODULES:
            item.add_marker(pytest.mark.eda)
        if item.get_closest_marker("eda") is None:
            item.add_marker(pytest.mark.unit)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def digits():
    from lgn import data
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
