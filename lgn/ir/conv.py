"""Convolutional stages of the IR, kept shared: logic-tree kernels and 2x2 OR pooling.

A stage reads an image of ``channels`` bits per pixel laid out pixel-major (bit ``(row * cols +
col) * channels + c``) and writes one in the same layout. Its meaning is its unrolling into gate
layers (:meth:`ConvTrees.unroll`, :meth:`OrPool.unroll`), which is what the flat targets run and
what every target must agree with; the streaming engine (:mod:`lgn.hdl.stream`) builds one
instance of each kernel's tree and slides the image through it instead.

:class:`StreamedNetlist` is a network whose first layers are such stages: the input encoding,
the stages, and a dense :class:`~lgn.ir.netlist.Netlist` reading the last stage's image as its
input bits. :meth:`StreamedNetlist.flat` is the plain netlist it means.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lgn.ir import ops
from lgn.ir.netlist import GateLayer, InputEncoding, Netlist, NetlistError, shifted

OR = ops.NAMES.index("OR")


def tree_levels(depth: int) -> list[slice]:
    """Where each level of a tree of ``depth`` sits among its ``2**depth - 1`` gates stored level
    by level from the leaves: level ``l`` holds ``2**(depth - 1 - l)`` gates."""
    ends = np.cumsum([1 << (depth - 1 - level) for level in range(depth)])
    return [slice(int(end - (1 << (depth - 1 - level))), int(end)) for level, end in enumerate(ends)]


def window_sources(image: tuple[int, int], kernel: int, channels: int, leaves: np.ndarray) -> np.ndarray:
    """``(positions, kernels, leaves)``: the input bit leaf ``(dy, dx, channel)`` (``leaves``:
    ``(kernels, leaves, 3)``) reads at each valid window position, in raster order."""
    oy, ox = np.meshgrid(np.arange(image[0] - kernel + 1), np.arange(image[1] - kernel + 1), indexing="ij")
    dy, dx, c = (np.asarray(leaves)[..., i].astype(np.int64) for i in range(3))
    pixel = (oy.reshape(-1, 1, 1) + dy) * image[1] + ox.reshape(-1, 1, 1) + dx
    return pixel * channels + c


@dataclass(frozen=True)
class ConvTrees:
    """``kernels`` logic trees over every ``kernel x kernel`` window (valid windows, stride 1).

    ``leaves[k, j]`` is ``(dy, dx, channel)``: leaf ``j`` of kernel ``k`` reads that bit of the
    window's pixel ``(dy, dx)``. ``ops[k]`` holds the tree's gates level by level from the leaves:
    level ``l`` has ``2**(depth - 1 - l)`` gates, gate ``i`` reading the level below's outputs
    ``2i`` (pin a) and ``2i + 1`` (pin b), the leaves being level ``-1``. Output channel ``k`` is
    kernel ``k``'s root.
    """

    image: tuple[int, int]
    channels: int
    kernel: int
    leaves: np.ndarray  # int32 (kernels, 2**depth, 3)
    ops: np.ndarray     # uint8 (kernels, 2**depth - 1)

    @property
    def kernels(self) -> int:
        return self.leaves.shape[0]

    @property
    def depth(self) -> int:
        return self.leaves.shape[1].bit_length() - 1

    @property
    def out_image(self) -> tuple[int, int]:
        return self.image[0] - self.kernel + 1, self.image[1] - self.kernel + 1

    @property
    def out_channels(self) -> int:
        return self.kernels

    @property
    def num_gates(self) -> int:
        """Gates once unrolled: the tree at every position."""
        return self.out_image[0] * self.out_image[1] * self.ops.size

    def level_ops(self) -> list[np.ndarray]:
        """Per level from the leaves, ``(kernels, gates)`` op codes."""
        return [self.ops[:, level] for level in tree_levels(self.depth)]

    def validate(self) -> "ConvTrees":
        rows, cols = self.image
        if self.leaves.ndim != 3 or self.leaves.shape[2] != 3 or self.leaves.shape[1] < 2 \
                or self.leaves.shape[1] & (self.leaves.shape[1] - 1):
            raise NetlistError(f"conv leaves of shape {self.leaves.shape}: (kernels, 2**depth, 3) wanted")
        if self.ops.shape != (self.kernels, self.leaves.shape[1] - 1) or self.ops.max(initial=0) >= ops.NUM_OPS:
            raise NetlistError(f"conv ops of shape {self.ops.shape} for {self.kernels} trees of depth {self.depth}")
        if not 1 <= self.kernel <= min(rows, cols):
            raise NetlistError(f"a {self.kernel}x{self.kernel} window does not fit a {rows}x{cols} image")
        dy, dx, c = self.leaves[..., 0], self.leaves[..., 1], self.leaves[..., 2]
        if dy.min() < 0 or dx.min() < 0 or max(dy.max(), dx.max()) >= self.kernel or c.min() < 0 \
                or c.max() >= self.channels:
            raise NetlistError(f"a conv leaf reads outside its {self.kernel}x{self.kernel}x{self.channels} window")
        return self

    def leaf_sources(self) -> np.ndarray:
        """``(positions, kernels, leaves)``: the input bit each leaf reads at each output position."""
        return window_sources(self.image, self.kernel, self.channels, self.leaves)

    def unroll(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Gate layers ``(op, a, b)``, each reading the one before (the first the stage's input):
        one per tree level, level ``l``'s gate ``i`` of kernel ``k`` at position ``p`` at index
        ``(p * kernels + k) * n_l + i``, so the root level comes out pixel-major, channels adjacent."""
        leaves = self.leaf_sources()
        positions = leaves.shape[0]
        layers = []
        for level, op in enumerate(self.level_ops()):
            n = op.shape[1]
            below = leaves if level == 0 else np.arange(positions * self.kernels * 2 * n).reshape(positions, self.kernels, 2 * n)
            layers.append((np.broadcast_to(op, (positions, *op.shape)).reshape(-1).astype(np.uint8),
                           below[..., 0::2].reshape(-1).astype(np.int32), below[..., 1::2].reshape(-1).astype(np.int32)))
        return layers


