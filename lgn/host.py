"""The host side of the board protocol (:class:`lgn.hdl.serial_classifier.SerialClassifier`):
stream samples to a flashed classifier over its UART and read back one class byte per sample."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

import numpy as np

from lgn.errors import LgnError
from lgn.hdl.serial_classifier import input_bytes
from lgn.ir import executor
from lgn.ir.netlist import Netlist


class Link(Protocol):
    """A byte pipe to the board: a ``serial.Serial``, or the simulated UART of the tests."""

    def write(self, data: bytes) -> int | None: ...

    def read(self, size: int) -> bytes: ...


def frames(net: Netlist, bits: np.ndarray) -> np.ndarray:
    """``(n, input_bytes)`` uint8: each sample's encoded input bits, bit ``i`` in bit ``i % 8`` of byte ``i // 8``."""
    packed = np.packbits(np.asarray(bits, dtype=bool), axis=1, bitorder="little")
    assert packed.shape[1] == input_bytes(net)
    return packed


def classify(link: Link, frames: np.ndarray, num_classes: int) -> np.ndarray:
    """Send each frame and read its class byte (one sample in flight at a time)."""
    classes = np.empty(len(frames), dtype=np.int64)
    for i, frame in enumerate(frames):
        link.write(bytes(frame))
        reply = link.read(1)
        if len(reply) != 1:
            raise LgnError(f"the board did not answer sample {i}",
                           "check --port and that the board runs the bitstream of this netlist")
        if reply[0] >= num_classes:
            raise LgnError(f"the board answered class {reply[0]} for sample {i}, but the netlist has {num_classes}",
                           "flash the bitstream built from this netlist")
        classes[i] = reply[0]
    return classes


def run(port: str, net: Netlist, raw: np.ndarray, labels: np.ndarray | None, *, baud: int,
        timeout_s: float = 2.0) -> dict:
    """Classify ``raw`` on the board at ``port``; accuracy, agreement with the reference executor
    and inferences per second as measured from the host (UART time included)."""
    try:
        import serial
    except ImportError:
        raise LgnError("pyserial is not installed", "run `pip install pyserial`") from None
    bits = executor.encode(net.inputs, raw)
    try:
        link = serial.Serial(port, baud, timeout=timeout_s)
    except (serial.SerialException, ValueError) as e:
        raise LgnError(f"cannot open {port} ({e})", "pass the board's UART with --port, e.g. /dev/ttyUSB1") from None
    with link:
        link.reset_input_buffer()
        start = time.perf_counter()
        classes = classify(link, frames(net, bits), net.head.num_classes)
        wall = time.perf_counter() - start
    expected = executor.run_bits(net, bits).classes
    result = {"samples": len(classes), "matches_executor": [int((classes == expected).sum()), len(classes)],
              "inferences_per_s": round(len(classes) / wall, 1), "port": str(Path(port)), "baud": baud}
    if labels is not None:
        result["accuracy"] = float((classes == labels).mean())
    return result
