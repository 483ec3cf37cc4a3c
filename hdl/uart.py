"""A minimal 8N1 UART: receiver and transmitter with a fixed clock divisor."""


from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


def _check_divisor(divisor: int) -> int:
    if divisor < 2:
        raise ValueError(f"the UART divisor must be at least 2 clock cycles per bit, got {divisor}")
    return divisor


class UARTReceiver(wiring.Component):
    """Receives 8N1 frames; ``divisor`` is clock cycles per bit.

    Members
    -------
    rx : In(1)
        The serial line (idle high); synchronised internally.
    data : Out(8)
        The last byte received.
    valid : Out(1)
        High for one cycle when ``data`` has just been updated. Frames with a bad stop bit are dropped.
    """

    rx: In(1, init=1)
    data: Out(8)
    valid: Out(1)

    def __init__(self, divisor: int) -> None:
        self.divisor = _check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.divisor))
        shreg = Signal(8)
        bit = Signal(range(8))
        m.d.sync += self.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):  # check the start bit in its middle
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(~rx):
                    m.d.sync += [timer.eq(self.divisor - 1), bit.eq(0)]
                    m.next = "DATA"
                with m.Else():
                    m.next = "IDLE"
            with m.State("DATA"):  # sample each data bit in its middle, LSB first
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shreg.eq(Cat(shreg[1:], rx)), timer.eq(self.divisor - 1), bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    with m.If(rx):
                        m.d.sync += [self.data.eq(shreg), self.valid.eq(1)]
                    m.next = "IDLE"
        return m


class UARTTransmitter(wiring.Component):
    """Sends 8N1 frames; ``divisor`` is clock cycles per bit.

    Members
    -------
    data : In(8)
        The byte to send, taken when ``start`` is high and ``busy`` is low.
    start : In(1)
    busy : Out(1)
        High while a frame is on the line.
    tx : Out(1)
        The serial line, registered (idle high).
    """

    data: In(8)
    start: In(1)
    busy: Out(1)
    tx: Out(1, init=1)

    def __init__(self, divisor: int) -> None:
        self.divisor = _check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        frame = Signal(10)  # start bit, 8 data bits LSB first, stop bit
        remaining = Signal(range(11))
        timer = Signal(range(self.divisor))
        m.d.comb += self.busy.eq(remaining != 0)
        with m.If(~self.busy):
            with m.If(self.start):
                m.d.sync += [frame.eq(Cat(Const(0, 1), self.data, Const(1, 1))), remaining.eq(10),
                             timer.eq(self.divisor - 1), self.tx.eq(0)]
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Else():
            m.d.sync += [frame.eq(frame >> 1), remaining.eq(remaining - 1), timer.eq(self.divisor - 1),
                         self.tx.eq((remaining == 1) | frame[1])]
        return m
