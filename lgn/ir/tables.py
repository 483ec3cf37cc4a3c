"""Truth tables of k-input lookup-table nodes (k = 1 .. 6), vectorised over the nodes of a layer.

A table is a ``uint64`` whose bit ``i`` is the node's output for pin values ``x`` with
``i = sum(x[p] << p)``: pin 0 is the least significant address bit, as in Verilog's
``table >> {x[k-1], ..., x[0]}`` and in an iCE40 ``SB_LUT4``'s ``I0``. Rewrites work on the
expanded form, a ``(nodes, 2**k)`` bool array; every one is an index map over table entries.
"""

from __future__ import annotations

import numpy as np

from lgn.ir import ops

MAX_INPUTS = 6  # 2**6 entries: one uint64 per table


def expand(table: np.ndarray, k: int) -> np.ndarray:
    """``(n,)`` uint64 tables to ``(n, 2**k)`` bools."""
    entries = np.arange(1 << k, dtype=np.uint64)
    return ((table.astype(np.uint64)[:, None] >> entries) & np.uint64(1)).astype(bool)


def pack(bits: np.ndarray) -> np.ndarray:
    """Inverse of :func:`expand`: ``(n, 2**k)`` bools to ``(n,)`` uint64 tables."""
    weights = np.uint64(1) << np.arange(bits.shape[1], dtype=np.uint64)
    return (bits.astype(np.uint64) * weights).sum(1, dtype=np.uint64)


def _entries(bits: np.ndarray) -> np.ndarray:
    return np.arange(bits.shape[1], dtype=np.int64)[None, :]


def _remap(bits: np.ndarray, index: np.ndarray) -> np.ndarray:
    return np.take_along_axis(bits, np.broadcast_to(index, bits.shape), axis=1)


def uses(bits: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` bool: whether each node's output depends on each pin."""
    i = _entries(bits)
    return np.stack([(bits != _remap(bits, i ^ (1 << p))).any(1) for p in range(k)], 1)


def cofactor(bits: np.ndarray, pin: int, value: np.ndarray) -> np.ndarray:
    """The tables with pin ``pin`` fixed to ``value`` (``(n,)`` 0/1): they no longer depend on it."""
    i = _entries(bits)
    return _remap(bits, (i & ~(1 << pin)) | (value.astype(np.int64)[:, None] << pin))


def flip(bits: np.ndarray, pin: int) -> np.ndarray:
    """The tables reading pin ``pin`` inverted: ``f(.., ~x[pin], ..)``."""
    return _remap(bits, _entries(bits) ^ (1 << pin))


def merge(bits: np.ndarray, keep: int, drop: int) -> np.ndarray:
    """The tables with pin ``drop`` tied to pin ``keep`` (both read one bit): independent of ``drop``."""
    i = _entries(bits)
    return _remap(bits, (i & ~(1 << drop)) | (((i >> keep) & 1) << drop))


def permute(bits: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The tables with their pins reordered: new pin ``j`` of node ``r`` is old pin ``order[r, j]``."""
    i = _entries(bits)
    old = np.zeros((len(bits), bits.shape[1]), dtype=np.int64)
    for j in range(order.shape[1]):
        old |= ((i >> j) & 1) << order[:, j:j + 1].astype(np.int64)
    return _remap(bits, old)


def projection(k: int, pin: int = 0) -> int:
    """The table of ``x[pin]`` itself over ``k`` pins."""
    return int(pack(((np.arange(1 << k) >> pin) & 1).astype(bool)[None, :])[0])


def full(k: int) -> int:
    """The constant-1 table over ``k`` pins."""
    return (1 << (1 << k)) - 1


def from_gates(op: np.ndarray) -> np.ndarray:
    """The LUT2 tables (pin 0 = ``a``, pin 1 = ``b``) of gate op codes (see :mod:`lgn.ir.ops`)."""
    tt = ops.truth_tables()[op.astype(np.int64)]  # f(0,0), f(0,1), f(1,0), f(1,1) as (a, b)
    return pack(tt[:, [0, 2, 1, 3]].astype(bool))  # entry i = a + 2b


def to_gates(bits: np.ndarray) -> np.ndarray:
    """Inverse of :func:`from_gates` on expanded tables: the op codes of ``(n, 4)`` LUT2 entries."""
    tt = bits[:, [0, 2, 1, 3]].astype(np.uint8)  # f(0,0), f(0,1), f(1,0), f(1,1): the op's bits, MSB first
    return (tt << np.arange(3, -1, -1, dtype=np.uint8)).sum(1).astype(np.uint8)
