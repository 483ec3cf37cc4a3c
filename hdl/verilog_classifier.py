"""A classifier read from Verilog: the board tops instantiate the very ``classifier.v`` that
``lgn sim`` simulated and ``lgn verify`` proved, rather than elaborating the netlist again."""

from __future__ import annotations

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from lgn.hdl.design import Design

#: The module name ``lgn compile`` gives the classifier in ``classifier.v``.
MODULE = "classifier"


class VerilogClassifier(wiring.Component):
    """An instance of module :data:`MODULE` (from a Verilog file the synthesis reads beside the
    top) with the ports and timing of ``design``'s classifier (:meth:`Design.signature`), plus
    the ``clk`` and ``rst`` ports Amaranth gives a clocked design (pipelined or sequenced)."""

    def __init__(self, design: Design) -> None:
        self._clocked = design.pipeline > 0 or design.sequenced
        self.latency = design.latency
        super().__init__(design.signature())

    def elaborate(self, platform) -> Module:
        m = Module()
        ports = {}
        for name, member in self.signature.members.items():
            port = getattr(self, name)
            ports[("i_" if member.flow == In else "o_") + name] = port.as_value() if hasattr(port, "as_value") else port
        if self._clocked:
            # an ECP5 board without a reset button has a reset-less sync domain: rst is then 0
            ports |= {"i_clk": ClockSignal(), "i_rst": ResetSignal(allow_reset_less=True)}
        m.submodules.classifier = Instance(MODULE, **ports)
        return m
