"""report.json: one file per output folder that every stage extends with its figures."""

from __future__ import annotations

import json
from pathlib import Path

from lgn.errors import FormatError
from lgn.fileio import write_json

NAME = "report.json"


def read(out: Path) -> dict:
    path = Path(out) / NAME
    if not path.exists():
        return {}
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise FormatError(f"{path} is not valid JSON ({e})", "delete it and re-run the pipeline from `lgn train`") from None
    if not isinstance(report, dict):
        raise FormatError(f"{path} does not hold a JSON object", "delete it and re-run the pipeline from `lgn train`")
    return report


def merge(base: dict, update: dict) -> dict:
    """``base`` with ``update`` merged in, nested dicts key by key."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def update(out: Path, fields: dict, *, fresh: bool = False) -> dict:
    """Merge ``fields`` into ``out/report.json`` (or start it anew if ``fresh``) and return the report."""
    report = merge({} if fresh else read(out), fields)
    write_json(Path(out) / NAME, report)
    return report


#: What the hardware stages (sim, verify, synth, host) report about ``classifier.v``: none of it
#: holds once the netlist or the Verilog is rebuilt.
HARDWARE_FIGURES = ("accuracy.rtl", "accuracy.postsynth", "accuracy.board", "bit_exact.rtl_vs_netlist",
                    "bit_exact.rtl_vs_netlist_random", "bit_exact.postsynth_vs_netlist",
                    "bit_exact.postsynth_vs_netlist_random", "sim", "sim_postsynth", "formal", "synth", "host",
                    "artifacts.rtl_sim_log", "artifacts.postsynth_sim_log", "artifacts.nextpnr_report",
                    "artifacts.bitstream")


def forget(out: Path, paths: tuple[str, ...] = HARDWARE_FIGURES) -> None:
    """Drop the dotted ``paths`` (``"accuracy.rtl"``, ``"synth"``) from ``out/report.json``, if any."""
    report = read(out)
    if not report:
        return
    for path in paths:
        *parents, key = path.split(".")
        node = report
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(key, None)
    write_json(Path(out) / NAME, report)
