"""A dataset as lgn reads it: raw feature arrays with a fixed train/test split, checked once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lgn.errors import LgnError


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray  # float32 (n, features), raw units
    y_train: np.ndarray  # int64 (n,)
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    feature_range: tuple[float, float]
    # (rows, cols) when the features are an image's pixels, each pixel's channels adjacent
    image_shape: tuple[int, int] | None = None

    @property
    def num_features(self) -> int:
        return self.x_train.shape[1]


def checked(name: str, x_train, y_train, x_test, y_test, *, image_shape=None,
            feature_range: tuple[float, float] | None = None) -> Dataset:
    """A :class:`Dataset` from arrays a user handed over, or a one-line :class:`LgnError` naming
    what is wrong with them: shapes, non-numbers, labels that are not class indices, one class.

    Images may come as ``(n, rows, cols[, channels])`` arrays; ``image_shape`` (rows, cols[,
    channels]) lays flat features out as one. The feature range is the training data's unless
    given (a format's fixed range, such as 0..255 pixels)."""
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for key, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            raise LgnError(f"{name}: {key} is not an array of numbers",
                           "store features and labels as numeric arrays")
        if len(array) == 0:
            raise LgnError(f"{name}: {key} is empty", "give both splits samples")
    x_train, x_test = (np.asarray(x, np.float32) for x in (x_train, x_test))
    if x_train.ndim in (3, 4) and image_shape is None:
        image_shape = x_train.shape[1:]
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    if x_train.shape[1] != x_test.shape[1]:
        raise LgnError(f"{name}: training samples have {x_train.shape[1]} features but test samples {x_test.shape[1]}",
                       "give both splits the same features")
    for key, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if y.ndim != 1 or len(y) != len(x):
            raise LgnError(f"{name}: {len(x)} {key} samples but labels of shape {y.shape}",
                           "give one label per sample")
        if not np.isfinite(x).all():
            row = int(np.flatnonzero(~np.isfinite(x).all(1))[0])
            raise LgnError(f"{name}: {key} sample {row} holds a NaN or infinite feature", "fill or drop missing values")
        if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
            raise LgnError(f"{name}: {key} labels are not whole numbers", "label classes 0, 1, 2, ...")
        if (y < 0).any():
            raise LgnError(f"{name}: a {key} label is negative ({int(y.min())})", "label classes 0, 1, 2, ...")
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    if len(np.unique(y_train)) < 2:
        raise LgnError(f"{name}: the training split holds one class only", "give samples of at least two classes")
    if y_test.max() > y_train.max():
        raise LgnError(f"{name}: test label {int(y_test.max())} never occurs in training (labels up to "
                       f"{int(y_train.max())})", "label classes 0, 1, 2, ... in both splits")
    low, high = feature_range or (float(x_train.min()), float(x_train.max()))
    if high <= low:
        raise LgnError(f"{name}: every feature is {low:g} in every training sample", "give features that vary")
    return Dataset(name, x_train, y_train, x_test, y_test, num_classes, (low, high),
                   _image_shape(name, image_shape, x_train.shape[1]))


def _image_shape(name: str, shape, features: int) -> tuple[int, int] | None:
    if shape is None:
        return None
    shape = tuple(int(s) for s in np.asarray(shape).reshape(-1))
    if len(shape) not in (2, 3) or min(shape) < 1 or int(np.prod(shape)) != features:
        raise LgnError(f"{name}: image shape {shape} does not hold the {features} features",
                       "give image_shape as (rows, cols) or (rows, cols, channels) of the features")
    return shape[:2]
