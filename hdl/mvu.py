"""A folded threshold layer: PE x SIMD XNOR-popcount-threshold lanes over weights in block RAM."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from lgn.hdl.delay import delay
from lgn.hdl.fold import FoldedLayer
from lgn.hdl.popcount import FAN_IN, Popcount, tree_depth


def _words(bits: np.ndarray) -> list[int]:
    """Each row of a 0/1 matrix as an integer, column 0 its least significant bit."""
    packed = np.packbits(bits.astype(np.uint8), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def unit_latency(layout: FoldedLayer) -> int:
    """Clocks from :class:`MatrixVectorUnit`'s ``start`` to its ``done``: a word per clock, then
    the memory read, the popcount tree, the accumulator and the output register."""
    return layout.groups * layout.steps + tree_depth(layout.simd, FAN_IN) + 2


class MatrixVectorUnit(wiring.Component):
    """One threshold layer folded over time, in the manner of FINN's matrix-vector unit.

    A pulse on ``start`` runs the layer on ``x`` (which must hold still until ``done``). Each
    clock, every one of ``pe`` lanes XNORs ``simd`` input bits with a word of its weight row,
    counts the matches in a pipelined :class:`Popcount` and accumulates; after a row's last word
    the lane compares its count with each threshold slot of the row. Weight words come from one
    synchronous memory (``pe * simd`` bits wide, ``groups * steps`` deep: Yosys maps it to block
    RAM), thresholds from another (``groups`` deep). ``y`` fills one row group at a time and
    ``done`` pulses in the first cycle it holds every slot, :attr:`latency` cycles after ``start``.

    Members
    -------
    x : In(layout.k)
        The layer's input bits, in :attr:`FoldedLayer.src` order.
    start : In(1)
    y : Out(len(layout.threshold))
        One bit per slot (:attr:`FoldedLayer.slot` says which unit reads which).
    done : Out(1)
    """

    def __init__(self, layout: FoldedLayer) -> None:
        self.layout = layout
        self.latency = unit_latency(layout)
        super().__init__({"x": In(layout.k), "start": In(1), "y": Out(len(layout.threshold)), "done": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        f = self.layout
        pe, simd, steps, groups, slots = f.pe, f.simd, f.steps, f.groups, f.pe * f.copies
        # weights: word (group, step) holds lane p's simd pins of row group*pe + p; padding pins weigh 1
        padded = np.ones((groups * pe, steps * simd), np.uint8)
        padded[:, :f.k] = f.rows
        words = padded.reshape(groups, pe, steps, simd).transpose(0, 2, 1, 3).reshape(groups * steps, pe * simd)
        # block RAM even where Yosys' cost model would pick logic for a small memory: weights are
        # what the folded layer keeps out of the LUTs
        m.submodules.weights = weights = Memory(shape=pe * simd, depth=groups * steps, init=_words(words),
                                                attrs={"rom_style": "block"})
        tw = f.threshold_width
        entry = f.threshold | (f.flip.astype(np.int64) << tw)
        m.submodules.thresholds = thresholds = Memory(
            shape=slots * (tw + 1), depth=groups,
            init=[sum(int(v) << (j * (tw + 1)) for j, v in enumerate(entry[g * slots:(g + 1) * slots]))
                  for g in range(groups)])

        # the schedule: one (group, step) word per clock while running
        run = Signal()
        addr, step, group = Signal(range(groups * steps)), Signal(range(steps)), Signal(range(groups))
        with m.If(self.start):
            m.d.sync += [run.eq(1), addr.eq(0), step.eq(0), group.eq(0)]
        with m.Elif(run):
            m.d.sync += [addr.eq(addr + 1), step.eq(Mux(step == steps - 1, 0, step + 1))]
            with m.If(step == steps - 1):
                m.d.sync += group.eq(group + 1)
            with m.If(addr == groups * steps - 1):
                m.d.sync += run.eq(0)
        word = weights.read_port()
        m.d.comb += word.addr.eq(addr)
        pins = Signal(simd, reset_less=True)  # the input slice, read alongside its weight word
        m.d.sync += pins.eq(Cat(self.x, Const(0, steps * simd - f.k)).word_select(step, simd))

        # control in step with each word through the memory (1 clock) and the popcount tree
        lag = 1 + tree_depth(simd, FAN_IN)
        valid = delay(m, run, lag, "valid")
        first = delay(m, step == 0, lag, "first")
        last = delay(m, step == steps - 1, lag, "last")
        final = delay(m, group == groups - 1, lag, "final")
        row_thresholds = thresholds.read_port()
        m.d.comb += row_thresholds.addr.eq(delay(m, group, lag - 1, "group"))

        outputs = []
        for p in range(pe):
            count = Popcount(simd, pipelined=True)
            m.submodules[f"count{p}"] = count
            m.d.comb += count.i.eq(~(word.data[p * simd:(p + 1) * simd] ^ pins))
            acc = Signal(range(f.k + 1), name=f"acc{p}", reset_less=True)
            total = Signal.like(acc, name=f"total{p}")
            m.d.comb += total.eq(Mux(first, 0, acc) + count.o)
            m.d.sync += acc.eq(total)
            for q in range(f.copies):
                e = row_thresholds.data.word_select(p * f.copies + q, tw + 1)
                outputs.append((total >= e[:tw]) ^ e[tw])
        with m.If(valid & last):
            m.d.sync += self.y.eq(Cat(self.y[slots:], *outputs))
        m.d.sync += self.done.eq(valid & last & final)
        return m
