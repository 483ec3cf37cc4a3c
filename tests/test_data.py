"""A user's data: CSV tables, .npz arrays, folders of idx files and the CIFAR-10 archive, read the
way every stage reads them, and the whole flow (`lgn run`) on each of the first three."""

from __future__ import annotations

import gzip
import io
import json
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from lgn import data
from lgn.data import cifar10


def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's bundled digits as 8x8 images of 0..240."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x.reshape(-1, 8, 8) * 15).astype(np.uint8), y


def write_wine_csv(path: Path) -> Path:
    """sklearn's bundled wine table, a header row, the class as a name in a column called ``class``."""
    from sklearn.datasets import load_wine

    x, y = load_wine(return_X_y=True)
    names = np.array(["barolo", "grignolino", "barbera"])
    lines = [",".join([f"f{i}" for i in range(x.shape[1])] + ["class"])]
    lines += [",".join([*(f"{v:g}" for v in row), names[label]]) for row, label in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_digits_npz(path: Path) -> Path:
    images, y = digits_images()
    np.savez(path, x_train=images[:1400], y_train=y[:1400], x_test=images[1400:], y_test=y[1400:])
    return path


def write_idx_folder(folder: Path) -> Path:
    images, y = digits_images()
    folder.mkdir()
    for split, rows in (("train", slice(0, 1400)), ("t10k", slice(1400, None))):
        for kind, array in (("images-idx3", images[rows]), ("labels-idx1", y[rows].astype(np.uint8))):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
            (folder / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes()))
    return folder


def test_csv_table_with_named_classes(tmp_path):
    ds = data.load(str(write_wine_csv(tmp_path / "wine.csv")))
    assert ds.num_classes == 3 and ds.num_features == 13 and ds.image_shape is None
    assert len(ds.x_train) + len(ds.x_test) == 178 and len(ds.x_test) == 36
    assert set(np.unique(ds.y_test)) == {0, 1, 2}  # stratified: every class in the test split
    assert ds.feature_range == (float(ds.x_train.min()), float(ds.x_train.max()))


def test_csv_without_header_takes_the_last_column_as_the_label(tmp_path):
    rows = [f"{i},{i % 7},{i % 2}" for i in range(20)]
    (tmp_path / "t.csv").write_text("\n".join(rows))
    ds = data.load(str(tmp_path / "t.csv"))
    assert ds.num_features == 2 and ds.num_classes == 2 and len(ds.x_train) == 16
    assert ((ds.x_train[:, 0] % 2) == ds.y_train).all()


def test_npz_images_keep_their_shape_and_x_y_files_are_split(tmp_path):
    ds = data.load(str(write_digits_npz(tmp_path / "d.npz")))
    assert ds.image_shape == (8, 8) and ds.num_features == 64 and len(ds.x_test) == 397
    x, y = np.random.default_rng(0).normal(size=(50, 6)), np.arange(50) % 5
    np.savez(tmp_path / "xy.npz", x=x, y=y, image_shape=np.array([2, 3]))
    ds = data.load(str(tmp_path / "xy.npz"))
    assert len(ds.x_train) == 40 and len(ds.x_test) == 10 and ds.image_shape == (2, 3) and ds.num_classes == 5


def test_idx_folder_reads_as_mnist_is_read(tmp_path):
    ds = data.load(str(write_idx_folder(tmp_path / "idx")))
    images, y = digits_images()
    assert ds.image_shape == (8, 8) and ds.feature_range == (0.0, 255.0)
    assert (ds.x_train == images[:1400].reshape(1400, 64)).all() and (ds.y_test == y[1400:]).all()


def test_cifar10_binary_archive(tmp_path):
    """An archive in CIFAR-10's binary layout: label byte, then the red, green and blue planes."""
    rng = np.random.default_rng(0)
    records = {name: rng.integers(0, 256, (4, cifar10.RECORD), dtype=np.uint8)
               for name in (*cifar10.TRAIN, *cifar10.TEST)}
    for r in records.values():
        r[:, 0] = np.arange(4) % 10
    with tarfile.open(tmp_path / cifar10.ARCHIVE, "w:gz") as tar:
        for name, r in records.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = r.nbytes
            tar.addfile(info, io.BytesIO(r.tobytes()))
    ds = cifar10.read_archive(tmp_path / cifar10.ARCHIVE)
    assert ds.x_train.shape == (20, 3072) and ds.x_test.shape == (4, 3072) and ds.image_shape == (32, 32)
    first = records["data_batch_1.bin"][0]
    # pixel (row 0, col 1) holds its three channels side by side
    assert list(ds.x_train[0, 3:6]) == [first[1 + 1], first[1 + 1024 + 1], first[1 + 2048 + 1]]
    assert ds.num_classes == 4 and ds.feature_range == (0.0, 255.0)


def test_local_wiring_over_pixels_of_several_channels():
    """Three channels per pixel: every channel bit of a pixel sits on that pixel's patch."""
    import torch

    from lgn.nn import LogicNet, LogicNetConfig

    model = LogicNet(LogicNetConfig(4 * 4 * 3, 2, (20, 10), 2, (0.0, 1.0), 4.0, wiring="local",
                                    image_shape=(4, 4), window=1, seed=0))
    x = torch.zeros(1, 48)
    assert model(x).shape == (1, 2)


@pytest.mark.eda
@pytest.mark.parametrize("form", ["csv", "npz", "idx"])
def test_run_on_a_users_data(tmp_path, form):
    """`lgn run` (train, compile, RTL simulation, iCE40 bitstream) on a user's file, then `lgn predict`
    on it: the dataset recorded by path, every stage bit-exact."""
    path = {"csv": lambda: write_wine_csv(tmp_path / "wine.csv"), "npz": lambda: write_digits_npz(tmp_path / "d.npz"),
            "idx": lambda: write_idx_folder(tmp_path / "idx")}[form]()
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "lgn.cli", "run", "--dataset", path.name, "--widths", "200,120",
                          "--tau", "4", "--epochs", "5", "--lr", "0.03", "--out", str(out)],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    rep = json.loads((out / "report.json").read_text())
    assert rep["dataset"] == str(path.resolve())
    assert rep["bit_exact"]["rtl_vs_netlist"][0] == rep["bit_exact"]["rtl_vs_netlist"][1] == len(data.load(str(path)).x_test)
    classes = data.load(str(path)).num_classes
    assert rep["accuracy"]["rtl"] == rep["accuracy"]["hardened"] > 2.5 / classes  # labels read with their samples
    assert rep["train"]["encoding"] == ("quantile" if form == "csv" else "even")
    assert (out / "icebreaker.bin").exists() and rep["synth"]["luts"] > 0
    pred = subprocess.run([sys.executable, "-m", "lgn.cli", "predict", str(out / "netlist.safetensors"), "--data",
                           str(path)], capture_output=True, text=True, timeout=300)
    assert pred.returncode == 0 and f"accuracy {rep['accuracy']['netlist']}" in pred.stdout, pred.stderr


def test_csv_without_header_and_with_class_names_keeps_its_first_row(tmp_path):
    rows = [f"{i},{i % 3},{['cat', 'dog'][i % 2]}" for i in range(20)]
    (tmp_path / "t.csv").write_text("\n".join(rows))
    ds = data.load(str(tmp_path / "t.csv"))
    assert len(ds.x_train) + len(ds.x_test) == 20 and ds.num_classes == 2
