"""How gate and table layers are wired (:func:`register_wiring`: fixed, learned among a few
candidates, or learned over a whole pool), and the last: :class:`LearnedMapping`, where each pin
of each node picks one input among all the inputs allowed to it (the whole layer below, or the
patch of the image around the node).

Every pin ``p`` of node ``j`` keeps a score per input ``i``, ``weights[p, i, j]``, and reads the
input of highest score, in training as once hardened: the wiring is always discrete, so it adds
nothing to the gap between the trained and the hardened model. The scores learn from a
straight-through estimate: the gradient of a score is the pin's gradient times ``2 x_i - 1``,
the change the pin's value would see if it read input ``i`` (DWN's learnable mapping, Bacellar et
al., ICML 2024); the input's own gradient is that of the chosen connection. Per layer and batch
this costs one ``(in, batch) @ (batch, out)`` product per pin, so pools of thousands of inputs
train on a CPU where softmax mixtures over candidates would gather thousands of rows; over patches
(``allowed``) only the patch's inputs are scored, by gathered dot products on CPUs
(:func:`lgn.nn.cpu_kernels.gather_dot`).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from lgn.nn import cpu_kernels


class _Select(torch.autograd.Function):
    """``x[index[p]]`` per pin, with the straight-through score gradient described above (of the
    pool's inputs alone when ``pool`` is given)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weights: torch.Tensor, index: torch.Tensor, pool: torch.Tensor | None,
                grad_factor: float) -> torch.Tensor:
        ctx.save_for_backward(x, index, pool)
        ctx.in_features, ctx.grad_factor = x.shape[0], grad_factor
        return torch.stack([x.index_select(0, row) for row in index])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, index, pool = ctx.saved_tensors
        grad_w = grad_x = None
        if ctx.needs_input_grad[1]:
            signed = 2 * x - 1
            if pool is not None and cpu_kernels.available(signed, grad):  # the patch's dot products alone
                grad_w = cpu_kernels.gather_dot(signed, pool.t(), grad).transpose(1, 2).contiguous()
            else:
                per_pin = [signed @ g.t() for g in grad]  # (in, out) each
                grad_w = torch.stack(per_pin if pool is None else [w.gather(0, pool) for w in per_pin])
        if ctx.needs_input_grad[0]:
            grad_x = grad.new_zeros(ctx.in_features, grad.shape[-1])
            for row, g in zip(index, grad):
                grad_x.index_add_(0, row, g, alpha=ctx.grad_factor)
        return grad_x, grad_w, None, None, None


