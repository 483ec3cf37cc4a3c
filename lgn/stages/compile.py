"""``lgn compile`` and ``lgn import``: a model hardened (or imported) into the optimised IR netlist,
checked against its source, and emitted as ``classifier.v`` with its design record."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from lgn import design_record, report
from lgn.errors import LgnError
from lgn.fileio import write_bytes
from lgn.ir import executor, serialize
from lgn.ir.netlist import Netlist
from lgn.stages.common import (
    CHECKPOINT, NETLIST, RANDOM_VECTORS, TOPLEVEL, VERILOG, forget_hardware, prepare_out,
    random_samples, say,
)


def compile_stage(out: Path, checkpoint_path: Path | None = None, data_dir: Path | None = None,
                  opt_passes: tuple[str, ...] | None = None, pipeline: int | str = "auto", fold: str = "auto",
                  lut_budget: int | None = None, lanes: tuple[int, int] | None = None, *, stream: bool = False) -> dict:
    """Harden the checkpoint into the IR netlist, optimise it, check it against torch, emit Verilog.

    ``opt_passes`` names the IR passes to run (default: :data:`lgn.ir.passes.DEFAULT`; ``()`` runs none);
    ``pipeline`` K > 0 registers the classifier every K gate layers (see :class:`lgn.hdl.Classifier`),
    0 builds it combinational, ``"auto"`` chooses (:func:`lgn.hdl.design.choose_pipeline`);
    ``fold`` (``none``, ``auto`` under ``lut_budget`` LUT4s, ``all``) chooses the threshold layers
    run folded over block RAM on at most ``lanes`` = (PE, SIMD) lanes (see :func:`lgn.hdl.fold.plan`).
    """
    from lgn.train import checkpoint

    out = prepare_out(out)
    model, info = checkpoint.load(checkpoint_path or out / CHECKPOINT)
    return compile_model(out, model, info.get("dataset"), data_dir, opt_passes, pipeline, fold, lut_budget, lanes,
                         source=None if checkpoint_path else out / CHECKPOINT, stream=stream)


def compile_model(out: Path, model, dataset: str | None, data_dir: Path | None = None,
                  opt_passes: tuple[str, ...] | None = None, pipeline: int | str = "auto", fold: str = "auto",
                  lut_budget: int | None = None, lanes: tuple[int, int] | None = None, *,
                  source: Path | None = None, stream: bool = False) -> dict:
    """:func:`compile_stage` for a trained torch ``model`` in memory: a :class:`~lgn.nn.LogicNet`
    or a model of one's own (:func:`lgn.harden.parts`), trained on ``dataset`` (a name or path
    :func:`lgn.data.load` reads), which the netlist is checked on and remembers for ``lgn sim``.
    Writes what ``lgn compile`` writes into ``out``, where ``sim_stage``, ``verify_stage`` and
    ``synth_stage`` take it from; ``source``, the checkpoint in ``out`` the model was read from,
    is recorded so that those stages refuse the design once it changes. ``stream`` builds the
    streaming engine (:class:`~lgn.hdl.stream.StreamClassifier`) of a model with convolutional
    blocks: the blocks kept shared, the passes run on the dense layers after them."""
    from lgn import data
    from lgn.harden import harden, hardened_scores, parts

    out = prepare_out(out)
    try:
        encoder, _, _ = parts(model)
    except TypeError as e:
        raise LgnError(f"the model cannot be lowered: {e}", "build it from lgn's layers (see docs/library.md)") from None
    if not dataset:
        raise LgnError("nothing says which dataset the model was trained on", "pass the dataset")
    ds = data.load(dataset, data_dir)  # before anything is written: bad data leaves the folder as it was
    if ds.num_features != encoder.thresholds.shape[0]:
        raise LgnError(f"the model reads {encoder.thresholds.shape[0]} features but {ds.name} samples have "
                       f"{ds.num_features}", "pass the dataset the model was trained on")
    # the data it was trained on and its range, which later stages check what they are given against
    meta = {"dataset": data.name_of(dataset), "feature_range": list(ds.feature_range)}
    if stream:
        hardened, design, hdl, opt = _streamed(out, model, meta, opt_passes, pipeline, fold)
        net = design.net
    else:
        hardened = harden(model, meta=meta)
        net, opt = _optimise(out, hardened, opt_passes)
        design, hdl = _design(net, pipeline, fold, lut_budget, lanes)
    forget_hardware(out)
    netlist_sha = _save_netlist(out, net)
    matched = {}
    for split, x in (("test", ds.x_test), ("random", random_samples(net, ds, RANDOM_VECTORS))):
        torch_scores = hardened_scores(model, x)
        ref = executor.run(net, x)
        matched[split] = [int((torch_scores == ref.scores).all(1).sum()), len(x)]
        if split == "test":
            netlist_acc = float((ref.classes == ds.y_test).mean())
    say("compile", f"netlist vs torch: {matched['test'][0]}/{matched['test'][1]} test samples, "
                    f"{matched['random'][0]}/{matched['random'][1]} random samples bit-exact")

    rep = report.update(out, {
        "hdl": hdl,
        "accuracy": {"netlist": netlist_acc},
        "bit_exact": {"netlist_vs_torch": matched["test"], "netlist_vs_torch_random": matched["random"]},
        "gates": {"hardened": hardened.num_gates, "netlist": net.num_gates},
        "threshold_units": {"hardened": hardened.num_thresholds, "netlist": net.num_thresholds},
        "lut_nodes": {"hardened": hardened.num_luts, "netlist": net.num_luts},
        "opt": opt,
        "artifacts": {"netlist": NETLIST, "verilog": VERILOG},
    })
    for split, (ok, total) in matched.items():
        if ok != total:
            raise LgnError(f"the netlist differs from the hardened torch model on {total - ok} of {total} "
                           f"{split} samples", "this is a bug in lgn: please report it with the checkpoint")
    _emit(out, design, hdl, netlist_sha, source)
    return rep


def import_stage(out: Path, fmt: str, state_dict: Path, arch, opt_passes: tuple[str, ...] | None = None,
                 dataset: str | None = None, pipeline: int | str = "auto", fold: str = "auto", lut_budget: int | None = None,
                 lanes: tuple[int, int] | None = None, data_dir: Path | None = None, **options) -> dict:
    """Read another tool's state dict into the IR netlist, optimise it and emit Verilog.

    The optimised netlist is checked against the imported one by the reference executor on random
    bit vectors. With ``dataset``, an unset ``arch.threshold`` is the middle of the data's range
    (0.5 without one), the netlist's test accuracy is reported, with a warning near chance (a
    wrong threshold, seed or wiring), and the dataset is recorded for ``lgn sim``.
    """
    from lgn.importers import import_model
    from lgn import data

    out = prepare_out(out)
    ds = data.load(dataset, data_dir) if dataset else None
    if arch.threshold is None:
        low, high = ds.feature_range if ds else (0.0, 1.0)
        arch = replace(arch, threshold=(low + high) / 2)
        say("import", f"input bit i is x[i] > {arch.threshold:g}"
                      + (f", the middle of {ds.name}'s range {low:g}..{high:g}" if ds else " (0/1 inputs)")
                      + "; --threshold sets it")
    imported = import_model(fmt, state_dict, arch, **options)
    if ds:
        if ds.num_features != arch.inputs:
            raise LgnError(f"the model reads {arch.inputs} inputs but {ds.name} samples have {ds.num_features} "
                           "features", "check --inputs and --dataset")
        imported = replace(imported, meta=imported.meta | {"dataset": data.name_of(dataset),
                                                           "feature_range": list(ds.feature_range)})
    say("import", f"{fmt} {state_dict}: {arch.inputs} inputs, {len(imported.layers)} layers, "
                   f"{imported.num_gates} gates, {arch.classes} classes")
    net, opt = _optimise(out, imported, opt_passes)
    design, hdl = _design(net, pipeline, fold, lut_budget, lanes)
    forget_hardware(out)
    netlist_sha = _save_netlist(out, net)
    bits = np.random.default_rng(0).integers(0, 2, (RANDOM_VECTORS, net.inputs.width), dtype=np.uint8)
    same = (executor.run_bits(imported, bits).scores == executor.run_bits(net, bits).scores).all(1)
    rep = report.update(out, {
        "hdl": hdl,
        "import": {"format": fmt, "state_dict": str(state_dict), "inputs": arch.inputs, "classes": arch.classes,
                   "tau": arch.tau, "threshold": arch.threshold} | {k: v for k, v in options.items() if v is not None},
        "bit_exact": {"netlist_vs_import_random": [int(same.sum()), len(bits)]},
        "gates": {"hardened": imported.num_gates, "netlist": net.num_gates},
        "opt": opt,
        "artifacts": {"netlist": NETLIST, "verilog": VERILOG},
    })
    if not same.all():
        raise LgnError(f"the optimised netlist differs from the imported one on {int((~same).sum())} of {len(bits)} "
                       "random vectors", "this is a bug in lgn: please report it with the state dict")
    if ds:
        accuracy = float((executor.run(net, ds.x_test).classes == ds.y_test).mean())
        rep = report.update(out, {"accuracy": {"netlist": accuracy}})
        say("import", f"netlist accuracy on {ds.name}'s {len(ds.x_test)} test samples: {accuracy:.2%}")
        if accuracy < 1.5 / ds.num_classes:
            say("import", f"WARNING: {accuracy:.2%} is near chance ({1 / ds.num_classes:.0%}): check --threshold "
                          "(the inputs' scale), --inputs, and for difflogic --seed, --connections and --built-on")
    _emit(out, design, hdl, netlist_sha)
    return rep


def _optimise(out: Path, net: Netlist, opt_passes: tuple[str, ...] | None) -> tuple[Netlist, dict]:
    """Run the IR passes (default :data:`lgn.ir.passes.DEFAULT`); returns the optimised netlist and
    report.json's ``opt`` section."""
    from lgn.ir import passes

    names = passes.DEFAULT if opt_passes is None else tuple(opt_passes)
    try:
        optimised, pass_reports = passes.run(net, names)
    except ValueError as e:
        raise LgnError(str(e), "see `lgn compile --help` for the pass names") from None
    opt = _opt_summary(names, net, optimised, pass_reports)
    (out / VERILOG).unlink(missing_ok=True)  # emitted last: Verilog present means netlist and report match it
    for name, rewrites in opt["rewrites"].items():
        say("compile", f"pass {name:<9} " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in rewrites.items()))
    say("compile", f"netlist: {optimised.inputs.width} inputs, {len(optimised.layers)} layers, {net.describe()} -> "
                    f"{optimised.describe()}")
    return optimised, opt


