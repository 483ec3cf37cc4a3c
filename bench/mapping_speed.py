"""Seconds per MNIST epoch of the `mnist-up5k` network, whose every input is learned over its 9x9
patch, with the patch's scores stored alone (lgn's :class:`LearnedMapping`) against a score per
input of the whole layer below, the inputs outside the patch held at -inf (the form lgn stored
until 2026-12, and what masking a dense score matrix costs in general).

Both sides start from the same scores and take the same steps: their losses agree to the bit,
which the benchmark checks. Seconds per epoch are the best step time times the steps in a
60,000-sample epoch; the checkpoint sizes are those of the two forms' state dicts. The last line
is a JSON object of the headline figures.

    python bench/mapping_speed.py [--data-dir DIR] [--threads 2] [--steps 3]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from _steps import best_step_s  # noqa: E402
from lgn import data  # noqa: E402
from lgn.nn import LogicNet  # noqa: E402
from lgn.nn.mapping import LearnedMapping  # noqa: E402
from lgn.train.options import resolve  # noqa: E402

EPOCH = 60_000


def dense_copy(mapping: LearnedMapping) -> LearnedMapping:
    """``mapping`` as a score per input of the pool, -inf outside what it allows."""
    pins, _, out = mapping.weights.shape
    dense = LearnedMapping(mapping.in_features, out, pins, generator=torch.Generator().manual_seed(0))
    scores = torch.full((pins, mapping.in_features, out), float("-inf"))
    scores.scatter_(1, mapping.pool.expand(pins, -1, -1), mapping.weights.detach().masked_fill(~mapping.valid,
                                                                                                float("-inf")))
    dense.weights = torch.nn.Parameter(scores)
    return dense


def state_bytes(model: torch.nn.Module) -> int:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="MNIST idx files (else $LGN_MNIST_DIR, else a download)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LGN_THREADS", 2)))
    parser.add_argument("--steps", type=int, default=3, help="timed steps per form (after one warm-up)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ds = data.load("mnist", args.data_dir)
    opts = resolve("mnist-up5k", {})
    n = opts.batch_size * (args.steps + 1)
    batches = list(zip(torch.as_tensor(ds.x_train[:n]).split(opts.batch_size),
                       torch.as_tensor(ds.y_train[:n]).split(opts.batch_size)))
    compact = LogicNet(opts.model_config(ds)).train()
    dense = LogicNet(opts.model_config(ds)).train()
    dense.load_state_dict(compact.state_dict())
    for layer in dense.layers:
        layer.mapping = dense_copy(layer.mapping)

    steps = math.ceil(EPOCH / opts.batch_size)
    sizes = {name: state_bytes(model) / 2**20 for name, model in (("dense", dense), ("compact", compact))}
    base, base_losses = best_step_s(dense, batches, 0.1)
    fast, fast_losses = best_step_s(compact, batches, 0.1)
    if base_losses != fast_losses:
        raise SystemExit(f"the two forms trained differently: losses {base_losses} against {fast_losses}")
    print(f"mnist-up5k ({', '.join(map(str, opts.widths))}), batch {opts.batch_size}, {args.threads} threads")
    print(f"{'form':>8} {'s/epoch':>8} {'state dict MiB':>15}")
    print(f"{'dense':>8} {base * steps:>8.1f} {sizes['dense']:>15.1f}")
    print(f"{'compact':>8} {fast * steps:>8.1f} {sizes['compact']:>15.1f}   {base / fast:.1f}x faster, losses equal")
    print(json.dumps({"threads": args.threads, "dense_s_per_epoch": round(base * steps, 1),
                      "compact_s_per_epoch": round(fast * steps, 1), "speedup": round(base / fast, 2),
                      "dense_mib": round(sizes["dense"], 1), "compact_mib": round(sizes["compact"], 1)}))


if __name__ == "__main__":
    main()
