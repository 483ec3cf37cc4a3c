"""Tops: a :class:`SerialClassifier` wired to a board's clock and UART pins, or the classifier
between registers for an out-of-context build."""

from __future__ import annotations

from amaranth.hdl import Elaboratable, Module, Shape, Value
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.design import Design
from lgn.hdl.serial_classifier import SerialClassifier

BAUD = 115200


class UARTTop(Elaboratable):
    """``classifier`` (``design``'s, e.g. a :class:`~lgn.hdl.verilog_classifier.VerilogClassifier`)
    on the board's default clock, talking over its first UART at :data:`BAUD`.

    ``path_cycles`` is how many clock periods the slowest register-to-register path may take:
    ``settle_cycles`` for a combinational classifier (a multicycle path), one when pipelined or
    sequenced.
    """

    def __init__(self, design: Design, classifier: wiring.Component, baud: int = BAUD, settle_cycles: int = 16) -> None:
        self._design = design
        self._classifier = classifier
        self.baud = baud
        self.settle_cycles = settle_cycles
        self.path_cycles = 1 if design.pipeline or design.sequenced else settle_cycles
        self.latency = design.latency

    def elaborate(self, platform) -> Module:
        m = Module()
        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx = io.Buffer("o", uart.tx)
        divisor = round(platform.default_clk_frequency / self.baud)
        m.submodules.serial = serial = SerialClassifier(self._design, divisor, self.settle_cycles, self._classifier)
        m.d.comb += [serial.rx.eq(rx.i), tx.o.eq(serial.tx)]
        return m


class RegisteredTop(wiring.Component):
    """``classifier`` (``design``'s) with a register on every input and output bit: an out-of-context block
    whose Fmax is the classifier's own (one clock from input register to output register when
    combinational, one pipeline stage when pipelined). Inputs are latched one cycle before the
    classifier sees them and outputs one cycle after, so :attr:`latency` is the classifier's + 2.
    Its ports are the classifier's (:meth:`Design.signature`: ``x`` or a stream's ``pixel`` and
    ``valid``, a sequenced classifier's ``start`` and ``done``), each flattened to plain bits.
    """

    def __init__(self, design: Design, classifier: wiring.Component) -> None:
        self._classifier = classifier
        self.path_cycles = 1
        self.latency = self._classifier.latency + 2
        members = design.signature().members
        super().__init__({name: (In if m.flow == In else Out)(Shape.cast(m.shape).width) for name, m in members.items()})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.classifier = c = self._classifier
        for name, member in self.signature.members.items():
            inner, outer = Value.cast(getattr(c, name)), getattr(self, name)
            m.d.sync += inner.eq(outer) if member.flow == In else outer.eq(inner)
        return m
