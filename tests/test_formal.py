"""`lgn verify --formal`: Yosys SAT proofs of the emitted classifier against the reference netlist."""

import re
from pathlib import Path

import numpy as np
import pytest

from lgn.formal.equivalence import prove
from lgn.formal.reference import core_verilog
from lgn.hdl import Classifier
from lgn.hdl.emit import to_verilog
from lgn.ir.netlist import GateLayer, GroupSumHead, Netlist
from lgn.testing import random_netlist


@pytest.fixture(scope="module")
def net():
    # skip wiring, all 16 ops (pass-throughs and constants included), head bits read twice
    net = random_netlist(np.random.default_rng(7), widths=(64, 48, 40), classes=4, group=10)
    assert len(np.unique(net.head.bits)) < len(net.head.bits)
    return net


def _statuses(net, emitted, pipeline, tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    to_verilog(Classifier(emitted, pipeline), "classifier", tmp_path / "c.v")
    return {p.part: p.status for p in prove(net, tmp_path / "c.v", pipeline, tmp_path / "formal", timeout_s=120)}


@pytest.mark.parametrize("pipeline", [0, 1, 2, 3])  # 3: no register in the core, only in the head
def test_core_and_head_are_proven(net, tmp_path, pipeline):
    assert _statuses(net, net, pipeline, tmp_path) == {"core": "proven", "head": "proven"}


@pytest.mark.parametrize("pipeline", [0, 1])
def test_threshold_layers_are_proven_and_a_wrong_threshold_is_caught(tmp_path, pipeline):
    from dataclasses import replace

    mixed = random_netlist(np.random.default_rng(9), widths=(48, 40, 36, 30), classes=3, group=10, thresholds=(0, 2))
    assert _statuses(mixed, mixed, pipeline, tmp_path / "good") == {"core": "proven", "head": "proven"}
    # a unit the head reads, over distinct bits, with t >= 2: t - 1 is another function of its pins
    i, offset = 2, mixed.layer_offsets()[2]
    layer = mixed.layers[i]
    j = next(j for j in range(layer.size) if offset + j in mixed.head.bits and 2 <= layer.t[j] <= layer.fan_in[j]
             and len(set(layer.src[layer.ptr[j]:layer.ptr[j + 1]].tolist())) == layer.fan_in[j])
    t = layer.t.copy()
    t[j] -= 1
    broken = replace(mixed, layers=(*mixed.layers[:i], replace(layer, t=t), *mixed.layers[i + 1:]))
    assert _statuses(mixed, broken, pipeline, tmp_path / "bad")["core"] == "different"


@pytest.mark.parametrize("pipeline", [0, 2])
def test_one_wrong_gate_is_a_counterexample(net, tmp_path, pipeline):
    layer, offset = net.layers[-1], net.layer_offsets()[-1]
    j = next(int(b) - offset for b in net.head.bits if b >= offset and layer.op[b - offset] not in (0, 3, 5, 15))
    op = layer.op.copy()
    op[j] ^= 0b0110  # two truth-table entries of one gate the head reads
    broken = Netlist(net.inputs, (*net.layers[:-1], GateLayer(op, layer.a, layer.b)), net.head)
    assert _statuses(net, broken, pipeline, tmp_path)["core"] == "different"


def test_a_head_bit_in_the_wrong_class_is_a_counterexample(net, tmp_path):
    bits = net.head.bits.copy()
    bits[[0, 10]] = bits[[10, 0]]  # swap a bit of class 0 with one of class 1
    broken = Netlist(net.inputs, net.layers, GroupSumHead(net.head.num_classes, bits, net.head.tau))
    if set(bits[:10].tolist()) == set(net.head.bits[:10].tolist()):
        pytest.skip("the swapped bits are equal")
    assert _statuses(net, broken, 1, tmp_path)["head"] == "different"


def test_reference_core_is_one_assign_per_gate(net):
    text = core_verilog(net)
    assert text.count("  wire g") == net.num_gates
    assert "1'b0" in text or "1'b1" in text  # constant gates written as literals


def test_a_class_group_too_long_for_one_verilog_sum_is_proven_in_parts(tmp_path):
    """Yosys' Verilog frontend overflows its stack on a flat sum of ~400 bits (mnist-s has 400-bit
    groups): the reference sums long groups in parts, and a misplaced bit is still caught."""
    from lgn.formal.reference import MAX_TERMS, head_verilog

    net = random_netlist(np.random.default_rng(3), widths=(40, 500), classes=2, group=450)
    assert "s1_2 = " in head_verilog(net, 9) and MAX_TERMS < 450
    bits = net.head.bits.copy()
    k = next(k for k in range(450, 900) if bits[k] not in bits[:450])
    bits[[0, k]] = bits[[k, 0]]  # a class-1 bit counted in class 0 instead
    broken = Netlist(net.inputs, net.layers, GroupSumHead(2, bits, net.head.tau))
    assert _statuses(net, broken, 0, tmp_path)["head"] == "different"


def test_a_head_of_400_bit_groups_is_proven_node_by_node(tmp_path):
    """One miter of a 400-bit popcount tree against a flat sum does not finish in hours; paired
    node by node with the reference's trees, mnist-s's head size is proven in seconds."""
    net = random_netlist(np.random.default_rng(3), widths=(40, 5000), classes=10, group=400)
    to_verilog(Classifier(net, 1), "classifier", tmp_path / "c.v")
    (proof,) = prove(net, tmp_path / "c.v", 1, tmp_path / "formal", timeout_s=120, parts=("head",))
    assert (proof.status, Path(proof.log).name) == ("proven", "nodes_head.log")
    assert proof.wall_s < 60


@pytest.mark.parametrize("fault", ["adder bit", ">= for >"])
def test_a_wrong_adder_or_comparison_in_the_head_is_a_counterexample(tmp_path, fault):
    net = random_netlist(np.random.default_rng(5), widths=(40, 400), classes=5, group=40)
    to_verilog(Classifier(net, 1), "classifier", tmp_path / "c.v")
    text = (tmp_path / "c.v").read_text()
    if fault == "adder bit":  # bit 0 of a second-level popcount node of class 2
        module = text.index("module \\classifier.popcount2 ")
        broken = re.sub(r"(sum_l1_0 <= [^;]+);", r"\1 ^ 1'h1;", text[module:], count=1)
        text = text[:module] + broken
    else:  # ties would go to the higher index at one argmax node
        text, n = re.subn(r"(assign right_l0_0 = \S+ )>( )", r"\1>=\2", text)
        assert n == 1
    (tmp_path / "c.v").write_text(text)
    (proof,) = prove(net, tmp_path / "c.v", 1, tmp_path / "formal", timeout_s=120, parts=("head",))
    assert proof.status == "different"


@pytest.mark.parametrize("pipeline", [0, 2])
def test_a_head_of_one_bit_per_class_is_proven_and_a_swap_is_caught(tmp_path, pipeline):
    """With one bit per class Amaranth inlines the popcounts and the argmax reads the core's nets,
    past head_bits: the head is then proven with the core (bench/fuzz.py found this)."""
    net = random_netlist(np.random.default_rng(4), widths=(30, 20), classes=11, group=1)
    assert _statuses(net, net, pipeline, tmp_path / "good") == {"core": "proven", "head": "proven"}
    bits = net.head.bits.copy()
    bits[[0, 1]] = bits[[1, 0]]
    if bits[0] == bits[1]:
        pytest.skip("the swapped bits are equal")
    broken = Netlist(net.inputs, net.layers, GroupSumHead(11, bits, net.head.tau))
    assert _statuses(net, broken, pipeline, tmp_path / "bad")["head"] == "different"


def _complemented(net: Netlist) -> Netlist:
    """``net`` with the function of the first gate or table the head reads complemented: a
    difference every input shows."""
    from dataclasses import replace

    from lgn.ir import tables
    from lgn.ir.netlist import LutLayer

    offsets = net.layer_offsets()
    for bit in net.head.bits.tolist():
        if bit < net.inputs.width:
            continue
        i = max(i for i, o in enumerate(offsets) if o <= bit)
        layer, j = net.layers[i], bit - offsets[i]
        if isinstance(layer, GateLayer):
            op = layer.op.copy()
            op[j] = 15 - op[j]
            layer = replace(layer, op=op)
        elif isinstance(layer, LutLayer):
            table = layer.table.copy()
            table[j] ^= tables.full(layer.k)
            layer = replace(layer, table=table)
        else:
            continue
        return replace(net, layers=(*net.layers[:i], layer, *net.layers[i + 1:]))
    raise AssertionError("the head reads no gate or table")


@pytest.mark.parametrize("seed", [3, 5, 11, 14])  # group sizes 1 (14) and more; dense part combinational and pipelined
def test_a_streamed_design_is_proven_stages_and_dense_part_and_a_complemented_tree_or_gate_is_caught(seed, tmp_path):
    """The streaming engine: its conv stages window by window (line buffers included), its
    dense part's core and head through the taps of its collector; a kernel whose root computes
    the complement of the IR's, or a dense node the head reads complemented, is a counterexample."""
    from dataclasses import replace

    from lgn.formal.equivalence import Streamed, prove_stages
    from lgn.hdl.stream import StreamClassifier
    from lgn.testing import random_streamed

    net, _ = random_streamed(np.random.default_rng(seed))
    pipeline = seed % 2
    verilog = tmp_path / "classifier.v"
    to_verilog(StreamClassifier(net, pipeline), "classifier", verilog)
    assert prove_stages(net, verilog, tmp_path / "stages").status == "proven"
    dense = {p.part: p.status for p in prove(net.dense, verilog, pipeline, tmp_path / "dense", timeout_s=120,
                                             streamed=Streamed.of(net))}
    assert dense == {"core": "proven", "head": "proven"}
    first = net.stages[0]  # a ConvTrees stage, whose output register the next stage reads
    ops = first.ops.copy()
    ops[0, -1] = 15 - ops[0, -1]
    wrong = replace(net, stages=(replace(first, ops=ops), *net.stages[1:]))
    assert "s0_out" in verilog.read_text()  # the next stage reads it (a dead stage's registers are dropped)
    assert prove_stages(wrong, verilog, tmp_path / "wrong-stages").status == "different"
    wrong_dense = _complemented(net.dense)
    (core,) = prove(wrong_dense, verilog, pipeline, tmp_path / "wrong-dense", timeout_s=120, parts=("core",),
                    streamed=Streamed.of(net))
    assert core.status == "different"
