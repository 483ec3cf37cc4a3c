"""The pipeline's stages. Each reads the previous stage's artifact from the output folder,
writes its own, and extends ``report.json``; ``lgn run`` is all of them in order."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from lgn import design_record, report
from lgn.errors import LgnError
from lgn.fileio import write_bytes
from lgn.ir import executor, serialize
from lgn.ir.netlist import Netlist
from lgn.train.options import TrainOptions

CHECKPOINT = "model.safetensors"
TRAIN_STATE = "train-state.safetensors"
TRAIN_PLOT = "training.png"
NETLIST = "netlist.safetensors"
VERILOG = "classifier.v"
SIM_LOG = "sim.log"
NEXTPNR_REPORT = "nextpnr-report.json"
TOPLEVEL = "classifier"
RANDOM_VECTORS = 1000  # random samples simulated beside the test split
VECTORS_PER_JOB = 2000  # fewer per simulator process would spend more on its start than they save


def _say(stage: str, msg: str) -> None:
    print(f"[{stage}] {msg}", file=sys.stderr, flush=True)


def prepare_out(out: Path, *, extends_report: bool = True) -> Path:
    """Create ``out`` and check it is writable; a stage that extends report.json also checks that
    the report there is readable, before it does any work or writes anything."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LgnError(f"cannot create output folder {out}: {e.strerror}", "choose another --out") from None
    probe = out / ".lgn-write-test"
    try:
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise LgnError(f"output folder {out} is not writable: {e.strerror}", "choose another --out") from None
    if extends_report:
        report.read(out)
    return out


def train_stage(out: Path, opts: TrainOptions, data_dir: Path | None = None) -> dict:
    """Train a network of ``opts.family`` from scratch; checkpoint every epoch, then write the model and a fresh report."""
    import torch

    from lgn.nn import LogicNet
    from lgn.nn.encoder import quantile_thresholds
    from lgn.train import checkpoint, data

    out = prepare_out(out, extends_report=False)  # training starts a fresh report
    state = out / TRAIN_STATE
    if state.exists():
        epoch, target = checkpoint.progress(state)
        if epoch < target:
            raise LgnError(f"{out} holds an interrupted training run (epoch {epoch} of {target})",
                           f"resume it with `lgn train --out {out} --resume`, or delete {state} to start afresh")
    for stale in (CHECKPOINT, NETLIST, VERILOG):  # they would belong to the previous run
        (out / stale).unlink(missing_ok=True)
    _forget_hardware(out, figures=False)  # training writes a fresh report
    ds = data.load(opts.dataset, data_dir)
    try:
        model = LogicNet(opts.model_config(ds))
    except ValueError as e:
        raise LgnError(f"invalid architecture: {e}",
                       "adjust --widths, --thresholds, --tau, --wiring, or the family's --tiles, --branches, --synapses") from None
    if opts.encoding == "quantile":  # a buffer of the model: the checkpoint and the netlist keep them
        model.encoder.thresholds.copy_(quantile_thresholds(torch.as_tensor(ds.x_train), opts.thresholds))
    return _train(out, model, opts, ds, None, [])


def resume_stage(out: Path, epochs: int | None = None, data_dir: Path | None = None) -> dict:
    """Continue the run whose training state is in ``out`` (to ``epochs`` if given, else its own target)."""
    from lgn.train import checkpoint, data
    from lgn.train.loop import EpochStats
    from lgn.train.options import TrainOptions

    out = Path(out)
    model, optimizer_state, epoch, extra = checkpoint.load_state(out / TRAIN_STATE)
    try:
        opts = TrainOptions.from_dict(extra["options"])
        history = [EpochStats.from_dict(h) for h in extra["history"]]
    except (KeyError, TypeError) as e:
        raise LgnError(f"{out / TRAIN_STATE} is a damaged training state ({e})", "start afresh without --resume") from None
    if epochs is not None:
        opts = replace(opts, epochs=epochs)
    ds = data.load(opts.dataset, data_dir)
    if ds.num_features != model.config.num_features:
        raise LgnError(f"the interrupted run trained on {model.config.num_features} features but {ds.name} has "
                       f"{ds.num_features}", "point --data-dir at the data the run started with")
    _say("train", f"resuming {out} after epoch {epoch} of {opts.epochs}")
    return _train(out, model, opts, ds, optimizer_state, history[:epoch])


