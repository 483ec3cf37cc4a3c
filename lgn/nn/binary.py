"""Binary neurons: ±1 weights over bits, BatchNorm and a sign (XNOR-popcount after hardening).

Feature-major like :mod:`lgn.nn.logic`: a layer maps ``(in_features, batch)`` bits in {0, 1} to
``(out_features, batch)`` bits. Training uses straight-through estimators (BinaryNet, Courbariaux
et al. 2016): the forward pass binarises, the backward pass lets gradients through where the
binarised value is within ±1. In eval mode a layer *is* its hardened form: BatchNorm folded into
one integer threshold per neuron (FINN's streamlining), computed by :meth:`XnorLinear.fold`, which
the lowering to the IR reads too.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lgn.nn.rows import gather_rows


class _SignSTE(torch.autograd.Function):
    """``x >= 0`` as ``±1`` (or as ``{0, 1}`` bits); the gradient passes where ``|x| <= 1``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bits: bool) -> torch.Tensor:
        ctx.save_for_backward(x)
        on = x >= 0
        return on.to(x.dtype) if bits else torch.where(on, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype), None


def sign(x: torch.Tensor) -> torch.Tensor:
    """``+1`` where ``x >= 0``, else ``-1``, with a straight-through gradient."""
    return _SignSTE.apply(x, False)


def step(x: torch.Tensor) -> torch.Tensor:
    """``1`` where ``x >= 0``, else ``0``, with a straight-through gradient."""
    return _SignSTE.apply(x, True)


