"""The 16 two-input boolean functions, in difflogic's order.

An op code *is* its truth table: bit ``3 - (2*a + b)`` of the code is the output for inputs
``(a, b)``. So ``AND`` = 0b0001 (only ``f(1,1)``), ``NOR`` = 0b1000 (only ``f(0,0)``), and every
stage (torch relaxation, executors, HDL) derives its view of a gate from this one fact.
"""

from __future__ import annotations

import numpy as np

NUM_OPS = 16

NAMES: tuple[str, ...] = (
    "FALSE", "AND", "A_AND_NOT_B", "A", "NOT_A_AND_B", "B", "XOR", "OR",
    "NOR", "XNOR", "NOT_B", "A_OR_NOT_B", "NOT_A", "NOT_A_OR_B", "NAND", "TRUE",
)

# Each op as an expression over pins ``a`` and ``b`` with ``~ & | ^``, the operators C, Verilog,
# numpy and Amaranth share; the constants are the bare literals "0" and "1".
EXPRESSIONS: tuple[str, ...] = (
    "0", "a & b", "a & ~b", "a", "~a & b", "b", "a ^ b", "a | b",
    "~(a | b)", "~(a ^ b)", "~b", "a | ~b", "~a", "~a | b", "~(a & b)", "1",
)


def output(op: int, a: int, b: int) -> int:
    """The output of gate ``op`` for input bits ``a`` and ``b``."""
    return (op >> (3 - (2 * a + b))) & 1


def truth_tables() -> np.ndarray:
    """``(16, 4)`` uint8 array: row ``op`` holds ``f(0,0), f(0,1), f(1,0), f(1,1)``."""
    return np.array(
        [[output(op, a, b) for a in (0, 1) for b in (0, 1)] for op in range(NUM_OPS)],
        dtype=np.uint8,
    )


def polynomial_coefficients() -> np.ndarray:
    """``(16, 4)`` float array ``C``: gate ``op`` on real inputs is ``C[op] @ (1, a, b, a*b)``.

    This is the multilinear extension of the truth table, i.e. difflogic's real-valued
    relaxation of each gate (``OR`` becomes ``a + b - a*b``, ``XOR`` ``a + b - 2*a*b``).
    """
    f00, f01, f10, f11 = truth_tables().astype(np.float64).T
    return np.stack([f00, f10 - f00, f01 - f00, f11 - f10 - f01 + f00], axis=1)


def from_function(f) -> int:
    """The op code of the boolean function ``f(a, b)``."""
    return sum(f(a, b) << (3 - (2 * a + b)) for a in (0, 1) for b in (0, 1))


def _table(transform) -> np.ndarray:
    """uint8 lookup ``T[op]`` of an op-to-op rewrite given as ``transform(op) -> f(a, b)``."""
    return np.array([from_function(transform(op)) for op in range(NUM_OPS)], dtype=np.uint8)


# Rewrites used by the optimising passes, as 16-entry lookup tables over op codes.
FLIP_A = _table(lambda op: lambda a, b: output(op, 1 - a, b))   # f(~a, b)
FLIP_B = _table(lambda op: lambda a, b: output(op, a, 1 - b))   # f(a, ~b)
SWAP = _table(lambda op: lambda a, b: output(op, b, a))         # f(b, a)
FIX_A = np.stack([_table(lambda op, c=c: lambda a, b: output(op, c, b)) for c in (0, 1)])  # f(c, b)
FIX_B = np.stack([_table(lambda op, c=c: lambda a, b: output(op, a, c)) for c in (0, 1)])  # f(a, c)
# f(x, x) for a gate whose pins read the same bit x, as FALSE, TRUE, A or NOT_A on (x, x).
SAME = _table(lambda op: lambda a, b: output(op, a, a))
USES_A = np.array([FIX_A[0, op] != FIX_A[1, op] for op in range(NUM_OPS)])
USES_B = np.array([FIX_B[0, op] != FIX_B[1, op] for op in range(NUM_OPS)])
