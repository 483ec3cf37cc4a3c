"""The netlist file: safetensors arrays plus one JSON header, versioned, loaded without pickle.

The header lives in the safetensors metadata under the single key ``lgn`` (one key keeps the
file byte-identical across runs); the arrays are named ``inputs.feature``, ``inputs.threshold``,
``layers.<i>.<field>`` (``op|a|b`` of a gate layer, ``ptr|src|w|t`` of a threshold layer,
``src|table`` of a LUT layer) and
``head.bits``.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from lgn.errors import FormatError
from lgn.fileio import safetensors_header, write_bytes
from lgn.ir.netlist import GateLayer, GroupSumHead, InputEncoding, LutLayer, Netlist, NetlistError, ThresholdLayer

FORMAT = "lgn-netlist"
VERSION = 1
KINDS = {"gate": GateLayer, "threshold": ThresholdLayer, "lut": LutLayer}


def dumps(net: Netlist) -> bytes:
    net.validate()
    arrays = {"inputs.feature": net.inputs.feature, "inputs.threshold": net.inputs.threshold,
              "head.bits": net.head.bits}
    kinds = {cls: kind for kind, cls in KINDS.items()}
    for i, layer in enumerate(net.layers):
        arrays.update({f"layers.{i}.{f.name}": getattr(layer, f.name) for f in fields(layer)})
    header = {"format": FORMAT, "version": VERSION, "num_features": net.inputs.num_features,
              "num_classes": net.head.num_classes, "tau": net.head.tau,
              "layers": [{"kind": kinds[type(layer)], "size": layer.size} for layer in net.layers],
              "meta": net.meta}
    return st_save(arrays, metadata={"lgn": json.dumps(header, sort_keys=True)})


def save(net: Netlist, path: Path) -> None:
    """Write ``net`` to ``path`` atomically."""
    write_bytes(Path(path), dumps(net))


def load(path: Path) -> Netlist:
    """Read and validate a netlist file; raise :class:`FormatError` saying what is wrong."""
    path = Path(path)
    fix = "re-create it with `lgn compile`"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"netlist {path} does not exist", fix) from None
    except OSError as e:
        raise FormatError(f"cannot read netlist {path}: {e.strerror}") from None
    try:
        header, arrays = safetensors_header(data), st_load(data)
    except (SafetensorError, ValueError) as e:
        raise FormatError(f"{path} is not a readable lgn netlist ({e})", fix) from None
    if header.get("format") != FORMAT:
        raise FormatError(f"{path} is not an lgn netlist (format {header.get('format')!r})", fix)
    if header.get("version") != VERSION:
        raise FormatError(f"{path} is netlist format version {header.get('version')}, "
                          f"this lgn reads version {VERSION}", fix)
    try:
        layers = []
        for i, spec in enumerate(header["layers"]):
            kind = KINDS.get(spec.get("kind"))
            if kind is None:
                raise NetlistError(f"layer {i} has unknown kind {spec.get('kind')!r}")
            layers.append(kind(**{f.name: arrays[f"layers.{i}.{f.name}"] for f in fields(kind)}))
        net = Netlist(
            inputs=InputEncoding(int(header["num_features"]), arrays["inputs.feature"], arrays["inputs.threshold"]),
            layers=tuple(layers),
            head=GroupSumHead(int(header["num_classes"]), arrays["head.bits"], float(header["tau"])),
            meta=dict(header.get("meta", {})),
        )
        return net.validate()
    except KeyError as e:
        raise FormatError(f"{path} lacks {e}: the file is incomplete", fix) from None
    except (NetlistError, TypeError, ValueError) as e:
        raise FormatError(f"{path} is an inconsistent netlist: {e}", fix) from None
