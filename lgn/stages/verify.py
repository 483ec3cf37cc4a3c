"""``lgn verify --formal``: ``classifier.v`` proven equal to the reference netlist written from the IR."""

from __future__ import annotations

import shutil
from pathlib import Path

from lgn import report
from lgn.errors import LgnError
from lgn.ir import serialize
from lgn.stages.common import NETLIST, VERILOG, design_of, prepare_out, say


def verify_stage(out: Path, netlist_path: Path | None = None, parts: tuple[str, ...] | None = None,
                 timeout_s: int = 600, allow_timeout: bool = False) -> dict:
    """Prove the emitted Verilog equal to the reference netlist written from the IR (Yosys SAT),
    the gate core and the head apart, and a streamed design's convolutional ``stages`` window by
    window (:func:`lgn.formal.equivalence.prove_stages`); ``parts`` default to all the design
    has. A part whose proof runs out of time is recorded as ``timeout`` and fails the stage (it
    is unproven), unless ``allow_timeout``."""
    from lgn.formal.equivalence import Streamed, prove, prove_stages

    out = prepare_out(out)
    net = serialize.load(netlist_path or out / NETLIST)
    verilog = out / VERILOG
    if not verilog.exists():
        raise LgnError(f"{verilog} does not exist", "run `lgn compile` first")
    design = design_of(out, net, netlist_path)
    if design.folded:
        raise LgnError("the formal proof covers unrolled and streamed designs, and this one folds threshold layers "
                       "over block RAM", "check it with `lgn sim` (and `--post-synth`), or compile with --fold none "
                       "to prove it")
    stream = design.stream
    parts = parts or (("stages", "core", "head") if stream is not None else ("core", "head"))
    if "stages" in parts and stream is None:
        raise LgnError("--part stages is a streamed design's convolutional stages, and this design has none",
                       "prove --part core and --part head")
    pipeline = design.pipeline
    build = out / "build" / "formal"
    shutil.rmtree(build, ignore_errors=True)  # the proof reads its own copy of the Verilog
    results = {}
    for part in parts:
        how = {"head": "node by node, Yosys equiv", "stages": "window by window, Yosys sat"}.get(part, "Yosys sat")
        say("verify", f"proving the {part} equal to the reference netlist ({how}, up to {timeout_s} s) ...")
        if part == "stages":
            proof = prove_stages(stream, verilog, build, timeout_s=timeout_s)
        else:
            (proof,) = prove(stream.dense if stream else net, verilog, pipeline, build, timeout_s=timeout_s,
                             parts=(part,), streamed=Streamed.of(stream) if stream else None)
        say("verify", f"{part}: {proof.status} ({proof.wall_s:.1f} s)")
        results[part] = {"status": proof.status, "wall_s": proof.wall_s, "log": str(Path(proof.log).relative_to(out))}
    rep = report.update(out, {"formal": results})
    different = [part for part, r in results.items() if r["status"] == "different"]
    if different:
        raise LgnError(f"the emitted {' and '.join(different)} differ from the netlist (Yosys found a counterexample)",
                       f"see {out / results[different[0]]['log']}")
    unfinished = [part for part, r in results.items() if r["status"] == "timeout"]
    if unfinished and not allow_timeout:
        raise LgnError(f"the {' and '.join(unfinished)} proof did not finish within {timeout_s} s, so it is unproven",
                       "raise --timeout, check that part with `lgn sim`, or pass --allow-timeout to accept it unproven")
    return rep
