"""``lgn synth`` and ``lgn flash``: the board build, place and route, bitstream, and programming."""

from __future__ import annotations

from pathlib import Path

from lgn import design_record, report, toolchain
from lgn.errors import LgnError
from lgn.fileio import write_bytes
from lgn.ir import serialize
from lgn.stages.common import NETLIST, NEXTPNR_REPORT, VERILOG, design_of, prepare_out, say


def synth_stage(out: Path, netlist_path: Path | None = None, board_name: str = "icebreaker", seed: int = 1,
                time_limit_s: float | None = None, breakdown: bool = True, freq_mhz: float | None = None,
                placer: str = "heap") -> dict:
    """Synthesize the board top, place and route it, pack the bitstream; Yosys and nextpnr each
    within ``time_limit_s`` (default :data:`lgn.toolchain.TIME_LIMIT_S`); an out-of-context
    build timed against ``freq_mhz`` (default :data:`lgn.boards.flow.OUT_OF_CONTEXT_MHZ`); placed by
    nextpnr's ``placer`` (:data:`lgn.boards.flow.PLACERS`). With ``breakdown``,
    an unrolled classifier's LUT4s and flip-flops by part (core, head, board top: report.json
    ``synth.breakdown``, :func:`lgn.boards.cells.breakdown`)."""
    from lgn.boards import targets
    from lgn.boards.flow import synthesize

    out = prepare_out(out)
    board = targets.get(board_name)
    if freq_mhz is not None and board.platform is not None:
        raise LgnError(f"--freq sets the clock of an out-of-context build, and the {board.name} runs at its "
                       "oscillator's", "drop --freq, or build with --board none")
    net = serialize.load(netlist_path or out / NETLIST)
    final = out / board.bitstream_file
    # never leave an older build's bitstream or figures beside a build that fails
    final.unlink(missing_ok=True)
    (out / NEXTPNR_REPORT).unlink(missing_ok=True)
    report.forget(out, ("synth", "artifacts.nextpnr_report", "artifacts.bitstream"))
    design = design_of(out, net, netlist_path)  # as `lgn compile` built it
    design_record.set_bitstream(out, board.name, None)
    result, bitstream, nextpnr_report = synthesize(design, out / VERILOG, board, out / "build" / board.name, seed=seed,
                                                   freq_mhz=freq_mhz, time_limit_s=time_limit_s or toolchain.TIME_LIMIT_S,
                                                   placer=placer)
    write_bytes(out / NEXTPNR_REPORT, nextpnr_report.read_bytes())
    artifacts = {"nextpnr_report": NEXTPNR_REPORT}
    if result.bitstream:
        write_bytes(final, bitstream.read_bytes())
        design_record.set_bitstream(out, board.name, final)
        artifacts["bitstream"] = final.name
    fields = result.to_dict() | {"bitstream": artifacts.get("bitstream", "")}
    if breakdown and not design.sequenced:
        from lgn.boards.cells import breakdown as parts_of

        say("synth", "where the LUTs go: Yosys on the classifier alone and on its core alone ...")
        fields["breakdown"] = parts_of(out / VERILOG, net, design.pipeline, board,
                                       out / "build" / board.name / "breakdown", placed=fields)
    say("synth", f"{board.device}: {result.luts} LUTs, {result.ffs} FFs, Fmax {result.fmax_mhz} MHz"
                  + (f" -> {final}" if result.bitstream else " (out of context: no bitstream)"))
    return report.update(out, {"synth": fields, "artifacts": artifacts})


def flash_stage(out: Path, board_name: str = "icebreaker", bitstream: Path | None = None) -> None:
    """Program the board with ``bitstream``, by default the one ``lgn synth`` wrote into ``out``,
    which must be the one it recorded for the netlist and Verilog there now."""
    from lgn.boards import targets
    from lgn.boards.flash import flash

    board = targets.get(board_name)
    path = Path(bitstream) if bitstream else Path(out) / board.bitstream_file
    if bitstream is None and path.is_file() and board.programmer is not None:
        design_record.check_bitstream(out, Path(out) / NETLIST, Path(out) / VERILOG, board.name, path)
    say("flash", f"programming the {board.name} with {path} ...")
    flash(board, path)
    say("flash", "done")
