"""Logic dendritic neurons (the dendritic neuron model of Todo, Gao and colleagues, in its logic form).

A neuron has ``branches`` dendritic branches, each with ``synapses`` synapses on fixed inputs
(random, or a local patch from :mod:`lgn.nn.patches`). Each synapse trains into one of four states: the input, its negation, constant 1 or
constant 0. A branch is the AND of its synapses and the soma the OR of its branches. Relaxed for
training, a synapse is the softmax mixture of its four states over a real input, a branch the
product of its synapses and the soma ``1 - prod(1 - branch)``; hardened (eval mode), each synapse
takes its argmax state. Feature-major like :mod:`lgn.nn.logic`: ``(in, batch) -> (out, batch)``.

In the IR a branch is a threshold unit whose ``t`` is its literal count (an AND; a constant-0
synapse makes it constant 0, and constant-1 synapses drop out) and the soma one with ``t = 1``
(an OR): :meth:`DendriticLinear.hardened` gives both.
"""

from __future__ import annotations

import torch
from torch import nn

from lgn.nn.rows import gather_rows

INPUT, NEGATION, ONE, ZERO = range(4)
#: Initial state logits: constant 1 slightly favoured, so that products over a branch start away
#: from zero and every branch passes gradient.
_INIT = (0.0, 0.0, 1.0, -1.0)


class DendriticLinear(nn.Module):
    """``out_features`` logic dendritic neurons over ``in_features`` bits.

    ``connections`` ``(out_features, branches, synapses)`` gives each synapse's input; by
    default each is drawn uniformly from all inputs.
    """

    def __init__(self, in_features: int, out_features: int, branches: int, synapses: int,
                 generator: torch.Generator | None = None, connections: torch.Tensor | None = None) -> None:
        super().__init__()
        if branches < 1 or synapses < 1:
            raise ValueError("a dendritic neuron needs at least one branch of one synapse")
        self.in_features, self.out_features = in_features, out_features
        self.branches, self.synapses = branches, synapses
        if connections is None:
            connections = torch.randint(in_features, (out_features, branches, synapses), generator=generator)
        elif connections.shape != (out_features, branches, synapses):
            raise ValueError(f"connections of shape {tuple(connections.shape)} for "
                             f"{(out_features, branches, synapses)} synapses")
        self.register_buffer("connections", connections)
        logits = torch.tensor(_INIT).expand(out_features, branches, synapses, 4).clone()
        self.logits = nn.Parameter(logits + 0.1 * torch.randn(logits.shape, generator=generator))

    def states(self) -> torch.Tensor:
        """Each synapse's hardened state, ``(out, branches, synapses)`` in ``INPUT .. ZERO``."""
        return self.logits.argmax(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inputs = gather_rows(x, self.connections)
        if self.training:
            p = torch.softmax(self.logits, -1)[..., None]
            # p_in * x + p_neg * (1 - x) + p_one, as one fused multiply-add over the big tensor
            value = torch.addcmul(p[..., NEGATION, :] + p[..., ONE, :], p[..., INPUT, :] - p[..., NEGATION, :], inputs)
            return 1 - (1 - value.prod(2)).prod(1)
        state = self.states()[..., None]
        value = torch.where(state == INPUT, inputs, 1 - inputs)
        value = torch.where(state == ONE, 1.0, torch.where(state == ZERO, 0.0, value))
        return value.amin(2).amax(1)

    @torch.no_grad()
    def hardened(self) -> tuple[list[tuple[torch.Tensor, torch.Tensor, int]], torch.Tensor]:
        """The branches as ``(src, w, t)`` threshold units, neuron-major (``out * branches``),
        and each neuron's branch indices ``(out, branches)`` into that list."""
        state, conn = self.states(), self.connections
        units = []
        for n in range(self.out_features):
            for b in range(self.branches):
                s = state[n, b]
                literal = (s == INPUT) | (s == NEGATION)
                src, w = conn[n, b][literal], (s[literal] == INPUT).to(torch.uint8)
                if (s == ZERO).any():  # AND with a constant 0
                    units.append((src[:0], w[:0], 1))
                else:
                    units.append((src, w, len(src)))
        return units, torch.arange(self.out_features * self.branches).reshape(self.out_features, self.branches)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"branches={self.branches}, synapses={self.synapses}")
