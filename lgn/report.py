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
