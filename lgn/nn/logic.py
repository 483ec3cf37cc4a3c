"""Differentiable logic-gate layers: difflogic's relaxation, computed in closed form.

Activations are *feature-major*: a layer maps ``(in_features, batch)`` to ``(out_features,
batch)``. Gathering a gate's inputs is then a copy of whole contiguous rows, and scattering
their gradients back an ``index_add_`` over rows, which is what makes training fast on a CPU.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from lgn.ir import ops
from lgn.nn.mapping import hardened_connections, mixes_candidates, register_wiring

#: ``(16, 4)``: each op's relaxation as ``c0 + c1 a + c2 b + c3 a b`` (gate layers and conv kernels).
GATE_COEFFICIENTS = torch.from_numpy(ops.polynomial_coefficients()).float()

Wiring = Literal["random", "unique"]
WIRINGS: tuple[str, ...] = ("random", "unique")


def random_connections(in_features: int, out_features: int, generator: torch.Generator,
                       wiring: Wiring = "unique") -> torch.Tensor:
    """``(2, out_features)`` input indices for a gate layer.

    ``"random"`` is difflogic's ``random`` draw, pin for pin: ``randperm(2 * out_features) %
    in_features`` mapped through ``randperm(in_features)``, so when ``2 * out_features >=
    in_features`` every input is read and no input more than once more than any other. ``"unique"``
    deals the pins out from shuffled copies of ``range(in_features)``, so when
    ``2 * out_features >= in_features`` every input feeds a gate (but for the few pins re-dealt
    next), then re-deals the second pin of gates whose pins coincide or whose pair an earlier
    gate already reads (while distinct pairs remain).
    """
    if wiring == "random":
        pins = torch.randperm(2 * out_features, generator=generator) % in_features
        return torch.randperm(in_features, generator=generator)[pins].reshape(2, out_features)
    if wiring != "unique":
        raise ValueError(f"unknown wiring {wiring!r}; choose one of {', '.join(WIRINGS)}")
    a, b = deal(in_features, 2 * out_features, generator).view(2, out_features)
    if in_features == 1:
        return torch.stack([a, b])
    repeats_allowed = out_features > in_features * (in_features - 1) // 2
    for _ in range(32):  # each round re-deals the few clashes left; a handful suffice
        bad = (a == b) if repeats_allowed else (a == b) | _repeated_pairs(a, b, in_features)
        if not bad.any():
            break
        b[bad] = (a[bad] + 1 + torch.randint(in_features - 1, (int(bad.sum()),), generator=generator)) % in_features
    return torch.stack([a, b])


def deal(in_features: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` input indices dealt from shuffled copies of ``range(in_features)``: every input
    once before any twice."""
    return torch.cat([torch.randperm(in_features, generator=generator)
                      for _ in range(-(-count // in_features))])[:count]


def _repeated_pairs(a: torch.Tensor, b: torch.Tensor, n: int) -> torch.Tensor:
    """Marks every gate whose unordered input pair an earlier gate already reads."""
    key, order = (torch.minimum(a, b) * n + torch.maximum(a, b)).sort(stable=True)
    repeated = torch.zeros_like(a, dtype=torch.bool)
    repeated[order[1:]] = key[1:] == key[:-1]
    return repeated


def _gate(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``c0 + c1*a + c2*b + c3*a*b`` per gate row, with two fused temporaries."""
    c0, c1, c2, c3 = c.unsqueeze(-1).unbind(1)
    return torch.addcmul(c1, c3, b).mul_(a).add_(torch.addcmul(c0, c2, b))


def _gate_grad_c(grad: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The gradient of :func:`_gate` with respect to its ``(out, 4)`` coefficients."""
    gb = grad * b
    return torch.stack([grad.sum(1), (grad * a).sum(1), gb.sum(1), (gb * a).sum(1)], 1)


def _gate_grad_pins(grad: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                    c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradients of :func:`_gate` with respect to its pins ``a`` and ``b``."""
    _, c1, c2, c3 = c.unsqueeze(-1).unbind(1)
    return torch.addcmul(c1, c3, b).mul_(grad), torch.addcmul(c2, c3, a).mul_(grad)


class GateMixture(torch.autograd.Function):
    """``y = c0 + c1*a + c2*b + c3*a*b`` per gate, with ``a, b`` gathered rows of ``x``.

    One fused forward and a hand-written backward: autograd of the same expression keeps four
    full-size temporaries alive and scatters twice as often.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, connections: torch.Tensor, c: torch.Tensor, grad_factor: float) -> torch.Tensor:
        a, b = x.index_select(0, connections[0]), x.index_select(0, connections[1])
        ctx.save_for_backward(a, b, c, connections)
        ctx.in_features, ctx.grad_factor = x.shape[0], grad_factor
        return _gate(a, b, c)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        a, b, c, connections = ctx.saved_tensors
        grad_c = _gate_grad_c(grad, a, b) if ctx.needs_input_grad[2] else None
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_a, grad_b = _gate_grad_pins(grad, a, b, c)
            grad_x = grad.new_zeros(ctx.in_features, grad.shape[1])
            scale = ctx.grad_factor
            grad_x.index_add_(0, connections[0], grad_a, alpha=scale).index_add_(0, connections[1], grad_b, alpha=scale)
        return grad_x, None, grad_c, None


class _LearnedGateMixture(torch.autograd.Function):
    """:class:`GateMixture` whose pins are mixtures ``sum_k w[p, j, k] * x[cand[p, j, k]]``.

    Saves the layer input instead of the ``(2, out, k, batch)`` gathered candidates, and
    re-gathers them one candidate at a time in backward, so memory stays at one layer's width.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, candidates: torch.Tensor, w: torch.Tensor, c: torch.Tensor,
                grad_factor: float) -> torch.Tensor:
        candidates = candidates.transpose(1, 2).contiguous()  # (2, k, out): contiguous index rows
        a, b = (_mix(x, candidates[p], w[p]) for p in (0, 1))
        ctx.save_for_backward(x, a, b, c, candidates, w)
        ctx.grad_factor = grad_factor
        return _gate(a, b, c)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, a, b, c, candidates, w = ctx.saved_tensors
        grad_c = _gate_grad_c(grad, a, b) if ctx.needs_input_grad[3] else None
        grad_a, grad_b = _gate_grad_pins(grad, a, b, c)
        grad_x = x.new_zeros(x.shape) if ctx.needs_input_grad[0] else None
        grad_w = w.new_empty(w.shape) if ctx.needs_input_grad[2] else None
        for p, grad_pin in enumerate((grad_a, grad_b)):
            for k in range(candidates.shape[1]):
                index = candidates[p, k]
                if grad_w is not None:
                    grad_w[p, :, k] = (x.index_select(0, index) * grad_pin).sum(1)
                if grad_x is not None:
                    grad_x.index_add_(0, index, grad_pin * w[p, :, k, None], alpha=ctx.grad_factor)
        return grad_x, None, grad_w, grad_c, None


def _mix(x: torch.Tensor, candidates: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``sum_k w[:, k] * x[candidates[k]]``: one pin of every gate, ``(out, batch)``."""
    out = x.index_select(0, candidates[0]).mul_(w[:, :1])
    for k in range(1, len(candidates)):
        out.addcmul_(x.index_select(0, candidates[k]), w[:, k:k + 1])
    return out


class LogicLayer(nn.Module):
    """A layer of two-input gates, each a softmax mixture over the 16 boolean functions.

    Each gate ``j`` reads inputs ``connections[0, j]`` and ``connections[1, j]`` (fixed at
    construction) and holds 16 logits. Training computes the expectation of the gate under
    ``softmax(logits)``; because every relaxed gate is an affine function of ``1, a, b, a*b``,
    the mixture is ``softmax(logits) @ C`` with a fixed ``16 x 4`` matrix ``C`` applied to those
    four terms, equal in value and gradient to difflogic's 16-term sum
    (:mod:`lgn.nn.reference`). In eval mode the layer is *hardened*: each gate is its argmax
    function, and on 0/1 inputs it outputs exact 0/1 values.

    Input and output are feature-major: ``(in_features, batch) -> (out_features, batch)``.

    Parameters
    ----------
    in_features, out_features:
        Input bits read and gates built.
    generator:
        Source of the random wiring (seeded by the caller for reproducibility).
    wiring:
        ``"unique"`` (every input read, no pair read twice) or ``"random"``; see
        :func:`random_connections`.
    connections:
        The wiring itself, ``(2, out_features)`` (``(2, out_features, candidates)`` with
        candidates) input indices, in place of a drawn one (e.g. :mod:`lgn.nn.patches`).
    residual_init:
        If given, the logit of the pass-through gate ``A`` starts at this value and the others at
        zero, so a deep net starts close to the identity (as in the convolutional LGN paper);
        otherwise logits start as standard normals, as in difflogic.
    grad_factor:
        Multiplies the gradient passed to the layer's input (difflogic's ``grad_factor``), which
        keeps gradients from vanishing through deep stacks.
    candidates:
        With ``k > 1``, each pin *learns* its input among ``k`` candidates (``k`` independent
        wirings): in training it reads the softmax mixture of its candidates under learned
        logits, hardened it reads the argmax candidate. This is the step past difflogic's fixed
        random wiring; it costs about ``k`` times the gather work. With ``k = 0`` each pin learns
        its input among the whole pool (:class:`~lgn.nn.mapping.LearnedMapping`): every input, or
        those ``allowed`` to its gate.
    allowed:
        With ``candidates = 0``, optional ``(in_features, out_features)`` bools: the inputs each
        gate may read (its image patch, for local wiring).
    """

    def __init__(self, in_features: int, out_features: int, *, generator: torch.Generator,
                 wiring: Wiring = "unique", residual_init: float | None = None, grad_factor: float = 1.0,
                 candidates: int = 1, connections: torch.Tensor | None = None,
                 allowed: torch.Tensor | None = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.grad_factor = grad_factor
        if residual_init is None:
            logits = torch.randn(out_features, ops.NUM_OPS, generator=generator)
        else:
            logits = torch.zeros(out_features, ops.NUM_OPS)
            logits[:, ops.NAMES.index("A")] = residual_init
        self.logits = nn.Parameter(logits)
        register_wiring(self, 2, in_features, out_features, candidates, connections, allowed,
                        lambda: random_connections(in_features, out_features, generator, wiring), generator)
        self.register_buffer("coefficients", GATE_COEFFICIENTS.clone(), persistent=False)

    def hardened_connections(self) -> torch.Tensor:
        """``(2, out_features)``: the input each pin reads once hardened."""
        return hardened_connections(self)

    def gate_weights(self) -> torch.Tensor:
        """``(out_features, 16)`` mixture weights: softmax in training, one-hot argmax in eval."""
        if self.training:
            return torch.softmax(self.logits, dim=-1)
        return nn.functional.one_hot(self.hardened_ops(), ops.NUM_OPS).to(self.logits.dtype)

    def hardened_ops(self) -> torch.Tensor:
        """The op code each gate hardens to (ties to the lowest code, like ``torch.argmax``)."""
        return self.logits.argmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] != self.in_features:
            raise ValueError(f"LogicLayer expects (in_features={self.in_features}, batch) inputs, got {tuple(x.shape)}")
        c = self.gate_weights() @ self.coefficients
        if self.candidates == 0 and self.training:  # pins chosen among the whole pool
            a, b = self.mapping(x, self.grad_factor)
            c0, c1, c2, c3 = c.unsqueeze(-1).unbind(1)
            return c0 + c1 * a + c2 * b + c3 * a * b
        if not (self.training and mixes_candidates(self)):
            return GateMixture.apply(x, self.hardened_connections(), c, self.grad_factor)
        # learned connections: each pin is the softmax mixture of its candidate inputs
        return _LearnedGateMixture.apply(x, self.candidate_connections, torch.softmax(self.connection_logits, -1),
                                         c, self.grad_factor)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"
