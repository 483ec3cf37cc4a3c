"""Seconds per MNIST epoch of a preset's network trained through torch's autograd, against lgn's
compiled CPU kernels of the same sums (:mod:`lgn.nn.cpu_kernels`): for `mnist-8k` (the default:
4000, 2000, 2000 six-input tables, 4 candidates per pin from 9x9 patches) the multilinear read and
the candidate mixture; for a convolutional preset also its logic trees.

Both sides start from one model and take the same steps on the same batches; their losses agree
to float rounding (checked: within 1e-4). Seconds per epoch are the best step time times the
steps in a 60,000-sample epoch. The last line is a JSON object of the headline figures.

    python bench/lut_train_speed.py [--data-dir DIR] [--threads 2] [--steps 3] [--preset mnist-8k]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from _steps import best_step_s  # noqa: E402
from lgn import data  # noqa: E402
from lgn.nn import LogicNet, cpu_kernels  # noqa: E402
from lgn.train.options import resolve  # noqa: E402

EPOCH = 60_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="MNIST idx files (else $LGN_MNIST_DIR, else a download)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LGN_THREADS", 2)))
    parser.add_argument("--steps", type=int, default=3, help="timed steps per side (after one warm-up)")
    parser.add_argument("--preset", default="mnist-8k", help="an MNIST preset")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not cpu_kernels.available(torch.zeros(1)):
        raise SystemExit("the kernels are not available here (no working C compiler, or LGN_CPU_KERNELS=0)")

    ds = data.load("mnist", args.data_dir)
    opts = resolve(args.preset, {})
    n = opts.batch_size * (args.steps + 1)
    batches = list(zip(torch.as_tensor(ds.x_train[:n]).split(opts.batch_size),
                       torch.as_tensor(ds.y_train[:n]).split(opts.batch_size)))
    model = LogicNet(opts.model_config(ds)).train()
    twin = copy.deepcopy(model)

    os.environ["LGN_CPU_KERNELS"] = "0"
    base, base_losses = best_step_s(twin, batches, opts.lr)
    os.environ["LGN_CPU_KERNELS"] = "1"
    fast, fast_losses = best_step_s(model, batches, opts.lr)
    drift = max(abs(a - b) for a, b in zip(base_losses, fast_losses))
    if drift > 1e-4:
        raise SystemExit(f"the two sides trained differently: losses {base_losses} against {fast_losses}")

    steps = math.ceil(EPOCH / opts.batch_size)
    print(f"{args.preset} ({', '.join(map(str, opts.widths))}: {model.describe()}), batch {opts.batch_size}, "
          f"{args.threads} threads")
    print(f"{'side':>8} {'s/step':>8} {'s/epoch':>8}")
    print(f"{'torch':>8} {base:>8.3f} {base * steps:>8.1f}")
    print(f"{'kernels':>8} {fast:>8.3f} {fast * steps:>8.1f}   {base / fast:.1f}x faster, losses within {drift:.1e}")
    print(json.dumps({"preset": args.preset, "threads": args.threads, "torch_s_per_epoch": round(base * steps, 1),
                      "kernels_s_per_epoch": round(fast * steps, 1), "speedup": round(base / fast, 2),
                      "loss_drift": drift}))


if __name__ == "__main__":
    main()
