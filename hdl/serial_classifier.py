"""A classifier behind a UART: the board-facing wrapper of :class:`Classifier`."""


from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.classifier import Classifier
from lgn.hdl.uart import UARTReceiver, UARTTransmitter
from lgn.ir.netlist import Netlist


def input_bytes(net: Netlist) -> int:
    """Bytes a host sends per sample: bit ``i`` of the encoded input is bit ``i % 8`` of byte ``i // 8``."""
    return -(-net.inputs.width // 8)


class SerialClassifier(wiring.Component):
    """Receives one sample's input bits over the UART, classifies it, sends the class back as one byte.

    The host sends :func:`input_bytes` bytes per sample (LSB-first packing of the encoded input
    bits). They shift into an input register; ``settle_cycles`` cycles after the last byte the
    class is latched and transmitted. The classifier between the input register and the class
    register is combinational, so it has ``settle_cycles`` clock periods to settle.

    Members
    -------
    rx : In(1)
    tx : Out(1)
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)

    def __init__(self, net: Netlist, divisor: int, settle_cycles: int = 16) -> None:
        self._net = net
        self.divisor = divisor
        self.settle_cycles = settle_cycles
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        nbytes = input_bytes(self._net)
        m.submodules.receiver = rx = UARTReceiver(self.divisor)
        m.submodules.transmitter = tx = UARTTransmitter(self.divisor)
        m.submodules.classifier = clf = Classifier(self._net)
        sample = Signal(8 * nbytes)
        received = Signal(range(nbytes))
        settle = Signal(range(self.settle_cycles + 1))
        result = Signal.like(clf.cls)
        send = Signal()
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx), clf.x.eq(sample[:self._net.inputs.width]),
                     tx.data.eq(result), tx.start.eq(send)]
        with m.If(rx.valid):
            m.d.sync += [sample.eq(Cat(sample[8:], rx.data)),
                         received.eq(0 if nbytes == 1 else received + 1)]
            with m.If(received == nbytes - 1):
                m.d.sync += [received.eq(0), settle.eq(self.settle_cycles)]
        with m.If(settle != 0):
            m.d.sync += settle.eq(settle - 1)
            with m.If(settle == 1):
                m.d.sync += [result.eq(clf.cls), send.eq(1)]
        with m.If(send & ~tx.busy):
            m.d.sync += send.eq(0)
        return m
