"""Training: presets, checkpoints that survive SIGKILL, and data-parallel runs equal to one process."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from lgn.errors import FormatError
from lgn.nn import LogicNet, LogicNetConfig
from lgn.train import checkpoint, loop
from lgn.train.options import PRESETS, resolve

SMALL = ["--dataset", "digits", "--widths", "120,100", "--thresholds", "2", "--batch-size", "32", "--seed", "5"]
ENV = dict(os.environ, LGN_THREADS="1", OMP_WAIT_POLICY="PASSIVE")


def lgn_train(out, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "lgn.cli", "train", "--out", str(out), *SMALL, *args],
                          capture_output=True, text=True, env=ENV, timeout=timeout)


def model_tensors(out):
    return load_file(str(out / "model.safetensors"))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    result = lgn_train(out, "--epochs", "6")
    assert result.returncode == 0, result.stderr
    return out


def test_report_has_the_training_fields(uninterrupted):
    import json
    rep = json.loads((uninterrupted / "report.json").read_text())
    assert rep["gates"]["trained"] == 220
    assert rep["train"]["epochs"] == 6 and rep["train"]["preset"] == "digits" and rep["train"]["wall_s"] > 0
    assert 0.3 < rep["accuracy"]["hardened"] <= 1 and 0.3 < rep["accuracy"]["trained"] <= 1
    assert (uninterrupted / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.eda
def test_sigkill_then_resume_ends_with_the_uninterrupted_model(tmp_path, uninterrupted):
    proc = subprocess.Popen([sys.executable, "-m", "lgn.cli", "train", "--out", str(tmp_path), *SMALL,
                             "--epochs", "6"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "train-state.safetensors"
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert state.exists(), "training never wrote a checkpoint"
    _, _, epoch, _ = checkpoint.load_state(state)
    if epoch < 6:  # killed mid-run: no finished model may be left for `lgn compile`
        assert not (tmp_path / "model.safetensors").exists()
        refused = lgn_train(tmp_path, "--epochs", "6")
        assert refused.returncode == 1 and "interrupted training run" in refused.stderr
    resumed = subprocess.run([sys.executable, "-m", "lgn.cli", "train", "--out", str(tmp_path), "--resume"],
                             capture_output=True, text=True, env=ENV, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    want, got = model_tensors(uninterrupted), model_tensors(tmp_path)
    assert want.keys() == got.keys()
    for key in want:
        assert torch.equal(want[key], got[key]), key


@pytest.mark.eda
def test_resume_extends_epochs_and_keeps_history(tmp_path):
    assert lgn_train(tmp_path, "--epochs", "2").returncode == 0
    result = subprocess.run([sys.executable, "-m", "lgn.cli", "train", "--out", str(tmp_path), "--resume",
                             "--epochs", "3"], capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "epoch 3/3" in result.stderr and "epoch 1/" not in result.stderr
    _, _, epoch, extra = checkpoint.load_state(tmp_path / "train-state.safetensors")
    assert epoch == 3 and [h["epoch"] for h in extra["history"]] == [1, 2, 3]


@pytest.mark.eda
def test_resume_refuses_changed_options(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lgn.cli", "train", "--out", str(tmp_path), "--resume",
                             "--lr", "0.1"], capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 1 and "--lr" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.eda
def test_resume_without_a_state_says_so(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lgn.cli", "train", "--out", str(tmp_path), "--resume"],
                            capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 1
    assert "training state" in result.stderr and "does not exist" in result.stderr


LAUNCHERS = {"torchrun": ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone", "-m", "lgn", "train"],
             "lgn train --processes 2": ["-m", "lgn.cli", "train", "--processes", "2"]}


@pytest.mark.eda
@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_two_gloo_processes_train_the_single_process_model(tmp_path, uninterrupted, launcher):
    """DDP splits each batch across ranks; with the loss scaled to the whole batch, its steps are the
    single-process steps up to float summation order."""
    out = tmp_path / "ddp"
    result = subprocess.run([sys.executable, *LAUNCHERS[launcher], "--out", str(out), *SMALL, "--epochs", "6"],
                            capture_output=True, text=True, env=ENV, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 processes" in result.stderr
    want, got = model_tensors(uninterrupted), model_tensors(out)
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-3, atol=1e-3)


@pytest.mark.eda
def test_a_failing_data_parallel_run_ends_in_one_clear_line(tmp_path):
    """Every worker meets the bad data; the user sees its one ``lgn: error`` line once, not the
    launcher's report of failed child processes."""
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,0\n3,1\n")
    result = subprocess.run([sys.executable, "-m", "lgn.cli", "train", "--processes", "2", "--dataset",
                             str(tmp_path / "d.csv"), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lgn: error:"), result.stderr
    assert "d.csv line 3 has 2 columns, not 3" in lines[0]
    assert not (tmp_path / "out").exists()


def test_optimizer_state_round_trips_exactly(tmp_path, digits):
    model = LogicNet(LogicNetConfig(digits.num_features, 10, (50, 40), 2, digits.feature_range, 5.0, seed=1))
    saved = {}
    loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=1, seed=1,
             on_epoch=lambda hist, opt: saved.update(opt=opt.state_dict()) or
             checkpoint.save_state(tmp_path / "s", model, opt, hist[-1].epoch, {"note": "x"}))
    restored, opt_state, epoch, extra = checkpoint.load_state(tmp_path / "s")
    assert epoch == 1 and extra == {"note": "x"}
    for pid, slots in saved["opt"]["state"].items():
        for name, value in slots.items():
            assert torch.equal(opt_state["state"][pid][name], value)
    for key, value in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value)


