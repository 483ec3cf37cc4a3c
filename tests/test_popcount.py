"""The popcount tree in Amaranth's simulator: counts, pipelining and depth for several fan-ins."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from lgn.hdl.popcount import Popcount, tree_depth, tree_levels


@pytest.mark.parametrize("leaves, fan_in, depth", [(1, 3, 0), (2, 2, 1), (3, 3, 1), (4, 3, 2), (30, 3, 5),
                                                   (100, 2, 7), (100, 3, 7), (400, 3, 9), (9, 9, 1), (10, 9, 2)])
def test_tree_depth(leaves, fan_in, depth):
    assert tree_depth(leaves, fan_in) == depth


def test_a_pipelined_tree_adds_pairs_above_its_first_level_and_a_combinational_one_keeps_its_fan_in():
    assert [len(level) for level in tree_levels(100, 3)] == [34, 17, 9, 5, 3, 2, 1]
    assert [len(level) for level in tree_levels(100, 3, pipelined=False)] == [34, 12, 4, 2, 1]
    first, second = tree_levels(10, 3)[:2]
    assert first == [range(0, 3), range(3, 6), range(6, 9), range(9, 10)] and second == [range(0, 2), range(2, 4)]


@pytest.mark.parametrize("width, fan_in, pipelined", [(1, 3, True), (7, 2, False), (7, 3, True), (100, 3, True),
                                                      (100, 3, False), (53, 8, True)])
def test_counts_every_vector_with_a_new_one_each_clock(width, fan_in, pipelined):
    dut = Popcount(width, pipelined, fan_in)
    assert dut.latency == (tree_depth(width, fan_in) if pipelined else 0)
    rng = np.random.default_rng(width * fan_in)
    # all-zero, all-one and random densities, so the widest sums are reached
    vectors = [0, (1 << width) - 1] + [int(sum(1 << int(j) for j in np.flatnonzero(rng.random(width) < p)))
                                       for p in rng.random(60)]
    got = []

    async def bench(ctx):
        for v in vectors + [0] * dut.latency:
            ctx.set(dut.i, v)
            await ctx.delay(1e-7)  # let a combinational tree settle before sampling
            got.append(ctx.get(dut.o))
            if dut.latency:
                await ctx.tick()

    sim = Simulator(dut)
    if dut.latency:  # a combinational tree has no clock domain
        sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got[dut.latency:] == [bin(v).count("1") for v in vectors]
