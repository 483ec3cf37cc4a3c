"""Folding threshold layers onto PE x SIMD lanes: the hardware mapping of a netlist's layers.

Which layers run unrolled (weights as wiring, one popcount per distinct row, all units at once)
and which folded (a :class:`~lgn.hdl.mvu.MatrixVectorUnit` streaming weight words from block RAM
over PE lanes of SIMD pins each) is a choice of the hardware, not of the IR: :func:`plan` makes
it per layer, forced by the user or under a LUT budget, and :class:`FoldedLayer` is the layout
the engine's memories and output wiring are built from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lgn.ir.netlist import GateLayer, LutLayer, Netlist, ThresholdLayer

MODES = ("none", "auto", "all")
LUT_BUDGET = 40_000  # default for --fold auto: about half an ECP5-85F
LANES = (16, 64)  # default most PE lanes, and SIMD pins each lane counts per clock
# A rough LUT4 cost per pin of an unrolled threshold layer (carry-save popcount and comparator):
# digits-bnn's 14,592 pins took 20,299 LUT4 on the ECP5; it only orders layers for the budget.
LUTS_PER_PIN = 1.4
# Lanes a part of N LUT4s affords: about N / LUTS_PER_LANE_PIN pins counted per clock (the UP5K's
# 5,280 LUT4 held digits-bnn folded on 4 x 32 lanes in 1,402 LUT4 with its UART top).
LUTS_PER_LANE_PIN = 40


@dataclass(frozen=True)
class FoldedLayer:
    """A threshold layer laid out for a matrix-vector unit.

    The layer's non-constant units all read the same ``k`` bits ``src`` (the *columns*) and differ
    in weights and threshold. Their weight rows, each taken up to complement, give ``rows``
    distinct rows: unit ``n`` counts ``acc = popcount(x XNOR rows[row])`` and outputs
    ``(acc >= t') XOR flip``; a complemented row (``flip``) counts ``k - acc``, so
    ``k - acc >= t`` becomes ``NOT (acc >= k - t + 1)``. Units sharing a row (a tiled-bit layer's
    copies) are its ``copies`` slots and come out of one count.

    Lane ``p`` of ``pe`` lanes works through rows ``p, p + pe, ...``; each row takes
    ``steps = ceil(k / simd)`` clocks of ``simd`` pins. Weights live in one memory of
    ``pe * simd``-bit words (padding pins weigh 1 against an input of 0, so they count nothing);
    thresholds in one of ``pe * copies`` slots per row group.
    """

    src: np.ndarray       # int32 (k,): the bits every non-constant unit reads, in pin order
    rows: np.ndarray      # uint8 (groups * pe, k): distinct weight rows, zero-padded to whole groups
    slot: np.ndarray      # int64 (n,): unit n's output position row * copies + copy; -1 for a constant unit
    threshold: np.ndarray  # int64 (groups * pe * copies,): t' per slot (0 for padding slots)
    flip: np.ndarray      # uint8 (groups * pe * copies,)
    constant: np.ndarray  # uint8 (n,): a constant unit's value (read where slot is -1)
    copies: int
    pe: int
    simd: int

    @property
    def k(self) -> int:
        return len(self.src)

    @property
    def groups(self) -> int:
        """Row groups: rows handled at once, one per lane."""
        return len(self.rows) // self.pe

    @property
    def steps(self) -> int:
        """Clocks per row group."""
        return -(-self.k // self.simd)

    @property
    def weight_bits(self) -> int:
        """Bits of the weight memory (words x width)."""
        return self.groups * self.steps * self.pe * self.simd

    @property
    def threshold_width(self) -> int:
        return self.k.bit_length()

    @property
    def threshold_bits(self) -> int:
        return len(self.threshold) * (self.threshold_width + 1)


def fold_layer(layer: ThresholdLayer, pe_max: int = LANES[0], simd_max: int = LANES[1]) -> FoldedLayer | None:
    """``layer`` laid out for a matrix-vector unit, or None when its units do not all read the
    same bits (sparse layers such as dendritic branches stay unrolled).

    "The same bits" counts each bit as often as the row reading it most: a row that reads it
    fewer times by an even number gets the difference as pairs of one plain and one complemented
    pin, which count exactly one per pair (its ``t`` grows by the pairs). That undoes the passes'
    cancelling of ``x``/``not x`` pins, which strash leaves behind when it merges a unit with a
    complemented copy; the pin order within a row does not matter.
    """
    live = np.flatnonzero((layer.t > 0) & (layer.t <= layer.fan_in))
    if len(live) == 0:
        return None
    row_of = layer.row_of_pin()
    pin = np.flatnonzero(np.isin(row_of, live))
    bits, column_bit = np.unique(layer.src[pin], return_inverse=True)
    unit = np.searchsorted(live, row_of[pin])
    counts = np.zeros((len(live), len(bits)), np.int64)
    np.add.at(counts, (unit, column_bit), 1)
    most = counts.max(axis=0)
    missing = most - counts
    if (missing % 2).any():
        return None
    # Within a bit's columns only the number of weights 1 matters (each counts the bit, each 0 its
    # complement), so a row is that number per bit; a padding pair adds one of each.
    ones = np.zeros_like(counts)
    np.add.at(ones, (unit, column_bit), layer.w[pin].astype(np.int64))
    ones += missing // 2
    t = layer.t[live].astype(np.int64) + missing.sum(axis=1) // 2
    # up to complement: of a row and its complement (most - ones), keep the first to differ lower
    other = most - ones
    differs = ones != other
    first = (np.arange(len(live)), differs.argmax(axis=1))
    flip = (differs.any(axis=1) & (ones[first] > other[first])).astype(np.uint8)
    distinct, row = np.unique(np.where(flip[:, None] == 1, other, ones), axis=0, return_inverse=True)
    row = row.reshape(-1)
    start = np.concatenate([[0], np.cumsum(most)])
    width = int(start[-1])
    group = np.repeat(np.arange(len(bits)), most)
    place = np.arange(width) - start[group]  # position of each column among its bit's columns
    src = bits[group].astype(np.int32)
    order = np.argsort(row, kind="stable")
    copy = np.empty(len(row), np.int64)  # rank of each unit among those sharing its row
    starts = np.searchsorted(row[order], row[order])
    copy[order] = np.arange(len(row)) - starts
    copies = int(copy.max()) + 1
    pe, simd = _lanes(len(distinct), pe_max), _lanes(width, simd_max)
    groups = -(-len(distinct) // pe)
    rows = np.zeros((groups * pe, width), np.uint8)
    rows[:len(distinct)] = place < distinct[:, group]
    slots = row * copies + copy
    threshold = np.zeros(groups * pe * copies, np.int64)
    flips = np.zeros(groups * pe * copies, np.uint8)
    threshold[slots] = np.where(flip == 1, width - t + 1, t)
    flips[slots] = flip
    slot = np.full(layer.size, -1, np.int64)
    slot[live] = slots
    constant = (layer.t <= 0).astype(np.uint8)
    return FoldedLayer(src, rows, slot, threshold, flips, constant, copies, pe, simd)


def _lanes(size: int, most: int) -> int:
    """Lanes for ``size`` items: the largest divisor of ``size`` up to ``most`` (no padding), or
    ``most`` when that divisor would leave more than half the lanes unused."""
    if size <= most:
        return size
    best = max(d for d in range(1, most + 1) if size % d == 0)
    return best if 2 * best > most else most


def unrolled_luts(layer) -> int:
    """A rough LUT4 estimate of ``layer`` unrolled: a LUT per gate, ``2**(k-4)`` per k-input table
    (one for up to four inputs), :data:`LUTS_PER_PIN` per pin of each distinct threshold row
    (shared popcounts counted once) and a comparator per unit."""
    if isinstance(layer, GateLayer):
        return layer.size
    if isinstance(layer, LutLayer):
        return layer.size << max(0, layer.k - 4)
    folded = fold_layer(layer, pe_max=layer.size)  # all distinct rows in one group: no padding
    pins = folded.rows.size if folded is not None else int(layer.fan_in.sum())
    return int(LUTS_PER_PIN * pins) + layer.size


def fit(luts: int) -> tuple[int, tuple[int, int]]:
    """The ``(lut_budget, lanes)`` defaults for a part of ``luts`` LUT4s: 70% of it for unrolled
    layers (the rest for the folded engines, the top and routing), at most :data:`LUT_BUDGET`;
    lanes halved from :data:`LANES`, PE and SIMD in turn, until PE x SIMD is at most
    ``luts / LUTS_PER_LANE_PIN``."""
    pe, simd = LANES
    while pe * simd * LUTS_PER_LANE_PIN > luts and pe * simd > 1:
        pe, simd = (pe // 2, simd) if pe * 4 >= simd and pe > 1 else (pe, simd // 2)
    return min(LUT_BUDGET, int(0.7 * luts)), (pe, simd)


def plan(net: Netlist, mode: str = "auto", lut_budget: int = LUT_BUDGET,
         lanes: tuple[int, int] = LANES) -> tuple[FoldedLayer | None, ...]:
    """Per layer, its folded layout (on at most ``lanes`` = (PE, SIMD)) or None (unrolled).

    ``none`` unrolls everything; ``all`` folds every threshold layer that can be folded;
    ``auto`` folds the foldable layers with the largest unrolled estimate (:func:`unrolled_luts`)
    until the network's estimate fits ``lut_budget``.
    """
    if mode not in MODES:
        raise ValueError(f"unknown fold mode {mode!r}: choose one of {', '.join(MODES)}")
    folded: list[FoldedLayer | None] = [None] * len(net.layers)
    if mode == "none":
        return tuple(folded)
    foldable = {i: fold_layer(layer, *lanes) for i, layer in enumerate(net.layers) if isinstance(layer, ThresholdLayer)}
    foldable = {i: f for i, f in foldable.items() if f is not None}
    if mode == "all":
        return tuple(foldable.get(i) for i in range(len(net.layers)))
    cost = [unrolled_luts(layer) for layer in net.layers]
    total = sum(cost)
    for i in sorted(foldable, key=lambda i: -cost[i]):
        if total <= lut_budget:
            break
        folded[i] = foldable[i]
        total -= cost[i]
    return tuple(folded)