def _streamed(out: Path, model, meta: dict, opt_passes: tuple[str, ...] | None, pipeline: int | str, fold: str):
    """``--stream``: ``model`` hardened (the flat netlist), its streaming design, the design's
    ``hdl`` section, and the passes' report on its dense part (the convolutional stages stay as
    trained: the engine shares them)."""
    from dataclasses import replace as replaced

    from lgn.harden import harden_streamed
    from lgn.hdl.design import Design

    if fold not in ("auto", "none"):
        raise LgnError("--stream builds its own schedule: a pixel per clock, no folded layers", "drop --fold")
    if pipeline == 0:
        raise LgnError("--stream registers the dense layers every K >= 1 layers (--pipeline 0 is combinational)",
                       "drop --pipeline (every layer) or give --pipeline K >= 1 (fewer flip-flops)")
    try:
        streamed = harden_streamed(model, meta)
    except ValueError as e:
        raise LgnError(f"--stream: {e}", "train with --conv, or compile without --stream") from None
    dense, opt = _optimise(out, streamed.dense, opt_passes)
    design = Design.streamed(replaced(streamed, dense=dense), pipeline=1 if pipeline == "auto" else pipeline)
    say("compile", f"--stream: {design.describe()}")
    return streamed.flat(), design, design.to_dict(), opt