@dataclass(frozen=True)
class OrPool:
    """The OR of every 2x2 block of each channel, stride 2 (an odd last row or column dropped)."""

    image: tuple[int, int]
    channels: int

    @property
    def out_image(self) -> tuple[int, int]:
        return self.image[0] // 2, self.image[1] // 2

    @property
    def out_channels(self) -> int:
        return self.channels

    @property
    def num_gates(self) -> int:
        return 3 * self.out_image[0] * self.out_image[1] * self.channels

    def validate(self) -> "OrPool":
        if min(self.image) < 2 or self.channels < 1:
            raise NetlistError(f"2x2 pooling of a {self.image[0]}x{self.image[1]} image of {self.channels} channels")
        return self

    def corners(self) -> np.ndarray:
        """``(4, outputs)``: the input bits each output ORs, top-left, top-right, bottom-left, bottom-right."""
        oy, ox = np.meshgrid(np.arange(self.out_image[0]), np.arange(self.out_image[1]), indexing="ij")
        c = np.arange(self.channels)
        return np.stack([(((2 * oy + dy) * self.image[1] + 2 * ox + dx).reshape(-1, 1) * self.channels + c).reshape(-1)
                         for dy in (0, 1) for dx in (0, 1)])

    def unroll(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Two gate layers: each output's two rows ORed (outputs ``2j``, ``2j + 1``), then their OR."""
        src = self.corners()
        n = src.shape[1]
        rows_a, rows_b = np.stack([src[0], src[2]], 1).reshape(-1), np.stack([src[1], src[3]], 1).reshape(-1)
        pair = np.arange(2 * n, dtype=np.int32)
        return [(np.full(2 * n, OR, np.uint8), rows_a.astype(np.int32), rows_b.astype(np.int32)),
                (np.full(n, OR, np.uint8), pair[0::2], pair[1::2])]


Stage = ConvTrees | OrPool


@dataclass(frozen=True)
class StreamedNetlist:
    """Convolutional ``stages`` over the image ``inputs`` encodes (``image``, ``inputs.width /
    pixels`` bits per pixel), then ``dense``, whose input bits are the last stage's output (its
    encoding the identity: bit ``i`` is ``x[i] > 0.5``)."""

    inputs: InputEncoding
    image: tuple[int, int]
    stages: tuple[Stage, ...]
    dense: Netlist

    @property
    def channels(self) -> int:
        return self.inputs.width // (self.image[0] * self.image[1])

    def validate(self) -> "StreamedNetlist":
        image, channels = self.image, self.channels
        if channels * image[0] * image[1] != self.inputs.width or not self.stages:
            raise NetlistError(f"{self.inputs.width} input bits are no {image[0]}x{image[1]} image, or no stages")
        for n, stage in enumerate(self.stages):
            if (stage.image, stage.channels) != (tuple(image), channels):
                raise NetlistError(f"stage {n} reads a {stage.image} image of {stage.channels} channels, "
                                   f"but its input is {image} of {channels}")
            stage.validate()
            image, channels = stage.out_image, stage.out_channels
        width = image[0] * image[1] * channels
        identity = self.dense.inputs
        if identity.width != width or not np.array_equal(identity.feature, np.arange(width)) \
                or not (identity.threshold == np.float32(0.5)).all():
            raise NetlistError(f"the dense part must read the last stage's {width} bits as they are")
        self.dense.validate()
        return self

    def _front(self) -> tuple[list[GateLayer], int]:
        """The stages unrolled into global gate layers, and the first bit of the last one's outputs."""
        layers, start, width = [], 0, self.inputs.width
        for stage in self.stages:
            for op, a, b in stage.unroll():
                layers.append(GateLayer(op, a + np.int32(start), b + np.int32(start)))
                start, width = start + width, len(op)
        return layers, start

    def flat(self) -> Netlist:
        """The plain netlist this one means: the stages unrolled, then the dense layers (their
        bit ``i`` is the flat netlist's bit ``i`` + the first bit of the last stage's outputs),
        its meta the dense part's plus the stages (:func:`stages_meta`) under ``conv_stages``."""
        layers, start = self._front()
        layers += [shifted(layer, start) for layer in self.dense.layers]
        head = replace(self.dense.head, bits=(self.dense.head.bits + np.int32(start)).astype(np.int32))
        meta = dict(self.dense.meta) | {CONV_STAGES: stages_meta(self.stages)}
        return Netlist(self.inputs, tuple(layers), head, meta).validate()

    @classmethod
    def from_flat(cls, net: Netlist) -> "StreamedNetlist":
        """The streamed netlist a :meth:`flat` netlist came from (its stages read from its meta);
        :class:`NetlistError` if it has none, or its first layers are not their unrolling."""
        if CONV_STAGES not in net.meta:
            raise NetlistError("the netlist keeps no convolutional stages (compiled without --stream)")
        stages = stages_from_meta(net.meta[CONV_STAGES])
        probe = cls(net.inputs, tuple(stages[0].image), stages, net)  # the dense part is filled below
        front, start = probe._front()
        if len(net.layers) <= len(front) or any(
                not isinstance(got, GateLayer) or not all(np.array_equal(getattr(got, f), getattr(want, f)) for f in ("op", "a", "b"))
                for got, want in zip(net.layers, front)):
            raise NetlistError("the netlist's first layers are not the unrolling of its convolutional stages")
        width = front[-1].size
        dense = Netlist(identity_inputs(width), tuple(shifted(layer, -start) for layer in net.layers[len(front):]),
                        replace(net.head, bits=(net.head.bits - np.int32(start)).astype(np.int32)),
                        {k: v for k, v in net.meta.items() if k != CONV_STAGES})
        return replace(probe, dense=dense).validate()


CONV_STAGES = "conv_stages"  # the flat netlist's meta key holding its stages


def stages_meta(stages: tuple[Stage, ...]) -> list[dict]:
    """The stages as JSON (kept in a flat netlist's meta, so its file carries them)."""
    return [{"kind": "or_pool", "image": list(s.image), "channels": s.channels} if isinstance(s, OrPool) else
            {"kind": "conv_trees", "image": list(s.image), "channels": s.channels, "kernel": s.kernel,
             "leaves": s.leaves.tolist(), "ops": s.ops.tolist()} for s in stages]


def stages_from_meta(entries: list) -> tuple[Stage, ...]:
    """Inverse of :func:`stages_meta`; :class:`NetlistError` on anything else."""
    try:
        stages = tuple(OrPool(tuple(e["image"]), int(e["channels"])) if e["kind"] == "or_pool" else
                       ConvTrees(tuple(e["image"]), int(e["channels"]), int(e["kernel"]),
                                 np.asarray(e["leaves"], np.int32), np.asarray(e["ops"], np.uint8))
                       for e in entries)
    except (KeyError, TypeError, ValueError) as e:
        raise NetlistError(f"unreadable convolutional stages ({e})") from None
    if not stages:
        raise NetlistError("no convolutional stages")
    return stages


def identity_inputs(width: int) -> InputEncoding:
    """The encoding of bits read as they are: bit ``i`` is ``x[i] > 0.5``."""
    return InputEncoding(width, np.arange(width, dtype=np.int32), np.full(width, 0.5, np.float32))
