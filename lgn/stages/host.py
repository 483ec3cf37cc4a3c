"""``lgn host``: test samples streamed to a flashed board, every answer checked."""

from __future__ import annotations

from pathlib import Path

from lgn import report
from lgn.errors import LgnError
from lgn.ir import serialize
from lgn.stages.common import NETLIST, dataset_of, prepare_out, say


def host_stage(out: Path, port: str, netlist_path: Path | None = None, dataset: str | None = None,
               data_dir: Path | None = None, samples: int | None = None) -> dict:
    """Stream test samples to the flashed board at ``port`` and record what it answered."""
    from lgn import host
    from lgn.boards.top import BAUD

    out = prepare_out(out)
    net = serialize.load(netlist_path or out / NETLIST)
    ds = dataset_of(net, dataset, data_dir)
    raw, labels = ds.x_test[:samples], ds.y_test[:samples]
    say("host", f"streaming {len(raw)} {ds.name} test samples to {port} at {BAUD} baud ...")
    result = host.run(port, net, raw, labels, baud=BAUD)
    say("host", f"board accuracy {result['accuracy']:.4f}, {result['matches_executor'][0]}/{len(raw)} equal to "
                 f"the executor, {result['inferences_per_s']} inferences/s")
    rep = report.update(out, {"host": result, "accuracy": {"board": result["accuracy"]},
                              "bit_exact": {"board_vs_netlist": result["matches_executor"]}})
    if result["matches_executor"][0] != len(raw):
        raise LgnError(f"the board differs from the netlist on {len(raw) - result['matches_executor'][0]} samples",
                       "flash the bitstream built from this netlist (`lgn synth`, then `lgn flash`)")
    return rep