def _save_netlist(out: Path, net: Netlist) -> str:
    """Write the netlist; the sha256 of the bytes written (for the design record)."""
    data = serialize.dumps(net)
    write_bytes(out / NETLIST, data)
    say("compile", f"netlist -> {out / NETLIST}")
    return design_record.sha256(data)


def _design(net: Netlist, pipeline: int | str, fold: str, lut_budget: int | None, lanes: tuple[int, int] | None):
    """The hardware mapping of ``net`` and report.json's ``hdl`` section, which ``lgn sim`` and
    ``lgn synth`` follow (:meth:`~lgn.hdl.design.Design.from_dict`)."""
    from lgn.hdl.design import Design
    from lgn.hdl.fold import LANES, LUT_BUDGET

    budget = LUT_BUDGET if lut_budget is None else lut_budget
    lanes = LANES if lanes is None else lanes
    try:
        design = Design.plan(net, pipeline, fold, budget, lanes)
    except ValueError as e:
        raise LgnError(str(e), "drop --pipeline (a folded design schedules its own clocks), or pass --fold none") from None
    hdl = design.to_dict(fold, budget, lanes)
    if design.choice:
        say("compile", f"--pipeline auto: {design.describe()} ({design.choice})")
    for layer in hdl["folded_layers"]:
        say("compile", f"layer {layer['layer']} folded: {layer['pe']} lanes x {layer['simd']} pins over "
                        f"{layer['rows']} weight rows ({layer['copies']} units per row), {layer['cycles']} cycles, "
                        f"{layer['weight_bits']:,} weight bits")
    return design, hdl


def _emit(out: Path, design, hdl: dict, netlist_sha: str, checkpoint: Path | None = None) -> None:
    """Write the classifier's Verilog and, last, its design record."""
    from lgn.hdl.emit import to_verilog

    (out / design_record.NAME).unlink(missing_ok=True)  # no record while the Verilog changes
    to_verilog(design.classifier(), TOPLEVEL, out / VERILOG)
    design_record.write(out, hdl, netlist_sha, out / VERILOG, checkpoint)
    say("compile", f"verilog ({design.describe()}) -> {out / VERILOG}")


def _opt_summary(names: tuple[str, ...], before: Netlist, after: Netlist, reports: list) -> dict:
    """report.json's ``opt`` section: the passes, the rounds run, gates before and after, and
    each pass's rewrites summed over the rounds."""
    rewrites: dict[str, dict[str, int]] = {}
    for rep in reports:
        totals = rewrites.setdefault(rep.name, {})
        for key, value in rep.rewrites.items():
            totals[key] = totals.get(key, 0) + int(value)
    return {"passes": list(names), "rounds": len(reports) // max(1, len(names)),
            "gates_before": before.num_gates, "gates_after": after.num_gates,
            "threshold_units_before": before.num_thresholds, "threshold_units_after": after.num_thresholds,
            "rewrites": rewrites}
