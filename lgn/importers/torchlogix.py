"""torchlogix state dicts (dense layers of k-input lookup tables, ``lut_rank`` k = 1 to 6).

Layout relied on: ``torch.nn.Sequential`` of ``LogicDense(in_dim, out_dim, lut_rank=k)`` layers and
a ``GroupSum``. Each layer saves ``<i>.weight`` ``(out_dim, W)`` and its connections: ``<i>.connections.indices``
``(k, out_dim)`` (fixed), or ``(C, k, out_dim)`` with ``<i>.connections.weights`` of the same shape
(learnable: pin ``p`` of node ``o`` reads ``indices[argmax_c weights[c, p, o], p, o]``, eval mode, no
Gumbel noise). Pin ``p`` reads ``x[:, indices[p]]``. The weights, by parametrisation:

- ``raw`` (``k = 2``, ``W = 16``): op logits in difflogic's order (:mod:`lgn.ir.ops`); the gate is their argmax.
- ``warp`` (Walsh, ``W = 2**k``): coefficient ``c`` multiplies the product of ``1 - 2 x[p]`` over the pins
  ``p`` whose bit ``k - 1 - p`` of ``c`` is set (pin 0 the most significant); the node outputs 1 where
  the sum, taken in float32 in coefficient order as torchlogix adds it, is below 0 (``-sum > 0``).
- ``light`` (``W = 2**k``): entry ``t`` (pin 0 the most significant bit of ``t``) is 1 where its
  weight is above 0 (torchlogix's eval mode thresholds each entry's weight, then reads the entry).

A weight of width 16 is ``raw`` and of width ``2**k`` otherwise ``warp`` unless ``parametrization``
says ``light``: the tensors cannot tell ``warp`` from ``light``. Two-input nodes become gate layers,
the others :class:`~lgn.ir.netlist.LutLayer` s.
"""

from __future__ import annotations

import numpy as np
import torch

from lgn.errors import FormatError
from lgn.importers.tensors import layer_keys, logits_ops, pins
from lgn.ir import tables
from lgn.ir.netlist import LutLayer

PARAMETRIZATIONS: tuple[str, ...] = ("auto", "raw", "warp", "light")


def gate_layers(tensors: dict[str, torch.Tensor], inputs: int, parametrization: str = "auto") -> list:
    """Per layer ``(op, a, b)`` (two-input nodes) or a :class:`LutLayer`, pins local to the previous layer's outputs."""
    prefixes = [p for p in layer_keys(tensors, "weight") if tensors[f"{p}.weight"].dim() == 2]
    if not prefixes:
        raise FormatError("the state dict has no torchlogix LogicDense layer (no `<i>.weight` of shape (out, 2**k) "
                          "or (out, 16))", "pass a torchlogix model's state_dict()")
    layers, in_dim = [], inputs
    for p in prefixes:
        weight = tensors[f"{p}.weight"]
        src = pins(_hard_indices(tensors, p, weight.shape[0]), f"{p}.connections.indices", in_dim, weight.shape[0])
        kind = _kind(parametrization, len(src), weight, f"{p}.weight")
        if kind == "raw":
            layers.append((logits_ops(weight, f"{p}.weight"), src[0], src[1]))
        else:
            bits = walsh_tables(weight) if kind == "warp" else light_tables(weight)
            layers.append(_nodes(bits, src))
        in_dim = weight.shape[0]
    return layers


def _kind(parametrization: str, k: int, weight: torch.Tensor, name: str) -> str:
    width = weight.shape[1]
    if parametrization in ("auto", "raw") and k == 2 and width == 16:
        return "raw"
    if parametrization == "raw" or width != 1 << k:
        expected = "16 (raw) or 4 (warp, light)" if k == 2 else f"{1 << k} (warp, light)"
        raise FormatError(f"{name} has shape {tuple(weight.shape)}; a layer of {k}-input nodes has (out, {expected}) "
                          "weights", "check the layer's lut_rank and --parametrization")
    return "light" if parametrization == "light" else "warp"


def _torchlogix_entry(k: int) -> np.ndarray:
    """For each of lgn's table entries ``i`` (pin ``p`` at bit ``p``), torchlogix's entry (pin ``p`` at bit ``k-1-p``)."""
    i = np.arange(1 << k)
    return sum(((i >> p) & 1) << (k - 1 - p) for p in range(k))


def light_tables(weight: torch.Tensor) -> np.ndarray:
    """``(out, 2**k)`` bools in lgn's entry order: entry weights above 0."""
    k = (weight.shape[1] - 1).bit_length()
    return (weight.float().numpy() > 0)[:, _torchlogix_entry(k)]


def walsh_tables(weight: torch.Tensor) -> np.ndarray:
    """``(out, 2**k)`` bools in lgn's entry order: the Walsh sum below 0, added as torchlogix adds it."""
    w = weight.float().numpy()
    k = (w.shape[1] - 1).bit_length()
    bits = np.zeros((len(w), 1 << k), dtype=bool)
    for i, t in enumerate(_torchlogix_entry(k)):
        # at a corner every basis value is +-1: coefficient c's sign is the parity of the set pins it covers
        total = w[:, 0].copy()
        for c in range(1, 1 << k):
            total += w[:, c] * np.float32(-1.0 if bin(c & t).count("1") % 2 else 1.0)
        bits[:, i] = total < 0
    return bits


def _nodes(bits: np.ndarray, src: np.ndarray) -> tuple | LutLayer:
    """Two-input tables as a gate layer's ``(op, a, b)``; others as a :class:`LutLayer`."""
    if src.shape[0] == 2:
        return tables.to_gates(bits), src[0], src[1]
    return LutLayer(np.ascontiguousarray(src.T, dtype=np.int32), tables.pack(bits))


def _hard_indices(tensors: dict[str, torch.Tensor], prefix: str, out_dim: int) -> torch.Tensor:
    indices = tensors.get(f"{prefix}.connections.indices")
    if indices is None:
        raise FormatError(f"the state dict has no `{prefix}.connections.indices` (torchlogix does not save "
                          "its connections)", f"store `model[{prefix}].connections.indices` under that key before saving")
    if indices.dim() == 2:
        return indices
    choice = tensors.get(f"{prefix}.connections.weights")
    if indices.dim() != 3 or choice is None or choice.shape != indices.shape:
        raise FormatError(f"`{prefix}.connections.indices` has shape {tuple(indices.shape)}; learnable connections "
                          f"need (C, k, {out_dim}) indices and `{prefix}.connections.weights` of the same shape")
    return indices.gather(0, choice.argmax(0, keepdim=True)).squeeze(0)
