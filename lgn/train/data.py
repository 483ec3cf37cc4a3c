"""Datasets as raw feature arrays with a fixed train/test split."""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lgn.errors import LgnError
from lgn.fileio import write_bytes

DATASETS = ("digits", "mnist")
MNIST_ENV = "LGN_MNIST_DIR"
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES = {  # name -> md5 of the uncompressed file
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray  # float32 (n, features), raw units
    y_train: np.ndarray  # int64 (n,)
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    feature_range: tuple[float, float]
    image_shape: tuple[int, int] | None = None  # (rows, cols) when the features are an image's pixels

    @property
    def num_features(self) -> int:
        return self.x_train.shape[1]


def load(name: str, data_dir: Path | None = None) -> Dataset:
    """Load dataset ``name`` (one of :data:`DATASETS`)."""
    if name == "digits":
        return _digits()
    if name == "mnist":
        return _mnist(Path(data_dir or os.environ.get(MNIST_ENV) or _cache_dir() / "mnist"))
    raise LgnError(f"unknown dataset {name!r}", f"choose one of {', '.join(DATASETS)}")


def _digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (values 0..16), a stratified 80/20 split, fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x.astype(np.float32), y.astype(np.int64),
                                              test_size=0.2, random_state=0, stratify=y)
    return Dataset("digits", x_tr, y_tr, x_te, y_te, 10, (0.0, 16.0), (8, 8))


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lgn"


def _mnist(root: Path) -> Dataset:
    """MNIST from the four idx files in ``root`` (``.gz`` or plain), downloaded there if absent."""
    arrays = {name: _read_idx(_mnist_file(root, name), name) for name in MNIST_FILES}
    x_tr = arrays["train-images-idx3-ubyte"].reshape(-1, 784).astype(np.float32)
    x_te = arrays["t10k-images-idx3-ubyte"].reshape(-1, 784).astype(np.float32)
    return Dataset("mnist", x_tr, arrays["train-labels-idx1-ubyte"].astype(np.int64),
                   x_te, arrays["t10k-labels-idx1-ubyte"].astype(np.int64), 10, (0.0, 255.0), (28, 28))


def _mnist_file(root: Path, name: str) -> Path:
    for candidate in (root / f"{name}.gz", root / name):
        if candidate.exists():
            return candidate
    target = root / f"{name}.gz"
    print(f"lgn: downloading {name}.gz to {root}", file=sys.stderr)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(MNIST_URL + f"{name}.gz", timeout=60) as response:
            write_bytes(target, response.read())
    except OSError as e:
        raise LgnError(f"MNIST file {name}.gz is not in {root} and could not be downloaded ({e})",
                       f"put the idx files there or pass --data-dir / set {MNIST_ENV}") from None
    return target


def _read_idx(path: Path, name: str) -> np.ndarray:
    raw = path.read_bytes()
    try:
        data = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError) as e:
        raise LgnError(f"{path} is not a valid gzip file ({e})", "delete it and download it again") from None
    if hashlib.md5(data).hexdigest() != MNIST_FILES[name]:
        raise LgnError(f"{path} does not match the published MNIST checksum",
                       "delete it and download it again")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)
