"""``--pipeline auto``: the register spacing chosen from the netlist and the budget, and the
flip-flop estimate it rests on, against Yosys' count."""

import json

import numpy as np
import pytest

from lgn.hdl.design import AUTO, Design, choose_pipeline, registers
from lgn.testing import random_netlist


def test_every_layer_is_registered_where_it_fits():
    rng = np.random.default_rng(3)
    for net in (random_netlist(rng, widths=(40, 30, 30, 20)), random_netlist(rng, widths=(40, 30, 30, 20), luts=(1,))):
        k, why = choose_pipeline(net)
        assert k == 1 and Design.plan(net, AUTO).pipeline == 1 and "every layer" in why


def test_a_tight_budget_widens_the_spacing_to_what_fits():
    net = random_netlist(np.random.default_rng(4), widths=(60, 60, 60, 60, 40))
    costs = {k: registers(net, k) for k in range(1, 6)}
    assert costs[1] > costs[2] > costs[3] >= costs[4] >= costs[5] > 0  # fewer stages, fewer registers
    logic = choose_pipeline(net, 10**6)[1]
    assert "within the 1,000,000 budget" in logic
    # a budget between the spacing-2 and spacing-3 estimates: spacing 3, and why
    k, why = choose_pipeline(net, _estimate(net, 3))
    assert k == 3 and "over the" in why, why
    k, why = choose_pipeline(net, _estimate(net, 5) - 1)  # nothing fits: the head's registers only
    assert k == 5 and "the fewest registers" in why


def _estimate(net, k):
    from lgn.hdl import fold

    return sum(fold.unrolled_luts(layer) for layer in net.layers) + len(net.head.bits) + registers(net, k)


@pytest.mark.eda
@pytest.mark.parametrize("pipeline", [1, 2, 3])
def test_register_estimate_bounds_the_flip_flops_yosys_keeps(tmp_path, pipeline):
    """The estimate counts every register the classifier declares; Yosys drops constant and
    duplicate ones, so it is an upper bound, and a close one."""
    from lgn.boards.cells import count_cells
    from lgn.boards.targets import ICE40
    from lgn.hdl.emit import to_verilog

    net = random_netlist(np.random.default_rng(5), widths=(80, 60, 60, 40), luts=(2,))
    to_verilog(Design(net, pipeline).classifier(), "classifier", tmp_path / "c.v")
    cells, _ = count_cells(tmp_path / "c.v", "classifier", ICE40, tmp_path)
    flops = sum(n for cell, n in cells.items() if cell.startswith("SB_DFF"))
    assert 0.7 * registers(net, pipeline) <= flops <= registers(net, pipeline), (flops, registers(net, pipeline))


@pytest.mark.eda
def test_compile_for_a_board_sizes_the_design_for_its_part(tmp_path, capsys):
    """`lgn compile --board icebreaker` plans as `lgn run --board icebreaker` does (70% of the
    UP5K's 5,280 LUT4s), where the default budget would register every layer."""
    from lgn import cli
    from lgn.nn import LogicNet, LogicNetConfig
    from lgn.train import checkpoint

    model = LogicNet(LogicNetConfig(64, 10, (1500, 1500, 1000), 2, (0.0, 16.0), 4.0, seed=0))
    checkpoint.save(model.eval(), tmp_path / "model.safetensors", {"dataset": "digits"})
    assert cli.main(["compile", "--out", str(tmp_path), "--board", "icebreaker"]) == 0
    on_up5k = json.loads((tmp_path / "report.json").read_text())["hdl"]
    assert cli.main(["compile", "--out", str(tmp_path)]) == 0
    default = json.loads((tmp_path / "report.json").read_text())["hdl"]
    assert on_up5k["lut_budget"] == 3695 and default["lut_budget"] == 40000
    assert default["pipeline"] == 1 < on_up5k["pipeline"]
