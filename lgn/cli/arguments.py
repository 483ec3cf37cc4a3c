"""The ``lgn`` command line's grammar: its commands, their options and how each value is read."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lgn.nn.families import Option

DEFAULT_OUT = Path("lgn-out")


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths like 1500,1500, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError("layer widths must be positive")
    return widths


def _lanes(text: str) -> tuple[int, int]:
    try:
        pe, simd = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PE,SIMD like 16,64, got {text!r}") from None
    if pe < 1 or simd < 1:
        raise argparse.ArgumentTypeError("PE and SIMD must be positive")
    return pe, simd


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are lgn's one line (exit status 2), not a usage block."""

    def error(self, message: str):
        print(f"lgn: error: {message}; see `{self.prog} --help`", file=sys.stderr)
        raise SystemExit(2)


def _positive(kind, *, zero: bool = False):
    """An argparse type: a ``kind`` number above 0 (or at least 0 with ``zero``)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"expected {'0 or more' if zero else 'a positive number'}, got {text!r}")
        return value
    return parse


def _pipeline(text: str) -> int | str:
    """An argparse type: layers per pipeline stage, 0 or more, or ``auto``."""
    if text == "auto":
        return text
    try:
        return _positive(int, zero=True)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a layer count (0: combinational) or auto, got {text!r}") from None


def _candidates(text: str) -> int:
    """An argparse type: candidates per pin, a positive number or ``all`` (stored as 0)."""
    return 0 if text == "all" else _positive(int)(text)


def _option(option: Option):
    """An argparse type: a value of a family's ``option``."""
    def parse(text: str) -> int:
        value = _positive(int)(text)
        try:
            option.check(value)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return value
    return parse


