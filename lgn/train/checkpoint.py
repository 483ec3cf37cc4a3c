"""Checkpoints in safetensors files (never pickle).

Two kinds, told apart by their header's ``format``:

- a *model* checkpoint (``lgn-checkpoint``): the trained model's ``state_dict`` and config,
  written once training is done; ``lgn compile`` reads it.
- a *training state* (``lgn-train-state``): the model, the optimizer's tensors, the epoch reached,
  the options and the history so far, rewritten after every epoch; ``lgn train --resume`` reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from lgn.errors import FormatError
from lgn.fileio import safetensors_header, write_bytes
from lgn.nn import LogicNet, LogicNetConfig

FORMAT = "lgn-checkpoint"
STATE_FORMAT = "lgn-train-state"
VERSION = 1
_MODEL = "model."
_OPTIMIZER = "optimizer."


def _write(path: Path, header: dict, tensors: dict[str, torch.Tensor]) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    write_bytes(Path(path), st_save(tensors, metadata={"lgn": json.dumps(header, sort_keys=True)}))


def _read(path: Path, fmt: str, what: str, fix: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """Header and tensors of the ``fmt`` file at ``path``; :class:`FormatError` if it is not one."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{what} {path} does not exist", fix) from None
    except OSError as e:
        raise FormatError(f"cannot read {what} {path}: {e.strerror}", fix) from None
    try:
        header, tensors = safetensors_header(data), st_load(data)
    except (SafetensorError, ValueError) as e:
        raise FormatError(f"{path} is not a readable lgn {what} ({e})", fix) from None
    if header.get("format") != fmt:
        raise FormatError(f"{path} is not an lgn {what} (format {header.get('format')!r})", fix)
    if header.get("version") != VERSION:
        raise FormatError(f"{path} is {what} format version {header.get('version')}, "
                          f"this lgn reads version {VERSION}", fix)
    return header, tensors


def _rebuild(path: Path, config: object, state: dict[str, torch.Tensor], fix: str) -> LogicNet:
    try:
        model = LogicNet(LogicNetConfig.from_dict(config))
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise FormatError(f"{path} does not hold a model lgn can rebuild ({str(e).splitlines()[0]})", fix) from None
    return model


def save(model: LogicNet, path: Path, info: dict | None = None) -> None:
    """Write ``model`` (and free-form ``info``, e.g. the dataset) to ``path`` atomically."""
    header = {"format": FORMAT, "version": VERSION, "config": model.config.to_dict(), "info": info or {}}
    _write(path, header, model.state_dict())


def load(path: Path) -> tuple[LogicNet, dict]:
    """The model stored at ``path`` (in eval mode) and its ``info``; :class:`FormatError` if unusable."""
    fix = "re-create it with `lgn train`"
    header, tensors = _read(path, FORMAT, "checkpoint", fix)
    return _rebuild(path, header.get("config"), tensors, fix).eval(), dict(header.get("info", {}))


def save_state(path: Path, model: LogicNet, optimizer: torch.optim.Optimizer, epoch: int, extra: dict) -> None:
    """Write a resumable training state after ``epoch`` atomically; ``extra`` is JSON (options, history)."""
    opt = optimizer.state_dict()
    tensors = {_MODEL + k: v for k, v in model.state_dict().items()}
    for pid, slots in opt["state"].items():
        for name, value in slots.items():
            tensors[f"{_OPTIMIZER}{pid}.{name}"] = torch.as_tensor(value)
    header = {"format": STATE_FORMAT, "version": VERSION, "config": model.config.to_dict(), "epoch": epoch,
              "param_groups": opt["param_groups"], "extra": extra}
    _write(path, header, tensors)


def progress(path: Path) -> tuple[int, int]:
    """``(epoch reached, epochs planned)`` of a training state, from its header alone."""
    path = Path(path)
    fix = f"delete {path} to start afresh"
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            header = safetensors_header(head + f.read(int.from_bytes(head, "little")) if len(head) == 8 else head)
        epoch = int(header["epoch"])
        target = int(header["extra"]["options"]["epochs"])
    except OSError as e:
        raise FormatError(f"cannot read training state {path}: {e.strerror}", fix) from None
    except (ValueError, KeyError, TypeError) as e:
        raise FormatError(f"{path} is not a readable lgn training state ({e})", fix) from None
    if header.get("format") != STATE_FORMAT:
        raise FormatError(f"{path} is not an lgn training state (format {header.get('format')!r})", fix)
    return epoch, target


def load_state(path: Path) -> tuple[LogicNet, dict, int, dict]:
    """``(model, optimizer state_dict, epoch, extra)`` from a training state written by :func:`save_state`."""
    fix = "start afresh without --resume (or point --out at the interrupted run)"
    header, tensors = _read(path, STATE_FORMAT, "training state", fix)
    model = _rebuild(path, header.get("config"),
                     {k[len(_MODEL):]: v for k, v in tensors.items() if k.startswith(_MODEL)}, fix)
    state: dict[int, dict[str, torch.Tensor]] = {}
    try:
        for key, value in tensors.items():
            if key.startswith(_OPTIMIZER):
                pid, name = key[len(_OPTIMIZER):].split(".", 1)
                state.setdefault(int(pid), {})[name] = value
        epoch, groups, extra = int(header["epoch"]), list(header["param_groups"]), dict(header["extra"])
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"{path} is a damaged training state ({e})", fix) from None
    params = list(model.parameters())
    for pid, slots in state.items():
        for name, value in slots.items():
            if value.dim() and (pid >= len(params) or value.shape != params[pid].shape):
                raise FormatError(f"{path} holds optimizer state {name} of shape {tuple(value.shape)} for parameter "
                                  f"{pid}, which the model does not have (a state of an older lgn?)", fix)
    return model, {"state": state, "param_groups": groups}, epoch, extra
