"""Importers: state dicts laid out as difflogic and torchlogix save them, evaluated here the way
those libraries' eval modes compute, must predict exactly what the imported netlist predicts."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from lgn.errors import FormatError
from lgn.importers import Architecture, import_model
from lgn.ir import executor
from lgn.nn.reference import sixteen_gates

INPUTS, WIDTHS, CLASSES = 40, (48, 36, 30), 3


def difflogic_eval(state: dict, indices: list, x: torch.Tensor, classes: int = CLASSES) -> torch.Tensor:
    """difflogic's eval forward: one-hot argmax weights over the 16 relaxed ops, then GroupSum."""
    for i, (a, b) in enumerate(indices):
        w = torch.nn.functional.one_hot(state[f"{i + 1}.weights"].argmax(-1), 16).float()
        x = (sixteen_gates(x[..., a], x[..., b]) * w).sum(-1)
    return x.reshape(len(x), classes, -1).sum(-1)


def torchlogix_eval(state: dict, x: torch.Tensor, classes: int = CLASSES, light: bool = False) -> torch.Tensor:
    """torchlogix's eval forward for dense layers of k-input nodes: raw (argmax op), Walsh (the
    coefficients times their basis products, summed in order: ``-sum > 0``) or light (entries
    thresholded at 0, read through the indicator basis), fixed or learnable (argmax candidate)
    connections; pin 0 is the most significant bit of a coefficient's or entry's index."""
    for i in range(sum(1 for k in state if k.endswith(".weight"))):
        idx, weight = state[f"{i}.connections.indices"], state[f"{i}.weight"]
        if idx.dim() == 3:
            choice = state[f"{i}.connections.weights"].argmax(0)
            idx = idx[choice, torch.arange(idx.shape[1])[:, None], torch.arange(idx.shape[2])[None]]
        k = idx.shape[0]
        pins = [x[:, idx[p]] for p in range(k)]
        covers = lambda c, p: (c >> (k - 1 - p)) & 1  # noqa: E731
        if k == 2 and weight.shape[1] == 16:
            w = torch.nn.functional.one_hot(weight.argmax(-1), 16).float()
            x = (sixteen_gates(pins[0], pins[1]) * w).sum(-1)
        elif light:
            w = (weight > 0).float()
            x = sum(w[:, t] * torch.stack([pins[p] if covers(t, p) else 1 - pins[p] for p in range(k)]).prod(0)
                    for t in range(1 << k))
        else:
            signs = [1 - 2 * pin for pin in pins]
            total = weight[:, 0] * torch.ones_like(pins[0])
            for c in range(1, 1 << k):
                total = total + weight[:, c] * torch.stack([signs[p] for p in range(k) if covers(c, p)]).prod(0)
            x = (-total > 0).float()
    return x.reshape(len(x), classes, -1).sum(-1)


def difflogic_build(seed: int, connections: str, device_is_cpu: bool, split: int = 0, inputs: int = INPUTS,
                    widths: tuple[int, ...] = WIDTHS) -> tuple[dict, list]:
    """A model the way difflogic's constructors draw it from the global generator (after the
    ``random_split`` of ``split`` training samples that its experiments/main.py draws first)."""
    torch.manual_seed(seed)
    if split:
        torch.utils.data.random_split(range(split), [split, 0])
    cuda = torch.Generator().manual_seed(seed + 1)  # stands in for the CUDA generator
    state, indices, in_dim = {}, [], inputs
    for i, out_dim in enumerate(widths):
        weights = torch.randn(out_dim, 16) if device_is_cpu else torch.randn(out_dim, 16, generator=cuda)
        if connections == "random":
            c = torch.randperm(2 * out_dim) % in_dim
            c = torch.randperm(in_dim)[c].reshape(2, out_dim)
            a, b = c[0], c[1]
        else:
            pairs = [(j, j + 1) for j in range(0, in_dim - 1, 2)]
            if len(pairs) < out_dim:
                pairs += [(j, j + 1) for j in range(1, in_dim - 1, 2)]
            offset = 2
            while out_dim > len(pairs) > offset:
                pairs += [(j, j + offset) for j in range(in_dim - offset)]
                offset += 1
            pairs = torch.tensor(pairs[:out_dim])[torch.randperm(out_dim)]
            a, b = pairs[:, 0], pairs[:, 1]
        state[f"{i + 1}.weights"] = weights
        indices.append((a, b))
        in_dim = out_dim
    return state, indices


