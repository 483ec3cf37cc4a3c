"""A classifier behind a UART: the board-facing wrapper of :class:`Classifier`."""


from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.classifier import Classifier, latencies
from lgn.hdl.uart import UARTReceiver, UARTTransmitter
from lgn.ir.netlist import Netlist


def input_bytes(net: Netlist) -> int:
    """Bytes a host sends per sample: bit ``i`` of the encoded input is bit ``i % 8`` of byte ``i // 8``."""
    return -(-net.inputs.width // 8)


class SerialClassifier(wiring.Component):
    """Receives one sample's input bits over the UART, classifies it, sends the class back as one byte.

    The host sends :func:`input_bytes` bytes per sample (LSB-first packing of the encoded input
    bits). They shift into an input register; :attr:`wait_cycles` cycles after the last byte the
    class is latched and transmitted. A combinational classifier (``pipeline = 0``) between the
    input register and the class register gets ``settle_cycles`` clock periods to settle; a
    pipelined one (:class:`Classifier` with ``pipeline``) is waited for its latency.

    Members
    -------
    rx : In(1)
    tx : Out(1)
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)

    def __init__(self, net: Netlist, divisor: int, settle_cycles: int = 16, pipeline: int = 0) -> None:
        self._net = net
        self.divisor = divisor
        self.pipeline = pipeline
        self.latency = sum(latencies(net, pipeline))
        self.wait_cycles = self.latency + 1 if pipeline else settle_cycles
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        nbytes = input_bytes(self._net)
        m.submodules.receiver = rx = UARTReceiver(self.divisor)
        m.submodules.transmitter = tx = UARTTransmitter(self.divisor)
        m.submodules.classifier = clf = Classifier(self._net, self.pipeline)
        sample = Signal(8 * nbytes)
        received = Signal(range(nbytes))
        settle = Signal(range(self.wait_cycles + 1))
        result = Signal.like(clf.cls)
        send = Signal()
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx), clf.x.eq(sample[:self._net.inputs.width]),
                     tx.data.eq(result), tx.start.eq(send)]
        with m.If(rx.valid):
            m.d.sync += [sample.eq(Cat(sample[8:], rx.data)),
                         received.eq(0 if nbytes == 1 else received + 1)]
            with m.If(received == nbytes - 1):
                m.d.sync += [received.eq(0), settle.eq(self.wait_cycles)]
        with m.If(settle != 0):
            m.d.sync += settle.eq(settle - 1)
            with m.If(settle == 1):
                m.d.sync += [result.eq(clf.cls), send.eq(1)]
        with m.If(send & ~tx.busy):
            m.d.sync += send.eq(0)
        return m
