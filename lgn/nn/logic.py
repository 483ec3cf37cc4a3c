"""Differentiable logic-gate layers (difflogic's relaxation, computed in closed form)."""

from __future__ import annotations

import torch
from torch import nn

from lgn.ir import ops

_COEFFICIENTS = torch.from_numpy(ops.polynomial_coefficients()).float()


def random_connections(in_features: int, out_features: int, generator: torch.Generator) -> torch.Tensor:
    """``(2, out_features)`` input indices for a gate layer.

    Inputs are dealt out from shuffled copies of ``range(in_features)``, so when
    ``2 * out_features >= in_features`` every input feeds at least one gate, and a gate never reads
    the same input on both pins unless the layer has a single input.
    """
    need = 2 * out_features
    deck = torch.cat([torch.randperm(in_features, generator=generator)
                      for _ in range(-(-need // in_features))])[:need]
    a, b = deck.view(2, out_features).clone()
    clash = a == b
    if in_features > 1 and clash.any():
        b[clash] = (b[clash] + 1 + torch.randint(in_features - 1, (int(clash.sum()),), generator=generator)) % in_features
    return torch.stack([a, b])


class LogicLayer(nn.Module):
    """A layer of two-input gates, each a softmax mixture over the 16 boolean functions.

    Each gate ``j`` reads inputs ``a[j]`` and ``b[j]`` (fixed at construction) and holds 16
    logits. Training computes the expectation of the gate under ``softmax(logits)``; because every
    relaxed gate is an affine function of ``1, a, b, a*b``, the mixture is
    ``softmax(logits) @ C`` with a fixed ``16 x 4`` matrix ``C`` applied to those four terms,
    equal in value to difflogic's 16-term sum at a quarter of the work. In eval mode the layer is
    *hardened*: each gate is its argmax function, and on 0/1 inputs it outputs exact 0/1 values.

    Parameters
    ----------
    in_features, out_features:
        Input bits read and gates built.
    generator:
        Source of the random wiring (seeded by the caller for reproducibility).
    residual_init:
        If given, the logit of the pass-through gate ``A`` starts at this value and the others at
        zero, so a deep net starts close to the identity (as in the convolutional LGN paper);
        otherwise logits start as standard normals, as in difflogic.
    """

    def __init__(self, in_features: int, out_features: int, *, generator: torch.Generator,
                 residual_init: float | None = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        if residual_init is None:
            logits = torch.randn(out_features, ops.NUM_OPS, generator=generator)
        else:
            logits = torch.zeros(out_features, ops.NUM_OPS)
            logits[:, ops.NAMES.index("A")] = residual_init
        self.logits = nn.Parameter(logits)
        self.register_buffer("connections", random_connections(in_features, out_features, generator))
        self.register_buffer("coefficients", _COEFFICIENTS.clone(), persistent=False)

    def gate_weights(self) -> torch.Tensor:
        """``(out_features, 16)`` mixture weights: softmax in training, one-hot argmax in eval."""
        if self.training:
            return torch.softmax(self.logits, dim=-1)
        return nn.functional.one_hot(self.hardened_ops(), ops.NUM_OPS).to(self.logits.dtype)

    def hardened_ops(self) -> torch.Tensor:
        """The op code each gate hardens to (ties to the lowest code, like ``torch.argmax``)."""
        return self.logits.argmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x[:, self.connections[0]]
        b = x[:, self.connections[1]]
        c = self.gate_weights() @ self.coefficients
        return c[:, 0] + c[:, 1] * a + c[:, 2] * b + c[:, 3] * (a * b)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"
