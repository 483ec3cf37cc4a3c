"""The long differential campaign: thousands of random IR networks through every target.

Each network (lgn.testing.random_case: odd widths and sample counts, 1-5 layers with skip
wiring, all 16 ops, threshold and LUT layers of 1 to 6 inputs among the gate layers, groups of
1 to 89 bits, samples on thresholds and NaNs) runs through the
compiled engine, each pass, the pass pipeline and the engine on its output, and every
``--rtl-every``-th network through Verilog simulation as well; all must equal the reference
executor, and every ``--prove-every``-th network's Verilog (pipelined every 0 to 3 layers) must
be proven equal to it by ``lgn verify --formal``'s proofs, core and head. Every
``--stream-every``-th seed also draws a convolutional network (lgn.testing.random_streamed:
logic-tree and pooling stages kept shared, then a dense part), whose flat netlist takes the
targets above and whose streaming engine runs in Amaranth's simulator (and, every
``--prove-every``-th network, is proven: stages window by window, dense part). A failing seed is
printed so it can become a regression test. The last line is a JSON object of the headline
figures.

    python bench/fuzz.py [--networks 5000] [--seed 0] [--rtl-every 250] [--prove-every 50] [--stream-every 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from lgn.testing import disagreements, random_case, random_streamed, stream_disagreements


def unproven(net, pipeline: int, build: Path) -> list[str]:
    """The parts of ``net``'s classifier, pipelined every ``pipeline`` layers, that the formal
    proofs do not prove equal to the netlist (a counterexample or a timeout)."""
    from lgn.formal.equivalence import prove
    from lgn.hdl import Classifier
    from lgn.hdl.emit import to_verilog

    build.mkdir(parents=True)
    to_verilog(Classifier(net, pipeline), "classifier", build / "classifier.v")
    return [f"formal {p.part} ({p.status}, pipeline {pipeline})"
            for p in prove(net, build / "classifier.v", pipeline, build / "formal", timeout_s=300) if p.status != "proven"]


def unproven_stream(net, pipeline: int, build: Path) -> list[str]:
    """The parts of ``net``'s streaming engine (a :class:`~lgn.ir.conv.StreamedNetlist`, its dense
    part pipelined every ``pipeline`` layers) that the formal proofs do not prove: its stages
    window by window, its dense part's core and head."""
    from lgn.formal.equivalence import Streamed, prove, prove_stages
    from lgn.hdl.emit import to_verilog
    from lgn.hdl.stream import StreamClassifier

    build.mkdir(parents=True)
    verilog = build / "classifier.v"
    to_verilog(StreamClassifier(net, pipeline), "classifier", verilog)
    proofs = [prove_stages(net, verilog, build / "formal", timeout_s=300),
              *prove(net.dense, verilog, pipeline, build / "formal", timeout_s=300, streamed=Streamed.of(net))]
    return [f"formal streamed {p.part} ({p.status}, pipeline {pipeline})" for p in proofs if p.status != "proven"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0, help="network i uses seed SEED + i")
    parser.add_argument("--rtl-every", type=int, default=250, help="simulate every Nth network's Verilog (0: never)")
    parser.add_argument("--prove-every", type=int, default=50, help="prove every Nth network's Verilog (0: never)")
    parser.add_argument("--stream-every", type=int, default=10,
                        help="draw a convolutional network beside every Nth network and stream it (0: never)")
    args = parser.parse_args()
    start, failures, samples, rtl, proven, streamed, conv_gates = time.perf_counter(), [], 0, 0, 0, 0, 0
    proven_streams = 0
    nodes = {"gates": 0, "threshold_units": 0, "lut_nodes": 0}
    mixing = {"with_luts": 0, "with_thresholds": 0, "all_three_kinds": 0}
    with tempfile.TemporaryDirectory(prefix="lgn-fuzz-") as tmp:
        for i in range(args.networks):
            seed = args.seed + i
            with_rtl = args.rtl_every > 0 and i % args.rtl_every == 0
            net, raw = random_case(np.random.default_rng(seed), max_width=40 if with_rtl else 120)
            bad = disagreements(net, raw, rtl_dir=Path(tmp) / str(seed) if with_rtl else None)
            if args.prove_every > 0 and i % args.prove_every == args.prove_every // 2 and net.layers:
                bad += unproven(net, seed % 4, Path(tmp) / f"formal{seed}")
                proven += 1
            if args.stream_every > 0 and i % args.stream_every == 0:
                rng = np.random.default_rng(seed)
                conv, conv_raw = random_streamed(rng)
                bad += [f"conv network: {b}" for b in stream_disagreements(conv, conv_raw, seed % 2, rng)]
                if args.prove_every > 0 and i % args.prove_every == 0:
                    bad += unproven_stream(conv, seed % 2, Path(tmp) / f"stream{seed}")
                    proven_streams += 1
                streamed, conv_gates = streamed + 1, conv_gates + sum(s.num_gates for s in conv.stages)
                samples += len(conv_raw)
            samples, rtl = samples + len(raw), rtl + with_rtl
            counts = {"gates": net.num_gates, "threshold_units": net.num_thresholds, "lut_nodes": net.num_luts}
            nodes = {k: nodes[k] + counts[k] for k in nodes}
            mixing["with_luts"] += counts["lut_nodes"] > 0
            mixing["with_thresholds"] += counts["threshold_units"] > 0
            mixing["all_three_kinds"] += all(counts.values())
            if bad:
                failures.append({"seed": seed, "targets": bad})
                print(f"seed {seed}: {', '.join(bad)} disagree with the executor", flush=True)
            if (i + 1) % 100 == 0 or i + 1 == args.networks:
                print(f"{i + 1}/{args.networks} networks, {len(failures)} failing, "
                      f"{time.perf_counter() - start:.0f} s", flush=True)
    print(json.dumps({"networks": args.networks, "failing": len(failures), "rtl_networks": rtl,
                      "proven_networks": proven, "proven_streams": proven_streams, "conv_networks": streamed, "conv_gates_unrolled": conv_gates,
                      **nodes, **{f"networks_{k}": v for k, v in mixing.items()}, "samples": samples, "wall_s": round(time.perf_counter() - start, 1),
                      "failures": failures[:20]}))


if __name__ == "__main__":
    main()
