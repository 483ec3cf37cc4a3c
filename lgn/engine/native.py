"""Compiling generated C with the system compiler, cached by content."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lgn.errors import ToolError

FLAGS = ("-O2", "-march=native", "-shared", "-fPIC", "-std=gnu11")


def compiler() -> str | None:
    """The C compiler to use: ``$CC``, else ``cc``, ``gcc`` or ``clang`` from PATH; ``None`` if there is none."""
    for name in filter(None, (os.environ.get("CC"), "cc", "gcc", "clang")):
        path = shutil.which(name)
        if path:
            return path
    return None


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lgn" / "engine"


def shared_library(source: str, cc: str, flags: tuple[str, ...] = FLAGS) -> tuple[Path, bool]:
    """``(path, cached)``: the shared library built from ``source`` with ``flags``, compiled unless already cached.

    The cache key covers the source, the flags and the compiler's identity; the library is
    compiled beside its final name and renamed into place, so a killed build leaves nothing usable.
    """
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256("\0".join([source, " ".join(flags), cc, version]).encode()).hexdigest()[:24]
    folder = cache_dir()
    target = folder / f"lgn-{key}.so"
    if target.exists():
        return target, True
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as tmp:
        src, lib = Path(tmp) / "engine.c", Path(tmp) / "engine.so"
        src.write_text(source)
        result = subprocess.run([cc, *flags, "-o", str(lib), str(src)], capture_output=True, text=True)
        if result.returncode != 0:
            log = folder / f"lgn-{key}.log"
            log.write_text(result.stderr)
            raise ToolError(Path(cc).name, f"failed to compile the engine ({_first_error(result.stderr)})", log)
        os.replace(lib, target)
    return target, False


def _first_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error" in line]
    return (lines or stderr.strip().splitlines() or ["no message"])[0].strip()
