"""cocotb testbench: every vector through the emitted classifier, compared with the executor.

Run by :mod:`lgn.sim.runner`, which passes the vector file (``LGN_SIM_VECTORS``: input bits,
expected scores and classes, the design's latency) and where to write what the RTL produced
(``LGN_SIM_RESULTS``). A combinational design (latency 0) gets one vector at a time; a pipelined
one a new vector every clock, its outputs read ``latency`` cycles later; a sequenced one (a
start/done handshake) a vector per ``start``, read when ``done`` rises, which must be ``latency``
cycles later.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge, Timer


def _as_int(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


@cocotb.test()
async def classify_vectors(dut) -> None:
    """Drive the inputs, read scores and class once they are through, compare with the executor."""
    vectors = np.load(os.environ["LGN_SIM_VECTORS"], allow_pickle=False)
    bits, want_scores, want_classes = vectors["bits"], vectors["scores"], vectors["classes"]
    latency = int(vectors["latency"])
    n, k = want_scores.shape
    width = int(vectors["score_width"])
    mask = (1 << width) - 1
    got_scores = np.zeros_like(want_scores)
    got_classes = np.zeros_like(want_classes)

    def read(s: int) -> None:
        packed = int(dut.scores.value)
        got_scores[s] = [(packed >> (c * width)) & mask for c in range(k)]
        got_classes[s] = int(dut.cls.value)  # int(): a 1-bit port (2 classes) holds a Logic, not a LogicArray
        if s % 1000 == 999:
            dut._log.info("%d/%d vectors", s + 1, n)

    if bool(vectors["handshake"]):
        # the simulator toggles the clock itself: thousands of clocks per vector pass without Python
        clock = Clock(dut.clk, 10, unit="ns", impl="gpi")
        clock.start()
        dut.rst.value = 1
        dut.start.value = 0
        await ClockCycles(dut.clk, 2)
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        for s in range(n):
            await FallingEdge(dut.clk)
            dut.x.value = _as_int(bits[s])
            dut.start.value = 1
            started = get_sim_time("ns")  # half a period before the edge that takes start
            await FallingEdge(dut.clk)
            dut.start.value = 0
            await RisingEdge(dut.done)
            await ReadOnly()
            cycles = int(get_sim_time("ns") - started - 5) // 10 + 1  # done's edge counted as the latency-th
            assert cycles == latency, f"vector {s}: done came {cycles} cycles after start, the design says {latency}"
            read(s)
        clock.stop()  # a clock left running in the simulator keeps Verilator from ending
    elif latency == 0:
        for s in range(n):
            dut.x.value = _as_int(bits[s])
            await Timer(1, unit="ns")
            read(s)
    else:
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        dut.rst.value = 0
        for cycle in range(n + latency - 1):
            await FallingEdge(dut.clk)
            if cycle < n:
                dut.x.value = _as_int(bits[cycle])
            await RisingEdge(dut.clk)
            await ReadOnly()
            if cycle >= latency - 1:  # the vector driven latency cycles ago is through
                read(cycle - latency + 1)
    np.savez(os.environ["LGN_SIM_RESULTS"], scores=got_scores, classes=got_classes)
    bad = np.flatnonzero((got_scores != want_scores).any(1) | (got_classes != want_classes))
    assert len(bad) == 0, (f"{len(bad)} of {n} vectors differ from the reference executor, first at "
                           f"vector {bad[0]}: RTL {got_scores[bad[0]].tolist()} class {got_classes[bad[0]]}, "
                           f"expected {want_scores[bad[0]].tolist()} class {want_classes[bad[0]]}")
