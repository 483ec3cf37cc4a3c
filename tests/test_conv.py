"""Convolutional logic layers: the relaxation against a per-position oracle, pooling, and the
lowering to gate layers bit-exact with the hardened model; bad geometry refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lgn.harden import harden, hardened_scores
from lgn.ir import executor
from lgn.nn import LogicNet, LogicNetConfig, cpu_kernels
from lgn.nn.conv import LogicConv2d, OrPool2d
from lgn.nn.reference import sixteen_gates


def oracle(conv: LogicConv2d, x: torch.Tensor) -> torch.Tensor:
    """The relaxed convolution window by window, batch-first ``(batch, in) -> (batch, out)``:
    each kernel's tree of difflogic's 16-term gates over its leaves' pixels, written from the
    layout (pixel-major, channels adjacent) and not from the layer's index tables."""
    (rows, cols), (out_rows, out_cols) = conv.image, conv.out_image
    dy, dx, ch = conv.leaf_offsets
    image = x.reshape(len(x), rows, cols, conv.in_channels)
    out = torch.empty(len(x), out_rows, out_cols, conv.out_channels)
    for k in range(conv.out_channels):
        for r in range(out_rows):
            for c in range(out_cols):
                values = [image[:, r + dy[k, leaf], c + dx[k, leaf], ch[k, leaf]] for leaf in range(dy.shape[1])]
                for level in conv.levels():
                    weights = torch.softmax(level[k], -1)
                    values = [(sixteen_gates(values[2 * i], values[2 * i + 1]) * weights[i]).sum(-1)
                              for i in range(len(values) // 2)]
                out[:, r, c, k] = values[0]
    return out.reshape(len(x), -1)


@pytest.mark.parametrize("kernels", ["compiled", "torch"])
@pytest.mark.parametrize("seed", [0, 1])
def test_convolution_equals_the_window_by_window_oracle_in_value_and_gradient(seed, kernels, monkeypatch):
    if kernels == "torch":
        monkeypatch.setenv("LGN_CPU_KERNELS", "0")
    elif not cpu_kernels.available(torch.zeros(1)):
        pytest.skip("no C compiler built the CPU kernels")
    g = torch.Generator().manual_seed(seed)
    conv = LogicConv2d(3, 4, (6, 5), generator=g, kernel=3, depth=3, group=2).train()
    x = torch.rand(7, 6 * 5 * 3, generator=g, requires_grad=True)
    weight = torch.randn(7, conv.out_features, generator=g)
    fast = conv(x.t()).t()
    slow = oracle(conv, x)
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-6)
    for a, b in zip(torch.autograd.grad((fast * weight).sum(), (conv.logits, x)),
                    torch.autograd.grad((slow * weight).sum(), (conv.logits, x))):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_compiled_trees_equal_the_torch_levels(depth, monkeypatch):
    """Columns (positions x samples) across several of the kernel's chunks and not a whole number of
    its lanes; trees of other depths than the oracle's."""
    if not cpu_kernels.available(torch.zeros(1)):
        pytest.skip("no C compiler built the CPU kernels")
    g = torch.Generator().manual_seed(depth)
    conv = LogicConv2d(4, 6, (20, 23), generator=g, depth=depth, group=3).train()
    x = torch.rand(conv.in_features, 9, generator=g, requires_grad=True)
    weight = torch.randn(conv.out_features, 9, generator=g)
    runs = []
    for flag in ("1", "0"):
        monkeypatch.setenv("LGN_CPU_KERNELS", flag)
        y = conv(x)
        runs.append((y, *torch.autograd.grad((y * weight).sum(), (conv.logits, x))))
    for compiled, reference in zip(*runs):
        torch.testing.assert_close(compiled, reference, rtol=1e-4, atol=1e-5)


def test_or_pooling_is_the_max_of_each_block_and_the_or_of_bits():
    pool = OrPool2d(2, (4, 5))  # the odd last column is dropped
    x = torch.rand(4 * 5 * 2, 3)
    image = x.t().reshape(3, 4, 5, 2)
    expected = image[:, :4, :4].reshape(3, 2, 2, 2, 2, 2).amax((2, 4)).reshape(3, -1)
    torch.testing.assert_close(pool(x).t(), expected)
    bits = (x > 0.5).float()
    assert set(pool(bits).unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_trained_conv_network_lowers_bit_exact(digits, seed):
    """Two conv blocks and a dense layer on digits, a few training steps, hardened: the
    executor's scores equal the hardened torch model's on the test split and on random inputs."""
    model = LogicNet(LogicNetConfig(64, 10, (200,), 2, digits.feature_range, 4.0, seed=seed, image_shape=(8, 8),
                                    conv=(6,), residual_init=2.0 if seed else None))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    x, y = torch.as_tensor(digits.x_train[:512]), torch.as_tensor(digits.y_train[:512])
    for idx in torch.arange(512).split(64):
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net = harden(model.eval())
    assert net.num_gates == model.num_gates == 6 * 36 * 7 + 3 * 6 * 9 + 200
    rand = np.random.default_rng(seed).uniform(0, 16, (500, 64)).astype(np.float32)
    for raw in (digits.x_test, rand):
        assert (executor.run(net, raw).scores == hardened_scores(model, raw)).all()


@pytest.mark.parametrize("config, message", [
    (dict(image_shape=None), "need the 64 features laid out as an image"),
    (dict(conv=(4, 4, 4)), "leaves no image"),
    (dict(wiring="local", window=4), "larger than the 3x3 pooled image"),
    (dict(candidates=40), "more than the 36 inputs"),  # 4 kernels over a pooled 3x3 image, not 128 encoded bits
])
def test_bad_conv_geometry_is_refused(config, message):
    base = dict(image_shape=(8, 8), conv=(4,))
    with pytest.raises(ValueError, match=message):
        LogicNet(LogicNetConfig(64, 10, (100,), 2, (0.0, 16.0), 4.0, **(base | config)))


@pytest.mark.parametrize("candidates", [1, 4])
def test_local_wiring_after_conv_reads_patches_of_the_pooled_image(candidates):
    """Units laid over the last block's 13x13 pooled image read only the kernels' bits inside
    their 3x3 patch, every channel of it eligible."""
    config = LogicNetConfig(784, 10, (300, 100), 2, (0.0, 1.0), 4.0, image_shape=(28, 28), conv=(4,),
                            wiring="local", window=3, candidates=candidates)
    layer = LogicNet(config).layers[2]
    sources = layer.hardened_connections()  # (2, units): with candidates, the one each pin's logits favour
    cell = sources // 4
    rows, cols = cell // 13, cell % 13
    assert (rows.amax(0) - rows.amin(0)).max() <= 2 and (cols.amax(0) - cols.amin(0)).max() <= 2
    assert set((sources % 4).unique().tolist()) == {0, 1, 2, 3}
    assert (rows.amax(0) - rows.amin(0)).max() == 2  # patches, not single pixels


@pytest.mark.parametrize("conv", [(), (4,), (6, 5)])
def test_the_first_layer_reads_what_the_config_says(conv):
    config = LogicNetConfig(784, 10, (100,), 2, (0.0, 1.0), 4.0, image_shape=(28, 28), conv=conv)
    layer = LogicNet(config).layers[2 * len(conv)]
    assert layer.in_features == config.layer_inputs()


@pytest.mark.eda
def test_a_conv_network_through_the_cli_to_rtl(tmp_path):
    """`lgn run --conv` on digits to the RTL simulation, bit-exact on every test image."""
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "lgn.cli", "run", "--conv", "8", "--widths", "300", "--tau", "6",
                             "--epochs", "2", "--lr", "0.05", "--to", "sim", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "larger than the 3x3 image the convolutional blocks leave" in result.stderr  # the preset's window set aside
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["bit_exact"]["rtl_vs_netlist"] == [360, 360] and rep["bit_exact"]["netlist_vs_torch"] == [360, 360]
    assert rep["gates"]["hardened"] == 8 * 36 * 7 + 3 * 8 * 9 + 300 and rep["train"]["conv"] == [8]
