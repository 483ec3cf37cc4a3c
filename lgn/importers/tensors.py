"""Reading foreign state dicts without running code, and the checks every importer shares."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from lgn.errors import FormatError

_FIX = "save it with `safetensors.torch.save_file(model.state_dict(), 'model.safetensors')` or `torch.save(model.state_dict(), ...)`"


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file or a torch file of tensors (never unpickling objects)."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"state dict {path} does not exist", "pass the file the model was saved to")
    try:
        if path.suffix == ".safetensors":
            tensors = load_file(path)
        else:
            tensors = torch.load(path, map_location="cpu", weights_only=True)
    except (SafetensorError, pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise FormatError(f"{path} is not a readable state dict of tensors ({first})", _FIX) from None
    for key in ("state_dict", "model_state_dict", "model"):  # common wrappers of a training script
        if isinstance(tensors, dict) and isinstance(tensors.get(key), dict):
            tensors = tensors[key]
    if not isinstance(tensors, dict) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
        raise FormatError(f"{path} holds a {type(tensors).__name__}, not a state dict of tensors", _FIX)
    for key, value in tensors.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise FormatError(f"{path}: {key} holds NaN or infinite values, so its gates have no argmax",
                              "export the model from a run whose weights are finite")
    return {k.removeprefix("module."): v for k, v in tensors.items()}  # DDP wraps names in module.


def layer_keys(tensors: dict[str, torch.Tensor], suffix: str) -> list[str]:
    """The module prefixes of the keys ``<prefix>.<suffix>``, in ``Sequential`` order (numeric index)."""
    found = [k[: -len(suffix) - 1] for k in tensors if k.endswith("." + suffix)]
    return sorted(found, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"[.]", p)])


def logits_ops(weights: torch.Tensor, name: str) -> np.ndarray:
    """Op codes of ``(out, 16)`` op logits: the argmax, first maximum on ties (as ``torch.argmax``)."""
    if weights.dim() != 2 or weights.shape[1] != 16:
        raise FormatError(f"{name} has shape {tuple(weights.shape)}; a two-input gate layer has (out, 16) logits")
    return weights.float().argmax(-1).numpy().astype(np.uint8)


def pins(indices: torch.Tensor, name: str, in_features: int, out_features: int) -> np.ndarray:
    """``(k, out)`` input indices, one row per pin, range-checked against the layer's inputs."""
    if indices.dim() != 2 or indices.shape[1] != out_features or not 1 <= indices.shape[0] <= 6:
        raise FormatError(f"{name} has shape {tuple(indices.shape)}, expected (k, {out_features}) with k from 1 to 6")
    idx = indices.long().numpy()
    if idx.min() < 0 or idx.max() >= in_features:
        raise FormatError(f"{name} reads input {int(idx.max())}, but the layer has {in_features} inputs",
                          "check --inputs and the layer order")
    return idx


def connections(indices: torch.Tensor, name: str, in_features: int, out_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Pins ``(a, b)`` from a ``(2, out)`` index tensor, range-checked against the layer's inputs."""
    if tuple(indices.shape) != (2, out_features):
        raise FormatError(f"{name} has shape {tuple(indices.shape)}, expected (2, {out_features})")
    idx = pins(indices, name, in_features, out_features)
    return idx[0], idx[1]


def check_head(width: int, classes: int) -> None:
    if classes < 2 or width % classes:
        raise FormatError(f"the last layer's {width} outputs do not split into {classes} classes",
                          "check --classes")