def test_shift_moves_each_image_by_its_own_draw():
    from lgn.train.augment import Shift

    rows, cols, channels, pixels = 6, 7, 2, 2
    x = torch.rand(40, rows * cols * channels) + 1  # no pixel equals the fill
    shift = Shift((rows, cols), x.shape[1], pixels, fill=0.0)
    got = shift(x, torch.Generator().manual_seed(3))
    assert torch.equal(got, shift(x, torch.Generator().manual_seed(3)))
    images, moved = x.view(-1, rows, cols, channels), got.view(-1, rows, cols, channels)
    seen = set()
    for image, out in zip(images, moved):
        padded = torch.nn.functional.pad(image, (0, 0, pixels, pixels, pixels, pixels))
        offsets = [(dr, dc) for dr in range(2 * pixels + 1) for dc in range(2 * pixels + 1)
                   if torch.equal(padded[dr:dr + rows, dc:dc + cols], out)]
        assert len(offsets) == 1
        seen.add(offsets[0])
    assert len(seen) > 10  # each sample its own draw
    assert torch.equal(Shift((rows, cols), x.shape[1], 0, 0.0)(x, torch.Generator()), x)


def test_a_shifted_run_resumes_to_the_uninterrupted_model(digits):
    from lgn.train.augment import Shift

    config = LogicNetConfig(digits.num_features, 10, (60, 40), 2, digits.feature_range, 5.0, seed=1)
    shift = Shift(digits.image_shape, digits.num_features, 1, digits.feature_range[0])
    args = (digits.x_train, digits.y_train, digits.x_test, digits.y_test)
    whole, plain = LogicNet(config), LogicNet(config)
    loop.fit(whole, *args, epochs=2, seed=1, augment=shift)
    loop.fit(plain, *args, epochs=2, seed=1)
    half, saved = LogicNet(config), {}
    history = loop.fit(half, *args, epochs=1, seed=1, augment=shift,
                       on_epoch=lambda hist, opt: saved.update(opt=opt.state_dict()))
    loop.fit(half, *args, epochs=2, seed=1, augment=shift, history=history, optimizer_state=saved["opt"])
    for key, value in whole.state_dict().items():
        assert torch.equal(half.state_dict()[key], value), key
    assert not torch.equal(whole.layers[0].logits, plain.layers[0].logits)  # the shift changed the training


def test_model_checkpoint_is_not_a_training_state(tmp_path, uninterrupted):
    with pytest.raises(FormatError, match="not an lgn training state"):
        checkpoint.load_state(uninterrupted / "model.safetensors")


