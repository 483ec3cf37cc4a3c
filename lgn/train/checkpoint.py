"""Checkpoints: a model's ``state_dict`` and config in one safetensors file (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from lgn.errors import FormatError
from lgn.fileio import safetensors_header, write_bytes
from lgn.nn import LogicNet, LogicNetConfig

FORMAT = "lgn-checkpoint"
VERSION = 1


def save(model: LogicNet, path: Path, info: dict | None = None) -> None:
    """Write ``model`` (and free-form ``info``, e.g. the dataset) to ``path`` atomically."""
    header = {"format": FORMAT, "version": VERSION, "config": model.config.to_dict(), "info": info or {}}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_bytes(Path(path), st_save(state, metadata={"lgn": json.dumps(header, sort_keys=True)}))


def load(path: Path) -> tuple[LogicNet, dict]:
    """The model stored at ``path`` (in eval mode) and its ``info``; :class:`FormatError` if unusable."""
    path = Path(path)
    fix = "re-create it with `lgn train`"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"checkpoint {path} does not exist", fix) from None
    except OSError as e:
        raise FormatError(f"cannot read checkpoint {path}: {e.strerror}") from None
    try:
        header, state = safetensors_header(data), st_load(data)
    except (SafetensorError, ValueError) as e:
        raise FormatError(f"{path} is not a readable lgn checkpoint ({e})", fix) from None
    if header.get("format") != FORMAT:
        raise FormatError(f"{path} is not an lgn checkpoint (format {header.get('format')!r})", fix)
    if header.get("version") != VERSION:
        raise FormatError(f"{path} is checkpoint format version {header.get('version')}, "
                          f"this lgn reads version {VERSION}", fix)
    try:
        model = LogicNet(LogicNetConfig.from_dict(header["config"]))
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise FormatError(f"{path} does not hold a model lgn can rebuild ({str(e).splitlines()[0]})", fix) from None
    return model.eval(), dict(header.get("info", {}))
