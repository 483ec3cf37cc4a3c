"""Differentiable lookup-table layers: nodes of k inputs (k = 1..6), each a learned truth table.

A node holds ``2**k`` logits, one per table entry. Training reads the table's *multilinear
extension*: entry probabilities ``sigmoid(logits)`` interpolated over the input probabilities,
which is the node's expected output when every input is an independent Bernoulli bit (for
``k = 2`` the function class of difflogic's 16-gate mixture, parametrised per entry as in
torchlogix's ``light`` LUTs). Hardened, each entry is ``logit > 0`` and on 0/1 inputs the
interpolation reads exactly the addressed entry, which is what :class:`lgn.ir.netlist.LutLayer`
computes. A 4-input node is one LUT4 cell of an iCE40 or ECP5. On CPUs the layer trains through
compiled kernels of the same sums (:mod:`lgn.nn.cpu_kernels`).

Activations are feature-major, ``(in_features, batch) -> (out_features, batch)``, as in
:mod:`lgn.nn.logic`.
"""

from __future__ import annotations

import torch
from torch import nn

from lgn.ir.tables import MAX_INPUTS
from lgn.nn import cpu_kernels
from lgn.nn.logic import deal
from lgn.nn.mapping import hardened_connections, mixes_candidates, register_wiring


def lookup_connections(in_features: int, out_features: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """``(k, out_features)`` input indices, dealt from shuffled copies of ``range(in_features)``
    (every input read once ``k * out_features >= in_features``), then pins that repeat another
    pin of their node re-dealt while ``k <= in_features``."""
    pins = deal(in_features, k * out_features, generator).view(k, out_features)
    if k > in_features:
        return pins
    for _ in range(32):  # each round re-deals the few clashes left
        clash = torch.zeros_like(pins, dtype=torch.bool)
        for p in range(1, k):
            clash[p] = (pins[:p] == pins[p]).any(0)
        if not clash.any():
            break
        pins[clash] = torch.randint(in_features, (int(clash.sum()),), generator=generator)
    return pins


def multilinear(pins: torch.Tensor, entries: torch.Tensor) -> torch.Tensor:
    """``(out, batch)`` tables ``entries`` ``(out, 2**k)`` read at the pin values ``pins``
    ``(k, out, batch)``: linear interpolation along the highest pin first, halving the entries at
    each step (entry ``i`` is the output for pin values ``x[p] = (i >> p) & 1``)."""
    v = entries.unsqueeze(-1)
    for p in reversed(range(pins.shape[0])):
        half = v.shape[1] // 2
        v = torch.lerp(v[:, :half], v[:, half:], pins[p].unsqueeze(1))
    return v[:, 0]


def mix(x: torch.Tensor, candidates: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``(k, out, batch)``: ``sum_j weights[..., j] * x[candidates[..., j]]``, each pin of each
    node the mixture of its candidates ``(k, out, c)``."""
    return sum(x[candidates[..., j]] * weights[..., j:j + 1] for j in range(candidates.shape[-1]))


class LookupLayer(nn.Module):
    """A layer of ``k``-input lookup tables with learned entries, and fixed or learned wiring.

    Parameters
    ----------
    in_features, out_features:
        Input bits read and nodes built.
    k:
        Inputs per node, 1 to 6 (4 fills one iCE40/ECP5 LUT4).
    generator:
        Source of the random wiring and initial entries.
    connections:
        The wiring itself, ``(k, out_features)`` input indices (``(k, out_features, candidates)``
        with candidates), in place of a drawn one (e.g. :mod:`lgn.nn.patches`).
    residual_init:
        If given, every node starts as a buffer of its pin 0 (entry logits ``+r`` where pin 0 is 1,
        ``-r`` elsewhere), so a deep net starts close to the identity; otherwise entry logits
        start as standard normals.
    candidates:
        With ``c > 1``, each pin *learns* its input among ``c`` candidates (``c`` independent
        wirings), as :class:`~lgn.nn.logic.LogicLayer`'s pins do: in training it reads the softmax
        mixture of its candidates, hardened the argmax candidate. With ``c = 0`` each pin learns
        its input among the whole pool (:class:`~lgn.nn.mapping.LearnedMapping`): every input, or
        those ``allowed`` to its node.
    allowed:
        With ``candidates = 0``, optional ``(in_features, out_features)`` bools: the inputs each
        node may read (its image patch, for local wiring).
    """

    def __init__(self, in_features: int, out_features: int, k: int = 4, *, generator: torch.Generator,
                 connections: torch.Tensor | None = None, residual_init: float | None = None,
                 candidates: int = 1, allowed: torch.Tensor | None = None) -> None:
        super().__init__()
        if not 1 <= k <= MAX_INPUTS:
            raise ValueError(f"a lookup table has 1 to {MAX_INPUTS} inputs, not {k}")
        self.in_features, self.out_features, self.k = in_features, out_features, k
        register_wiring(self, k, in_features, out_features, candidates, connections, allowed,
                        lambda: lookup_connections(in_features, out_features, k, generator), generator)
        if residual_init is None:
            logits = torch.randn(out_features, 1 << k, generator=generator)
        else:
            pin0 = (torch.arange(1 << k) & 1).float() * 2 - 1
            logits = (residual_init * pin0).expand(out_features, -1).clone()
        self.logits = nn.Parameter(logits)

    def entries(self) -> torch.Tensor:
        """``(out_features, 2**k)`` table entries: probabilities in training, 0/1 hardened."""
        if self.training:
            return torch.sigmoid(self.logits)
        return self.hardened_tables().to(self.logits.dtype)

    def hardened_tables(self) -> torch.Tensor:
        """``(out_features, 2**k)`` bools: each entry once hardened."""
        return self.logits > 0

    def hardened_connections(self) -> torch.Tensor:
        """``(k, out_features)``: the input each pin reads once hardened."""
        return hardened_connections(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] != self.in_features:
            raise ValueError(f"LookupLayer expects (in_features={self.in_features}, batch) inputs, got {tuple(x.shape)}")
        entries = self.entries()
        native = cpu_kernels.available(x, entries)
        if self.candidates == 0:
            pins = self.mapping(x)  # discrete in training too
        elif not (self.training and mixes_candidates(self)):
            pins = x[self.hardened_connections()]
        else:  # learned connections: each pin is the softmax mixture of its candidate inputs
            weights = torch.softmax(self.connection_logits, -1)
            pins = (cpu_kernels.mix if native else mix)(x, self.candidate_connections, weights)
        return (cpu_kernels.multilinear if native else multilinear)(pins, entries)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, k={self.k}"
