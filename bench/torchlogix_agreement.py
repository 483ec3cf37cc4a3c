"""Agreement of `lgn import torchlogix` with torchlogix itself: models of every parametrisation
(raw, warp, light), LUT rank 2, 4 and 6, fixed and learnable connections, built by torchlogix's
own `LogicDense` and `GroupSum`, saved as state dicts, imported, and their eval-mode scores
compared with the imported netlist's on random inputs. The last line is a JSON object.

    pip download --no-deps torchlogix && unzip torchlogix-*.whl -d tlx
    python bench/torchlogix_agreement.py --torchlogix tlx [--inputs 2000]

torchlogix is not a dependency of lgn; its package ``__init__`` (0.2.2) imports modules written
for Python 3.12, so the layers are loaded from their own modules.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import types
from pathlib import Path

import torch
from safetensors.torch import save_file

from lgn.importers import Architecture, import_model
from lgn.ir import executor

CASES = [(2, "raw", "fixed"), (2, "warp", "learnable"), (2, "light", "fixed"), (4, "warp", "fixed"),
         (4, "warp", "learnable"), (4, "light", "fixed"), (6, "warp", "fixed"), (6, "light", "learnable")]
INPUTS, WIDTHS, CLASSES = 64, (120, 90), 3


def load_torchlogix(root: Path):
    for name in ("torchlogix", "torchlogix.layers"):
        package = types.ModuleType(name)
        package.__path__ = [str(root / name.replace(".", "/"))]
        sys.modules[name] = package
    from torchlogix.layers.dense import LogicDense
    from torchlogix.layers.groupsum import GroupSum
    return LogicDense, GroupSum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torchlogix", type=Path, required=True, help="folder holding the torchlogix package")
    parser.add_argument("--inputs", type=int, default=2000, help="random input vectors per model")
    args = parser.parse_args()
    LogicDense, GroupSum = load_torchlogix(args.torchlogix)
    torch.manual_seed(0)
    exact = 0
    print(f"{'rank':>4} {'weights':>8} {'connections':>11} {'agree':>11}")
    for rank, parametrization, connections in CASES:
        kw = {"lut_rank": rank, "parametrization": parametrization, "connections": connections}
        if parametrization != "raw":
            kw["parametrization_kwargs"] = {"weight_init": "random"}  # not the near-identity start
        dims = (INPUTS, *WIDTHS)
        model = torch.nn.Sequential(*(LogicDense(i, o, **kw) for i, o in zip(dims, dims[1:])), GroupSum(CLASSES, tau=1.0))
        if parametrization == "raw":
            for layer in model[:-1]:
                layer.weight.data = torch.randn_like(layer.weight)
        model.eval()
        x = (torch.rand(args.inputs, INPUTS) > 0.5).float()
        with torch.no_grad():
            want = model(x).round().long().numpy()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.safetensors"
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
            net = import_model("torchlogix", path, Architecture(INPUTS, CLASSES),
                               parametrization="light" if parametrization == "light" else "auto")
        same = int((executor.run_bits(net, x.numpy().astype(bool)).scores == want).all(1).sum())
        exact += same == args.inputs
        print(f"{rank:>4} {parametrization:>8} {connections:>11} {same:>5}/{args.inputs}", flush=True)
    print(json.dumps({"models": len(CASES), "identical": exact, "inputs_each": args.inputs}))
    if exact != len(CASES):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
