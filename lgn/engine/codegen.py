"""A netlist as a program for the bit-sliced engine: instructions over slots.

Each bit of the network lives in a *slot*: one bit of ``64 * WORDS`` samples. The engine's C
kernel (``kernel.c``, compiled once per machine) runs a program of instructions; this module
writes that program, so preparing a network takes no compiler time at all:

- gates ``0..15`` (``d = op(a, b)``); the gates of a layer are independent, so they are sorted by
  op into *runs* the kernel executes without a branch per gate; a LUT node becomes gates by
  Shannon expansion (:func:`_lut`);
- ``FULL_ADD`` (``d, e = a + b + c``) and ``HALF_ADD`` (``d, e = a + b``) build the GroupSum
  counts and the threshold units' popcounts as carry-save adder trees over bit planes, five word
  operations per three bits; a unit's ``count >= t`` is then a chain of AND/OR gates over the
  count's digits;
- slots are reused once a bit has no readers left, which keeps the working set in cache.

The input encoding and the class decision are tables: per threshold *rank*, one threshold per
feature; and per class, the slots of its count's binary digits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from lgn.ir import ops
from lgn.ir.netlist import LutLayer, Netlist, ThresholdLayer

FULL_ADD, HALF_ADD = ops.NUM_OPS, ops.NUM_OPS + 1
_FALSE, _AND, _OR, _NOT_A, _TRUE = (ops.NAMES.index(n) for n in ("FALSE", "AND", "OR", "NOT_A", "TRUE"))
_XOR, _NOT_A_AND_B, _NOT_A_OR_B = (ops.NAMES.index(n) for n in ("XOR", "NOT_A_AND_B", "NOT_A_OR_B"))


@dataclass(frozen=True)
class Program:
    """Arrays the kernel reads (all int32 but ``rank_threshold``)."""

    num_features: int
    num_classes: int
    num_slots: int
    run_op: np.ndarray          # (runs,) op of each run
    run_start: np.ndarray       # (runs + 1,) first instruction of each run
    a: np.ndarray               # (instructions,) source slots
    b: np.ndarray
    c: np.ndarray               # third source of FULL_ADD
    d: np.ndarray               # destination (sum for the adders)
    e: np.ndarray               # carry destination of the adders
    enc_feature: np.ndarray     # (encoded bits,) sorted by (rank, feature)
    enc_slot: np.ndarray
    rank_start: np.ndarray      # (ranks * (groups + 1),) bits of rank j on features 64g.. start here
    rank_threshold: np.ndarray  # float32 (ranks, num_features); +inf where a rank has no bit
    plane_slot: np.ndarray      # count digits of every class, least significant first
    plane_start: np.ndarray     # (classes + 1,)


class _Slots:
    def __init__(self) -> None:
        self.count = 0
        self.free: list[int] = []

    def take(self) -> int:
        if self.free:
            return self.free.pop()
        self.count += 1
        return self.count - 1

    def give(self, slots) -> None:
        self.free.extend(int(s) for s in slots)


class _Code:
    """Instructions in execution order, grouped into runs of one op."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int, int, int, int]] = []  # op, a, b, c, d, e

    def emit(self, op: int, a: int, b: int, d: int, c: int = 0, e: int = 0) -> None:
        self.rows.append((op, a, b, c, d, e))


