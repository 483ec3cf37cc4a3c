"""Atomic file writes: a later stage never sees a half-written artifact."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: Path, obj: object) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def safetensors_header(data: bytes, key: str = "lgn") -> dict:
    """The JSON object stored under metadata ``key`` of a safetensors file's bytes.

    Raises ``ValueError`` for truncated files or a missing or malformed header; the arrays are
    left for ``safetensors`` to read.
    """
    if len(data) < 8:
        raise ValueError("file is truncated")
    length = int.from_bytes(data[:8], "little")
    if length > len(data) - 8:
        raise ValueError("file is truncated")
    outer = json.loads(data[8:8 + length])
    meta = outer.get("__metadata__") if isinstance(outer, dict) else None
    if not isinstance(meta, dict) or key not in meta:
        raise ValueError(f"no {key} header")
    header = json.loads(meta[key])
    if not isinstance(header, dict):
        raise ValueError(f"the {key} header is not a JSON object")
    return header
