"""cocotb testbench: :mod:`lgn.host` talks to the serial classifier over its simulated UART pins.

The host code is the blocking code users run against a serial port; here it runs in a
:func:`cocotb.task.bridge` thread whose ``write``/``read`` drive and sample the ``rx``/``tx`` pins
bit by bit, so the whole protocol (framing, byte order, timing, the class byte) is exercised.
Run by :func:`lgn.sim.runner.simulate_host` (``LGN_SIM_VECTORS``: frames, classes, divisor).
"""

from __future__ import annotations

import os
from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from lgn import host


class SimulatedUART:
    """A :class:`lgn.host.Link` over the DUT's ``rx`` (driven) and ``tx`` (monitored) pins."""

    def __init__(self, dut, divisor: int, timeout_cycles: int) -> None:
        self.dut, self.divisor, self.timeout_cycles = dut, divisor, timeout_cycles
        self.received: deque[int] = deque()
        cocotb.start_soon(self._monitor())

    async def _monitor(self) -> None:
        while True:
            await FallingEdge(self.dut.tx)  # start bit
            await ClockCycles(self.dut.clk, self.divisor // 2)
            value = 0
            for i in range(8):
                await ClockCycles(self.dut.clk, self.divisor)
                value |= int(self.dut.tx.value) << i
            await ClockCycles(self.dut.clk, self.divisor)
            assert int(self.dut.tx.value) == 1, "missing stop bit"
            self.received.append(value)

    async def _send(self, data: bytes) -> None:
        for byte in data:
            for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
                self.dut.rx.value = bit
                await ClockCycles(self.dut.clk, self.divisor)

    async def _receive(self, size: int) -> bytes:
        for _ in range(self.timeout_cycles):
            if len(self.received) >= size:
                break
            await RisingEdge(self.dut.clk)
        return bytes(self.received.popleft() for _ in range(min(size, len(self.received))))

    def write(self, data: bytes) -> int:
        resume(self._send)(data)
        return len(data)

    def read(self, size: int) -> bytes:
        return resume(self._receive)(size)


@cocotb.test()
async def host_over_uart(dut) -> None:
    """Every frame through the host code and the UART; the classes read back are saved."""
    vectors = np.load(os.environ["LGN_SIM_VECTORS"], allow_pickle=False)
    frames, num_classes, divisor = vectors["frames"], int(vectors["num_classes"]), int(vectors["divisor"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rx.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 4)
    link = SimulatedUART(dut, divisor, timeout_cycles=40 * divisor * 10)
    classes = await bridge(host.classify)(link, frames, num_classes)
    np.savez(os.environ["LGN_SIM_RESULTS"], classes=classes)
