"""Programming a board with the bitstream ``lgn synth`` wrote, through amaranth-boards' own
programmer invocation (iceprog for the iCEBreaker; openFPGALoader, dfu-util for ECP5 boards)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lgn.boards.flow import TOP
from lgn.boards.targets import Board
from lgn.errors import LgnError

PREAMBLE_WITHIN = 4096  # bytes: the packers write a short header (comments, padding) before it


def programmer(board: Board) -> str:
    """The programmer executable amaranth-boards will run (its environment variable, else the
    default name on PATH); :class:`LgnError` naming how to install it when it is missing."""
    variable, default, install = board.programmer
    tool = os.environ.get(variable, default)
    if shutil.which(tool) is None:
        raise LgnError(f"{tool}, which programs the {board.name}, is not installed",
                       f"install it ({install}) or point ${variable} at it")
    return tool


def flash(board: Board, bitstream: Path) -> None:
    """Program ``board`` with ``bitstream``; the programmer's own output goes to the terminal."""
    from amaranth.build.run import LocalBuildProducts

    if board.programmer is None:
        raise LgnError(f"--board {board.name} is an out-of-context build: there is no board to program",
                       "synthesize for a board (`lgn synth --board icebreaker` or `--board ulx3s`) and flash that")
    bitstream = Path(bitstream)
    if not bitstream.is_file():
        raise LgnError(f"bitstream {bitstream} does not exist", f"run `lgn synth --board {board.name}` first")
    head = bitstream.read_bytes()[:PREAMBLE_WITHIN]
    if board.family.preamble not in head:
        raise LgnError(f"{bitstream} is not an {board.family.name.upper()} bitstream (no {board.family.preamble.hex()} "
                       f"preamble)", f"flash the .{board.family.bitstream} that `lgn synth --board {board.name}` wrote")
    tool = programmer(board)
    with tempfile.TemporaryDirectory(prefix="lgn-flash-") as tmp:
        os.symlink(bitstream.resolve(), Path(tmp) / f"{TOP}{bitstream.suffix}")
        try:
            board.platform().toolchain_program(LocalBuildProducts(tmp), TOP)
        except subprocess.CalledProcessError as e:
            raise LgnError(f"{tool} could not program the {board.name} (exit status {e.returncode})",
                           "check that the board is connected and that you may access its USB device") from None
