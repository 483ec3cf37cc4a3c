"""``classifier.json``: how ``classifier.v`` was built, saved beside it by ``lgn compile`` and
``lgn import``, and read by the stages that take the Verilog (sim, verify, synth, host).

It holds the hardware mapping (report.json's ``hdl`` section: pipelining, folding, latency) and
the sha256 of the netlist and of the Verilog it was built from, so those stages read their
settings from the artifact rather than from report.json, and refuse a ``classifier.v`` or a
netlist that is not the pair one compile wrote (two runs into one folder, a compile that stopped
half-way, a file copied in by hand), nor a checkpoint beside them that is not the one compiled.
``lgn synth`` adds the sha256 of each bitstream it builds
from that Verilog, and ``lgn flash`` programs a run's bitstream only if it is the one recorded:
a new compile writes a new record, which no older bitstream matches.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from lgn.errors import LgnError
from lgn.fileio import write_json

NAME = "classifier.json"
FORMAT, VERSION = "lgn-design", 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(out: Path, hdl: dict, netlist_sha256: str, verilog: Path, checkpoint: Path | None = None) -> None:
    """Record ``hdl`` for the Verilog at ``verilog`` (just written), the netlist of
    ``netlist_sha256`` and, when the netlist was compiled from the checkpoint in ``out``, that
    ``checkpoint``'s name and sha256."""
    record = {"format": FORMAT, "version": VERSION, "hdl": hdl, "netlist_sha256": netlist_sha256,
              "verilog_sha256": sha256(Path(verilog).read_bytes())}
    if checkpoint is not None:
        record["checkpoint"] = {"file": Path(checkpoint).name, "sha256": sha256(Path(checkpoint).read_bytes())}
    write_json(Path(out) / NAME, record)


def _load(out: Path) -> dict:
    """The record in ``out``, checked to be one; :class:`LgnError` otherwise."""
    path = Path(out) / NAME
    fix = "re-run `lgn compile` (or `lgn import`) into this folder"
    if not path.exists():
        raise LgnError(f"{path} does not exist, so nothing says how this folder's Verilog was built", fix)
    try:
        record = json.loads(path.read_text())
        if not (isinstance(record, dict) and {"hdl", "netlist_sha256", "verilog_sha256"} <= record.keys()
                and isinstance(record.get("bitstreams", {}), dict)):
            raise ValueError
    except (OSError, ValueError):
        raise LgnError(f"{path} is not a readable lgn design record", fix) from None
    if record.get("format") != FORMAT or record.get("version") != VERSION:
        raise LgnError(f"{path} is not an lgn design record of version {VERSION}", fix)
    return record


def set_bitstream(out: Path, board: str, bitstream: Path | None) -> None:
    """Record ``bitstream`` (just written) as ``board``'s, built from the recorded Verilog; with
    None, forget ``board``'s (a build is starting)."""
    record = _load(out)
    bitstreams = record.setdefault("bitstreams", {})
    bitstreams.pop(board, None)
    if bitstream is not None:
        bitstreams[board] = sha256(Path(bitstream).read_bytes())
    write_json(Path(out) / NAME, record)


def check_bitstream(out: Path, netlist: Path, verilog: Path, board: str, bitstream: Path) -> None:
    """:class:`LgnError` unless ``bitstream`` is the one ``lgn synth --board board`` recorded
    for the Verilog and netlist now in ``out``."""
    recorded = _verified(out, netlist, verilog).get("bitstreams", {}).get(board)
    if recorded != sha256(Path(bitstream).read_bytes()):
        raise LgnError(f"{bitstream} is not the bitstream `lgn synth --board {board}` built from this folder's "
                       f"{Path(verilog).name}", f"run `lgn synth --board {board}` again, or pass --bitstream to "
                       f"flash a file of your own")


def read(out: Path, netlist: Path, verilog: Path) -> dict:
    """The ``hdl`` section recorded for ``verilog``, after checking that it and ``netlist`` are
    the files one compile wrote; :class:`LgnError` naming the stage to re-run otherwise."""
    return _verified(out, netlist, verilog)["hdl"]


def _verified(out: Path, netlist: Path, verilog: Path) -> dict:
    """The record in ``out``, after checking it against ``verilog``, ``netlist`` and the
    checkpoint it names."""
    path, fix = Path(out) / NAME, "re-run `lgn compile` (or `lgn import`) into this folder"
    record = _load(out)
    netlist_sha, verilog_sha = record["netlist_sha256"], record["verilog_sha256"]
    if not Path(verilog).exists():
        raise LgnError(f"{verilog} does not exist", fix)
    if sha256(Path(verilog).read_bytes()) != verilog_sha:
        raise LgnError(f"{verilog} is not the Verilog that {path.name} records (changed or written by another run)", fix)
    if sha256(Path(netlist).read_bytes()) != netlist_sha:
        raise LgnError(f"{netlist} is not the netlist {Path(verilog).name} was built from", fix)
    source = record.get("checkpoint")
    checkpoint = Path(out) / str(source.get("file")) if isinstance(source, dict) else None
    if checkpoint is not None and checkpoint.is_file() and sha256(checkpoint.read_bytes()) != source.get("sha256"):
        raise LgnError(f"{checkpoint} is not the checkpoint {Path(netlist).name} was compiled from (trained "
                       f"again or copied in)", "re-run `lgn compile` into this folder")
    return record