def test_presets_resolve_with_overrides():
    assert resolve("digits", {}) == PRESETS["digits"]
    opts = resolve("mnist-s", {"epochs": 3, "lr": None})
    assert opts.epochs == 3 and opts.lr == PRESETS["mnist-s"].lr and opts.dataset == "mnist"
    assert sum(PRESETS["mnist-s"].widths) <= 16_000 and sum(PRESETS["mnist-m"].widths) <= 64_000
    # a dense family over a locally wired preset takes the default wiring, unless asked for local
    assert PRESETS["digits"].wiring == "local" and resolve("digits", {"family": "binary"}).wiring == "unique"
    assert resolve("digits", {"family": "binary", "wiring": "local"}).wiring == "local"
    assert {PRESETS[p].family for p in ("digits-bnn", "mnist-bnn")} == {"binary"}
    assert PRESETS["mnist-tbn4"].family_options == {"tiles": 4} and PRESETS["mnist-dendrite"].family == "dendritic"
    for data in ("digits", "mnist"):  # the baselines: as many threshold units, each of a branch's fan-in
        dendrite, sparse = PRESETS[f"{data}-dendrite"], PRESETS[f"{data}-sparse"]
        assert sum(sparse.widths) == sum(dendrite.widths) * (dendrite.family_options["branches"] + 1)
        assert sparse.family == "sparse" and sparse.family_options["synapses"] == dendrite.family_options["synapses"]
        assert (sparse.dataset, sparse.thresholds) == (dendrite.dataset, dendrite.thresholds)
        assert (sparse.wiring, sparse.window) == (dendrite.wiring, dendrite.window)


def test_family_options_follow_their_family():
    """A family's own options live in ``family_options``: given on the command line, kept only
    while the family has them, refused for another family, and moved there from the flat keys
    older checkpoints wrote."""
    from lgn.errors import LgnError

    assert resolve("digits-lut", {"lut_inputs": 6}).family_options == {"lut_inputs": 6}
    assert resolve("mnist-tbn4", {"family": "binary"}).family_options == {}  # tiles=4 went with the family
    assert resolve("mnist-dendrite", {"family": "sparse"}).family_options == {"synapses": 6}
    with pytest.raises(LgnError, match="--tiles is an option of the tiled family"):
        resolve("digits", {"tiles": 4})
    config = LogicNetConfig(64, 10, (40, 20), family="lut", family_options={"lut_inputs": 6})
    assert config.option("lut_inputs") == 6 and LogicNet(config).layers[0].k == 6
    assert LogicNetConfig(64, 10, (40, 20), family="lut").option("lut_inputs") == 4  # the record's default
    with pytest.raises(KeyError):
        config.option("tiles")
    for family, options, error in (("lut", {"lut_inputs": 7}, "--lut-inputs must be an integer in 1..6"),
                                   ("lut", {"tiles": 2}, "--tiles is no option of the lut family"),
                                   ("tiled", {"tiles": 3}, "multiple of tiles = 3")):
        with pytest.raises(ValueError, match=error):
            LogicNetConfig(64, 10, (40, 20), family=family, family_options=options).validate()
    # what a session-14 checkpoint holds: every family's option as a key of its own
    old = {**LogicNetConfig(64, 10, (40, 20), family="lut").to_dict(), "lut_inputs": 6, "tiles": 1, "branches": 4,
           "synapses": 6}
    del old["family_options"]
    assert LogicNetConfig.from_dict(old).family_options == {"lut_inputs": 6}
    old_opts = {**PRESETS["mnist-tbn4"].to_dict(), "tiles": 4, "lut_inputs": 4}
    del old_opts["family_options"]
    assert PRESETS["mnist-tbn4"].from_dict(old_opts) == PRESETS["mnist-tbn4"]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_builds_its_network(preset, digits):
    """A preset the model rejects would only fail once a user starts it: build each on its
    dataset's shape (MNIST's and CIFAR-10's from the digits labels, without the files); a
    convolutional one also takes a training step."""
    from lgn.data import checked

    opts = PRESETS[preset]
    shape = {"digits": None, "mnist": (2, 28, 28), "cifar10": (2, 32, 32, 3)}[opts.dataset]
    ds = digits if shape is None else checked(opts.dataset, np.zeros(shape, np.uint8), digits.y_train[:2],
                                              np.zeros(shape, np.uint8), digits.y_test[:2], feature_range=(0.0, 255.0))
    model = LogicNet(opts.model_config(ds))
    assert model.config.family == opts.family and len(model.layers) == 2 * len(opts.conv) + len(opts.widths)
    if opts.conv:
        x = torch.as_tensor(np.random.default_rng(0).integers(0, 256, (2, ds.num_features)), dtype=torch.float32)
        torch.nn.functional.cross_entropy(model(x), torch.as_tensor(ds.y_train)).backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)


