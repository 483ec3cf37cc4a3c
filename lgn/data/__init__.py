"""Datasets, by name or by path: the built-in sets (``digits`` bundled with scikit-learn,
``mnist`` and ``cifar10`` downloaded once to a cache) and a user's own data (a folder of idx
files, an ``.npz`` of arrays, a CSV table). Every stage that reads data loads it here."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lgn.data.dataset import Dataset, checked
from lgn.data.idx import MNIST_ENV
from lgn.errors import LgnError

__all__ = ["BUILTIN", "Dataset", "MNIST_ENV", "checked", "load", "name_of"]

BUILTIN = ("digits", "mnist", "cifar10")
FORMS = "digits, mnist, cifar10, a folder of idx files, a .npz or a .csv file"


def load(name: str, data_dir: Path | None = None) -> Dataset:
    """The dataset ``name``: one of :data:`BUILTIN` (``data_dir`` holds its files), else a path
    to a folder of idx files, an ``.npz`` or a ``.csv`` (see :mod:`lgn.data.files`)."""
    from lgn.data import cifar10, files, idx

    if name == "digits":
        return _digits()
    if name == "mnist":
        return idx.mnist(data_dir, _cache_dir() / "mnist")
    if name == "cifar10":
        return cifar10.cifar10(data_dir, _cache_dir() / "cifar10")
    path = Path(name).resolve()  # its name in reports and netlists: found again from any folder
    if path.is_dir():
        return idx.folder(path)
    if path.suffix == ".npz" and path.is_file():
        return files.npz(path)
    if path.suffix == ".csv" and path.is_file():
        return files.table(path)
    why = "no such file or folder" if not path.exists() else "not a folder, .npz or .csv"
    raise LgnError(f"unknown dataset {name!r} ({why})", f"give one of {FORMS}")


def name_of(name: str) -> str:
    """How a dataset is recorded in checkpoints and netlists: built-in names as they are, paths
    absolute, so that later stages find the data from any folder."""
    return name if name in BUILTIN else str(Path(name).resolve())


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
