"""A short differential campaign: random networks through every target, which must all agree with
the reference executor (the long campaign is bench/fuzz.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgn.testing import disagreements, random_case


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_target_agrees_on_random_networks(seed):
    net, raw = random_case(np.random.default_rng(seed))
    assert disagreements(net, raw) == []


@pytest.mark.eda
def test_rtl_agrees_on_random_networks(tmp_path):
    for seed in (1, 2):
        net, raw = random_case(np.random.default_rng(seed), max_width=40)
        assert disagreements(net, raw, rtl_dir=tmp_path / str(seed)) == []
