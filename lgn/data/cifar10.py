"""CIFAR-10 from its binary archive (``cifar-10-binary.tar.gz``: fixed-size records, no pickles)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

from lgn.data.dataset import Dataset, checked
from lgn.errors import LgnError
from lgn.fileio import write_bytes

CIFAR10_ENV = "LGN_CIFAR10_DIR"
ARCHIVE = "cifar-10-binary.tar.gz"
URL = "https://www.cs.toronto.edu/~kriz/" + ARCHIVE
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # as published beside the archive
RECORD = 1 + 3 * 32 * 32  # a label byte, then the red, green and blue 32x32 planes
TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST = ("test_batch.bin",)


def cifar10(data_dir: Path | None, cache: Path) -> Dataset:
    """The archive in ``data_dir`` (else ``$LGN_CIFAR10_DIR``, else ``cache``), downloaded there
    if absent; pixels as 32x32 images of 3 adjacent channels each (values 0..255)."""
    root = Path(data_dir or os.environ.get(CIFAR10_ENV) or cache)
    path = root / ARCHIVE
    if not path.exists():
        _download(root, path)
    elif _md5(path) != MD5:
        raise LgnError(f"{path} does not match the published CIFAR-10 checksum", "delete it and download it again")
    return read_archive(path)


def read_archive(path: Path) -> Dataset:
    """The training and test batches of a CIFAR-10 binary archive at ``path``."""
    batches: dict[str, np.ndarray] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if member.isfile() and name in TRAIN + TEST:
                    data = tar.extractfile(member).read()
                    if len(data) % RECORD:
                        raise LgnError(f"{path}: {name} is not whole {RECORD}-byte records",
                                       "the archive is damaged: download it again")
                    batches[name] = np.frombuffer(data, np.uint8).reshape(-1, RECORD)
    except (OSError, tarfile.TarError, EOFError) as e:
        raise LgnError(f"{path} is not a readable tar.gz archive ({e})", "delete it and download it again") from None
    missing = [name for name in TRAIN + TEST if name not in batches]
    if missing:
        raise LgnError(f"{path} lacks {', '.join(missing)}", f"use the binary version of CIFAR-10 ({ARCHIVE})")

    def split(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        records = np.concatenate([batches[n] for n in names])
        images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # planes -> pixels of 3 channels
        return images, records[:, 0]

    (x_tr, y_tr), (x_te, y_te) = split(TRAIN), split(TEST)
    return checked("cifar10", x_tr, y_tr, x_te, y_te, feature_range=(0.0, 255.0))


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(root: Path, path: Path) -> None:
    print(f"lgn: downloading {ARCHIVE} (163 MB) to {root}", file=sys.stderr)
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(URL, timeout=120) as response:
            data = response.read()
    except OSError as e:
        if created:  # a failed download leaves no empty folder behind
            shutil.rmtree(root, ignore_errors=True)
        raise LgnError(f"{ARCHIVE} is not in {root} and could not be downloaded ({e})",
                       f"put it there or pass --data-dir / set {CIFAR10_ENV}") from None
    if hashlib.md5(data).hexdigest() != MD5:
        raise LgnError(f"the downloaded {ARCHIVE} does not match the published checksum", "try again later")
    write_bytes(path, data)
