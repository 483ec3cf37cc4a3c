"""The compiled CPU engine agrees with the reference executor bit for bit (on random networks:
test_differential.py)."""

import numpy as np
import pytest

from lgn import engine
from lgn.errors import LgnError
from lgn.harden import harden
from lgn.ir import executor, passes
from lgn.testing import random_netlist


def assert_same(net, raw, backend="c"):
    want, got = executor.run(net, raw), engine.build(net, backend).run(raw)
    np.testing.assert_array_equal(got.scores, want.scores)
    np.testing.assert_array_equal(got.classes, want.classes)




def test_engine_runs_a_trained_and_optimised_network(trained_digits, digits):
    net = harden(trained_digits)
    assert_same(net, digits.x_test)
    assert_same(passes.run(net)[0], digits.x_test)


def test_numpy_backend_is_the_reference(rng):
    net = random_netlist(rng)
    raw = rng.uniform(0, 1, (100, 12)).astype(np.float32)
    assert engine.build(net, "numpy").backend == "numpy"
    assert_same(net, raw, "numpy")


def test_engine_rejects_wrong_shapes_and_backends(rng):
    net = random_netlist(rng)
    with pytest.raises(ValueError, match="12 features"):
        engine.build(net).run(np.zeros((3, 13), np.float32))
    with pytest.raises(LgnError, match="unknown engine backend"):
        engine.build(net, "gpu")


def test_compiler_failure_names_its_log(monkeypatch, tmp_path, rng):
    from lgn.engine import native
    from lgn.errors import ToolError

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(ToolError) as info:
        native.shared_library("this is not C;", native.compiler())
    assert info.value.log is not None and info.value.log.exists()
    assert not list((tmp_path / "lgn" / "engine").glob("*.so"))
