"""difflogic's plain relaxation, kept as the oracle for tests and the baseline for benchmarks.

Every gate evaluates all 16 real-valued boolean functions and mixes them with
``softmax(logits)``: simple, obviously right, and four to fifty times slower than
:class:`lgn.nn.LogicLayer`, which must equal it in value and gradient.
"""

from __future__ import annotations

import torch


def sixteen_gates(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The 16 relaxed gates on real inputs, stacked on a new last axis in op-code order."""
    ab = a * b
    return torch.stack([
        torch.zeros_like(a), ab, a - ab, a, b - ab, b, a + b - 2 * ab, a + b - ab,
        1 - (a + b - ab), 1 - (a + b - 2 * ab), 1 - b, 1 - b + ab, 1 - a, 1 - a + ab, 1 - ab, torch.ones_like(a),
    ], dim=-1)


def sixteen_term(x: torch.Tensor, logits: torch.Tensor, connections: torch.Tensor) -> torch.Tensor:
    """A gate layer the way difflogic's Python path computes it, batch-first: ``(batch, in) -> (batch, out)``."""
    gates = sixteen_gates(x[:, connections[0]], x[:, connections[1]])
    return (gates * torch.softmax(logits, -1)).sum(-1)


def learned_sixteen_term(x: torch.Tensor, logits: torch.Tensor, candidates: torch.Tensor,
                         connection_logits: torch.Tensor) -> torch.Tensor:
    """A gate layer with learned connections, batch-first: each pin ``p`` of gate ``j`` reads
    ``sum_k softmax(connection_logits[p, j])[k] * x[:, candidates[p, j, k]]``."""
    pins = (x[:, candidates] * torch.softmax(connection_logits, -1)).sum(-1)   # (batch, 2, out)
    gates = sixteen_gates(pins[:, 0], pins[:, 1])
    return (gates * torch.softmax(logits, -1)).sum(-1)
