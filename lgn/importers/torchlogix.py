"""torchlogix state dicts (dense layers of two-input gates).

Layout relied on: ``torch.nn.Sequential`` of ``LogicDense(in_dim, out_dim, lut_rank=2)`` layers and
a ``GroupSum``. Each layer saves ``<i>.weight``:

- ``parametrization="raw"``: ``(out_dim, 16)`` op logits in difflogic's order (:mod:`lgn.ir.ops`);
  the gate is their argmax.
- ``parametrization="walsh"``: ``(out_dim, 4)`` coefficients ``w`` of the basis ``1, B, A, AB`` over
  ``A = 1 - 2a``, ``B = 1 - 2b``; the gate outputs 1 where ``w0 + w1*B + w2*A + w3*A*B < 0``
  (torchlogix's eval mode: ``-sum > 0``), summed in that order in float32.

Pin ``a`` reads ``x[:, indices[0]]`` and pin ``b`` ``x[:, indices[1]]``. torchlogix keeps
``indices`` in a plain attribute, so they must be stored beside the weights as
``<i>.connections.indices``: ``(2, out_dim)`` for fixed connections, or ``(C, 2, out_dim)`` with the
learnable connections' ``<i>.connections.weights`` ``(C, 2, out_dim)``, where pin ``p`` of gate ``o``
reads ``indices[argmax_c weights[c, p, o], p, o]`` (eval mode, no Gumbel noise).
"""

from __future__ import annotations

import numpy as np
import torch

from lgn.errors import FormatError
from lgn.importers.tensors import connections, layer_keys, logits_ops


def gate_layers(tensors: dict[str, torch.Tensor], inputs: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(op, a, b)`` per layer, pins local to the previous layer's outputs."""
    prefixes = [p for p in layer_keys(tensors, "weight") if tensors[f"{p}.weight"].dim() == 2]
    if not prefixes:
        raise FormatError("the state dict has no torchlogix LogicDense layer (no `<i>.weight` of shape (out, 16) "
                          "or (out, 4))", "pass a torchlogix model's state_dict()")
    layers, in_dim = [], inputs
    for p in prefixes:
        weight = tensors[f"{p}.weight"]
        op = logits_ops(weight, f"{p}.weight") if weight.shape[1] == 16 else walsh_ops(weight, f"{p}.weight")
        a, b = connections(_hard_indices(tensors, p, len(op)), f"{p}.connections.indices", in_dim, len(op))
        layers.append((op, a, b))
        in_dim = len(op)
    return layers


def walsh_ops(weight: torch.Tensor, name: str) -> np.ndarray:
    """Op codes of ``(out, 4)`` Walsh coefficients, evaluated at the four input corners."""
    if weight.dim() != 2 or weight.shape[1] != 4:
        raise FormatError(f"{name} has shape {tuple(weight.shape)}; a two-input Walsh layer has (out, 4) coefficients")
    w = weight.float().numpy()
    op = np.zeros(len(w), dtype=np.uint8)
    for a in (0, 1):
        for b in (0, 1):
            sa, sb = np.float32(1 - 2 * a), np.float32(1 - 2 * b)
            total = w[:, 0] + w[:, 1] * sb + w[:, 2] * sa + w[:, 3] * (sa * sb)
            op |= (total < 0).astype(np.uint8) << np.uint8(3 - (2 * a + b))
    return op


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
                          f"need (C, 2, {out_dim}) indices and `{prefix}.connections.weights` of the same shape")
    return indices.gather(0, choice.argmax(0, keepdim=True)).squeeze(0)
