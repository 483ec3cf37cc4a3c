"""Accuracy against LUT4: lgn's built models beside the published MNIST points.

Reads the report.json of each output folder given (a model trained, compiled and synthesized:
``lgn run`` or the stage commands), takes its hardened test accuracy and the LUT4 and FF counts
of its last ``lgn synth``, and prints a table with the published points for scale, then draws
``docs/pareto.png`` (or ``--plot``). The last line is one JSON object: each run's accuracy, LUT4
and FF.

    python bench/pareto.py RUN_DIR [RUN_DIR ...] [--plot docs/pareto.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

#: Published MNIST points (accuracy %, LUTs, what the LUTs are), for scale only: other parts and
#: LUT sizes than lgn's LUT4 builds.
PUBLISHED = (
    ("DWN sm (LUT6, VU9P, encoder not counted)", 97.1, 692),
    ("DWN md (LUT6)", 97.9, 1413),
    ("DWN lg (LUT6)", 98.3, 4082),
    ("DWN on Artix-7, post-route (LUT6)", 97.76, 3464),
    ("TreeLUT (LUT6)", 97.0, 4478),
)


def _row(run: Path) -> dict:
    rep = json.loads((run / "report.json").read_text())
    synth = rep.get("synth") or {}
    if "luts" not in synth:
        raise SystemExit(f"pareto: {run} has no synthesis figures; run `lgn synth --out {run}` first")
    family = rep.get("train", {}).get("family") or rep.get("import", {}).get("format", "?")
    return {"run": run.name, "family": family, "device": synth.get("device", "?"),
            "accuracy": round(100 * _accuracy(rep["accuracy"]), 2), "luts": synth["luts"], "ffs": synth.get("ffs")}


def _accuracy(figures: dict) -> float:
    """The hardened model's test accuracy; the netlist's (bit-exact with it) for a run compiled
    from a checkpoint trained elsewhere, whose report holds no training figures."""
    return figures["hardened"] if "hardened" in figures else figures["netlist"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--plot", type=Path, default=Path("docs/pareto.png"))
    args = parser.parse_args()
    rows = [_row(run) for run in args.runs]
    print(f"{'model':<44} {'accuracy':>9} {'LUTs':>7} {'FFs':>7}  target")
    for r in sorted(rows, key=lambda r: r["luts"]):
        print(f"{r['run'] + ' (' + r['family'] + ')':<44} {r['accuracy']:>8.2f}% {r['luts']:>7,} {r['ffs'] or 0:>7,}  {r['device']}")
    for name, acc, luts in PUBLISHED:
        print(f"{name:<44} {acc:>8.2f}% {luts:>7,} {'':>7}  published")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter([r["luts"] for r in rows], [r["accuracy"] for r in rows], label="lgn (LUT4, through its own flow)")
    for r in rows:
        ax.annotate(r["run"], (r["luts"], r["accuracy"]), fontsize=8, xytext=(4, 2), textcoords="offset points")
    ax.scatter([p[2] for p in PUBLISHED], [p[1] for p in PUBLISHED], marker="x", label="published (LUT6)")
    for name, acc, luts in PUBLISHED:
        ax.annotate(name.split(" (")[0], (luts, acc), fontsize=7, xytext=(4, -9), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("LUTs")
    ax.set_ylabel("MNIST test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=120)
    print(json.dumps({r["run"]: {"accuracy": r["accuracy"], "luts": r["luts"], "ffs": r["ffs"]} for r in rows}))


if __name__ == "__main__":
    main()
