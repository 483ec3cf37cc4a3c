"""What the stages share: the artifacts' names in an output folder, the folder itself, progress
lines, the dataset a netlist was trained on, and the design record beside ``classifier.v``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from lgn import design_record, report
from lgn.errors import LgnError
from lgn.ir.netlist import Netlist

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


def say(stage: str, msg: str) -> None:
    print(f"[{stage}] {msg}", file=sys.stderr, flush=True)


_held: dict[Path, int] = {}  # output folders this process has locked: file descriptors kept open


def lock(out: Path) -> None:
    """Hold ``out``'s lock until this process ends: a second lgn command on the same folder gets a
    clear error instead of mixing its artifacts with this one's. The lock is on the folder itself
    (no file is left behind); ranks other than 0 of a data-parallel run share rank 0's."""
    import fcntl

    out = Path(out).resolve()
    if out in _held or int(os.environ.get("RANK", "0")) > 0:
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise LgnError(f"another lgn command is working in {out}",
                       "wait for it to finish, or give this one another --out") from None
    _held[out] = fd


def prepare_out(out: Path, *, extends_report: bool = True) -> Path:
    """Create ``out``, check it is writable and take its :func:`lock`; a stage that extends
    report.json also checks that the report there is readable, before it does any work or writes
    anything."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LgnError(f"cannot create output folder {out}: {e.strerror}", "choose another --out") from None
    probe = out / f".lgn-write-test-{os.getpid()}"  # one per process: data-parallel ranks probe at once
    try:
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise LgnError(f"output folder {out} is not writable: {e.strerror}", "choose another --out") from None
    lock(out)
    if extends_report:
        report.read(out)
    return out


def forget_hardware(out: Path, *, figures: bool = True) -> None:
    """Before a new model, netlist or Verilog lands in ``out``: delete the bitstreams and (with
    ``figures``) drop every figure the hardware stages reported about the old design, so that
    none of them can be taken for the new one's (``lgn flash`` would program the old design)."""
    from lgn.boards import targets

    for board in targets.BOARDS.values():
        (out / board.bitstream_file).unlink(missing_ok=True)
    (out / NEXTPNR_REPORT).unlink(missing_ok=True)
    if figures:  # and the old design's own description, whose keys the new one may not have
        report.forget(out, (*report.HARDWARE_FIGURES, "hdl"))


def dataset_of(net: Netlist, dataset: str | None, data_dir: Path | None):
    from lgn import data

    name = dataset or net.meta.get("dataset")
    if not name:
        raise LgnError("the netlist does not say which dataset it was trained on", "pass --dataset")
    ds = data.load(name, data_dir)
    if ds.num_features != net.inputs.num_features:
        raise LgnError(f"the netlist takes {net.inputs.num_features} features but {ds.name} samples have "
                       f"{ds.num_features}", "pass the dataset the model was trained on")
    warn_range(net, ds.x_test, ds.name)
    return ds


def warn_range(net: Netlist, x: np.ndarray, what: str) -> None:
    """Say so when samples ``x`` lie outside the range the model was trained on (a different
    scale, such as 0..1 pixels for a model of 0..255 ones, classifies silently wrong)."""
    if "feature_range" not in net.meta or not len(x):
        return
    low, high = net.meta["feature_range"]
    slack = 0.05 * (high - low)
    if float(x.min()) < low - slack or float(x.max()) > high + slack:
        say("data", f"WARNING: {what} spans {float(x.min()):g}..{float(x.max()):g} but the model was trained on "
                    f"{low:g}..{high:g}: scale it as the training data was")


def random_samples(net: Netlist, ds, n: int, seed: int = 0) -> np.ndarray:
    low, high = ds.feature_range
    return np.random.default_rng(seed).uniform(low, high, (n, net.inputs.num_features)).astype(np.float32)


def design_of(out: Path, net: Netlist, netlist_path: Path | None = None):
    """The design `lgn compile` built into ``out``, from the record beside ``classifier.v``
    (which must be the pair of ``netlist_path``, by default ``out``'s netlist)."""
    from lgn.hdl.design import Design

    return Design.from_dict(net, design_record.read(out, netlist_path or out / NETLIST, out / VERILOG))
