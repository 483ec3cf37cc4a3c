"""The streaming engine: a convolutional network that keeps its weight sharing in hardware.

Pixels arrive one per clock in raster order. Each :class:`~lgn.ir.conv.ConvTrees` stage keeps
the last ``kernel - 1`` rows in a line buffer (a shift register of pixels), builds the window
around the pixel arriving, and evaluates one instance of each kernel's tree on it; each
:class:`~lgn.ir.conv.OrPool` stage keeps one row of its input and ORs each 2x2 block as its last
pixel arrives. Stages pass a stream of pixels (bits and a valid strobe, registered) to the next,
so LUTs grow with the kernels, not with the positions. The last stage's image collects in a
register and the dense part (a :class:`~lgn.hdl.classifier.Classifier` of the streamed netlist's
dense netlist) classifies it when its last pixel is in.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from lgn.hdl.classifier import Classifier, latencies
from lgn.hdl.core import GATE_EXPRESSIONS
from lgn.hdl.delay import delay
from lgn.hdl.head import score_width
from lgn.ir.conv import ConvTrees, OrPool, StreamedNetlist


def stream_signature(net: StreamedNetlist) -> wiring.Signature:
    """The ports of :class:`StreamClassifier` for ``net``.

    Members
    -------
    pixel : In(channels)
        The encoded bits of one pixel: bit ``c`` of pixel ``(row, col)`` is input bit
        ``(row * cols + col) * channels + c`` of the IR's input encoding.
    valid : In(1)
        ``pixel`` holds the next pixel in raster order (row by row, left to right); an image is
        ``rows * cols`` valid clocks, gaps allowed, the next image following at once.
    done : Out(1)
        High for one clock when ``scores`` and ``cls`` hold the result of the last image.
    scores : Out(ArrayLayout(score_width, num_classes))
        Group popcounts, equal to the reference executor's on the flat netlist.
    cls : Out(range(num_classes))
        The argmax of ``scores``, lowest index on ties.
    """
    head = net.dense.head
    return wiring.Signature({
        "pixel": In(net.channels), "valid": In(1), "done": Out(1),
        "scores": Out(data.ArrayLayout(score_width(head), head.num_classes)), "cls": Out(range(head.num_classes)),
    })


class StreamClassifier(wiring.Component):
    """``net`` (:class:`~lgn.ir.conv.StreamedNetlist`) as a streaming engine; ports in :func:`stream_signature`.

    ``pipeline`` registers the dense part every K layers as :class:`Classifier` does. :attr:`latency`
    bounds the clocks from the valid clock of an image's last pixel to its ``done`` (equal to it
    unless a pooling stage drops an odd last row or column).
    """

    def __init__(self, net: StreamedNetlist, pipeline: int = 0) -> None:
        self._net = net.validate()
        self._dense = Classifier(net.dense, pipeline)
        self.latency = len(net.stages) + 1 + self._dense.latency  # a register per stage, the collector's
        super().__init__(stream_signature(net))

    def elaborate(self, platform) -> Module:
        m = Module()
        bits, valid = self.pixel, self.valid
        for n, stage in enumerate(self._net.stages):
            build = _conv if isinstance(stage, ConvTrees) else _pool
            bits, valid = build(m, stage, bits, valid, f"s{n}")
        last = self._net.stages[-1]
        m.submodules.dense = dense = self._dense
        image, full = _collect(m, last.out_image[0] * last.out_image[1], bits, valid)
        m.d.comb += [dense.x.eq(image), self.scores.eq(dense.scores), self.cls.eq(dense.cls),
                     self.done.eq(delay(m, full, dense.latency, "done"))]
        return m


def stream_cycles(net: StreamedNetlist, pipeline: int) -> int:
    """Clocks from the clock an image's first pixel is valid to its ``done``, pixels arriving
    every clock, the dense part registered every ``pipeline`` layers: a model of the engine's
    valid strobes (each stage registers its output)."""
    times = list(range(net.image[0] * net.image[1]))  # the clock each input pixel is valid
    for stage in net.stages:
        rows, cols = stage.image
        if isinstance(stage, ConvTrees):
            k = stage.kernel
            keep = [t for p, t in enumerate(times) if p // cols >= k - 1 and p % cols >= k - 1]
        else:
            keep = [t for p, t in enumerate(times) if (p // cols) % 2 and (p % cols) % 2
                    and p // cols < rows // 2 * 2 and p % cols < cols // 2 * 2]
        times = [t + 1 for t in keep]
    return times[-1] + 1 + sum(latencies(net.dense, pipeline))


def _raster(m: Module, image: tuple[int, int], valid: Value, name: str) -> tuple[Signal, Signal]:
    """``(row, col)`` of the pixel a stream presents while ``valid``: counters stepped by it."""
    rows, cols = image
    row, col = Signal(range(rows), name=f"{name}_row"), Signal(range(cols), name=f"{name}_col")
    with m.If(valid):
        m.d.sync += col.eq(_next(col, cols))
        with m.If(col == cols - 1):
            m.d.sync += row.eq(_next(row, rows))
    return row, col


def _next(counter: Signal, size: int) -> Value:
    """``counter + 1`` wrapping to 0 after ``size - 1``."""
    return Mux(counter == size - 1, 0, counter + 1)


def _history(m: Module, bits: Value, valid: Value, depth: int, name: str) -> list[Value]:
    """``[bits, the pixel 1 valid clock back, ..., depth clocks back]``: a shift register stepped by ``valid``."""
    taps = [Signal(len(bits), name=f"{name}_{i}") for i in range(depth)]
    with m.If(valid):
        m.d.sync += [tap.eq(prev) for tap, prev in zip(taps, [bits, *taps])]
    return [bits, *taps]


def _conv(m: Module, stage: ConvTrees, bits: Value, valid: Value, name: str) -> tuple[Signal, Signal]:
    cols, k = stage.image[1], stage.kernel
    row, col = _raster(m, stage.image, valid, name)
    back = _history(m, bits, valid, (k - 1) * cols + k - 1, f"{name}_line")
    # window pixel (dy, dx) of the window whose bottom-right pixel arrives now
    window = {(dy, dx): back[(k - 1 - dy) * cols + (k - 1 - dx)] for dy in range(k) for dx in range(k)}
    roots = []
    for kernel in range(stage.kernels):
        level = [window[int(dy), int(dx)][int(c)] for dy, dx, c in stage.leaves[kernel]]
        for ops in stage.level_ops():
            level = [GATE_EXPRESSIONS[int(op)](level[2 * i], level[2 * i + 1]) for i, op in enumerate(ops[kernel])]
        roots.append(level[0])
    out, out_valid = Signal(stage.kernels, name=f"{name}_out"), Signal(name=f"{name}_valid")
    m.d.sync += [out.eq(Cat(*roots)), out_valid.eq(valid & (row >= k - 1) & (col >= k - 1))]
    return out, out_valid


def _pool(m: Module, stage: OrPool, bits: Value, valid: Value, name: str) -> tuple[Signal, Signal]:
    rows, cols = stage.image
    row, col = _raster(m, stage.image, valid, name)
    back = _history(m, bits, valid, cols + 1, f"{name}_line")
    out, out_valid = Signal(stage.channels, name=f"{name}_out"), Signal(name=f"{name}_valid")
    # the block's bottom-right pixel arrives: it, its left, the two above
    m.d.sync += [out.eq(back[0] | back[1] | back[cols] | back[cols + 1]),
                 out_valid.eq(valid & row[0] & col[0] & (row < rows // 2 * 2) & (col < cols // 2 * 2))]
    return out, out_valid


def _collect(m: Module, positions: int, bits: Value, valid: Value) -> tuple[Value, Signal]:
    """The image of ``positions`` pixels in the bit order of the IR (pixel-major) and a strobe, high
    the clock after its last pixel arrived, while it is held."""
    back = _history(m, bits, valid, positions, "image")[1:]  # back[j]: the pixel j + 1 valid clocks ago
    count, full = Signal(range(positions), name="image_count"), Signal(name="image_full")
    m.d.sync += full.eq(valid & (count == positions - 1))
    with m.If(valid):
        m.d.sync += count.eq(_next(count, positions))
    return Cat(*reversed(back)), full
