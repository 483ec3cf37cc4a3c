"""lgn.host against the serial classifier top, end to end under cocotb: the host code users run
on a serial port streams samples over the simulated UART and must read back the executor's classes."""

import numpy as np
import pytest

from lgn import host
from lgn.errors import LgnError
from lgn.hdl.design import Design
from lgn.hdl.emit import to_verilog
from lgn.hdl.serial_classifier import SerialClassifier
from lgn.ir import executor
from lgn.sim.runner import simulate_host
from lgn.testing import random_netlist

DIVISOR = 4


@pytest.mark.parametrize("features, classes, pipeline, fold", [
    (7, 4, 0, "none"), (4, 2, 1, "none"),  # combinational and pipelined, 3- and 1-byte frames
    (5, 3, 0, "all"),                      # sequenced: a folded first layer, started on the last byte
])
def test_host_reads_the_executors_classes_over_the_uart(tmp_path, features, classes, pipeline, fold):
    net = random_netlist(np.random.default_rng(features), features=features, per_feature=3, widths=(30, 24),
                         classes=classes, group=6, dense=(0,) if fold == "all" else ())
    design = Design.plan(net, pipeline, fold, lanes=(4, 4))
    assert design.folded == (fold == "all")
    bits = np.random.default_rng(5).random((40, net.inputs.width)) < 0.5
    to_verilog(SerialClassifier(design, DIVISOR, settle_cycles=3), "serial_top", tmp_path / "top.v")
    got = simulate_host(tmp_path / "top.v", "serial_top", host.frames(net, bits), classes, DIVISOR,
                        build_dir=tmp_path / "build", log=tmp_path / "sim.log")
    np.testing.assert_array_equal(got, executor.run_bits(net, bits).classes)


class SilentBoard:
    def write(self, data):
        return len(data)

    def read(self, size):
        return b""


def test_a_board_that_does_not_answer_is_named(tmp_path):
    with pytest.raises(LgnError, match="did not answer sample 0"):
        host.classify(SilentBoard(), np.zeros((3, 2), np.uint8), 10)


def test_an_unopenable_port_is_one_clear_error():
    net = random_netlist(np.random.default_rng(0))
    with pytest.raises(LgnError, match="cannot open /dev/nonexistent-lgn-port"):
        host.run("/dev/nonexistent-lgn-port", net, np.zeros((2, 12), np.float32), None, baud=115200)


def test_host_reads_a_streamed_conv_networks_classes_over_the_uart(tmp_path):
    """The streaming engine behind the serial top: no sample register, each byte's pixels stream
    through the conv stages as it arrives (padding dropped after an image's last), the class goes back."""
    from lgn.testing import random_streamed

    for seed in range(200):  # a small image: a few UART frames per sample; pixels across bytes, padding
        streamed, _ = random_streamed(np.random.default_rng(seed), max_blocks=1)
        if (streamed.inputs.width <= 160 and streamed.dense.head.num_classes > 2 and streamed.channels in (3, 5)
                and streamed.inputs.width % 8):
            break
    else:
        raise AssertionError("no such network drawn")
    design = Design.streamed(streamed)
    net = design.net
    bits = np.random.default_rng(6).random((24, net.inputs.width)) < 0.5
    want = executor.run_bits(net, bits).classes
    assert len(set(want.tolist())) > 1  # answers that tell samples apart
    to_verilog(SerialClassifier(design, DIVISOR, settle_cycles=3), "serial_top", tmp_path / "top.v")
    got = simulate_host(tmp_path / "top.v", "serial_top", host.frames(net, bits), net.head.num_classes, DIVISOR,
                        build_dir=tmp_path / "build", log=tmp_path / "sim.log")
    np.testing.assert_array_equal(got, want)
