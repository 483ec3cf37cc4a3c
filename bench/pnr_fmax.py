"""Fmax of one synthesized design under nextpnr option sets and seeds: what lgn's ECP5 defaults buy.

Reads the Yosys netlist ``lgn synth --board none`` left in ``RUN/build/none/top.json`` (ECP5-85F,
out of context) and places and routes it again with each option set and seed, one nextpnr run
at a time, timed against ``--freq`` (default 150 MHz): nextpnr's defaults (the baseline, in the
same run) against the options lgn gives the ECP5 (:attr:`lgn.boards.targets.Family.pnr_opts`)
and any ``--extra`` set; a run past ``--time-limit`` counts as a timeout. Prints Fmax and
nextpnr's time per seed; the last line is a JSON object of the headline figures.

    python bench/pnr_fmax.py RUN [--seeds 1,2,3] [--freq 150] [--extra="--router2-alt-weights"]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from lgn import toolchain
from lgn.boards.flow import nextpnr_args
from lgn.boards.targets import BOARDS, ECP5


def fmax(top_json: Path, options: list[str], seed: int, freq: float, build: Path, limit_s: float
         ) -> tuple[float | None, float]:
    """nextpnr's achieved Fmax (MHz; None when it ran out of ``limit_s``) and its wall time (s)
    for one option set and seed."""
    build.mkdir(parents=True, exist_ok=True)
    shutil.copy(top_json, build / "top.json")  # YoWASP tools see only their working folder
    try:
        wall = toolchain.run(ECP5.nextpnr, nextpnr_args(BOARDS["none"], options, seed, freq, "report.json"),
                             log=build / "stdout.log", cwd=build, timeout_s=limit_s)
    except toolchain.ToolTimeout:
        return None, limit_s
    report = json.loads((build / "report.json").read_text())
    return next(iter(report["fmax"].values()))["achieved"], wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="an output folder `lgn synth --board none` built")
    parser.add_argument("--seeds", default="1,2,3", help="nextpnr seeds, comma-separated")
    parser.add_argument("--freq", type=float, default=150.0, help="target clock in MHz")
    parser.add_argument("--extra", action="append", default=[], help="another option set, quoted")
    parser.add_argument("--time-limit", type=float, default=1200, help="seconds per nextpnr run")
    args = parser.parse_args()
    top_json = args.run / "build" / "none" / "top.json"
    if not top_json.is_file():
        raise SystemExit(f"{top_json} does not exist: run `lgn synth --out {args.run} --board none` first")
    variants = {"defaults": [], "lgn (" + " ".join(ECP5.pnr_opts) + ")": list(ECP5.pnr_opts),
                **{extra: extra.split() for extra in args.extra}}
    seeds = [int(s) for s in args.seeds.split(",")]
    headline = {}
    print(f"{'options':<40} {'seed':>4} {'Fmax MHz':>9} {'nextpnr s':>10}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lgn-pnr-fmax-") as tmp:
        for name, options in variants.items():
            reached = []
            for seed in seeds:
                mhz, wall = fmax(top_json, options, seed, args.freq, Path(tmp) / f"{len(headline)}-{seed}",
                                 args.time_limit)
                reached.append(None if mhz is None else round(mhz, 1))
                shown = "timeout" if mhz is None else f"{mhz:.1f}"
                print(f"{name:<40} {seed:>4} {shown:>9} {wall:>10.1f}", flush=True)
            done = [m for m in reached if m is not None]
            headline[name] = {"fmax_mhz": reached, "min_mhz": min(done) if done else None}
    print(json.dumps({"run": str(args.run), "freq_mhz": args.freq, "variants": headline}))


if __name__ == "__main__":
    main()
