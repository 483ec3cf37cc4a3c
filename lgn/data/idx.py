"""The idx format (MNIST's, and many image sets' since: Fashion-MNIST, KMNIST, EMNIST):
published MNIST with its checksums and download, and any folder of idx files in MNIST's layout."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import urllib.request
from pathlib import Path

import numpy as np

from lgn.data.dataset import Dataset, checked
from lgn.errors import LgnError
from lgn.fileio import write_bytes

MNIST_ENV = "LGN_MNIST_DIR"
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES = {  # name -> md5 of the uncompressed file
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# The idx types by their third magic byte: numpy dtypes, big-endian as the format stores them.
_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def mnist(data_dir: Path | None, cache: Path) -> Dataset:
    """MNIST from the four idx files in ``data_dir`` (else ``$LGN_MNIST_DIR``, else ``cache``),
    ``.gz`` or plain, downloaded there if absent and checked against the published checksums."""
    root = Path(data_dir or os.environ.get(MNIST_ENV) or cache)
    arrays = {name: _decode(_read(_mnist_file(root, name), MNIST_FILES[name]), root / name) for name in MNIST_FILES}
    return checked("mnist", arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"],
                   arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"], feature_range=(0.0, 255.0))


def folder(root: Path) -> Dataset:
    """A folder of idx files named as MNIST's (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``; ``.gz`` or plain): images keep their shape."""
    arrays = {}
    for name in MNIST_FILES:
        path = next((p for p in (root / f"{name}.gz", root / name) if p.exists()), None)
        if path is None:
            raise LgnError(f"{root} has no {name} (or {name}.gz)",
                           "a dataset folder holds the four idx files named as MNIST's")
        arrays[name] = _decode(_read(path), path)
    full = (0.0, 255.0) if arrays["train-images-idx3-ubyte"].dtype == np.uint8 else None
    return checked(str(root), arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"],
                   arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"], feature_range=full)


def _mnist_file(root: Path, name: str) -> Path:
    for candidate in (root / f"{name}.gz", root / name):
        if candidate.exists():
            return candidate
    target = root / f"{name}.gz"
    print(f"lgn: downloading {name}.gz to {root}", file=sys.stderr)
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(MNIST_URL + f"{name}.gz", timeout=60) as response:
            write_bytes(target, response.read())
    except OSError as e:
        if created:  # a failed download leaves no empty folder behind
            shutil.rmtree(root, ignore_errors=True)
        raise LgnError(f"MNIST file {name}.gz is not in {root} and could not be downloaded ({e})",
                       f"put the idx files there or pass --data-dir / set {MNIST_ENV}") from None
    return target


def _read(path: Path, md5: str | None = None) -> bytes:
    """The bytes of ``path``, ungzipped if it ends in ``.gz``; checked against ``md5`` if given."""
    raw = path.read_bytes()
    try:
        data = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError) as e:
        raise LgnError(f"{path} is not a valid gzip file ({e})", "delete it and download it again") from None
    if md5 and hashlib.md5(data).hexdigest() != md5:
        raise LgnError(f"{path} does not match the published MNIST checksum", "delete it and download it again")
    return data


def _decode(data: bytes, path: Path) -> np.ndarray:
    """An idx file's array: magic ``0 0 type ndim``, ``ndim`` big-endian sizes, then the values."""
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _TYPES:
        raise LgnError(f"{path} is not an idx file (its magic number is wrong)", "give idx files as MNIST ships them")
    ndim, dtype = data[3], np.dtype(_TYPES[data[2]])
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != 4 + 4 * ndim + int(np.prod(shape)) * dtype.itemsize:
        raise LgnError(f"{path} holds {len(data)} bytes, not the {shape} array its header declares",
                       "the file is truncated or damaged: fetch it again")
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(shape).astype(dtype.newbyteorder("="))