def compile_program(net: Netlist) -> Program:
    """The engine program computing ``net``'s class scores."""
    width, offsets = net.inputs.width, net.layer_offsets()
    last_read = net.last_reads()

    slots, slot = _Slots(), np.full(net.num_bits, -1, dtype=np.int64)
    encoded, rank, rank_threshold = _ranks(net, np.flatnonzero(last_read[:width] >= 0))
    for i in encoded:
        slot[i] = slots.take()
    expires = defaultdict(list)
    for bit in np.flatnonzero((last_read >= 0) & (last_read < len(net.layers))).tolist():
        expires[int(last_read[bit])].append(bit)

    code = _Code()
    for i, (layer, start) in enumerate(zip(net.layers, offsets)):
        live = np.flatnonzero(last_read[start:start + layer.size] >= 0)
        if isinstance(layer, ThresholdLayer):
            _thresholds(code, slots, slot, layer, start, live)
        elif isinstance(layer, LutLayer):
            for j in live.tolist():
                slot[start + j] = slots.take()
                _lut(code, slots, [int(s) for s in slot[layer.src[j]]], int(layer.table[j]), int(slot[start + j]))
        else:
            for j in live[np.argsort(layer.op[live], kind="stable")].tolist():
                slot[start + j] = slots.take()
                code.emit(int(layer.op[j]), int(slot[layer.a[j]]), int(slot[layer.b[j]]), int(slot[start + j]))
        slots.give(slot[expires[i]])  # after the whole layer: its gates run in any order

    planes, plane_start = [], [0]
    size = net.head.group_size
    for k in range(net.head.num_classes):
        planes += _count(code, slots, slot[net.head.bits[k * size:(k + 1) * size]].tolist())
        plane_start.append(len(planes))

    rows = np.array(code.rows, dtype=np.int32).reshape(-1, 6)
    run_start = np.concatenate([[0], np.flatnonzero(np.diff(rows[:, 0])) + 1, [len(rows)]]).astype(np.int32)
    groups = -(-net.inputs.num_features // 64)
    keys = [rank[i] * groups + int(net.inputs.feature[i]) // 64 for i in encoded]
    rank_start = np.concatenate([np.searchsorted(keys, [j * groups + g for g in range(groups + 1)])
                                 for j in range(len(rank_threshold))] or [np.zeros(0)]).astype(np.int32)
    i32 = lambda v: np.ascontiguousarray(v, dtype=np.int32)  # noqa: E731
    return Program(
        net.inputs.num_features, net.head.num_classes, max(slots.count, 1),
        i32(rows[run_start[:-1], 0]), run_start, *(i32(rows[:, k]) for k in (1, 2, 3, 4, 5)),
        i32(net.inputs.feature[encoded]), i32(slot[encoded]), rank_start,
        np.ascontiguousarray(np.array(rank_threshold, dtype=np.float32).reshape(-1, net.inputs.num_features)),
        i32(planes), i32(plane_start))


def _ranks(net: Netlist, used: np.ndarray) -> tuple[list[int], dict[int, int], list[np.ndarray]]:
    """The used input bits sorted by (rank, feature), each bit's rank, and per rank a threshold per feature.

    A bit's rank is its position among the used bits of its feature, so each rank compares every
    feature against at most one threshold; features with no bit of that rank get +inf.
    """
    feature = net.inputs.feature
    rank: dict[int, int] = {}
    seen: dict[int, int] = defaultdict(int)
    for i in used.tolist():
        rank[i] = seen[int(feature[i])]
        seen[int(feature[i])] += 1
    thresholds = [np.full(net.inputs.num_features, np.inf, dtype=np.float32) for _ in range(max(seen.values(), default=0))]
    for i, j in rank.items():
        thresholds[j][feature[i]] = net.inputs.threshold[i]
    return sorted(rank, key=lambda i: (rank[i], int(feature[i]), i)), rank, thresholds


def _thresholds(code: _Code, slots: _Slots, slot: np.ndarray, layer: ThresholdLayer, start: int,
                live: np.ndarray) -> None:
    """The live units of a threshold layer: each pin's literal (an inverter per complemented bit,
    shared by the layer), a carry-save popcount, and ``count >= t`` over its digits."""
    inverted: dict[int, int] = {}
    for j in live.tolist():
        pins = range(layer.ptr[j], layer.ptr[j + 1])
        t, out = int(layer.t[j]), slots.take()
        slot[start + j] = out
        if t <= 0 or t > len(pins):
            code.emit(_TRUE if t <= 0 else _FALSE, 0, 0, out)
            continue
        literals = []
        for p in pins:
            bit = int(slot[layer.src[p]])
            if not layer.w[p]:
                if bit not in inverted:
                    inverted[bit] = slots.take()
                    code.emit(_NOT_A, bit, bit, inverted[bit])
                bit = inverted[bit]
            literals.append(bit)
        digits = _count(code, slots, literals)
        # count >= t from the least significant digit up: a set bit of t needs its digit and
        # the rest, a clear bit is met by its digit or the rest; below t's lowest set bit, nothing
        result, temporaries = None, set(digits) - set(literals)
        for k, digit in enumerate(digits):
            if result is None and not (t >> k) & 1:
                continue
            dest = out if k == len(digits) - 1 else slots.take()
            if result is None:
                code.emit(_OR, digit, digit, dest)
            else:
                code.emit(_AND if (t >> k) & 1 else _OR, digit, result, dest)
                temporaries.add(result)
            result = dest
        slots.give(temporaries)
    slots.give(inverted.values())


def _lut(code: _Code, slots: _Slots, pins: list[int], table: int, out: int) -> None:
    """A lookup table over the slots ``pins`` (pin 0 the lowest address bit) into slot ``out``,
    as gates: split on the highest pin ``x`` into the halves ``lo`` (x = 0) and ``hi`` (x = 1),
    and join them with one gate where a half is constant or the other's complement, and with a
    multiplexer (three gates) otherwise; a pin the table ignores costs nothing."""
    temporaries: list[int] = []

    def emit(op: int, a: int, b: int, dest: int | None = None) -> int:
        if dest is None:
            dest = slots.take()
            temporaries.append(dest)
        code.emit(op, a, b, dest)
        return dest

    def build(t: int, k: int, dest: int | None = None) -> int:
        """The slot holding the non-constant table ``t`` over ``pins[:k]``, ``dest`` if given."""
        ones = (1 << (1 << (k - 1))) - 1
        lo, hi, x = t & ones, t >> (1 << (k - 1)), pins[k - 1]
        if lo == hi:
            return build(lo, k - 1, dest)
        if (lo, hi) == (0, ones):
            return x if dest is None else emit(_OR, x, x, dest)
        if (lo, hi) == (ones, 0):
            return emit(_NOT_A, x, x, dest)
        if lo == 0:
            return emit(_AND, x, build(hi, k - 1), dest)
        if hi == 0:
            return emit(_NOT_A_AND_B, x, build(lo, k - 1), dest)
        if hi == ones:
            return emit(_OR, x, build(lo, k - 1), dest)
        if lo == ones:
            return emit(_NOT_A_OR_B, x, build(hi, k - 1), dest)
        if hi == lo ^ ones:
            return emit(_XOR, x, build(lo, k - 1), dest)
        return emit(_OR, emit(_AND, x, build(hi, k - 1)), emit(_NOT_A_AND_B, x, build(lo, k - 1)), dest)

    if table in (0, (1 << (1 << len(pins))) - 1):
        code.emit(_FALSE if table == 0 else _TRUE, 0, 0, out)
    else:
        build(table, len(pins), out)
    slots.give(temporaries)


def _count(code: _Code, slots: _Slots, bits: list[int]) -> list[int]:
    """Adders summing the bit planes in slots ``bits`` column by column (carry-save); the slots of
    the count's binary digits, least significant first. Consumed temporaries are given back; the
    input slots are not (other classes may read the same bits)."""
    columns: list[list[int]] = [list(bits)]
    temporaries: set[int] = set()

    def take() -> int:
        s = slots.take()
        temporaries.add(s)
        return s

    def release(*used: int) -> None:
        slots.give([s for s in used if s in temporaries])
        temporaries.difference_update(used)

    digits, k = [], 0
    while k < len(columns):
        col = columns[k]
        while len(col) > 1:
            if len(columns) == k + 1:
                columns.append([])
            x, y = col.pop(), col.pop()
            total, carry = take(), take()
            if col:
                z = col.pop()
                code.emit(FULL_ADD, x, y, total, c=z, e=carry)
                release(x, y, z)
            else:
                code.emit(HALF_ADD, x, y, total, e=carry)
                release(x, y)
            col.insert(0, total)
            columns[k + 1].append(carry)
        digits.append(col[0])
        k += 1
    return digits