def test_cosine_schedule_anneals_by_epoch():
    from lgn.train.loop import epoch_lr

    rates = [epoch_lr(0.01, "cosine", e, 10) for e in range(1, 11)]
    assert rates[0] == 0.01 and all(a > b for a, b in zip(rates, rates[1:])) and 0 < rates[-1] < 0.0003
    assert epoch_lr(0.01, "constant", 7, 10) == 0.01
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        epoch_lr(0.01, "step", 1, 10)


def test_a_diverging_loss_stops_training(digits):
    """A non-finite loss ends the run with Diverged (the stage turns it into one line and keeps
    the last epoch's state) instead of training on to a meaningless model."""
    from lgn.nn import LogicNet, LogicNetConfig
    from lgn.train import loop

    model = LogicNet(LogicNetConfig(64, 10, (40, 20), 1, (0.0, 16.0), 4.0, seed=1))
    model.head.tau = 0.0  # every score infinite
    with pytest.raises(loop.Diverged, match="became nan in epoch 1"):
        loop.fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, epochs=2)


def test_device_cpu_trains_the_same_model_as_the_default(tmp_path):
    """--device cpu and auto (no GPU here, or the CPU chosen) give one model bit for bit; the
    checkpoint loads on the CPU whatever the device."""
    from lgn import stages
    from lgn.train import checkpoint
    from lgn.train.options import resolve

    opts = resolve("digits", {"widths": (120, 60), "epochs": 1})
    stages.train_stage(tmp_path / "cpu", opts, device="cpu")
    a, _ = checkpoint.load(tmp_path / "cpu" / "model.safetensors")
    if torch.cuda.is_available():
        return  # auto would train on the GPU: covered below
    stages.train_stage(tmp_path / "auto", opts, device="auto")
    b, _ = checkpoint.load(tmp_path / "auto" / "model.safetensors")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_device_cuda_without_a_gpu_is_one_clear_error(tmp_path):
    from lgn.errors import LgnError
    from lgn.stages.train import device_of

    if torch.cuda.is_available():
        assert device_of("cuda").type == "cuda"
        return
    with pytest.raises(LgnError, match="PyTorch sees no CUDA device"):
        device_of("cuda")
    assert device_of("auto").type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_on_cuda_lowers_bit_exact(tmp_path):
    """A model of every layer kind trained on the GPU: its checkpoint (written from CPU copies)
    loads on the CPU, and the netlist it hardens into scores every test sample exactly as the
    hardened model does on the GPU."""
    from lgn import data, stages
    from lgn.harden import harden, hardened_scores
    from lgn.ir import executor
    from lgn.train import checkpoint
    from lgn.train.options import resolve

    opts = resolve("digits", {"widths": (120, 60), "epochs": 1, "conv": (4,), "candidates": 2})
    rep = stages.train_stage(tmp_path, opts, device="cuda")
    assert rep["train"]["device"].startswith("cuda")
    model, _ = checkpoint.load(tmp_path / "model.safetensors")
    assert next(model.parameters()).device.type == "cpu"
    ds = data.load("digits")
    net = harden(model)
    on_gpu = hardened_scores(model.to("cuda"), ds.x_test)
    assert (on_gpu == executor.run(net, ds.x_test).scores).all()
    assert (executor.run(net, ds.x_test).classes == ds.y_test).mean() == pytest.approx(rep["accuracy"]["hardened"])


def test_a_conv_layer_loaded_from_a_state_dict_reads_its_own_leaves():
    from lgn.nn.conv import LogicConv2d

    a = LogicConv2d(2, 4, (8, 8), generator=torch.Generator().manual_seed(0))
    b = LogicConv2d(2, 4, (8, 8), generator=torch.Generator().manual_seed(1))
    b.load_state_dict(a.state_dict())
    x = torch.rand(128, 3)
    torch.testing.assert_close(a(x), b(x))


