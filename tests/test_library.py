"""lgn as a library: a model composed of lgn's layers of three families, trained by a plain
PyTorch loop, lowered and built through the Python API that mirrors the CLI's stages."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lgn import data, stages
from lgn.errors import LgnError
from lgn.harden import parts
from lgn.nn import FeatureMajor, GroupSum, LogicLayer, LookupLayer, ThresholdEncoder, XnorLinear
from lgn.nn.encoder import even_thresholds


def mixed_model(seed: int = 0) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    return nn.Sequential(
        ThresholdEncoder(even_thresholds(64, 3, 0.0, 16.0)),
        FeatureMajor(LogicLayer(192, 600, generator=g), LookupLayer(600, 300, 4, generator=g)),
        FeatureMajor(XnorLinear(300, 200, g)),
        GroupSum(10, tau=4.0))


def train(model: nn.Module, ds, epochs: int) -> float:
    """A plain PyTorch loop, nothing of lgn's; the test accuracy of the eval-mode model."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    x, y = torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train)
    g = torch.Generator().manual_seed(1)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=g).split(64):
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return float((model(torch.as_tensor(ds.x_test)).argmax(1) == torch.as_tensor(ds.y_test)).float().mean())


def test_a_module_that_is_not_logic_is_named_by_its_path():
    model = mixed_model()
    model[1].insert(1, nn.Dropout(0.1))
    with pytest.raises(TypeError, match=r"model\.1\.1 \(Dropout\) is no layer of an lgn model family"):
        parts(model)
    with pytest.raises(TypeError, match=r"model\.1 \(Linear\) cannot be lowered"):
        parts(nn.Sequential(ThresholdEncoder(even_thresholds(4, 1, 0, 1)), nn.Linear(4, 4), GroupSum(2)))


def test_compile_model_refuses_what_cannot_be_lowered(tmp_path):
    with pytest.raises(LgnError, match="the model cannot be lowered"):
        stages.compile_model(tmp_path, nn.Sequential(nn.Linear(64, 10), nn.ReLU()), "digits")
    assert not any(tmp_path.iterdir())


@pytest.mark.eda
def test_a_users_mixed_family_model_through_the_api(tmp_path):
    ds = data.load("digits")
    model = mixed_model()
    accuracy = train(model, ds, epochs=5)
    rep = stages.compile_model(tmp_path, model, "digits")
    assert rep["bit_exact"]["netlist_vs_torch"] == [360, 360] and rep["bit_exact"]["netlist_vs_torch_random"] == [1000, 1000]
    assert rep["accuracy"]["netlist"] == pytest.approx(accuracy) and accuracy > 0.3
    rep = stages.sim_stage(tmp_path)
    assert rep["bit_exact"]["rtl_vs_netlist"] == [360, 360] and rep["accuracy"]["rtl"] == rep["accuracy"]["netlist"]
    rep = stages.synth_stage(tmp_path, board_name="icebreaker")
    assert rep["synth"]["luts"] > 0 and (tmp_path / "icebreaker.bin").exists()
