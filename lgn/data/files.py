"""A user's own data in a file: ``.npz`` arrays (images or tables) and CSV tables."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from lgn.data.dataset import Dataset, checked
from lgn.errors import LgnError

LABEL_COLUMNS = ("label", "class", "target", "y")  # a CSV header's label column, else the last column
TEST_FRACTION = 0.2  # of a file without its own test split: held out, stratified, with a fixed seed


def npz(path: Path) -> Dataset:
    """``x_train``, ``y_train``, ``x_test``, ``y_test`` (or ``x``, ``y``, split here), optionally
    ``image_shape``; images may be ``(n, rows, cols[, channels])`` arrays. Never unpickled."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise LgnError(f"{path} is not a readable .npz archive of numeric arrays ({e})",
                       "save it with numpy.savez(x_train=..., y_train=..., x_test=..., y_test=...)") from None
    shape = arrays.get("image_shape")
    if {"x_train", "y_train", "x_test", "y_test"} <= arrays.keys():
        return checked(str(path), arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                       image_shape=shape)
    if {"x", "y"} <= arrays.keys():
        return checked(str(path), *_split(str(path), arrays["x"], arrays["y"]), image_shape=shape)
    raise LgnError(f"{path} holds {', '.join(sorted(arrays)) or 'no arrays'}",
                   "store x_train, y_train, x_test and y_test (or x and y) in it")


def table(path: Path) -> Dataset:
    """A CSV table: one sample per row, numeric features, a label column (named ``label``,
    ``class``, ``target`` or ``y`` in a header row, else the last column) of class indices or
    names; :data:`TEST_FRACTION` of the rows held out for the test split."""
    try:
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise LgnError(f"cannot read {path} as CSV ({e})", "give a comma-separated text file") from None
    if not rows:
        raise LgnError(f"{path} is empty", "give one sample per row")
    # a header row: a cell that is not a number above one that is (a label column of names has none)
    header = rows[0] if len(rows) > 1 and any(not _numeric([top]) and _numeric([below])
                                              for top, below in zip(rows[0], rows[1])) else None
    body = rows[1:] if header else rows
    names = [c.strip().lower() for c in header] if header else []
    label = next((names.index(n) for n in LABEL_COLUMNS if n in names), len(rows[0]) - 1)
    width = len(rows[0])
    if width < 2:
        raise LgnError(f"{path} has one column", "give feature columns and a label column")
    features, labels = [], []
    for line, row in enumerate(body, start=2 if header else 1):
        if len(row) != width:
            raise LgnError(f"{path} line {line} has {len(row)} columns, not {width}", "give every row the same columns")
        try:
            features.append([float(cell) for i, cell in enumerate(row) if i != label])
        except ValueError:
            bad = next(cell for i, cell in enumerate(row) if i != label and not _numeric([cell]))
            raise LgnError(f"{path} line {line}: feature {bad!r} is not a number",
                           "give numeric features (encode categories as numbers)") from None
        labels.append(row[label].strip())
    if not features:
        raise LgnError(f"{path} has a header but no samples", "give one sample per row")
    x = np.asarray(features, dtype=np.float64)
    y = _class_indices(labels)
    return checked(str(path), *_split(str(path), x, y))


def _numeric(cells: list[str]) -> bool:
    try:
        [float(c) for c in cells]
        return True
    except ValueError:
        return False


def _class_indices(labels: list[str]) -> np.ndarray:
    """Labels as class indices: whole numbers as they are, names numbered in sorted order."""
    if _numeric(labels) and all(float(v).is_integer() for v in labels):
        return np.asarray([int(float(v)) for v in labels], dtype=np.int64)
    names = sorted(set(labels))
    return np.asarray([names.index(v) for v in labels], dtype=np.int64)


def _split(name: str, x: np.ndarray, y: np.ndarray):
    """A fixed train/test split, stratified where every class has two samples or more."""
    from sklearn.model_selection import train_test_split

    if len(x) != len(y) or len(x) < 5:
        raise LgnError(f"{name}: {len(x)} samples and {len(y)} labels", "give at least 5 samples, one label each")
    y = np.asarray(y)
    counts = np.unique(y, return_counts=True)[1]
    stratify = y if counts.min() >= 2 and len(counts) <= TEST_FRACTION * len(y) else None
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_FRACTION, random_state=0, stratify=stratify)
    return x_tr, y_tr, x_te, y_te