@pytest.mark.parametrize("family", ["logic", "lut"])
def test_frozen_wiring_reads_what_the_hardened_model_reads(digits, family):
    """After ``freeze_wiring`` the relaxed pins read the hardened connections exactly (a one-hot
    mixture), the connections no longer learn, and the gates or tables still do."""
    config = LogicNetConfig(digits.num_features, 10, (60, 40), 2, digits.feature_range, 5.0, candidates=4,
                            family=family, family_options={"lut_inputs": 4} if family == "lut" else {}, seed=2)
    model = LogicNet(config)
    args = (digits.x_train, digits.y_train, digits.x_test, digits.y_test)
    loop.fit(model, *args, epochs=1, seed=2)
    wired = [layer.hardened_connections() for layer in model.layers]
    assert model.freeze_wiring() == 2
    for layer, want in zip(model.layers, wired):
        assert torch.equal(layer.hardened_connections(), want)
        assert not layer.connection_logits.requires_grad
        weights = torch.softmax(layer.connection_logits, -1)
        assert torch.equal(weights, torch.nn.functional.one_hot(weights.argmax(-1), 4).float())
    logits = [layer.connection_logits.clone() for layer in model.layers]
    tables = [p.detach().clone() for n, p in model.named_parameters() if p.requires_grad]
    history = loop.fit(model, *args, epochs=2, seed=2, history=[loop.EpochStats(1, 0, 0, 0, 0, 0)])
    assert len(history) == 2
    for layer, before in zip(model.layers, logits):
        assert torch.equal(layer.connection_logits, before)
    assert all(not torch.equal(p, q) for p, q in zip(tables, (p for p in model.parameters() if p.requires_grad)))
    x = torch.as_tensor(digits.x_test[:200])
    relaxed = model.train()(x)  # pins gathered at the hardened connections
    for layer in model.layers:  # as if still learning: the (one-hot) candidate mixture
        layer.connection_logits.requires_grad_(True)
    assert torch.equal(model(x), relaxed)


def test_a_run_resumed_after_the_freeze_ends_with_the_uninterrupted_model(digits):
    config = LogicNetConfig(digits.num_features, 10, (60, 40), 2, digits.feature_range, 5.0, candidates=3, seed=4)
    args = (digits.x_train, digits.y_train, digits.x_test, digits.y_test)
    whole = LogicNet(config)
    loop.fit(whole, *args, epochs=3, seed=4, freeze_wiring=1)
    half, saved = LogicNet(config), {}
    history = loop.fit(half, *args, epochs=2, seed=4, freeze_wiring=1,
                       on_epoch=lambda hist, opt: saved.update(opt=opt.state_dict()))
    resumed = LogicNet(config)  # as `lgn train --resume` finds it: a fresh model given the saved state
    resumed.load_state_dict(half.state_dict())
    loop.fit(resumed, *args, epochs=3, seed=4, freeze_wiring=1, history=history, optimizer_state=saved["opt"])
    for key, value in whole.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key
    unfrozen = LogicNet(config)
    loop.fit(unfrozen, *args, epochs=3, seed=4)
    assert not torch.equal(unfrozen.layers[0].connection_logits, whole.layers[0].connection_logits)


def test_hard_forward_trains_on_the_hardened_network(digits):
    """Straight-through, a LUT network's training forward is the hardened network's, bit for
    bit, and its tables still receive gradients; ``fit(hard_forward=E)`` freezes the wiring after
    epoch E and leaves the model reporting its relaxed self."""
    config = LogicNetConfig(digits.num_features, 10, (80, 60), 3, digits.feature_range, 6.0, candidates=4,
                            family="lut", family_options={"lut_inputs": 6}, seed=3)
    args = (digits.x_train, digits.y_train, digits.x_test, digits.y_test)
    model = LogicNet(config)
    loop.fit(model, *args, epochs=1, seed=3)
    model.freeze_wiring()
    x = torch.as_tensor(digits.x_test)
    hardened = model.eval()(x)
    model.train()
    relaxed = model(x)
    model.straight_through = True
    scores = model(x)
    assert torch.equal(scores, hardened) and not torch.equal(relaxed, hardened)
    torch.nn.functional.cross_entropy(scores, torch.as_tensor(digits.y_test)).backward()
    assert all(layer.logits.grad.abs().sum() > 0 for layer in model.layers)

    fresh = LogicNet(config)
    history = loop.fit(fresh, *args, epochs=3, seed=3, hard_forward=2)
    assert not fresh.straight_through and all(not layer.connection_logits.requires_grad for layer in fresh.layers)
    plain = LogicNet(config)
    loop.fit(plain, *args, epochs=3, seed=3, freeze_wiring=2)  # the same but for the rounding in epoch 3
    assert not torch.equal(plain.layers[0].logits, fresh.layers[0].logits)
    assert len(history) == 3