def assert_same_predictions(net, scores: torch.Tensor, x: torch.Tensor) -> None:
    ref = executor.run(net, x.numpy())
    np.testing.assert_array_equal(ref.scores, scores.round().long().numpy())
    np.testing.assert_array_equal(ref.classes, scores.argmax(1).numpy())


@pytest.fixture
def bits():
    return (torch.rand(600, INPUTS, generator=torch.Generator().manual_seed(9)) > 0.5).float()


def test_difflogic_with_stored_indices(tmp_path, bits):
    state, indices = difflogic_build(1, "random", True)
    saved = dict(state) | {f"{i + 1}.indices": torch.stack(ab) for i, ab in enumerate(indices)}
    torch.save(saved, tmp_path / "model.pt")
    net = import_model("difflogic", tmp_path / "model.pt", Architecture(INPUTS, CLASSES))
    assert [layer.size for layer in net.layers] == list(WIDTHS)
    assert_same_predictions(net, difflogic_eval(state, indices, bits), bits)


@pytest.mark.parametrize("connections", ["random", "unique"])
@pytest.mark.parametrize("on_cpu", [True, False])
def test_difflogic_connections_replayed_from_the_seed(tmp_path, bits, connections, on_cpu):
    state, indices = difflogic_build(7, connections, on_cpu)
    save_file(state, tmp_path / "model.safetensors")  # what model.state_dict() holds: weights only
    net = import_model("difflogic", tmp_path / "model.safetensors", Architecture(INPUTS, CLASSES),
                       seed=7, connections_init=connections, built_on="cpu" if on_cpu else "cuda")
    assert_same_predictions(net, difflogic_eval(state, indices, bits), bits)


def test_difflogic_without_indices_or_seed_names_the_fix(tmp_path):
    state, _ = difflogic_build(1, "random", True)
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(FormatError, match="--seed"):
        import_model("difflogic", tmp_path / "model.safetensors", Architecture(INPUTS, CLASSES))


@pytest.mark.parametrize("rank, parametrization", [(2, "raw"), (2, "warp"), (2, "light"), (1, "warp"), (4, "warp"),
                                                   (4, "light"), (6, "warp"), (6, "light")])
@pytest.mark.parametrize("learnable", [False, True])
def test_torchlogix_layers(tmp_path, bits, rank, parametrization, learnable):
    g = torch.Generator().manual_seed(3)
    state, in_dim = {}, INPUTS
    for i, out_dim in enumerate(WIDTHS):
        state[f"{i}.weight"] = torch.randn(out_dim, 16 if parametrization == "raw" else 1 << rank, generator=g)
        shape = (4, rank, out_dim) if learnable else (rank, out_dim)
        state[f"{i}.connections.indices"] = torch.randint(in_dim, shape, generator=g)
        if learnable:
            state[f"{i}.connections.weights"] = torch.rand(shape, generator=g)
        in_dim = out_dim
    save_file(state, tmp_path / "model.safetensors")
    light = parametrization == "light"
    net = import_model("torchlogix", tmp_path / "model.safetensors", Architecture(INPUTS, CLASSES),
                       parametrization="light" if light else "auto")
    assert {type(layer).__name__ for layer in net.layers} == {"GateLayer" if rank == 2 else "LutLayer"}
    assert_same_predictions(net, torchlogix_eval(state, bits, light=light), bits)


def test_torchlogix_weights_that_fit_no_parametrization_are_refused(tmp_path):
    g = torch.Generator().manual_seed(3)
    state = {"0.weight": torch.randn(30, 16, generator=g), "0.connections.indices": torch.randint(INPUTS, (4, 30))}
    save_file(state, tmp_path / "model.safetensors")
    import_model("torchlogix", tmp_path / "model.safetensors", Architecture(INPUTS, CLASSES))  # 4-input warp
    with pytest.raises(FormatError, match=r"4-input nodes has \(out, 16 \(warp, light\)\) weights"):
        import_model("torchlogix", tmp_path / "model.safetensors", Architecture(INPUTS, CLASSES), parametrization="raw")
    state["0.connections.indices"] = torch.randint(INPUTS, (3, 30))
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(FormatError, match="3-input nodes"):
        import_model("torchlogix", tmp_path / "model.safetensors", Architecture(INPUTS, CLASSES))




