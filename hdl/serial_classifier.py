"""A classifier behind a UART: the board-facing wrapper of :class:`Classifier`."""


from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.design import Design
from lgn.hdl.uart import UARTReceiver, UARTTransmitter
from lgn.ir.netlist import Netlist


def input_bytes(net: Netlist) -> int:
    """Bytes a host sends per sample: bit ``i`` of the encoded input is bit ``i % 8`` of byte ``i // 8``."""
    return -(-net.inputs.width // 8)


class SerialClassifier(wiring.Component):
    """Receives one sample's input bits over the UART, classifies it, sends the class back as one byte.

    The host sends :func:`input_bytes` bytes per sample (LSB-first packing of the encoded input
    bits). They shift into an input register; :attr:`wait_cycles` cycles after the last byte the
    class is latched and transmitted. A combinational classifier between the input register and
    the class register gets ``settle_cycles`` clock periods to settle; a pipelined one is waited
    for its latency; a folded one is started the clock after the last byte and its class sent
    when it signals ``done``. A streamed one has no input register: each byte's pixels go to it
    as the byte arrives (:func:`_feed_pixels`), and its class is sent on ``done``.

    Members
    -------
    rx : In(1)
    tx : Out(1)
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)

    def __init__(self, design: Design, divisor: int, settle_cycles: int = 16,
                 classifier: wiring.Component | None = None) -> None:
        self._design = design
        self._classifier = classifier  # default: design.classifier(), elaborated here
        self.divisor = divisor
        self.latency = design.latency
        self.wait_cycles = self.latency + 1 if design.pipeline or design.sequenced else settle_cycles
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        net = self._design.net
        nbytes = input_bytes(net)
        m.submodules.receiver = rx = UARTReceiver(self.divisor)
        m.submodules.transmitter = tx = UARTTransmitter(self.divisor)
        m.submodules.classifier = clf = self._classifier or self._design.classifier()
        result = Signal.like(clf.cls)
        send = Signal()
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx), tx.data.eq(result), tx.start.eq(send)]
        if self._design.stream is not None:
            _feed_pixels(m, rx, clf, self._design.stream.channels, self._design.cycles_per_inference, nbytes)
            with m.If(clf.done):
                m.d.sync += [result.eq(clf.cls), send.eq(1)]
        else:
            self._load_and_classify(m, rx, clf, net, nbytes, result, send)
        with m.If(send & ~tx.busy):
            m.d.sync += send.eq(0)
        return m

    def _load_and_classify(self, m: Module, rx: UARTReceiver, clf: wiring.Component, net: Netlist, nbytes: int,
                           result: Signal, send: Signal) -> None:
        """The input register, filled byte by byte; the class latched once the classifier has it."""
        sample = Signal(8 * nbytes)
        received = Signal(range(nbytes))
        complete = Signal()  # this clock's byte is the sample's last
        m.d.comb += [clf.x.eq(sample[:net.inputs.width]), complete.eq(rx.valid & (received == nbytes - 1))]
        with m.If(rx.valid):
            m.d.sync += [sample.eq(Cat(sample[8:], rx.data)),
                         received.eq(0 if nbytes == 1 else received + 1)]
            with m.If(complete):
                m.d.sync += received.eq(0)
        if self._design.handshake:  # started on the clock after the sample register has loaded
            go = Signal()
            m.d.sync += go.eq(complete)
            m.d.comb += clf.start.eq(go)
            with m.If(clf.done):
                m.d.sync += [result.eq(clf.cls), send.eq(1)]
        else:  # waited for: settle or pipeline latency
            settle = Signal(range(self.wait_cycles + 1))
            with m.If(complete):
                m.d.sync += settle.eq(self.wait_cycles)
            with m.If(settle != 0):
                m.d.sync += settle.eq(settle - 1)
                with m.If(settle == 1):
                    m.d.sync += [result.eq(clf.cls), send.eq(1)]


def _feed_pixels(m: Module, rx: UARTReceiver, engine: wiring.Component, channels: int, pixels: int, nbytes: int) -> None:
    """Unpack received bytes into a streaming engine's pixels, one per clock while whole pixels
    are held: a bit buffer of a few bytes instead of an image register. After an image's last
    pixel its last byte's padding bits are dropped. A byte takes 10 bit periods (at least 20
    clocks) to arrive and leaves at most 8 pixels, so the buffer drains before the next comes."""
    pad = 8 * nbytes - pixels * channels
    buffer = Signal(channels + 16)
    held = Signal(range(channels + 17))   # valid bits at the bottom of buffer
    left = Signal(range(1, pixels + 1), init=pixels)  # pixels of this image still to send
    emit = Signal()
    m.d.comb += [emit.eq(held >= channels),
                 engine.pixel.eq(buffer[:channels]), engine.valid.eq(emit)]
    last = emit & (left == 1)
    # after this clock's pixel (and, after an image's last, its padding) leaves the buffer
    drop = Mux(last, channels + pad, Mux(emit, channels, 0))
    kept, count = buffer >> drop, (held - drop)[:len(held)]
    with m.If(rx.valid):
        m.d.sync += [buffer.eq(kept | (rx.data << count)), held.eq(count + 8)]
    with m.Else():
        m.d.sync += [buffer.eq(kept), held.eq(count)]
    with m.If(emit):
        m.d.sync += left.eq(Mux(last, pixels, left - 1))
