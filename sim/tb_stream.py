"""cocotb testbench: images through the streaming engine pixel by pixel, compared with the executor.

Run by :mod:`lgn.sim.runner` (``simulate_stream``), which passes the vector file
(``LGN_SIM_VECTORS``: each image's pixels as ``(images, pixels, channels)`` bits, the expected
scores and classes, the score width) and where to write what the RTL produced
(``LGN_SIM_RESULTS``). A pixel goes in every clock, images back to back, and a result is read at
every clock whose ``done`` is high: one per image, in order.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge


@cocotb.test()
async def stream_images(dut) -> None:
    vectors = np.load(os.environ["LGN_SIM_VECTORS"], allow_pickle=False)
    pixels, want_scores, want_classes = vectors["pixels"], vectors["scores"], vectors["classes"]
    n, k = want_scores.shape
    width, drain = int(vectors["score_width"]), int(vectors["latency"]) + 2
    mask = (1 << width) - 1
    words = (pixels.astype(np.int64) << np.arange(pixels.shape[2])).sum(2)  # (images, pixels) ints
    got_scores, got_classes = np.zeros_like(want_scores), np.zeros_like(want_classes)
    done = 0

    async def read() -> None:
        nonlocal done
        await RisingEdge(dut.clk)
        await ReadOnly()
        if int(dut.done.value):
            assert done < n, f"done rose {done + 1} times for {n} images"
            packed = int(dut.scores.value)
            got_scores[done] = [(packed >> (c * width)) & mask for c in range(k)]
            got_classes[done] = int(dut.cls.value)
            done += 1
            if done % 1000 == 0:
                dut._log.info("%d/%d images", done, n)

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.valid.value = 0
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    for image in words:
        for word in image:
            await FallingEdge(dut.clk)
            dut.pixel.value = int(word)
            dut.valid.value = 1
            await read()
    await FallingEdge(dut.clk)
    dut.valid.value = 0
    for _ in range(drain):
        await read()
    np.savez(os.environ["LGN_SIM_RESULTS"], scores=got_scores, classes=got_classes)
    assert done == n, f"done rose {done} times for {n} images"
    bad = np.flatnonzero((got_scores != want_scores).any(1) | (got_classes != want_classes))
    assert len(bad) == 0, (f"{len(bad)} of {n} images differ from the reference executor, first at image "
                           f"{bad[0]}: RTL {got_scores[bad[0]].tolist()}, expected {want_scores[bad[0]].tolist()}")