@pytest.mark.eda
def test_cli_import_then_predict(tmp_path):
    torch.manual_seed(0)
    state = {"1.weights": torch.randn(200, 16), "2.weights": torch.randn(100, 16)}
    save_file(state, tmp_path / "model.safetensors")
    run = lambda *a: subprocess.run([sys.executable, "-m", "lgn.cli", *map(str, a)],  # noqa: E731
                                    capture_output=True, text=True, timeout=600)
    out = tmp_path / "out"
    # no --threshold: the middle of digits' range 0..16, as a model trained on that data reads it
    result = run("import", "difflogic", tmp_path / "model.safetensors", "--inputs", 64, "--classes", 10,
                 "--seed", 0, "--built-on", "cpu", "--dataset", "digits", "--out", out)
    assert result.returncode == 0, result.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["import"]["format"] == "difflogic" and rep["gates"]["hardened"] == 300
    assert rep["import"]["threshold"] == 8.0 and "middle of digits's range 0..16" in result.stderr
    assert f"{rep['accuracy']['netlist']:.2%}" in result.stderr  # an untrained model: near chance, and said so
    assert rep["accuracy"]["netlist"] < 0.15 and "WARNING" in result.stderr and "near chance" in result.stderr
    assert rep["bit_exact"]["netlist_vs_import_random"] == [1000, 1000]
    assert rep["gates"]["netlist"] <= 300 and (out / "classifier.v").exists()
    result = run("predict", out / "netlist.safetensors", "--data", "digits")
    assert result.returncode == 0 and "accuracy" in result.stdout, result.stderr
    bad = run("import", "torchlogix", tmp_path / "model.safetensors", "--inputs", 64, "--classes", 10,
              "--out", tmp_path / "bad")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "no torchlogix LogicDense layer" in bad.stderr.strip().splitlines()[-1]


def test_difflogic_wiring_replayed_after_the_training_scripts_split(tmp_path, bits):
    """difflogic's experiments/main.py draws random_split's permutation between seeding and building:
    without --split-first the replayed wiring is another one."""
    state, indices = difflogic_build(3, "random", True, split=500)
    save_file(state, tmp_path / "model.safetensors")
    want = difflogic_eval(state, indices, bits)
    net = import_model("difflogic", tmp_path / "model.safetensors", Architecture(INPUTS, CLASSES), seed=3,
                       connections_init="random", built_on="cpu", split_first=500)
    assert_same_predictions(net, want, bits)
    unsplit = import_model("difflogic", tmp_path / "model.safetensors", Architecture(INPUTS, CLASSES), seed=3,
                           connections_init="random", built_on="cpu")
    assert not np.array_equal(executor.run(unsplit, bits.numpy()).scores, want.round().long().numpy())


def _readme_command(library: str, model: Path, out: Path) -> list[str]:
    """The README's `lgn import LIBRARY` example, as written, on ``model`` into ``out``."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith(f"lgn import {library} "))
    args = line.split("#")[0].split()[1:]
    args[args.index("model.safetensors")] = str(model)
    args[args.index("--out") + 1] = str(out)
    return args


@pytest.mark.eda
@pytest.mark.parametrize("library", ["difflogic", "torchlogix"])
def test_the_readmes_import_commands_agree_with_the_model_on_every_mnist_test_image(tmp_path, library, monkeypatch):
    """The README's examples, run as written on state dicts laid out as the libraries' MNIST
    scripts leave them (difflogic's experiments/main.py: seeded, random_split of the 60,000
    training images, then the model built on CUDA; its inputs are pixels / 255 rounded)."""
    from lgn import cli
    from lgn.data import load
    from lgn.data.idx import MNIST_ENV
    from lgn.ir import serialize

    mnist = Path(__file__).parents[2] / "shared" / "datasets" / "mnist"
    if not (mnist / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST is not on this machine")
    monkeypatch.setenv(MNIST_ENV, str(mnist))
    widths = (1000, 500)
    if library == "difflogic":
        state, indices = difflogic_build(0, "random", False, split=60000, inputs=784, widths=widths)
        model = lambda x: difflogic_eval(state, indices, x, classes=10)  # noqa: E731
    else:
        g, state, in_dim = torch.Generator().manual_seed(2), {}, 784
        for i, width in enumerate(widths):
            state[f"{i}.weight"] = torch.randn(width, 4, generator=g)
            state[f"{i}.connections.indices"] = torch.randint(in_dim, (2, width), generator=g)
            in_dim = width
        model = lambda x: torchlogix_eval(state, x, classes=10)  # noqa: E731
    save_file(state, tmp_path / "model.safetensors")
    assert cli.main(_readme_command(library, tmp_path / "model.safetensors", tmp_path / "out")) == 0
    ds = load("mnist")
    pixels = torch.from_numpy(ds.x_test).float()
    want = model((pixels / 255).round())
    assert_same_predictions(serialize.load(tmp_path / "out" / "netlist.safetensors"), want, pixels)
