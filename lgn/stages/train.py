"""``lgn train``: a model trained from scratch or resumed, checkpointed every epoch."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lgn import report
from lgn.errors import LgnError
from lgn.stages.common import (
    CHECKPOINT, NETLIST, TRAIN_PLOT, TRAIN_STATE, VERILOG, forget_hardware, lock, prepare_out, say,
)
from lgn.train.options import TrainOptions


DEVICES = ("auto", "cpu", "cuda")


def device_of(name: str):
    """The torch device ``--device`` names (``auto``: CUDA where PyTorch sees it, else the CPU)."""
    import torch

    if name not in DEVICES:
        raise LgnError(f"unknown device {name!r}", f"choose one of {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise LgnError("--device cuda, but PyTorch sees no CUDA device here",
                       "train with --device cpu, or install a CUDA build of torch on a machine with a GPU")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def train_stage(out: Path, opts: TrainOptions, data_dir: Path | None = None, device: str = "auto") -> dict:
    """Train a network of ``opts.family`` from scratch; checkpoint every epoch, then write the model and a fresh report."""
    import torch

    from lgn import data
    from lgn.nn import LogicNet
    from lgn.nn.families import FAMILIES, STRAIGHT_THROUGH_FAMILIES
    from lgn.nn.encoder import quantile_thresholds
    from lgn.train import checkpoint

    out = prepare_out(out, extends_report=False)  # training starts a fresh report
    state = out / TRAIN_STATE
    if state.exists():
        epoch, target = checkpoint.progress(state)
        if epoch < target:
            raise LgnError(f"{out} holds an interrupted training run (epoch {epoch} of {target})",
                           f"resume it with `lgn train --out {out} --resume`, or delete {state} to start afresh")
    # the data and the model first: a bad dataset or architecture leaves the folder's run as it was
    ds = data.load(opts.dataset, data_dir)
    opts = replace(opts, dataset=data.name_of(opts.dataset))
    if opts.encoding == "auto":  # images share one pixel scale; a table's columns each have their own
        opts = replace(opts, encoding="even" if ds.image_shape else "quantile")
    if opts.wiring == "local" and ds.image_shape is None:
        say("train", f"{ds.name} is not an image: unique wiring instead of the preset's local wiring")
        opts = replace(opts, wiring=TrainOptions.wiring)
    elif opts.wiring == "local" and opts.conv:
        rows, cols, _ = opts.model_config(ds).layer_image()
        if 0 < max(rows, cols) < opts.window:  # a window drawn for the image, not for the pooled one
            say("train", f"the {opts.window}x{opts.window} window is larger than the {rows}x{cols} image the "
                         "convolutional blocks leave: unique wiring instead of local wiring")
            opts = replace(opts, wiring=TrainOptions.wiring)
    if opts.shift and (ds.image_shape is None or opts.shift >= min(ds.image_shape)):
        raise LgnError(f"--shift {opts.shift} needs images of more than {opts.shift} pixels a side, and {ds.name} "
                       + ("is not an image" if ds.image_shape is None else
                          f"has {ds.image_shape[0]}x{ds.image_shape[1]}"),
                       "drop --shift" + ("" if ds.image_shape is None else f", or give at most {min(ds.image_shape) - 1}"))
    if opts.freeze_wiring is not None and opts.candidates == 1:
        raise LgnError("--freeze-wiring fixes learned connections, and this model has none (--candidates 1)",
                       "give --candidates K (K > 1, or all), or drop --freeze-wiring")
    for flag, epoch in (("--freeze-wiring", opts.freeze_wiring), ("--hard-forward", opts.hard_forward)):
        if epoch is not None and epoch >= opts.epochs:
            raise LgnError(f"{flag} {epoch} is not before the last epoch (--epochs {opts.epochs})",
                           f"give an epoch below --epochs, or drop {flag}")
    if opts.hard_forward is not None and opts.family not in STRAIGHT_THROUGH_FAMILIES:
        raise LgnError(f"--hard-forward rounds the outputs of gate and LUT layers, and {opts.family} layers are "
                       "neither", f"use --family {' or '.join(STRAIGHT_THROUGH_FAMILIES)}, or drop --hard-forward")
    config = opts.model_config(ds)
    _check_memory(config, opts.batch_size)
    try:
        model = LogicNet(config)
    except ValueError as e:
        raise LgnError(f"invalid architecture: {e}",
                       "adjust --widths, --thresholds, --tau, --wiring, or the family's options ("
                       + (", ".join(o.flag for o in (FAMILIES[config.family].options if config.family in FAMILIES else ())) or "it has none") + ")") from None
    for stale in (CHECKPOINT, NETLIST, VERILOG):  # they would belong to the previous run
        (out / stale).unlink(missing_ok=True)
    forget_hardware(out, figures=False)  # training writes a fresh report
    if opts.encoding == "quantile":  # a buffer of the model: the checkpoint and the netlist keep them
        model.encoder.thresholds.copy_(quantile_thresholds(torch.as_tensor(ds.x_train), opts.thresholds))
    return _train(out, model, opts, ds, None, [], device)


def _check_memory(config, batch_size: int) -> None:
    """Refuse a model whose training cannot fit this machine's memory, before allocating it."""
    import os

    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return
    need = config.training_bytes(batch_size)
    if need > 0.8 * ram:
        raise LgnError(f"training these layers takes at least {need / 2**30:,.1f} GiB, more than this machine's "
                       f"{ram / 2**30:.0f} GiB of memory", "give narrower --widths, fewer --thresholds or a smaller "
                                                           "--batch-size")