def _train(out: Path, model, opts: TrainOptions, ds, optimizer_state: dict | None, history: list) -> dict:
    from lgn.train import checkpoint, distributed, loop
    from lgn.train.plot import plot_history

    rank, world = distributed.init_from_env()
    main = rank == 0
    if main:
        _say("train", f"{opts.preset} preset on {ds.name}: {len(ds.x_train)} train / {len(ds.x_test)} test samples, "
                      f"{model.encoder.out_features} input bits, layers {list(model.config.widths)}, "
                      f"{model.describe()}"
                      + (f", wired from {model.config.window}x{model.config.window} patches"
                         if model.config.wiring == "local" else "")
                      + (f", {world} processes" if world > 1 else ""))
    progress = loop.print_progress(opts.epochs)

    def on_epoch(hist: list, optimizer) -> None:
        if not main:
            return
        progress(hist[-1])
        checkpoint.save_state(out / TRAIN_STATE, model, optimizer, hist[-1].epoch, {
            "options": opts.to_dict(), "dataset": ds.name, "history": [h.to_dict() for h in hist]})
        plot_history(hist, out / TRAIN_PLOT, f"{opts.preset}: {model.describe()} on {ds.name}")

    try:
        history = loop.fit(model, ds.x_train, ds.y_train, ds.x_test, ds.y_test, epochs=opts.epochs,
                           batch_size=opts.batch_size, lr=opts.lr, schedule=opts.schedule, seed=opts.seed,
                           optimizer_state=optimizer_state, history=history, on_epoch=on_epoch)
    finally:
        distributed.shutdown()
    if not main:
        return {}
    checkpoint.save(model, out / CHECKPOINT, {"dataset": ds.name, "preset": opts.preset})
    last = history[-1]
    return report.update(out, {
        "dataset": ds.name,
        "test_samples": len(ds.x_test),
        "accuracy": {"trained": loop.accuracy(model, ds.x_test, ds.y_test, hardened=False),
                     "hardened": last.hardened_accuracy},  # measured on this model after its last epoch
        "gates": {"trained": model.num_gates},
        "threshold_units": {"trained": model.num_units},
        "lut_nodes": {"trained": model.num_luts},
        "weight_bits": model.weight_bits,
        "train": opts.to_dict() | {"widths": list(opts.widths), "wall_s": round(sum(h.wall_s for h in history), 2),
                                   "samples_per_s": round(last.samples_per_s), "processes": world},
        "artifacts": {"checkpoint": CHECKPOINT, "train_state": TRAIN_STATE, "train_plot": TRAIN_PLOT},
    }, fresh=True)


def _forget_hardware(out: Path, *, figures: bool = True) -> None:
    """Before a new model, netlist or Verilog lands in ``out``: delete the bitstreams and (with
    ``figures``) drop every figure the hardware stages reported about the old design, so that
    none of them can be taken for the new one's (``lgn flash`` would program the old design)."""
    from lgn.boards import targets

    for board in targets.BOARDS.values():
        (out / f"{board.name}.{board.family.bitstream}").unlink(missing_ok=True)
    (out / NEXTPNR_REPORT).unlink(missing_ok=True)
    if figures:
        report.forget(out)


def _dataset_of(net: Netlist, dataset: str | None, data_dir: Path | None):
    from lgn.train import data

    name = dataset or net.meta.get("dataset")
    if not name:
        raise LgnError("the netlist does not say which dataset it was trained on", "pass --dataset")
    ds = data.load(name, data_dir)
    if ds.num_features != net.inputs.num_features:
        raise LgnError(f"the netlist takes {net.inputs.num_features} features but {ds.name} samples have "
                       f"{ds.num_features}", "pass the dataset the model was trained on")
    return ds


