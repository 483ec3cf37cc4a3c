"""Bad input, command by command: every case ends with one line naming the problem and the fix,
a non-zero exit, no traceback, and no file written or changed in the output folder."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from lgn.harden import harden
from lgn.ir import serialize
from lgn.nn import LogicNet, LogicNetConfig
from lgn.testing import random_netlist
from lgn.train import checkpoint


class Exploit:
    """Unpickling this creates ``path``: proof that a loader ran code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Valid artifacts to break: a digits checkpoint, its netlist, a training state, a foreign netlist."""
    d = tmp_path_factory.mktemp("valid")
    model = LogicNet(LogicNetConfig(64, 10, (40, 20), 1, (0.0, 16.0), 4.0, seed=1))
    checkpoint.save(model, d / "model.safetensors", {"dataset": "digits"})
    serialize.save(harden(model, {"dataset": "digits"}), d / "netlist.safetensors")
    serialize.save(random_netlist(np.random.default_rng(0)), d / "netlist12.safetensors")
    optimizer = torch.optim.Adam(model.parameters())
    checkpoint.save_state(d / "train-state.safetensors", model, optimizer, 1,
                          {"options": {"preset": "digits", "widths": [40, 20], "epochs": 5}, "history": []})
    torch.save({"1.weights": torch.randn(20, 16)}, d / "difflogic.pt")
    return {p.stem: p for p in d.iterdir()}


def copy(src: Path, dst: Path, transform=lambda b: b) -> Path:
    dst.write_bytes(transform(src.read_bytes()))
    return dst


def with_header(path: Path, dst: Path, **changes) -> Path:
    """``path`` (a safetensors file) with fields of its lgn header changed."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    outer = json.loads(data[8:8 + n])
    header = json.loads(outer["__metadata__"]["lgn"]) | changes
    outer["__metadata__"]["lgn"] = json.dumps(header)
    blob = json.dumps(outer).encode()
    blob += b" " * (-len(blob) % 8)
    dst.write_bytes(len(blob).to_bytes(8, "little") + blob + data[8 + n:])
    return dst