def resume_stage(out: Path, epochs: int | None = None, data_dir: Path | None = None, device: str = "auto") -> dict:
    """Continue the run whose training state is in ``out`` (to ``epochs`` if given, else its own target)."""
    from lgn import data
    from lgn.train import checkpoint
    from lgn.train.loop import EpochStats
    from lgn.train.options import TrainOptions

    out = Path(out)
    if out.is_dir():
        lock(out)
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
    say("train", f"resuming {out} after epoch {epoch} of {opts.epochs}")
    return _train(out, model, opts, ds, optimizer_state, history[:epoch], device)


def _train(out: Path, model, opts: TrainOptions, ds, optimizer_state: dict | None, history: list,
           device_name: str) -> dict:
    from lgn.train import checkpoint, distributed, loop
    from lgn.train.augment import Shift
    from lgn.train.plot import plot_history

    device = device_of(device_name)
    rank, world = distributed.init_from_env()
    if world > 1 and device.type != "cpu":
        raise LgnError("data-parallel training (--processes) runs on CPUs only", "drop --processes, or use --device cpu")
    model.to(device)  # checkpoints are written from CPU copies, so they load anywhere
    main = rank == 0
    if main:
        say("train", f"{opts.preset} preset on {ds.name}: {len(ds.x_train)} train / {len(ds.x_test)} test samples, "
                      f"{model.encoder.out_features} input bits, layers {list(model.config.widths)}, "
                      f"{model.describe()}"
                      + (f", wired from {model.config.window}x{model.config.window} patches"
                         if model.config.wiring == "local" else "")
                      + (f", {world} processes" if world > 1 else "") + f", on {device}")
    progress = loop.print_progress(opts.epochs)

    def on_epoch(hist: list, optimizer) -> None:
        if not main:
            return
        progress(hist[-1])
        checkpoint.save_state(out / TRAIN_STATE, model, optimizer, hist[-1].epoch, {
            "options": opts.to_dict(), "dataset": ds.name, "history": [h.to_dict() for h in hist]})
        plot_history(hist, out / TRAIN_PLOT, f"{opts.preset}: {model.describe()} on {ds.name}")

    augment = None
    if opts.shift:
        augment = Shift(ds.image_shape, ds.num_features, opts.shift, ds.feature_range[0])
    finished = False
    try:
        history = loop.fit(model, ds.x_train, ds.y_train, ds.x_test, ds.y_test, epochs=opts.epochs,
                           batch_size=opts.batch_size, lr=opts.lr, schedule=opts.schedule, seed=opts.seed,
                           optimizer_state=optimizer_state, history=history, on_epoch=on_epoch, augment=augment,
                           freeze_wiring=opts.freeze_wiring, hard_forward=opts.hard_forward)
        finished = True
    except loop.Diverged as e:
        kept = (f"epoch {e.epoch - 1}'s state is kept in {out / TRAIN_STATE} (delete it to start afresh)"
                if e.epoch > 1 else "nothing was kept")
        raise LgnError(f"{e}: training diverged", f"train again with a lower --lr or a higher --tau; {kept}") from None
    finally:
        distributed.shutdown(finished=finished)
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
                                   "samples_per_s": round(last.samples_per_s), "processes": world,
                                   "device": str(device)},
        "artifacts": {"checkpoint": CHECKPOINT, "train_state": TRAIN_STATE, "train_plot": TRAIN_PLOT},
    }, fresh=True)
