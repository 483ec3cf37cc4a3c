"""difflogic (Petersen et al., NeurIPS 2022) state dicts.

Layout relied on: ``torch.nn.Sequential(Flatten(), LogicLayer(...), ..., GroupSum(k, tau))``.
Each ``LogicLayer`` saves one parameter, ``<i>.weights`` of shape ``(out_dim, 16)``: logits over
the 16 ops in difflogic's table, which is :mod:`lgn.ir.ops`'s (an op code is its truth table
``f(0,0) f(0,1) f(1,0) f(1,1)`` read as a binary number). In eval mode a gate is the argmax op
of its ``weights`` (first maximum on ties) applied to ``x[..., indices[0]]`` and
``x[..., indices[1]]``; GroupSum adds contiguous groups of ``out_dim / k`` outputs.

difflogic keeps ``indices`` in a plain attribute, so a saved state dict lacks them. They are read
from ``<i>.indices`` (shape ``(2, out_dim)``) when the user stored them there
(``sd[f"{i}.indices"] = torch.stack(model[i].indices)``), else rebuilt by replaying difflogic's
constructor: the model built right after ``torch.manual_seed(seed)``, layer after layer, each
drawing ``torch.randn(out_dim, 16)`` on its device (the CPU generator only when ``built_on`` is
``"cpu"``) and then its connections (``"random"``: ``randperm(2 * out_dim) % in_dim`` mapped
through ``randperm(in_dim)``; ``"unique"``: fixed pairs permuted by ``randperm(out_dim)``).
"""

from __future__ import annotations

import numpy as np
import torch

from lgn.errors import FormatError
from lgn.importers.tensors import connections, layer_keys, logits_ops
from lgn.nn.logic import random_connections

CONNECTIONS: tuple[str, ...] = ("random", "unique")
DEVICES: tuple[str, ...] = ("cuda", "cpu")


def gate_layers(tensors: dict[str, torch.Tensor], inputs: int, seed: int | None = None,
                connections_init: str = "random", built_on: str = "cuda",
                split_first: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(op, a, b)`` per layer, pins local to the previous layer's outputs (replayed wiring: see
    :func:`replay_connections`)."""
    prefixes = layer_keys(tensors, "weights")
    if not prefixes:
        raise FormatError("the state dict has no difflogic LogicLayer (no `<i>.weights` tensor of shape (out, 16))",
                          "pass a difflogic model's state_dict()")
    ops = [logits_ops(tensors[f"{p}.weights"], f"{p}.weights") for p in prefixes]
    widths = [inputs] + [len(op) for op in ops]
    stored = [tensors.get(f"{p}.indices") for p in prefixes]
    if all(s is not None for s in stored):
        pins = [connections(s, f"{p}.indices", i, o) for s, p, i, o in zip(stored, prefixes, widths, widths[1:])]
    elif seed is None:
        raise FormatError("the state dict has no `<i>.indices` (difflogic does not save its connections)",
                          "pass --seed (with --connections and --built-on as trained) to rebuild them, or store "
                          "`torch.stack(model[i].indices)` as `<i>.indices` before saving")
    else:
        pins = replay_connections(widths, seed, connections_init, built_on, split_first)
    return [(op, a, b) for op, (a, b) in zip(ops, pins)]


def replay_connections(widths: list[int], seed: int, init: str = "random", built_on: str = "cuda",
                       split_first: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``(a, b)`` pins difflogic's constructors draw for layers ``widths[i] -> widths[i+1]``.

    ``split_first``: the size of the training set that difflogic's ``experiments/main.py`` splits
    with ``torch.utils.data.random_split`` after seeding and before building the model (even with
    no validation part), whose ``randperm`` comes first from the generator; 0 for a model built
    straight after ``torch.manual_seed``."""
    if init not in CONNECTIONS or built_on not in DEVICES:
        raise ValueError(f"unknown connections {init!r} or device {built_on!r}")
    generator = torch.Generator().manual_seed(seed)
    if split_first:
        torch.randperm(split_first, generator=generator)
    pins = []
    for in_dim, out_dim in zip(widths, widths[1:]):
        if 2 * out_dim < in_dim:
            raise FormatError(f"a layer of {out_dim} gates cannot read {in_dim} inputs in difflogic",
                              "check --inputs")
        if built_on == "cpu":
            torch.randn(out_dim, 16, generator=generator)  # the layer's weights come first
        if init == "random":
            c = random_connections(in_dim, out_dim, generator, "random")  # the draw itself is difflogic's
            pins.append((c[0].numpy(), c[1].numpy()))
        else:
            a, b = _unique_pairs(in_dim, out_dim)
            perm = torch.randperm(out_dim, generator=generator).numpy()
            pins.append((a[perm], b[perm]))
    return pins


def _unique_pairs(in_dim: int, out_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """difflogic's ``unique`` pairs before shuffling: (0,1), (2,3), ...; then (1,2), (3,4), ...;
    then pairs at offsets 2, 3, ... until ``out_dim`` are taken."""
    x = np.arange(in_dim)
    m = min(len(x[::2]), len(x[1::2]))
    a, b = x[::2][:m], x[1::2][:m]
    if len(a) < out_dim:
        m = min(len(x[1::2]), len(x[2::2]))
        a, b = np.concatenate([a, x[1::2][:m]]), np.concatenate([b, x[2::2][:m]])
    offset = 2
    while out_dim > len(a) > offset:
        a, b = np.concatenate([a, x[:-offset]]), np.concatenate([b, x[offset:]])
        offset += 1
    if len(a) < out_dim:
        raise FormatError(f"difflogic's unique connections cannot build {out_dim} gates from {in_dim} inputs")
    return a[:out_dim], b[:out_dim]
