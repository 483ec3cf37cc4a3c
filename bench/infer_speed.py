"""MNIST images per second of lgn's CPU engine against the reference executor, one core.

Networks: 4x2000 gates and an mnist-m sized 4x16000, hardened from seeded random initialisations
(784 inputs, one threshold per pixel as difflogic's MNIST models use) or from a checkpoint you
pass. Each runs on the 10,000 MNIST test images from raw pixels, encoding included; the engine is
built in a fresh cache, so ``build_s`` includes compiling its kernel, and the predictions are
checked equal to the reference executor's. The last line is a JSON object of the headline figures.

    python bench/infer_speed.py [--data-dir DIR] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lgn import engine  # noqa: E402
from lgn.harden import harden  # noqa: E402
from lgn.ir import executor, passes  # noqa: E402
from lgn.nn import LogicNet, LogicNetConfig  # noqa: E402
from lgn import data  # noqa: E402

SIZES = {"4x2000": (2000,) * 4, "mnist_m": (16000,) * 4}


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="MNIST idx files (else $LGN_MNIST_DIR, else a download)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = data.load("mnist", args.data_dir).x_test
    figures = {"images": len(x)}
    print(f"{'network':>8} {'gates':>6} {'opt gates':>9} {'build s':>8} {'engine img/s':>13} "
          f"{'executor img/s':>15} {'speedup':>8}")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache  # a cold cache: build_s includes compiling the kernel
        for name, widths in SIZES.items():
            net = harden(LogicNet(LogicNetConfig(784, 10, widths, 1, (0.0, 255.0), 10.0, seed=0)))
            start = time.perf_counter()
            eng = engine.build(net, "c")
            build_s = time.perf_counter() - start
            engine_s = best_of(lambda: eng.run(x), args.repeats)
            start = time.perf_counter()
            reference = executor.run(net, x)
            executor_s = time.perf_counter() - start
            got = eng.run(x)
            assert np.array_equal(got.scores, reference.scores), "engine differs from the reference executor"
            optimised = passes.run(net)[0]
            opt_engine = engine.build(optimised, "c")
            opt_s = best_of(lambda: opt_engine.run(x), args.repeats)
            print(f"{name:>8} {net.num_gates:>6} {optimised.num_gates:>9} {build_s:>8.2f} {len(x) / engine_s:>13,.0f} "
                  f"{len(x) / executor_s:>15,.0f} {executor_s / engine_s:>7.0f}x", flush=True)
            figures |= {f"images_per_s_{name}": round(len(x) / engine_s), f"build_s_{name}": round(build_s, 3),
                        f"executor_images_per_s_{name}": round(len(x) / executor_s),
                        f"images_per_s_optimised_{name}": round(len(x) / opt_s)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