class LearnedMapping(nn.Module):
    """``pins`` learned connections per node from ``in_features`` inputs to ``out_features`` nodes.

    Parameters
    ----------
    in_features, out_features, pins:
        Inputs in the pool, nodes, and inputs each node reads.
    generator:
        Source of the initial scores (uniform in ``[0, 1)``: a random initial wiring).
    allowed:
        Optional ``(in_features, out_features)`` bools: the inputs each node may read (e.g. its
        image patch, :func:`lgn.nn.patches.patch_mask`); every input when not given.

    Over the whole pool, ``weights`` is ``(pins, in_features, out_features)``. With ``allowed``
    only the allowed inputs keep a score: ``weights`` is ``(pins, k, out_features)`` over the
    buffer ``pool`` ``(k, out_features)`` of each node's allowed inputs in ascending order (``k``
    the most any node has; ``valid`` marks the padding; both rebuilt from ``allowed``, not saved),
    so a 9x9 patch on a 28x28 image stores 81 scores per pin instead of 784. Checkpoints written
    with a score per input load too.
    """

    def __init__(self, in_features: int, out_features: int, pins: int, *, generator: torch.Generator,
                 allowed: torch.Tensor | None = None) -> None:
        super().__init__()
        self.in_features = in_features
        # drawn over the whole pool in either form, so a seed gives the same initial wiring
        weights = torch.rand(pins, in_features, out_features, generator=generator)
        if allowed is None:
            self.pool = self.valid = None
            self.weights = nn.Parameter(weights)
            return
        if tuple(allowed.shape) != (in_features, out_features):
            raise ValueError(f"an allowed-input mask of shape {tuple(allowed.shape)} for "
                             f"{(in_features, out_features)} inputs x nodes")
        if not allowed.any(0).all():
            raise ValueError("every node must be allowed at least one input")
        allowed = allowed.bool()
        k = int(allowed.sum(0).max())
        # stable sort: each column's allowed inputs first, in ascending order (argmax ties as dense)
        order = torch.sort((~allowed).to(torch.uint8), dim=0, stable=True).indices[:k].clone()
        # functions of the model's configuration: rebuilt with it, not stored in checkpoints
        self.register_buffer("pool", order, persistent=False)
        self.register_buffer("valid", allowed.gather(0, order), persistent=False)
        self.weights = nn.Parameter(self._compact(weights))

    def _compact(self, dense: torch.Tensor) -> torch.Tensor:
        """``(pins, k, out)`` scores of the pool's inputs out of ``(pins, in, out)``."""
        return dense.gather(1, self.pool.expand(dense.shape[0], -1, -1))

    @property
    def allowed(self) -> torch.Tensor | None:
        """``(in_features, out_features)`` bools: the inputs each node may read (``None``: all)."""
        if self.pool is None:
            return None
        mask = torch.zeros(self.in_features, self.pool.shape[1], dtype=torch.bool, device=self.pool.device)
        return mask.scatter_(0, self.pool, self.valid)

    def connections(self) -> torch.Tensor:
        """``(pins, out_features)``: the input each pin reads now."""
        scores = self.weights.detach()
        if self.pool is None:
            return scores.argmax(1)
        best = scores.masked_fill(~self.valid, float("-inf")).argmax(1)
        return self.pool.gather(0, best)

    def forward(self, x: torch.Tensor, grad_factor: float = 1.0) -> torch.Tensor:
        """``(pins, out_features, batch)`` pin values for feature-major inputs ``x``; the gradient
        passed back to ``x`` is multiplied by ``grad_factor``."""
        return _Select.apply(x, self.weights, self.connections(), self.pool, grad_factor)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # a checkpoint with a score per input of the pool and its mask (lgn before 2026-12)
        dense = state_dict.get(prefix + "weights")
        old_mask = state_dict.pop(prefix + "allowed", None)
        if self.pool is not None and old_mask is not None and dense is not None and dense.shape[1] == self.in_features:
            if not torch.equal(old_mask.bool(), self.allowed):
                raise ValueError(f"{prefix}allowed: the checkpoint's input mask differs from the model's")
            state_dict[prefix + "weights"] = self._compact(dense)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def register_wiring(layer: nn.Module, pins: int, in_features: int, out_features: int, candidates: int,
                    connections: torch.Tensor | None, allowed: torch.Tensor | None,
                    draw: Callable[[], torch.Tensor], generator: torch.Generator) -> None:
    """Give a gate or table layer its wiring, in one of three forms (and state-dict names):

    - ``candidates = 1``: fixed, the buffer ``connections`` ``(pins, out_features)``;
    - ``candidates > 1``: the buffer ``candidate_connections`` ``(pins, out_features, candidates)``
      and the parameter ``connection_logits`` of the same shape;
    - ``candidates = 0``: ``mapping``, a :class:`LearnedMapping` over every input (or those ``allowed``).

    ``connections`` (of the first two shapes) replaces the drawn wiring; ``draw()`` draws one
    fixed wiring ``(pins, out_features)`` (once per candidate).
    """
    layer.candidates = candidates
    if candidates == 0:
        layer.mapping = LearnedMapping(in_features, out_features, pins, generator=generator, allowed=allowed)
        return
    shape = (pins, out_features) if candidates == 1 else (pins, out_features, candidates)
    if connections is None:
        draws = [draw() for _ in range(candidates)]
        connections = draws[0] if candidates == 1 else torch.stack(draws, -1)
    elif tuple(connections.shape) != shape:
        raise ValueError(f"connections of shape {tuple(connections.shape)} for {shape} pins")
    if candidates == 1:
        layer.register_buffer("connections", connections.long())
    else:
        layer.register_buffer("candidate_connections", connections.long())
        layer.connection_logits = nn.Parameter(torch.zeros(pins, out_features, candidates))


# A logit this far above the others makes the softmax exactly one-hot in float32 (exp(-1e4) is 0).
_FIXED_LOGIT = 1e4


def freeze_wiring(layer: nn.Module) -> bool:
    """Fix the learned connections of a layer wired by :func:`register_wiring` at the ones it
    reads once hardened, and stop learning them; returns whether it had learned connections.

    A candidate mixture becomes exactly its argmax candidate (in value and in gradient), so from
    here on the gates or tables train on the inputs the hardened model reads. Idempotent.
    """
    candidates = getattr(layer, "candidates", 1)
    if candidates == 1:
        return False
    if candidates == 0:  # already discrete: only its scores stop learning
        layer.mapping.weights.requires_grad_(False)
        return True
    logits = layer.connection_logits
    with torch.no_grad():
        choice = logits.argmax(-1, keepdim=True)
        logits.zero_().scatter_(-1, choice, _FIXED_LOGIT)
    logits.requires_grad_(False)
    return True


def mixes_candidates(layer: nn.Module) -> bool:
    """Whether a layer wired by :func:`register_wiring` still learns a mixture of candidates
    (else its pins read their hardened connections, as :func:`freeze_wiring` leaves them)."""
    return layer.candidates > 1 and layer.connection_logits.requires_grad


def hardened_connections(layer: nn.Module) -> torch.Tensor:
    """``(pins, out_features)``: the input each pin of a layer wired by :func:`register_wiring`
    reads once hardened (its argmax candidate, or its mapping's best input)."""
    if layer.candidates == 1:
        return layer.connections
    if layer.candidates == 0:
        return layer.mapping.connections()
    choice = layer.connection_logits.argmax(-1, keepdim=True)
    return layer.candidate_connections.gather(2, choice).squeeze(-1)
