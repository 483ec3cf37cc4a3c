from dataclasses import fields
import json

import numpy as np
import pytest

from lgn.errors import FormatError
from lgn.ir import executor, serialize
from lgn.ir.netlist import GateLayer, Netlist
from lgn.testing import random_netlist


def assert_same(a: Netlist, b: Netlist) -> None:
    assert a.inputs.num_features == b.inputs.num_features
    assert np.array_equal(a.inputs.feature, b.inputs.feature)
    assert np.array_equal(a.inputs.threshold, b.inputs.threshold)
    assert len(a.layers) == len(b.layers)
    for la, lb in zip(a.layers, b.layers):
        assert type(la) is type(lb)
        for f in fields(la):
            assert np.array_equal(getattr(la, f.name), getattr(lb, f.name))
    assert np.array_equal(a.head.bits, b.head.bits) and a.head.num_classes == b.head.num_classes
    assert a.meta == b.meta


@pytest.mark.parametrize("thresholds", [(), (0, 2)])
def test_round_trip_is_exact_and_deterministic(rng, tmp_path, thresholds):
    net = random_netlist(rng, widths=(40, 30, 20), thresholds=thresholds)
    net = Netlist(net.inputs, net.layers, net.head, {"dataset": "digits"})
    serialize.save(net, tmp_path / "n.safetensors")
    back = serialize.load(tmp_path / "n.safetensors")
    assert_same(net, back)
    assert serialize.dumps(net) == serialize.dumps(back)
    bits = rng.random((100, net.inputs.width)) < 0.5
    assert np.array_equal(executor.run_bits(net, bits).scores, executor.run_bits(back, bits).scores)


def _rewrite_header(data: bytes, change) -> bytes:
    n = int.from_bytes(data[:8], "little")
    outer = json.loads(data[8:8 + n])
    header = json.loads(outer["__metadata__"]["lgn"])
    change(header)
    outer["__metadata__"]["lgn"] = json.dumps(header)
    text = json.dumps(outer).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + n:]


def _broken(net: Netlist, **layer0) -> bytes:
    layer = net.layers[0]
    fields = {"op": layer.op, "a": layer.a, "b": layer.b} | layer0
    bad = Netlist(net.inputs, (GateLayer(**fields), *net.layers[1:]), net.head)
    arrays = {"inputs.feature": bad.inputs.feature, "inputs.threshold": bad.inputs.threshold,
              "head.bits": bad.head.bits}
    for i, l in enumerate(bad.layers):
        arrays |= {f"layers.{i}.op": l.op, f"layers.{i}.a": l.a, f"layers.{i}.b": l.b}
    from safetensors.numpy import save
    good = serialize.dumps(net)
    n = int.from_bytes(good[:8], "little")
    meta = json.loads(good[8:8 + n])["__metadata__"]
    return save(arrays, metadata=meta)


@pytest.mark.parametrize("case, expect", [
    ("missing", "does not exist"),
    ("empty", "not a readable lgn netlist"),
    ("garbage", "not a readable lgn netlist"),
    ("truncated", "not a readable lgn netlist"),
    ("wrong_format", "not an lgn netlist"),
    ("wrong_version", "format version 99"),
    ("op_out_of_range", "op code above 15"),
    ("forward_reference", "only bits 0.."),
    ("wrong_dtype", "must be a 1-D int32 array"),
    ("missing_array", "lacks"),
])
def test_load_rejects_broken_files_with_a_clear_message(case, expect, rng, tmp_path):
    net = random_netlist(rng)
    good = serialize.dumps(net)
    path = tmp_path / "n.safetensors"
    first = net.layers[0]
    content = {
        "missing": None,
        "empty": b"",
        "garbage": b"\x00\x01not a netlist at all" * 10,
        "truncated": good[: len(good) // 2],
        "wrong_format": _rewrite_header(good, lambda h: h.update(format="something-else")),
        "wrong_version": _rewrite_header(good, lambda h: h.update(version=99)),
        "op_out_of_range": _broken(net, op=np.full_like(first.op, 16)),
        "forward_reference": _broken(net, a=np.full_like(first.a, net.inputs.width + 3)),
        "wrong_dtype": _broken(net, a=first.a.astype(np.int64)),
        "missing_array": _rewrite_header(good, lambda h: h["layers"].append({"kind": "gate", "size": 1})),
    }[case]
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FormatError, match=expect) as err:
        serialize.load(path)
    assert "lgn compile" in str(err.value) or case == "missing"


@pytest.mark.parametrize("change, expect", [
    (lambda l: {"t": l.t - 1 - l.fan_in.astype(np.int32)}, "must lie in 0 .. fan-in"),
    (lambda l: {"w": np.full_like(l.w, 2)}, "other than 0 and 1"),
    (lambda l: {"ptr": l.ptr[::-1].copy()}, "never decrease"),
    (lambda l: {"src": np.full_like(l.src, 10_000)}, "only bits 0.."),
    (lambda l: {"w": l.w[1:]}, "entries, expected"),
])
def test_threshold_layers_are_validated(rng, change, expect):
    from dataclasses import replace

    from lgn.ir.netlist import NetlistError

    net = random_netlist(rng, widths=(40, 30), thresholds=(1,))
    bad = Netlist(net.inputs, (net.layers[0], replace(net.layers[1], **change(net.layers[1]))), net.head)
    with pytest.raises(NetlistError, match=expect):
        bad.validate()
