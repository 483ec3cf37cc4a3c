"""The ``lgn`` command line: one command per pipeline stage, and ``run`` for all of them."""

from __future__ import annotations

import os

# Busy-waiting OpenMP threads slow PyTorch down badly on shared machines; set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from lgn.cli import arguments  # noqa: E402
from lgn.errors import LgnError  # noqa: E402

_TRAIN_FIELDS = ("dataset", "family", "widths", "conv", "thresholds", "encoding", "tau", "wiring", "window",
                 "residual_init", "grad_factor", "candidates", "freeze_wiring", "hard_forward", "shift", "epochs",
                 "batch_size", "lr", "schedule", "seed")


def _configure_torch() -> None:
    import torch

    # torchrun's processes share the cores between them.
    share = max(1, (os.cpu_count() or 1) // int(os.environ.get("WORLD_SIZE", "1")))
    torch.set_num_threads(int(os.environ.get("LGN_THREADS", min(4, share))))


def _train(args: argparse.Namespace) -> dict:
    from lgn import stages
    from lgn.nn.families import OPTIONS
    from lgn.train.options import resolve

    overrides = {k: getattr(args, k) for k in (*_TRAIN_FIELDS, *OPTIONS)}
    if getattr(args, "resume", False):
        fixed = [f"--{k.replace('_', '-')}" for k, v in overrides.items() if v is not None and k != "epochs"]
        if fixed:
            raise LgnError(f"--resume continues the stored run with its own options, but {', '.join(fixed)} "
                           "was given", "drop those options (only --epochs may change on resume)")
        return stages.resume_stage(args.out, args.epochs, args.data_dir, args.device)
    return stages.train_stage(args.out, resolve(args.preset, overrides), args.data_dir, args.device)


def _import(args: argparse.Namespace, opt_passes: tuple[str, ...] | None) -> dict:
    from lgn import stages
    from lgn.importers import Architecture

    arch = Architecture(args.inputs, args.classes, args.tau, args.threshold)
    if args.format == "difflogic":
        if args.parametrization != "auto":
            raise LgnError("--parametrization names a torchlogix layer's weights; difflogic's are op logits",
                           "drop --parametrization")
        options = {"seed": args.seed, "connections_init": args.connections, "built_on": args.built_on,
                   "split_first": args.split_first or 0}
    elif args.seed is not None or args.split_first:
        raise LgnError("--seed and --split-first rebuild difflogic's connections; torchlogix models must store theirs",
                       "drop --seed and store <i>.connections.indices in the state dict")
    else:
        options = {"parametrization": args.parametrization}
    budget, lanes = _sized(args)
    return stages.import_stage(args.out, args.format, args.state_dict, arch, opt_passes, args.dataset,
                               args.pipeline, args.fold, budget, lanes, args.data_dir, **options)


def _dispatch(args: argparse.Namespace) -> dict:
    from lgn import stages

    if args.command == "host":
        return stages.host_stage(args.out, args.port, args.netlist, args.dataset, args.data_dir, args.samples)
    if args.command == "flash":
        stages.flash_stage(args.out, args.board, args.bitstream)
        return {}
    if args.command == "predict":
        result = stages.predict(args.model, args.data, args.data_dir, args.output, args.engine)
        print("  ".join(f"{k} {v}" for k, v in result.items()))
        return {}
    if args.command in ("train", "run", "compile"):
        _configure_torch()
    opt_passes = () if getattr(args, "no_opt", False) else getattr(args, "passes", None)
    if args.command == "import":
        return _import(args, opt_passes)
    if args.command == "run":
        return _run(args, opt_passes)
    if args.command == "train":
        return _train(args)
    if args.command == "compile":
        budget, lanes = _sized(args)
        return stages.compile_stage(args.out, args.checkpoint, args.data_dir, opt_passes, args.pipeline, args.fold,
                                      budget, lanes, stream=args.stream)
    if args.command == "sim":
        return stages.sim_stage(args.out, args.netlist, args.simulator, args.dataset, args.data_dir, args.post_synth,
                                  args.jobs)
    if args.command == "verify":
        return stages.verify_stage(args.out, args.netlist, tuple(args.part or ()) or None, args.timeout,
                                     args.allow_timeout)
    return stages.synth_stage(args.out, args.netlist, args.board, args.pnr_seed, args.time_limit, args.breakdown, args.freq,
                              args.placer)


def _sized(args: argparse.Namespace) -> tuple[int | None, tuple[int, int] | None]:
    """``--lut-budget`` and ``--lanes``, defaulting to what suits ``--board``'s part where one is named
    (70% of its LUT4s for what ``--fold auto`` unrolls and ``--pipeline auto`` registers)."""
    from lgn.boards import targets
    from lgn.hdl import fold

    if getattr(args, "board", None) is None:
        return args.lut_budget, args.lanes
    budget, lanes = fold.fit(targets.get(args.board).luts)
    return args.lut_budget or budget, args.lanes or lanes


def _run(args: argparse.Namespace, opt_passes: tuple[str, ...] | None) -> dict:
    """``lgn run``: the stages of :data:`lgn.stages.RUN` from ``--from`` to ``--to``."""
    from lgn import stages

    first, last = stages.RUN.index(args.first), stages.RUN.index(args.last)
    if first > last:
        raise LgnError(f"--from {args.first} comes after --to {args.last}", f"stages run in the order {', '.join(stages.RUN)}")
    budget, lanes = _sized(args)
    steps = {
        "train": lambda: _train(args),
        "compile": lambda: stages.compile_stage(args.out, None, args.data_dir, opt_passes, args.pipeline, args.fold,
                                                  budget, lanes, stream=args.stream),
        "sim": lambda: stages.sim_stage(args.out, None, args.simulator, None, args.data_dir, jobs=args.jobs),
        "synth": lambda: stages.synth_stage(args.out, None, args.board, args.pnr_seed, args.time_limit, args.breakdown,
                                             args.freq, args.placer),
    }
    for name in stages.RUN[first:last + 1]:
        rep = steps[name]()
    return rep


def _launch_processes(argv: list[str], processes: int) -> int:
    """``lgn train --processes N ...``: the command without ``--processes``, in N processes."""
    from lgn.train.launch import launch

    rest, skip = [], False
    for arg in argv[argv.index("train") + 1:]:
        if skip or arg.startswith("--processes="):
            skip = False
            continue
        if arg == "--processes":
            skip = True
            continue
        rest.append(arg)
    return launch(rest, processes)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only an empty folder goes
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = arguments.parser().parse_args(argv)
    if getattr(args, "processes", 1) > 1 and "WORLD_SIZE" not in os.environ:
        return _launch_processes(argv, args.processes)
    out = getattr(args, "out", None)
    fresh = out is not None and not Path(out).exists()
    try:
        rep = _dispatch(args)
    except LgnError as e:
        if fresh:  # a command that failed leaves no empty output folder behind
            _remove_if_empty(Path(out))
        from lgn.train.launch import hand_error_to_launcher

        line = f"lgn: error: {e}"
        if not hand_error_to_launcher(line):  # a data-parallel worker's line is printed once, by its launcher
            print(line, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = f"; continue with `lgn train --out {args.out} --resume`" if args.command in ("train", "run") else ""
        print(f"lgn: interrupted{hint}", file=sys.stderr)
        return 130
    if rep:  # under torchrun only rank 0 reports
        from lgn.summary import summary

        print(f"\nlgn {args.command}: {args.out / 'report.json'}\n{summary(rep)}")
    return 0