def _random_samples(net: Netlist, ds, n: int, seed: int = 0) -> np.ndarray:
    low, high = ds.feature_range
    return np.random.default_rng(seed).uniform(low, high, (n, net.inputs.num_features)).astype(np.float32)


def compile_stage(out: Path, checkpoint_path: Path | None = None, data_dir: Path | None = None,
                  opt_passes: tuple[str, ...] | None = None, pipeline: int = 0, fold: str = "auto",
                  lut_budget: int | None = None, lanes: tuple[int, int] | None = None) -> dict:
    """Harden the checkpoint into the IR netlist, optimise it, check it against torch, emit Verilog.

    ``opt_passes`` names the IR passes to run (default: :data:`lgn.ir.passes.DEFAULT`; ``()`` runs none);
    ``pipeline`` K > 0 registers the classifier every K gate layers (see :class:`lgn.hdl.Classifier`);
    ``fold`` (``none``, ``auto`` under ``lut_budget`` LUT4s, ``all``) chooses the threshold layers
    run folded over block RAM on at most ``lanes`` = (PE, SIMD) lanes (see :func:`lgn.hdl.fold.plan`).
    """
    from lgn.harden import harden, hardened_scores
    from lgn.train import checkpoint

    out = prepare_out(out)
    model, info = checkpoint.load(checkpoint_path or out / CHECKPOINT)
    hardened = harden(model, meta={"dataset": info.get("dataset")} if info.get("dataset") else {})
    net, opt = _optimise(out, hardened, opt_passes)
    design, hdl = _design(net, pipeline, fold, lut_budget, lanes)
    _forget_hardware(out)
    netlist_sha = _save_netlist(out, net)
    ds = _dataset_of(net, None, data_dir)
    matched = {}
    for split, x in (("test", ds.x_test), ("random", _random_samples(net, ds, RANDOM_VECTORS))):
        torch_scores = hardened_scores(model, x)
        ref = executor.run(net, x)
        matched[split] = [int((torch_scores == ref.scores).all(1).sum()), len(x)]
        if split == "test":
            netlist_acc = float((ref.classes == ds.y_test).mean())
    _say("compile", f"netlist vs torch: {matched['test'][0]}/{matched['test'][1]} test samples, "
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
    _emit(out, design, hdl, netlist_sha)
    return rep


def import_stage(out: Path, fmt: str, state_dict: Path, arch, opt_passes: tuple[str, ...] | None = None,
                 dataset: str | None = None, pipeline: int = 0, fold: str = "auto", lut_budget: int | None = None,
                 lanes: tuple[int, int] | None = None, **options) -> dict:
    """Read another tool's state dict into the IR netlist, optimise it and emit Verilog.

    The optimised netlist is checked against the imported one by the reference executor on random
    bit vectors; ``dataset`` (if given) is recorded so ``lgn sim`` knows what to simulate.
    """
    from lgn.importers import import_model

    out = prepare_out(out)
    imported = import_model(fmt, state_dict, arch, **options)
    if dataset:
        imported = replace(imported, meta=imported.meta | {"dataset": dataset})
    _say("import", f"{fmt} {state_dict}: {arch.inputs} inputs, {len(imported.layers)} layers, "
                   f"{imported.num_gates} gates, {arch.classes} classes")
    net, opt = _optimise(out, imported, opt_passes)
    design, hdl = _design(net, pipeline, fold, lut_budget, lanes)
    _forget_hardware(out)
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
        _say("compile", f"pass {name:<9} " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in rewrites.items()))
    _say("compile", f"netlist: {optimised.inputs.width} inputs, {len(optimised.layers)} layers, {net.describe()} -> "
                    f"{optimised.describe()}")
    return optimised, opt


def _save_netlist(out: Path, net: Netlist) -> str:
    """Write the netlist; the sha256 of the bytes written (for the design record)."""
    data = serialize.dumps(net)
    write_bytes(out / NETLIST, data)
    _say("compile", f"netlist -> {out / NETLIST}")
    return design_record.sha256(data)


