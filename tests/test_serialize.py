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
        for pin in ("op", "a", "b"):
            assert np.array_equal(getattr(la, pin), getattr(lb, pin))
    assert np.array_equal(a.head.bits, b.head.bits) and a.head.num_classes == b.head.num_classes
    assert a.meta == b.meta


def test_round_trip_is_exact_and_deterministic(rng, tmp_path):
    net = random_netlist(rng)
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
