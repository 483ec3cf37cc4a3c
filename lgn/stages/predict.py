"""``lgn predict``: a netlist run on the CPU engine over samples from a dataset or a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lgn.errors import LgnError
from lgn.fileio import write_bytes
from lgn.ir import serialize
from lgn.stages.common import dataset_of, warn_range


def predict(model: Path, data: str, data_dir: Path | None = None, output: Path | None = None,
            backend: str = "auto") -> dict:
    """Classify samples with the CPU engine: the test split of a dataset (:func:`lgn.data.load`),
    or the raw ``(n, features)`` float array in a ``.npy`` file; write the classes to ``output`` if given."""
    import time

    from lgn import engine

    net = serialize.load(model)
    labels = None
    if Path(data).suffix == ".npy":
        raw = _load_samples(Path(data))
        if raw.ndim == 2:
            warn_range(net, raw, data)
    else:
        ds = dataset_of(net, data, data_dir)
        raw, labels = ds.x_test, ds.y_test
    if raw.ndim != 2 or raw.shape[1] != net.inputs.num_features:
        raise LgnError(f"{data} holds samples of shape {raw.shape[1:]}, but the model takes "
                       f"{net.inputs.num_features} features", "pass data of the kind the model was trained on")
    eng = engine.build(net, backend)
    start = time.perf_counter()
    pred = eng.run(raw)
    wall = time.perf_counter() - start
    result = {"samples": len(raw), "engine": eng.backend, "build_s": round(eng.build_s, 3),
              "images_per_s": round(len(raw) / max(wall, 1e-9))}
    if labels is not None:
        result["accuracy"] = float((pred.classes == labels).mean())
    if output is not None:
        _write_classes(Path(output), pred.classes)
        result["output"] = str(output)
    return result


def _load_samples(path: Path) -> np.ndarray:
    if path.suffix != ".npy":
        raise LgnError(f"cannot read samples from {path}", "pass a dataset name or a .npy file of raw features")
    try:
        raw = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise LgnError(f"{path} does not exist", "pass a dataset name or a .npy file of raw features") from None
    except (OSError, ValueError) as e:
        raise LgnError(f"{path} is not a readable .npy array of numbers ({e})", "save it with numpy.save") from None
    if raw.dtype.kind not in "biuf":
        raise LgnError(f"{path} holds {raw.dtype} values, not real numbers", "save the raw features as numbers")
    raw = raw.astype(np.float32)
    if not np.isfinite(raw).all():
        raise LgnError(f"{path} holds NaN or infinite values", "fill or drop them: every feature must be a number")
    return raw


def _write_classes(path: Path, classes: np.ndarray) -> None:
    import io

    if not path.parent.is_dir():
        raise LgnError(f"cannot write predictions to {path}: {path.parent} is not a folder", "create it first")
    if path.suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, classes)
        write_bytes(path, buf.getvalue())
    elif path.suffix in (".csv", ".txt"):
        write_bytes(path, ("class\n" + "".join(f"{c}\n" for c in classes.tolist())).encode())
    else:
        raise LgnError(f"cannot write predictions to {path}", "use a .npy, .csv or .txt file name")