def folded_thresholds(pre_threshold: torch.Tensor, scale_sign: torch.Tensor, bias: torch.Tensor,
                      fan_in: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer thresholds for ``sign(scale * (pre - pre_threshold) + ...) >= 0`` on a ±1 dot
    product ``pre = 2c - fan_in`` of ``c`` matching bits, per neuron.

    A positive scale fires when ``pre >= pre_threshold``: ``c >= ceil((pre_threshold + fan_in) / 2)``.
    A negative one when ``pre <= pre_threshold``: with every weight flipped the count is
    ``fan_in - c``, which must reach ``ceil((fan_in - pre_threshold) / 2)``. A zero scale leaves
    the constant ``bias >= 0``. Returns ``(flip, t)``, ``t`` clamped to ``0 .. fan_in + 1``.
    """
    flip = scale_sign < 0
    tau = torch.where(flip, -pre_threshold, pre_threshold)
    t = torch.ceil((tau + fan_in) / 2)
    constant = torch.where(bias >= 0, 0.0, fan_in + 1.0).to(t.dtype)
    t = torch.where(scale_sign == 0, constant, t)
    return flip, t.clamp(0, fan_in + 1).long()


class XnorLinear(nn.Module):
    """A dense layer of binary neurons: ±1 weights, inputs read as ±1, BatchNorm, sign.

    Neuron ``j`` outputs ``BN(sum_i w[j, i] * (2 x[i] - 1)) >= 0``. Hardened (eval mode, and the
    IR), that is ``popcount(x XNOR w_bits[j]) >= t[j]``: see :meth:`fold`.
    """

    def __init__(self, in_features: int, out_features: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = math.sqrt(6 / (self.fan_in + out_features))  # Glorot: the latent weights' scale
        self.weight = nn.Parameter(torch.empty(out_features, self.fan_in).uniform_(-bound, bound, generator=generator))
        self.norm = nn.BatchNorm1d(out_features)

    @property
    def fan_in(self) -> int:
        """Inputs each neuron reads: all of them."""
        return self.in_features

    @property
    def weight_bits(self) -> int:
        """Distinct ±1 weights a folded engine would store."""
        return self.out_features * self.fan_in

    def sources(self) -> torch.Tensor:
        """The input each weight reads, ``(out_features, fan_in)``."""
        return torch.arange(self.in_features, device=self.weight.device).expand(self.out_features, -1)

    def _dot(self, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``sum_i w[j, i] * x[i]`` per neuron ``j`` and sample: ``(out, fan_in), (in, batch) -> (out, batch)``."""
        return w @ x

    def signs(self) -> torch.Tensor:
        """The ±1 weights, ``(out_features, in_features)`` (straight-through in training)."""
        return sign(self.weight)

    def row_scale(self) -> torch.Tensor | None:
        """A scale per weight row before the BatchNorm, or ``None`` for none."""
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            pre = self._dot(self.signs(), 2 * x - 1)
            scale = self.row_scale()
            if scale is not None:
                pre = pre * scale[:, None]
            return step(self.norm(pre.t()).t())
        w, t = self.fold()
        w = w.to(x.dtype)
        count = self._dot(w, x) + self._dot(1 - w, 1 - x)  # matching bits: exact integers in float
        return (count >= t[:, None]).to(x.dtype)

    @torch.no_grad()
    def fold(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(w_bits, t)``: uint8 ``(out, in)`` weight bits (1 for +1, rows flipped where the
        BatchNorm scale is negative) and int64 ``(out,)`` thresholds on the count of inputs equal
        to their weight bit. Computed in float64 from the BatchNorm's running statistics."""
        bn = self.norm
        std = torch.sqrt(bn.running_var.double() + bn.eps)
        gamma, beta, mean = bn.weight.double(), bn.bias.double(), bn.running_mean.double()
        scale = self.row_scale()
        if scale is not None:  # gamma * (a * pre - mean) = (gamma * a) * (pre - mean / a); a = 0: constant
            a = scale.double()
            beta = torch.where(a == 0, beta - gamma * mean / std, beta)
            mean = torch.where(a == 0, 0.0, mean / torch.where(a == 0, 1.0, a))
            gamma = gamma * a
        # gamma * (pre - mean) / std + beta >= 0  <=>  pre >= mean - beta * std / gamma  (gamma > 0)
        pre_threshold = mean - beta * std / torch.where(gamma == 0, 1.0, gamma)
        flip, t = folded_thresholds(pre_threshold, torch.sign(gamma), beta, self.fan_in)
        w = (self.signs() > 0) ^ flip[:, None]
        return w.to(torch.uint8), t

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class TiledLinear(XnorLinear):
    """A tiled-bit layer (TBN, Gorbett et al., CIKM 2024): one learned ±1 tile of
    ``out * in / p`` weights reused ``p`` times, with a learned scale per copy.

    The latent scores ``(out, in)`` are cut into ``p`` flat segments and summed; the sign of the
    sum is the tile (straight-through), and the weight matrix is the tile repeated ``p`` times.
    With ``p`` dividing ``out`` a tile is ``out / p`` whole rows, so rows ``r, r + out/p, ...``
    carry the same ±1 weights and differ only in scale, and once folded only in threshold
    (:meth:`XnorLinear.fold` folds the scale into the BatchNorm): a layer needs ``p`` times fewer
    weight bits, and unrolled one popcount per tile row.
    """

    def __init__(self, in_features: int, out_features: int, p: int, generator: torch.Generator | None = None) -> None:
        if p < 1 or out_features % p:
            raise ValueError(f"a tiled layer's {out_features} outputs must split into p = {p} equal tiles")
        super().__init__(in_features, out_features, generator)
        self.p = p
        self.scale = nn.Parameter(torch.ones(p))

    @property
    def weight_bits(self) -> int:
        """One tile's weights."""
        return super().weight_bits // self.p

    def signs(self) -> torch.Tensor:
        tile = sign(self.weight.reshape(self.p, -1).sum(0))
        return tile.repeat(self.p).reshape(self.out_features, self.in_features)

    def row_scale(self) -> torch.Tensor:
        return self.scale.repeat_interleave(self.out_features // self.p)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, p={self.p}"


class SparseXnorLinear(XnorLinear):
    """Binary neurons that each read ``fan_in`` fixed inputs instead of all of them: a plain
    threshold unit of a given fan-in, the baseline a dendritic branch of as many synapses is
    measured against. Trained and folded like :class:`XnorLinear`.

    ``connections`` ``(out_features, fan_in)`` gives each neuron's inputs; by default each is
    drawn uniformly from all inputs (with repetition).
    """

    def __init__(self, in_features: int, out_features: int, fan_in: int,
                 generator: torch.Generator | None = None, connections: torch.Tensor | None = None) -> None:
        if fan_in < 1:
            raise ValueError("a sparse binary neuron needs at least one input")
        self._fan_in = fan_in
        super().__init__(in_features, out_features, generator)
        if connections is None:
            connections = torch.randint(in_features, (out_features, fan_in), generator=generator)
        elif connections.shape != (out_features, fan_in):
            raise ValueError(f"connections of shape {tuple(connections.shape)} for {(out_features, fan_in)} inputs")
        self.register_buffer("connections", connections)

    @property
    def fan_in(self) -> int:
        return self._fan_in

    def sources(self) -> torch.Tensor:
        return self.connections

    def _dot(self, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("oi,oib->ob", w, gather_rows(x, self.connections))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, fan_in={self.fan_in}"