def _design(net: Netlist, pipeline: int, fold: str, lut_budget: int | None, lanes: tuple[int, int] | None):
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
    for layer in hdl["folded_layers"]:
        _say("compile", f"layer {layer['layer']} folded: {layer['pe']} lanes x {layer['simd']} pins over "
                        f"{layer['rows']} weight rows ({layer['copies']} units per row), {layer['cycles']} cycles, "
                        f"{layer['weight_bits']:,} weight bits")
    return design, hdl


def _design_of(out: Path, net: Netlist, netlist_path: Path | None = None):
    """The design `lgn compile` built into ``out``, from the record beside ``classifier.v``
    (which must be the pair of ``netlist_path``, by default ``out``'s netlist)."""
    from lgn.hdl.design import Design

    return Design.from_dict(net, design_record.read(out, netlist_path or out / NETLIST, out / VERILOG))


def _emit(out: Path, design, hdl: dict, netlist_sha: str) -> None:
    """Write the classifier's Verilog and, last, its design record."""
    from lgn.hdl.emit import to_verilog

    (out / design_record.NAME).unlink(missing_ok=True)  # no record while the Verilog changes
    to_verilog(design.classifier(), TOPLEVEL, out / VERILOG)
    design_record.write(out, hdl, netlist_sha, out / VERILOG)
    _say("compile", f"verilog ({design.describe()}) -> {out / VERILOG}")


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


