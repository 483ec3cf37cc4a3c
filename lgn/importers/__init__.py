"""Models trained by other tools, read into the IR.

Each importer reads a state dict (tensors only: safetensors, or a torch file loaded with
``weights_only=True``) plus the architecture the user names, and returns the
:class:`~lgn.ir.netlist.Netlist` of the source model's *discrete* mode: the same predictions,
sample for sample. Both libraries here build a ``torch.nn.Sequential`` of gate (or, in
torchlogix, lookup-table) layers and a GroupSum, with op codes in the order of :mod:`lgn.ir.ops`
and inputs taken as bits ``x > threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lgn.ir.netlist import InputEncoding, LutLayer, Netlist, feed_forward

FORMATS: tuple[str, ...] = ("difflogic", "torchlogix")


@dataclass(frozen=True)
class Architecture:
    """What a state dict does not record: the input width, the classes, GroupSum's tau, and the
    input binarisation (bit ``i`` is ``x[i] > threshold``; ``None`` until the importer's caller
    chooses it from the data)."""

    inputs: int
    classes: int
    tau: float = 1.0
    threshold: float | None = 0.5


def import_model(fmt: str, path: Path, arch: Architecture, **options) -> Netlist:
    """The IR netlist of the ``fmt`` state dict at ``path``; ``options`` go to that importer."""
    from lgn.importers import difflogic, torchlogix
    from lgn.importers.tensors import check_head, load_tensors

    importer = {"difflogic": difflogic, "torchlogix": torchlogix}[fmt]
    layers = importer.gate_layers(load_tensors(path), arch.inputs, **options)
    inputs = InputEncoding(arch.inputs, np.arange(arch.inputs, dtype=np.int32),
                           np.full(arch.inputs, arch.threshold, dtype=np.float32))
    last = layers[-1]
    check_head(last.size if isinstance(last, LutLayer) else len(last[0]), arch.classes)
    return feed_forward(inputs, layers, arch.classes, arch.tau, {"imported": fmt, "source": Path(path).name})