def parser() -> argparse.ArgumentParser:
    from lgn import toolchain
    from lgn.boards.flow import OUT_OF_CONTEXT_MHZ, PLACERS
    from lgn.boards.targets import BOARDS
    from lgn.hdl import fold
    from lgn.importers import FORMATS, difflogic, torchlogix
    from lgn.ir import passes
    from lgn.nn.encoder import ENCODINGS
    from lgn.nn.families import FAMILIES, LOCAL_FAMILIES, OPTIONS
    from lgn.nn.model import WIRINGS
    from lgn.sim.runner import SIMULATORS
    from lgn.stages import RUN
    from lgn.stages.train import DEVICES
    from lgn.data import FORMS, MNIST_ENV
    from lgn.data.cifar10 import CIFAR10_ENV
    from lgn.train.loop import SCHEDULES
    from lgn.train.options import PRESETS

    parser = _Parser(prog="lgn", description="Train logic-gate networks and compile them to FPGA bitstreams.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
        return p

    def train_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--device", choices=DEVICES, default="auto",
                       help="where to train: auto (the default: CUDA where PyTorch sees a GPU, else the CPU), cpu or "
                            "cuda; checkpoints load anywhere")
        g = p.add_argument_group("training (each option overrides the preset's value)")
        g.add_argument("--preset", choices=PRESETS, default="digits", help="default: digits")
        g.add_argument("--dataset", metavar="DATA", help=f"{FORMS}")
        g.add_argument("--family", choices=FAMILIES,
                       help="; ".join(f"{f.name}: {f.help}" for f in FAMILIES.values()))
        for option in OPTIONS.values():
            g.add_argument(option.flag, type=_option(option), metavar=option.metavar,
                           help=f"{option.help} (default {option.default})")
        g.add_argument("--widths", type=_widths, help="gates (or neurons) per layer, e.g. 1500,1500")
        g.add_argument("--conv", type=_widths, metavar="K1,K2",
                       help="convolutional blocks before the layers, kernels per block: logic trees of depth 3 over "
                            "3x3 windows of 2 channels, then 2x2 OR pooling (images only)")
        g.add_argument("--thresholds", type=_positive(int), help="input bits per feature")
        g.add_argument("--encoding", choices=ENCODINGS,
                       help="where the thresholds sit: even (over the feature range), quantile (of the training "
                            "data), or auto (the default: even for images, quantile for tables)")
        g.add_argument("--tau", type=_positive(float), help="GroupSum temperature")
        g.add_argument("--wiring", choices=WIRINGS,
                       help="how units are connected: random, unique (gate layers only) or local "
                            f"({', '.join(LOCAL_FAMILIES)}: each unit reads a --window patch of the image)")
        g.add_argument("--window", type=_positive(int), metavar="SIDE",
                       help="local wiring: side of the square image patch each unit reads")
        g.add_argument("--residual-init", type=_positive(float), metavar="LOGIT",
                       help="start every gate near pass-through A with this logit")
        g.add_argument("--grad-factor", type=_positive(float), help="input-gradient factor per layer")
        g.add_argument("--candidates", type=_candidates, metavar="K",
                       help="learned connections: each gate or table input chooses among K candidates (1: fixed; "
                            "all: among every input of the layer below, or of its --window patch)")
        g.add_argument("--freeze-wiring", type=_positive(int), metavar="EPOCH",
                       help="after this epoch every learned connection stays at its best candidate and only the "
                            "gates or tables train on, so the trained model reads what the hardened one reads")
        g.add_argument("--hard-forward", type=_positive(int), metavar="EPOCH",
                       help="gate and LUT networks: after this epoch the wiring stays fixed too and training runs the "
                            "hardened bits forward (each layer's output rounded, its gradient passed straight through)")
        g.add_argument("--shift", type=_positive(int, zero=True), metavar="PIXELS",
                       help="images: move each training sample by up to PIXELS rows and columns at random, "
                            "anew every epoch (0: off)")
        g.add_argument("--epochs", type=_positive(int))
        g.add_argument("--batch-size", type=_positive(int))
        g.add_argument("--lr", type=_positive(float))
        g.add_argument("--schedule", choices=SCHEDULES, help="learning rate: constant, or cosine-annealed to 0")
        g.add_argument("--seed", type=int)

    def opt_args(p: argparse.ArgumentParser) -> None:
        g = p.add_mutually_exclusive_group()
        g.add_argument("--passes", type=_names, metavar="P1,P2",
                       help=f"IR passes to run, in order (default: {','.join(passes.DEFAULT)}; "
                            f"available: {', '.join(passes.PASSES)})")
        g.add_argument("--no-opt", action="store_true", help="run no IR passes")

    def stream_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stream", action="store_true",
                       help="a model with --conv blocks: stream its pixels through one tree per kernel (line buffers) "
                            "instead of unrolling every position; sequenced, a pixel per clock, the dense layers "
                            "registered every --pipeline K layers (auto: every layer)")

    def hdl_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--pipeline", type=_pipeline, default="auto", metavar="K",
                       help="register the classifier every K layers and every popcount/argmax level, one "
                            "inference per clock; 0: combinational; auto (default): every layer or every second "
                            "one, more sparsely where the flip-flops would overrun --lut-budget; sim and synth "
                            "follow it")
        p.add_argument("--fold", choices=fold.MODES, default="auto",
                       help="run dense threshold layers folded: PE x SIMD lanes over weights in block RAM, many "
                            "clocks per inference (none; all; auto, the default: the largest layers until the "
                            "estimate fits --lut-budget)")
        p.add_argument("--lut-budget", type=_positive(int), metavar="LUTS",
                       help=f"LUT4s --fold auto aims for (default: {fold.LUT_BUDGET:,}; `lgn run`: 70%% of "
                            "--board's part, at most that)")
        p.add_argument("--lanes", type=_lanes, metavar="PE,SIMD",
                       help="most lanes per folded layer and pins each counts per clock: more is faster and larger "
                            f"(default: {','.join(map(str, fold.LANES))}, `lgn run`: fewer on a small --board; "
                            "fewer where a divisor of the layer fits)")

    def target_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--board", choices=BOARDS, metavar="BOARD",
                       help="size the design for this board's part: --lut-budget and --lanes as `lgn run --board` "
                            f"sets them ({', '.join(BOARDS)}; default: --lut-budget {fold.LUT_BUDGET:,})")

    def data_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, help=f"the folder of the MNIST idx files or the CIFAR-10 archive "
                                                     f"(else ${MNIST_ENV} or ${CIFAR10_ENV}, else a download cache)")

    def sim_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--simulator", choices=SIMULATORS, help="default: verilator if installed, else icarus")
        p.add_argument("--jobs", type=_positive(int), metavar="N",
                       help="simulator processes sharing the vectors (default: one per 2,000 vectors, "
                            "at most one per core)")

    def synth_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--board", default="icebreaker", help=f"one of {', '.join(BOARDS)} (default: icebreaker)")
        p.add_argument("--pnr-seed", type=int, default=1, help="nextpnr placement seed")
        p.add_argument("--placer", choices=PLACERS, default="heap",
                       help="nextpnr's placer: heap (the default) or static, which spreads a congested design "
                            "enough to route where heap's did not")
        p.add_argument("--freq", type=_positive(float), metavar="MHZ",
                       help=f"--board none: the clock nextpnr times the design against (default {OUT_OF_CONTEXT_MHZ}); a board "
                            "runs at its oscillator's")
        p.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                       help="skip the LUT4 and FF count by part (core, head, board top), which costs two more "
                            "Yosys runs on the classifier alone and its core alone")
        p.add_argument("--time-limit", type=_positive(float), metavar="S",
                       help=f"seconds Yosys and nextpnr each get before the build stops with what to try "
                            f"(default {toolchain.TIME_LIMIT_S})")

    p = command("train", "train a logic-gate network and write its checkpoint")
    train_args(p)
    p.add_argument("--processes", type=_positive(int), default=1, metavar="N",
                   help="train data-parallel in N processes sharing the cores (torchrun on this machine)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --out (only --epochs may change)")
    data_arg(p)
    p = command("compile", "harden a checkpoint into the IR netlist, optimise it and emit Verilog")
    p.add_argument("--checkpoint", type=Path, help="default: OUT/model.safetensors")
    opt_args(p)
    hdl_args(p)
    stream_arg(p)
    target_arg(p)
    data_arg(p)
    p = command("sim", "simulate the emitted Verilog against the reference executor (cocotb)")
    p.add_argument("--netlist", type=Path, help="default: OUT/netlist.safetensors")
    p.add_argument("--dataset", metavar="DATA", help="default: the one the netlist was trained on")
    p.add_argument("--post-synth", metavar="BOARD", choices=BOARDS,
                   help=f"simulate the netlist Yosys maps the Verilog to for BOARD's FPGA ({', '.join(BOARDS)}), "
                        "with Yosys' cell models, instead of the Verilog itself")
    sim_args(p)
    data_arg(p)
    p = command("verify", "prove the emitted Verilog equal to the netlist (Yosys SAT), gate core and head apart")
    p.add_argument("--formal", action="store_true", required=True,
                   help="formal equivalence with a reference netlist written straight from the IR")
    p.add_argument("--netlist", type=Path, help="default: OUT/netlist.safetensors")
    p.add_argument("--part", choices=("core", "head", "stages"), action="append",
                   help="prove only this part (repeatable; default: all the design has: a streamed design's "
                        "convolutional stages too)")
    p.add_argument("--timeout", type=_positive(int), default=600, metavar="S",
                   help="give up a part's proof after S seconds: it is unproven and the command fails (default: 600)")
    p.add_argument("--allow-timeout", action="store_true",
                   help="exit 0 when a proof runs out of time (the report still says `timeout`)")
    p = command("synth", "synthesize, place and route for a board and write the bitstream")
    p.add_argument("--netlist", type=Path, help="default: OUT/netlist.safetensors")
    synth_args(p)
    p = command("flash", "program a connected board with the bitstream from `lgn synth`")
    p.add_argument("--board", default="icebreaker", help=f"one of {', '.join(BOARDS)} (default: icebreaker)")
    p.add_argument("--bitstream", type=Path, help="default: the one `lgn synth` wrote into OUT")
    p = command("host", "stream test samples to a flashed board over its UART and check its answers")
    p.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB1")
    p.add_argument("--netlist", type=Path, help="default: OUT/netlist.safetensors")
    p.add_argument("--dataset", metavar="DATA", help="default: the one the netlist was trained on")
    p.add_argument("--samples", type=_positive(int), help="send only the first N test samples")
    data_arg(p)
    p = command("import", "read a difflogic or torchlogix state dict into the IR netlist and emit Verilog")
    p.add_argument("format", choices=FORMATS, help="the library that trained the model")
    p.add_argument("state_dict", type=Path, help="its state dict (.safetensors, or a torch file of tensors)")
    g = p.add_argument_group("architecture (what the state dict does not record)")
    g.add_argument("--inputs", type=_positive(int), required=True, help="input bits of the first layer")
    g.add_argument("--classes", type=_positive(int), required=True, help="GroupSum's k")
    g.add_argument("--tau", type=_positive(float), default=1.0, help="GroupSum's tau (kept for reference)")
    g.add_argument("--threshold", type=float,
                   help="input bit i is x[i] > THRESHOLD (default: the middle of --dataset's range, else 0.5)")
    g.add_argument("--dataset", metavar="DATA",
                   help="the dataset the model reads: sets the default --threshold, checks the accuracy, for `lgn sim`")
    g = p.add_argument_group("torchlogix")
    g.add_argument("--parametrization", choices=torchlogix.PARAMETRIZATIONS, default="auto",
                   help="what the LogicDense weights hold: auto (width 16: raw, else warp), raw, warp or light")
    g = p.add_argument_group("difflogic connections, when the state dict lacks <i>.indices")
    g.add_argument("--seed", type=int, help="the torch.manual_seed the model was built after")
    g.add_argument("--connections", choices=difflogic.CONNECTIONS, default="random", help="default: random")
    g.add_argument("--built-on", choices=difflogic.DEVICES, default="cuda",
                   help="the device the LogicLayers were built on (default: cuda, difflogic's default)")
    g.add_argument("--split-first", type=_positive(int), metavar="N",
                   help="trained by difflogic's experiments/main.py: the training set's size (60000 for MNIST), "
                        "whose random_split it draws before building the model")
    opt_args(p)
    hdl_args(p)
    target_arg(p)
    data_arg(p)
    p = sub.add_parser("predict", help="classify samples with the fast CPU engine",
                       description="classify samples with the fast CPU engine")
    p.add_argument("model", type=Path, help="an IR netlist (netlist.safetensors from `lgn compile`)")
    p.add_argument("--data", required=True, help=f"a dataset ({FORMS}: its test split) "
                                                 "or a .npy file of raw samples")
    p.add_argument("--output", type=Path, help="write the predicted classes here (.npy, .csv or .txt)")
    p.add_argument("--engine", choices=("auto", "c", "numpy"), default="auto",
                   help="compiled C kernel or numpy (default: C when a compiler is found)")
    data_arg(p)
    p = command("run", "the whole pipeline: train, compile, sim, synth")
    p.add_argument("--from", dest="first", choices=RUN, default=RUN[0], help="start at this stage (default: train)")
    p.add_argument("--to", dest="last", choices=RUN, default=RUN[-1], help="stop after this stage (default: synth)")
    train_args(p)
    opt_args(p)
    hdl_args(p)
    stream_arg(p)
    data_arg(p)
    sim_args(p)
    synth_args(p)
    return parser