def sim_stage(out: Path, netlist_path: Path | None = None, simulator: str | None = None,
              dataset: str | None = None, data_dir: Path | None = None, post_synth: str | None = None,
              jobs: int | None = None) -> dict:
    """Simulate the emitted Verilog under cocotb against the reference executor; with
    ``post_synth`` (a board name), the netlist Yosys maps it to for that board's FPGA family,
    simulated with Yosys' cell models, instead. ``jobs`` simulator processes share the vectors
    (default: one per :data:`VECTORS_PER_JOB`, at most one per core)."""
    from lgn.hdl.head import score_width
    from lgn.sim.runner import simulate

    out = prepare_out(out)
    net = serialize.load(netlist_path or out / NETLIST)
    ds = _dataset_of(net, dataset, data_dir)
    verilog = out / VERILOG
    if not verilog.exists():
        raise LgnError(f"{verilog} does not exist", "run `lgn compile` first")
    design = _design_of(out, net, netlist_path)
    what, sources, log, extra = "rtl", verilog, out / SIM_LOG, {}
    if post_synth:
        from lgn.boards import targets
        from lgn.boards.flow import map_to_cells

        board = targets.get(post_synth)
        family = board.family
        _say("sim", f"mapping {VERILOG} to {family.name} cells with Yosys `{board.synth_command}` ...")
        sources, yosys_s = map_to_cells(verilog, TOPLEVEL, board, out / "build" / f"postsynth-{family.name}")
        what, log, extra = "postsynth", out / f"postsynth-{family.name}-sim.log", {"family": family.name,
                                                                                 "yosys_s": round(yosys_s, 2)}
    x = np.concatenate([ds.x_test, _random_samples(net, ds, RANDOM_VECTORS)])
    bits = executor.encode(net.inputs, x)
    expected = executor.run_bits(net, bits)
    n_test = len(ds.x_test)
    jobs = jobs or max(1, min(os.cpu_count() or 1, len(x) // VECTORS_PER_JOB))
    _say("sim", f"simulating {len(x)} vectors ({n_test} test + {RANDOM_VECTORS} random) in {jobs} process(es) ...")
    result = simulate(sources, TOPLEVEL, bits, expected, score_width(net.head), build_dir=out / "build" / f"sim-{what}",
                      log=log, simulator=simulator, latency=design.latency, handshake=design.folded, jobs=jobs)
    same = (result.prediction.scores == expected.scores).all(1) & (result.prediction.classes == expected.classes)
    test_ok, random_ok = int(same[:n_test].sum()), int(same[n_test:].sum())
    _say("sim", f"{result.simulator}: {what} vs netlist {test_ok}/{n_test} test, {random_ok}/{RANDOM_VECTORS} random "
                f"bit-exact ({result.wall_s:.1f} s)")
    rep = report.update(out, {
        "accuracy": {what: float((result.prediction.classes[:n_test] == ds.y_test).mean())},
        "bit_exact": {f"{what}_vs_netlist": [test_ok, n_test], f"{what}_vs_netlist_random": [random_ok, RANDOM_VECTORS]},
        "sim" if what == "rtl" else "sim_postsynth": {"simulator": result.simulator, "vectors": len(x),
                                                        "wall_s": round(result.wall_s, 2)} | extra,
        "artifacts": {f"{what}_sim_log": log.name},
    })
    if result.matched != result.total:
        raise LgnError(f"the {'RTL' if what == 'rtl' else 'mapped netlist'} differs from the netlist on "
                       f"{result.total - result.matched} of {result.total} vectors", f"see {log}")
    return rep


def verify_stage(out: Path, netlist_path: Path | None = None, parts: tuple[str, ...] = ("core", "head"),
                 timeout_s: int = 600, allow_timeout: bool = False) -> dict:
    """Prove the emitted Verilog equal to the reference netlist written from the IR (Yosys SAT),
    the gate core and the head apart. A part whose proof runs out of time is recorded as
    ``timeout`` and fails the stage (it is unproven), unless ``allow_timeout``."""
    from lgn.formal.equivalence import prove

    out = prepare_out(out)
    net = serialize.load(netlist_path or out / NETLIST)
    verilog = out / VERILOG
    if not verilog.exists():
        raise LgnError(f"{verilog} does not exist", "run `lgn compile` first")
    design = _design_of(out, net, netlist_path)
    if design.folded:
        raise LgnError("the formal proof covers unrolled designs, and this one folds threshold layers over "
                       "block RAM", "check it with `lgn sim` (and `--post-synth`), or compile with --fold none to prove it")
    pipeline = design.pipeline
    build = out / "build" / "formal"
    shutil.rmtree(build, ignore_errors=True)  # the proof reads its own copy of the Verilog
    results = {}
    for part in parts:
        _say("verify", f"proving the {part} equal to the reference netlist (Yosys sat, up to {timeout_s} s) ...")
        (proof,) = prove(net, verilog, pipeline, build, timeout_s=timeout_s, parts=(part,))
        _say("verify", f"{part}: {proof.status} ({proof.wall_s:.1f} s)")
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


def synth_stage(out: Path, netlist_path: Path | None = None, board_name: str = "icebreaker", seed: int = 1) -> dict:
    """Synthesize the board top, place and route it, pack the bitstream."""
    from lgn.boards import targets
    from lgn.boards.flow import synthesize

    out = prepare_out(out)
    board = targets.get(board_name)
    net = serialize.load(netlist_path or out / NETLIST)
    final = out / f"{board.name}.{board.family.bitstream}"
    final.unlink(missing_ok=True)  # never leave an older bitstream beside a newer netlist
    design = _design_of(out, net, netlist_path)  # as `lgn compile` built it
    result, bitstream, nextpnr_report = synthesize(design, board, out / "build" / board.name, seed=seed)
    write_bytes(out / NEXTPNR_REPORT, nextpnr_report.read_bytes())
    artifacts = {"nextpnr_report": NEXTPNR_REPORT}
    if result.bitstream:
        write_bytes(final, bitstream.read_bytes())
        artifacts["bitstream"] = final.name
    fields = result.to_dict() | {"bitstream": artifacts.get("bitstream", "")}
    _say("synth", f"{board.device}: {result.luts} LUTs, {result.ffs} FFs, Fmax {result.fmax_mhz} MHz"
                  + (f" -> {final}" if result.bitstream else " (out of context: no bitstream)"))
    return report.update(out, {"synth": fields, "artifacts": artifacts})


def flash_stage(out: Path, board_name: str = "icebreaker", bitstream: Path | None = None) -> None:
    """Program the board with ``bitstream`` (default: the one ``lgn synth`` wrote into ``out``)."""
    from lgn.boards import targets
    from lgn.boards.flash import flash

    board = targets.get(board_name)
    path = Path(bitstream) if bitstream else Path(out) / f"{board.name}.{board.family.bitstream}"
    _say("flash", f"programming the {board.name} with {path} ...")
    flash(board, path)
    _say("flash", "done")


def host_stage(out: Path, port: str, netlist_path: Path | None = None, dataset: str | None = None,
               data_dir: Path | None = None, samples: int | None = None) -> dict:
    """Stream test samples to the flashed board at ``port`` and record what it answered."""
    from lgn import host
    from lgn.boards.top import BAUD

    out = prepare_out(out)
    net = serialize.load(netlist_path or out / NETLIST)
    ds = _dataset_of(net, dataset, data_dir)
    raw, labels = ds.x_test[:samples], ds.y_test[:samples]
    _say("host", f"streaming {len(raw)} {ds.name} test samples to {port} at {BAUD} baud ...")
    result = host.run(port, net, raw, labels, baud=BAUD)
    _say("host", f"board accuracy {result['accuracy']:.4f}, {result['matches_executor'][0]}/{len(raw)} equal to "
                 f"the executor, {result['inferences_per_s']} inferences/s")
    rep = report.update(out, {"host": result, "accuracy": {"board": result["accuracy"]},
                              "bit_exact": {"board_vs_netlist": result["matches_executor"]}})
    if result["matches_executor"][0] != len(raw):
        raise LgnError(f"the board differs from the netlist on {len(raw) - result['matches_executor'][0]} samples",
                       "flash the bitstream built from this netlist (`lgn synth`, then `lgn flash`)")
    return rep


def predict(model: Path, data: str, data_dir: Path | None = None, output: Path | None = None,
            backend: str = "auto") -> dict:
    """Classify samples with the CPU engine: the test split of a dataset by name, or the raw
    ``(n, features)`` float array in a ``.npy`` file; write the classes to ``output`` if given."""
    import time

    from lgn import engine
    from lgn.train.data import DATASETS

    net = serialize.load(model)
    labels = None
    if data in DATASETS:
        ds = _dataset_of(net, data, data_dir)
        raw, labels = ds.x_test, ds.y_test
    else:
        raw = _load_samples(Path(data))
    if raw.ndim != 2 or raw.shape[1] != net.inputs.num_features:
        raise LgnError(f"{data} holds samples of shape {raw.shape[1:]}, but the model takes "
                       f"{net.inputs.num_features} features", "pass data of the kind the model was trained on")
    eng = engine.build(net, backend)
    start = time.perf_counter()
    pred = eng.run(raw)
    wall = time.perf_counter() - start
    result = {"samples": len(raw), "engine": eng.backend, "build_s": round(eng.build_s, 3),
              "images_per_s": round(len(raw) / max(wall, 1e-9))}
    if labels is not None:
        result["accuracy"] = float((pred.classes == labels).mean())
    if output is not None:
        _write_classes(Path(output), pred.classes)
        result["output"] = str(output)
    return result


def _load_samples(path: Path) -> np.ndarray:
    if path.suffix != ".npy":
        raise LgnError(f"cannot read samples from {path}", "pass a dataset name or a .npy file of raw features")
    try:
        return np.asarray(np.load(path, allow_pickle=False), dtype=np.float32)
    except FileNotFoundError:
        raise LgnError(f"{path} does not exist", "pass a dataset name or a .npy file of raw features") from None
    except (OSError, ValueError) as e:
        raise LgnError(f"{path} is not a readable .npy array of numbers ({e})", "save it with numpy.save") from None


def _write_classes(path: Path, classes: np.ndarray) -> None:
    import io

    if path.suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, classes)
        write_bytes(path, buf.getvalue())
    elif path.suffix in (".csv", ".txt"):
        write_bytes(path, ("class\n" + "".join(f"{c}\n" for c in classes.tolist())).encode())
    else:
        raise LgnError(f"cannot write predictions to {path}", "use a .npy, .csv or .txt file name")


def summary(rep: dict) -> str:
    """A table of the figures a person looks at after a run."""
    def frac(key: str) -> str:
        v = rep.get("accuracy", {}).get(key)
        return "-" if v is None else f"{v:.4f}"

    def pair(key: str) -> str:
        v = rep.get("bit_exact", {}).get(key)
        return "-" if v is None else f"{v[0]}/{v[1]}" + ("" if v[0] == v[1] else "  MISMATCH")

    def sizes(key: str) -> str:
        v = rep.get(key, {})
        return f"{v.get('hardened', v.get('trained', '-'))} / {v.get('netlist', '-')}"

    s = rep.get("synth", {})
    folded = rep.get("hdl", {}).get("folded_layers", [])
    rows = [
        ("dataset", f"{rep.get('dataset', '-')} ({rep.get('test_samples', '-')} test samples)"),
        *([("gates (hardened / optimised)", sizes("gates"))] if any(rep.get("gates", {}).values())
          or not any(any(rep.get(k, {}).values()) for k in ("threshold_units", "lut_nodes")) else []),
        *([("threshold units (hardened / opt.)", sizes("threshold_units"))]
          if any(rep.get("threshold_units", {}).values()) else []),
        *([("LUT nodes (hardened / optimised)", sizes("lut_nodes"))] if any(rep.get("lut_nodes", {}).values()) else []),
        *([("folded layers / BRAM bits", f"{', '.join(str(f['layer']) for f in folded)} / "
                                          f"{rep['hdl']['bram_bits']:,} ({rep['hdl']['cycles_per_inference']} cycles "
                                          "per inference)")] if folded else []),
        ("accuracy trained (relaxed)", frac("trained")),
        ("accuracy hardened (torch)", frac("hardened")),
        ("accuracy netlist (executor)", frac("netlist")),
        ("accuracy rtl (simulation)", frac("rtl")),
        ("bit-exact netlist vs torch", pair("netlist_vs_torch")),
        ("bit-exact rtl vs netlist", pair("rtl_vs_netlist")),
    ]
    if "import" in rep:
        rows.insert(1, ("imported from", f"{rep['import']['format']} {rep['import']['state_dict']}"))
        rows.insert(-2, ("bit-exact netlist vs import", pair("netlist_vs_import_random")))
    if "postsynth_vs_netlist" in rep.get("bit_exact", {}):  # after the import rows: they count from the end
        rows += [("accuracy post-synthesis", frac("postsynth")),
                 ("bit-exact post-synth vs netlist", pair("postsynth_vs_netlist"))]
    for part, proof in rep.get("formal", {}).items():
        rows.append((f"formal {part} vs netlist", f"{proof['status']} ({proof['wall_s']} s)"))
    if s:
        rows += [
            ("device", s["device"]),
            ("LUTs / FFs / carry", f"{s['luts']} / {s['ffs']} / {s['carries']}"),
            ("logic cells / block RAMs", f"{s['logic_cells']} of {s['logic_cells_available']} "
                                         f"({100 * s['logic_cells'] / s['logic_cells_available']:.0f}%) / {s['bram']}"),
            ("Fmax", f"{s['fmax_mhz']} MHz (board clock {s['clock_mhz']} MHz"
                     + (f", {s['path_cycles']} cycles to settle)" if s["path_cycles"] > 1 else ")")),
            ("latency / throughput", f"{s['latency_cycles']} cycles / {s['inferences_per_s']:,.0f} inferences/s"
                                     + (" (sequenced, folded layers)" if s.get("cycles_per_inference", 1) > 1
                                        else f" (pipeline {s['pipeline']})" if s["pipeline"] else " (combinational)")),
            ("bitstream", s["bitstream"] or "none (out of context)"),
        ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)