# (case id, setup(out, files) -> argv after `lgn`, fragments of the last line, exit code)
CASES = [
    # compile: the checkpoint
    ("compile-missing-checkpoint", lambda o, f: ["compile"], ["model.safetensors does not exist", "lgn train"], 1),
    ("compile-empty-checkpoint", lambda o, f: ["compile", "--checkpoint", copy(f["model"], o / "m.safetensors", lambda b: b"")],
     ["not a readable lgn checkpoint", "truncated"], 1),
    ("compile-truncated-checkpoint",
     lambda o, f: ["compile", "--checkpoint", copy(f["model"], o / "m.safetensors", lambda b: b[: len(b) // 2])],
     ["not a readable lgn checkpoint"], 1),
    ("compile-corrupt-checkpoint", lambda o, f: ["compile", "--checkpoint", copy(f["model"], o / "m.safetensors", lambda b: b"\x10" * 100)],
     ["not a readable lgn checkpoint"], 1),
    ("compile-netlist-as-checkpoint", lambda o, f: ["compile", "--checkpoint", f["netlist"]],
     ["not an lgn checkpoint (format 'lgn-netlist')", "lgn train"], 1),
    ("compile-future-checkpoint", lambda o, f: ["compile", "--checkpoint", with_header(f["model"], o / "m.safetensors", version=99)],
     ["checkpoint format version 99", "lgn train"], 1),
    ("compile-unknown-pass", lambda o, f: ["compile", "--checkpoint", f["model"], "--passes", "dce,nosuch"],
     ["nosuch", "lgn compile --help"], 1),
    ("compile-corrupt-report", lambda o, f: (o / "report.json").write_text("{oops") and ["compile", "--checkpoint", f["model"]],
     ["report.json is not valid JSON", "delete it"], 1),
    # sim: the netlist and the data
    ("sim-icarus-on-ecp5-cells", lambda o, f: ["sim", "--post-synth", "ulx3s", "--simulator", "icarus"],
     ["icarus cannot run Yosys' models of ecp5 cells", "--simulator verilator"], 1),
    ("sim-missing-netlist", lambda o, f: ["sim"], ["netlist.safetensors does not exist", "lgn compile"], 1),
    ("sim-corrupt-netlist", lambda o, f: ["sim", "--netlist", copy(f["netlist"], o / "n.safetensors", lambda b: b"{}")],
     ["not a readable lgn netlist", "lgn compile"], 1),
    ("sim-future-netlist", lambda o, f: ["sim", "--netlist", with_header(f["netlist"], o / "n.safetensors", version=2)],
     ["netlist format version 2"], 1),
    ("sim-netlist-nan-tau", lambda o, f: ["sim", "--netlist", with_header(f["netlist"], o / "n.safetensors", tau=float("nan"))],
     ["tau is nan, not a positive number"], 1),
    ("sim-checkpoint-as-netlist", lambda o, f: ["sim", "--netlist", f["model"]], ["not an lgn netlist"], 1),
    ("sim-unknown-dataset-of-netlist", lambda o, f: ["sim", "--netlist", f["netlist12"]],
     ["does not say which dataset", "--dataset"], 1),
    ("sim-wrong-shape", lambda o, f: ["sim", "--netlist", f["netlist12"], "--dataset", "digits"],
     ["takes 12 features but digits samples have 64"], 1),
    ("sim-no-verilog", lambda o, f: ["sim", "--netlist", f["netlist"]], ["classifier.v does not exist", "lgn compile"], 1),
    # synth
    ("synth-unknown-board", lambda o, f: ["synth", "--netlist", f["netlist"], "--board", "nosuchboard"],
     ["unknown board 'nosuchboard'", "icebreaker"], 1),
    ("synth-freq-of-a-board", lambda o, f: ["synth", "--netlist", f["netlist"], "--board", "ulx3s", "--freq", "100"],
     ["--freq sets the clock of an out-of-context build", "--board none"], 1),
    ("synth-freq-zero", lambda o, f: ["synth", "--board", "none", "--freq", "0"], ["expected a positive number"], 2),
    ("synth-unknown-placer", lambda o, f: ["synth", "--board", "none", "--placer", "sa"], ["invalid choice: 'sa'"], 2),
    # flash
    ("flash-no-bitstream", lambda o, f: ["flash"], ["icebreaker.bin does not exist", "lgn synth --board icebreaker"], 1),
    ("flash-not-a-bitstream", lambda o, f: ["flash", "--bitstream", copy(f["netlist"], o / "icebreaker.bin")],
     ["is not an ICE40 bitstream", "lgn synth --board icebreaker"], 1),
    ("flash-unrecorded-bitstream", lambda o, f: (o / "icebreaker.bin").write_bytes(b"\xff\0\0\xff~\xaa\x99~" + b"\0" * 64)
     and ["flash"], ["classifier.json does not exist", "lgn compile"], 1),
    ("flash-no-programmer", lambda o, f: (o / "icebreaker.bin").write_bytes(b"\xff\0\0\xff~\xaa\x99~" + b"\0" * 64)
     and ["flash", "--bitstream", o / "icebreaker.bin"],
     ["no-such-iceprog, which programs the icebreaker, is not installed", "fpga-icestorm", "$ICEPROG"], 1),
    ("flash-unknown-board", lambda o, f: ["flash", "--board", "nosuchboard"], ["unknown board 'nosuchboard'"], 1),
    # host
    ("host-no-port", lambda o, f: ["host", "--port", "/dev/nonexistent-lgn-port", "--netlist", f["netlist"]],
     ["cannot open /dev/nonexistent-lgn-port", "--port"], 1),
    # train: options and the output folder
    ("train-unknown-preset", lambda o, f: ["train", "--preset", "huge"], ["invalid choice: 'huge'"], 2),
    ("train-unknown-dataset", lambda o, f: ["train", "--dataset", "cifar"], ["unknown dataset 'cifar'", "mnist, cifar10"], 1),
    # train: a user's data
    ("data-ragged-csv", lambda o, f: ["train", "--dataset", write(o / "d.csv", "a,b,label\n1,2,0\n3,1\n")],
     ["d.csv line 3 has 2 columns, not 3"], 1),
    ("data-nan-csv", lambda o, f: ["train", "--dataset", write(o / "d.csv", "1,2,0\n" * 5 + "nan,1,1\n" + "2,2,1\n" * 5)],
     ["holds a NaN or infinite feature", "fill or drop"], 1),
    ("data-text-feature", lambda o, f: ["train", "--dataset", write(o / "d.csv", "x,y\n1,0\nred,1\n")],
     ["line 3: feature 'red' is not a number"], 1),
    ("data-one-class", lambda o, f: ["train", "--dataset", write(o / "d.csv", "1,2,0\n3,4,0\n" * 5)],
     ["one class only"], 1),
    ("data-label-out-of-range", lambda o, f: ["train", "--dataset", npz(o / "d.npz", y_test=np.array([0, 7]))],
     ["test label 7 never occurs in training"], 1),
    ("data-mismatched-shapes", lambda o, f: ["train", "--dataset", npz(o / "d.npz", x_test=np.zeros((2, 5)))],
     ["training samples have 4 features but test samples 5"], 1),
    ("data-object-npz", lambda o, f: ["train", "--dataset", npz(o / "d.npz", x_train=np.array([{}, {}], dtype=object))],
     ["not a readable .npz archive"], 1),
    ("data-npz-keys", lambda o, f: np.savez(o / "d.npz", images=np.zeros(3)) or ["train", "--dataset", o / "d.npz"],
     ["holds images", "x_train, y_train, x_test and y_test"], 1),
    ("data-idx-folder-incomplete", lambda o, f: (o / "imgs").mkdir() or ["train", "--dataset", o / "imgs"],
     ["has no train-images-idx3-ubyte", "four idx files"], 1),
    ("conv-on-a-table", lambda o, f: ["train", "--conv", "4", "--dataset", write(o / "d.csv", "1,2,0\n3,4,1\n" * 5)],
     ["convolutional blocks need the 2 features laid out as an image"], 1),
    ("conv-too-many-blocks", lambda o, f: ["train", "--conv", "4,4,4"], ["leaves no image"], 1),
    ("data-unknown-suffix", lambda o, f: write(o / "d.xlsx", "") and ["train", "--dataset", o / "d.xlsx"],
     ["unknown dataset", "not a folder, .npz or .csv", ".csv file"], 1),
    ("train-bad-widths", lambda o, f: ["train", "--widths", "100,x"], ["--widths"], 2),
    ("train-zero-epochs", lambda o, f: ["train", "--epochs", "0"], ["expected a positive number"], 2),
    ("train-nan-lr", lambda o, f: ["train", "--lr", "nan"], ["--lr: expected a finite number"], 2),
    ("train-inf-grad-factor", lambda o, f: ["train", "--grad-factor", "inf"], ["expected a finite number"], 2),
    ("train-window-over-the-image", lambda o, f: ["train", "--window", "100", "--epochs", "1"],
     ["100x100 window is larger than the 8x8 image", "at most 8"], 1),
    ("train-shift-over-the-image", lambda o, f: ["train", "--shift", "8", "--epochs", "1"],
     ["--shift 8 needs images of more than 8 pixels a side", "has 8x8", "at most 7"], 1),
    ("train-shift-not-an-image", lambda o, f: ["train", "--shift", "1", "--dataset",
                                               write(o / "d.csv", "1,2,0\n3,4,1\n" * 5)],
     ["--shift 1 needs images", "is not an image", "drop --shift"], 1),
    ("train-negative-shift", lambda o, f: ["train", "--shift", "-1"], ["--shift: expected 0 or more"], 2),
    ("train-too-big-for-memory", lambda o, f: ["train", "--widths", "1000000000", "--epochs", "1"],
     ["GiB, more than this machine's", "narrower --widths"], 1),
    ("train-option-of-another-family", lambda o, f: ["train", "--family", "logic", "--tiles", "4", "--epochs", "1"],
     ["--tiles is an option of the tiled family", "pick --family tiled"], 1),
    ("train-tiny-tau", lambda o, f: ["train", "--tau", "1e-30", "--epochs", "1"],
     ["--tau 1e-30 is outside 0.001 to 1e+06"], 1),
    ("train-more-candidates-than-inputs", lambda o, f: ["train", "--candidates", "100000", "--epochs", "1"],
     ["--candidates 100000 is more than the 256 inputs"], 1),
    ("train-bad-architecture", lambda o, f: ["train", "--widths", "100,35", "--epochs", "1"],
     ["must be a multiple of the 10 classes"], 1),
    ("train-local-dense", lambda o, f: ["train", "--family", "binary", "--wiring", "local", "--epochs", "1"],
     ["local wiring is for the logic, lut, sparse and dendritic families", "--wiring"], 1),
    ("train-lut-inputs-over-six", lambda o, f: ["train", "--family", "lut", "--lut-inputs", "7"],
     ["--lut-inputs must be an integer in 1..6, got 7"], 2),
    ("train-freeze-fixed-wiring", lambda o, f: ["train", "--candidates", "1", "--freeze-wiring", "1", "--epochs", "2"],
     ["--freeze-wiring", "has none (--candidates 1)"], 1),
    ("train-freeze-after-the-end", lambda o, f: ["train", "--candidates", "4", "--freeze-wiring", "3", "--epochs", "3"],
     ["--freeze-wiring 3 is not before the last epoch (--epochs 3)"], 1),
    ("train-hard-after-the-end", lambda o, f: ["train", "--hard-forward", "2", "--epochs", "2"],
     ["--hard-forward 2 is not before the last epoch (--epochs 2)"], 1),
    ("train-hard-binary", lambda o, f: ["train", "--family", "binary", "--hard-forward", "1", "--epochs", "2"],
     ["--hard-forward rounds the outputs of gate and LUT layers", "binary"], 1),
    ("train-bad-candidates", lambda o, f: ["train", "--candidates", "many"], ["expected a number"], 2),
    ("train-pool-for-binary", lambda o, f: ["train", "--family", "binary", "--candidates", "all", "--epochs", "1"],
     ["--candidates must be at least 1", "logic and lut"], 1),
    ("train-pool-too-big", lambda o, f: ["train", "--candidates", "all", "--widths", "200000,200000", "--epochs", "1"],
     ["GiB", "--candidates K or narrower layers"], 1),
    ("train-unknown-encoding", lambda o, f: ["train", "--encoding", "log"], ["invalid choice: 'log'"], 2),
    ("train-resume-without-run", lambda o, f: ["train", "--resume"], ["train-state.safetensors does not exist"], 1),
    ("train-resume-with-options", lambda o, f: ["train", "--resume", "--lr", "0.5"], ["--lr", "only --epochs may change"], 1),
    ("train-corrupt-state", lambda o, f: copy(f["model"], o / "train-state.safetensors", lambda b: b[:50]) and ["train"],
     ["not a readable lgn training state", "delete"], 1),
    ("train-interrupted-run", lambda o, f: copy(f["train-state"], o / "train-state.safetensors") and ["train"],
     ["interrupted training run (epoch 1 of 5)", "--resume"], 1),
    # predict
    ("predict-missing-model", lambda o, f: ["predict", o / "none.safetensors", "--data", "digits"], ["does not exist"], 1),
    ("predict-wrong-shape", lambda o, f: np.save(o / "x.npy", np.zeros((3, 5), np.float32))
     or ["predict", f["netlist"], "--data", o / "x.npy"], ["shape (5,)", "takes 64 features"], 1),
    ("predict-corrupt-npy", lambda o, f: (o / "x.npy").write_bytes(b"\x93NUMPY garbage")
     and ["predict", f["netlist"], "--data", o / "x.npy"], ["not a readable .npy array"], 1),
    ("predict-nan-samples", lambda o, f: np.save(o / "x.npy", np.full((3, 64), np.nan, np.float32))
     or ["predict", f["netlist"], "--data", o / "x.npy"], ["holds NaN or infinite values"], 1),
    ("predict-complex-samples", lambda o, f: np.save(o / "x.npy", np.ones((3, 64), complex))
     or ["predict", f["netlist"], "--data", o / "x.npy"], ["holds complex128 values, not real numbers"], 1),
    ("predict-output-in-missing-folder", lambda o, f: ["predict", f["netlist"], "--data", "digits", "--output",
                                                       o / "none" / "p.csv"], ["is not a folder", "create it"], 1),
    ("predict-bad-output-suffix", lambda o, f: ["predict", f["netlist"], "--data", "digits", "--output", o / "p.xlsx"],
     ["cannot write predictions", ".npy, .csv or .txt"], 1),
    # import
    ("import-missing-state-dict", lambda o, f: ["import", "difflogic", o / "none.pt", "--inputs", "64", "--classes", "10"],
     ["does not exist"], 1),
    ("import-wrong-classes", lambda o, f: ["import", "difflogic", f["difflogic"], "--inputs", "40", "--classes", "3", "--seed", "0"],
     ["20 outputs do not split into 3 classes", "--classes"], 1),
    ("import-too-few-gates", lambda o, f: ["import", "difflogic", f["difflogic"], "--inputs", "784", "--classes", "10", "--seed", "0"],
     ["cannot read 784 inputs", "--inputs"], 1),
    ("import-nan-logits", lambda o, f: save_file({"1.weights": torch.full((20, 16), float("nan"))}, o / "n.safetensors")
     or ["import", "difflogic", o / "n.safetensors", "--inputs", "40", "--classes", "10", "--seed", "0"],
     ["1.weights holds NaN or infinite values"], 1),
    ("import-torchlogix-layout-mismatch", lambda o, f: ["import", "torchlogix", f["difflogic"], "--inputs", "40", "--classes", "10"],
     ["no torchlogix LogicDense layer"], 1),
    ("import-difflogic-parametrization", lambda o, f: ["import", "difflogic", f["difflogic"], "--inputs", "40",
                                                       "--classes", "10", "--seed", "0", "--parametrization", "light"],
     ["--parametrization names a torchlogix layer's weights", "drop --parametrization"], 1),
]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def npz(path: Path, **changes) -> Path:
    """A small valid .npz dataset with ``changes`` made to its arrays."""
    arrays = {"x_train": np.arange(24.0).reshape(6, 4), "y_train": np.array([0, 1, 0, 1, 0, 1]),
              "x_test": np.ones((2, 4)), "y_test": np.array([0, 1])} | changes
    np.savez(path, **arrays, allow_pickle=True) if any(a.dtype == object for a in arrays.values()) else np.savez(path, **arrays)
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(case, files, tmp_path, monkeypatch, capsys):
    """Run in-process (`lgn.cli.main`, as the `lgn` script does): an exception escaping main is
    the traceback a user would see, and fails the test."""
    from lgn import cli

    _, setup, fragments, code = case
    out = tmp_path / "out"
    out.mkdir()
    argv = [str(a) for a in setup(out, files)]
    before = snapshot(tmp_path)
    if argv[0] != "predict":  # predict writes only where --output says
        argv += ["--out", str(out)]
    monkeypatch.setenv("ICEPROG", "no-such-iceprog")  # a machine with iceprog must not program a board here
    capsys.readouterr()
    try:
        status = cli.main(argv)
    except SystemExit as e:  # argparse's usage errors
        status = e.code
    stderr = capsys.readouterr().err
    assert status == code, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("lgn: error:"), stderr
    if code == 2:  # a usage error is that one line, no usage block
        assert len(stderr.strip().splitlines()) == 1, stderr
    for fragment in fragments:
        assert fragment in last, last
    assert snapshot(tmp_path) == before, "the failed command wrote or changed files"


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = subprocess.run([sys.executable, "-m", "lgn.cli", "train", "--out", str(blocker / "sub"), "--epochs", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot create output folder" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("kind", ["checkpoint", "netlist", "state dict", "samples"])
def test_nothing_lgn_loads_runs_pickled_code(kind, files, tmp_path):
    """A pickle that would create a file if unpickled, handed to every loader that takes a path."""
    marker = tmp_path / "ran"
    evil = tmp_path / ("evil.npy" if kind == "samples" else "evil.pt")
    if kind == "samples":
        np.save(evil, np.array([Exploit(marker)], dtype=object), allow_pickle=True)
    else:
        evil.write_bytes(pickle.dumps({"1.weights": Exploit(marker)}))
    argv = {"checkpoint": ["compile", "--checkpoint", evil],
            "netlist": ["sim", "--netlist", evil],
            "state dict": ["import", "difflogic", evil, "--inputs", "40", "--classes", "10", "--seed", "0"],
            "samples": ["predict", files["netlist"], "--data", evil]}[kind]
    argv += [] if kind == "samples" else ["--out", tmp_path / "out"]
    result = subprocess.run([sys.executable, "-m", "lgn.cli", *map(str, argv)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert not marker.exists()


def test_a_failed_command_leaves_no_empty_folders(tmp_path, monkeypatch):
    """Neither the --out a failing command created nor a data folder a failed download created
    is left behind."""
    out = tmp_path / "new" / "out"
    result = subprocess.run([sys.executable, "-m", "lgn.cli", "train", "--out", str(out), "--widths", "1000000000"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "GiB" in result.stderr and not out.exists()
    from lgn.data import idx
    from lgn.errors import LgnError

    monkeypatch.setattr(idx, "MNIST_URL", "http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(LgnError, match="could not be downloaded"):
        idx.mnist(tmp_path / "mnist", tmp_path / "cache")
    assert not (tmp_path / "mnist").exists()
