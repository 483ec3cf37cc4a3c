"""The UART and the serial classifier wrapper, in Amaranth's simulator."""

import numpy as np
from amaranth.sim import Simulator

from lgn.hdl.design import Design
from lgn.hdl.serial_classifier import SerialClassifier, input_bytes
from lgn.hdl.uart import UARTReceiver, UARTTransmitter
from lgn.ir import executor
from lgn.testing import random_netlist

DIVISOR = 4


async def send_byte(ctx, line, byte):
    for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
        ctx.set(line, bit)
        await ctx.tick().repeat(DIVISOR)


async def receive_byte(ctx, line, timeout=100_000):
    for _ in range(timeout):
        if ctx.get(line) == 0:
            break
        await ctx.tick()
    else:
        raise AssertionError("no start bit")
    await ctx.tick().repeat(DIVISOR // 2)
    assert ctx.get(line) == 0
    value = 0
    for i in range(8):
        await ctx.tick().repeat(DIVISOR)
        value |= ctx.get(line) << i
    await ctx.tick().repeat(DIVISOR)
    assert ctx.get(line) == 1, "stop bit"
    return value


def test_uart_loopback():
    tx, rx = UARTTransmitter(DIVISOR), UARTReceiver(DIVISOR)
    from amaranth.hdl import Module
    m = Module()
    m.submodules.tx, m.submodules.rx = tx, rx
    m.d.comb += rx.rx.eq(tx.tx)
    sent, got = [0x00, 0xFF, 0xA5, 0x3C, 0x81], []

    async def drive(ctx):
        for byte in sent:
            ctx.set(tx.data, byte)
            ctx.set(tx.start, 1)
            await ctx.tick()
            ctx.set(tx.start, 0)
            await ctx.tick().until(~tx.busy)

    async def watch(ctx):
        async for _, _, valid, data in ctx.tick().sample(rx.valid, rx.data):
            if valid:
                got.append(data)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(drive)
    sim.add_process(watch)
    sim.run_until(1e-6 * DIVISOR * 10 * (len(sent) + 2))
    assert got == sent


def test_serial_classifier_answers_with_the_executors_class():
    net = random_netlist(np.random.default_rng(3), features=7, per_feature=2, widths=(30, 24), classes=3, group=6)
    dut = SerialClassifier(Design(net), DIVISOR, settle_cycles=3)
    samples = np.random.default_rng(4).random((6, net.inputs.width)) < 0.5
    want = executor.run_bits(net, samples).classes.tolist()
    got = []

    async def host(ctx):
        for row in samples:
            for byte in np.packbits(row, bitorder="little").tolist():
                await send_byte(ctx, dut.rx, byte)
            got.append(await receive_byte(ctx, dut.tx))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(host)
    sim.run()
    assert got == want
    assert input_bytes(net) == 2  # 14 input bits
