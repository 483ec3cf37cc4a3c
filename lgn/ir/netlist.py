"""The IR netlist: the contract between lgn's front ends (model lowering) and its targets.

Bits are addressed in one flat space: the input bits come first (``0 .. inputs.width-1``),
then each layer's outputs in layer order. A layer may read any bit before its own first
output, which allows skip and residual wiring. The head reads any bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from lgn.ir import ops, tables


class NetlistError(ValueError):
    """The netlist's structure is inconsistent (the message says where)."""


@dataclass(frozen=True)
class InputEncoding:
    """Bit ``i`` of the input is ``raw[feature[i]] > threshold[i]`` (compared in float32)."""

    num_features: int
    feature: np.ndarray    # int32 (width,)
    threshold: np.ndarray  # float32 (width,)

    @property
    def width(self) -> int:
        return len(self.feature)


@dataclass(frozen=True)
class GateLayer:
    """Output ``j`` is ``ops.output(op[j], bit[a[j]], bit[b[j]])``."""

    op: np.ndarray  # uint8 (n,)
    a: np.ndarray   # int32 (n,), global bit indices
    b: np.ndarray   # int32 (n,)

    @property
    def size(self) -> int:
        return len(self.op)

    def reads(self, alive: np.ndarray) -> np.ndarray:
        """The bits the outputs selected by ``alive`` read through pins their ops use."""
        return np.concatenate([self.a[alive & ops.USES_A[self.op]], self.b[alive & ops.USES_B[self.op]]])

    def validate(self, name: str, start: int) -> None:
        _check_vector(f"{name}.op", self.op, np.uint8)
        if self.size == 0:
            raise NetlistError(f"{name} has no gates")
        if self.op.max() >= ops.NUM_OPS:
            raise NetlistError(f"{name} has an op code above {ops.NUM_OPS - 1}")
        for pin in ("a", "b"):
            _check_sources(f"{name}.{pin}", getattr(self, pin), start, length=self.size)


@dataclass(frozen=True)
class ThresholdLayer:
    """Output ``j`` is ``popcount(bit[src[p]] XNOR w[p] for p in row j) >= t[j]``.

    Row ``j`` holds pins ``ptr[j] .. ptr[j+1]-1`` (compressed rows: fan-in may differ between
    rows). A pin with ``w = 1`` counts its bit, one with ``w = 0`` the bit's complement. This one
    node covers binary neurons (BatchNorm folded into ``t``), tiled-bit rows (equal pins, other
    ``t``), AND (``t`` = fan-in) and OR (``t = 1``). ``t`` lies in ``0 .. fan-in + 1``: 0 is
    constant 1, fan-in + 1 constant 0.
    """

    ptr: np.ndarray  # int32 (n + 1,)
    src: np.ndarray  # int32 (pins,), global bit indices
    w: np.ndarray    # uint8 (pins,), 0 or 1
    t: np.ndarray    # int32 (n,)

    @property
    def size(self) -> int:
        return len(self.t)

    @classmethod
    def from_units(cls, units) -> "ThresholdLayer":
        """A layer from ``(src, w, t)`` per unit (array-likes of its pins' bits and weights)."""
        units = [(np.asarray(src, np.int32), np.asarray(w, np.uint8), int(t)) for src, w, t in units]
        return cls(np.concatenate([[0], np.cumsum([len(src) for src, _, _ in units])]).astype(np.int32),
                   np.concatenate([src for src, _, _ in units] or [np.zeros(0)]).astype(np.int32),
                   np.concatenate([w for _, w, _ in units] or [np.zeros(0)]).astype(np.uint8),
                   np.array([t for _, _, t in units], dtype=np.int32))

    @property
    def fan_in(self) -> np.ndarray:
        """Pins per row, int64 ``(n,)``."""
        return np.diff(self.ptr).astype(np.int64)

    def row_of_pin(self) -> np.ndarray:
        """The row each pin belongs to, int64 ``(pins,)``."""
        return np.repeat(np.arange(self.size), self.fan_in)

    def reads(self, alive: np.ndarray) -> np.ndarray:
        """The bits the rows selected by ``alive`` read (constant rows read nothing they need)."""
        needed = alive & (self.t > 0) & (self.t <= self.fan_in)
        return self.src[needed[self.row_of_pin()]]

    def validate(self, name: str, start: int) -> None:
        _check_vector(f"{name}.t", self.t, np.int32)
        if self.size == 0:
            raise NetlistError(f"{name} has no threshold units")
        _check_vector(f"{name}.ptr", self.ptr, np.int32, length=self.size + 1)
        if self.ptr[0] != 0 or (np.diff(self.ptr) < 0).any():
            raise NetlistError(f"{name}.ptr must start at 0 and never decrease")
        _check_sources(f"{name}.src", self.src, start, length=int(self.ptr[-1]))
        _check_vector(f"{name}.w", self.w, np.uint8, length=len(self.src))
        if len(self.w) and self.w.max() > 1:
            raise NetlistError(f"{name}.w holds a value other than 0 and 1")
        if (self.t < 0).any() or (self.t > self.fan_in + 1).any():
            raise NetlistError(f"{name}.t must lie in 0 .. fan-in + 1 for every row")


@dataclass(frozen=True)
class LutLayer:
    """Output ``j`` is bit ``sum(bit[src[j, p]] << p)`` of ``table[j]``: a k-input lookup table
    (``k`` = ``src.shape[1]``, 1 to 6) per node; see :mod:`lgn.ir.tables` for the table's layout.

    A gate layer is the ``k = 2`` case with its table named by an op code; a 4-input node is one
    LUT4 cell on iCE40 and ECP5. Pins the table ignores may read any earlier bit.
    """

    src: np.ndarray    # int32 (n, k), global bit indices
    table: np.ndarray  # uint64 (n,), only the low 2**k bits set

    @property
    def size(self) -> int:
        return len(self.table)

    @property
    def k(self) -> int:
        return self.src.shape[1]

    def used_pins(self) -> np.ndarray:
        """``(n, k)`` bool: the pins each node's table depends on."""
        return tables.uses(tables.expand(self.table, self.k), self.k)

    def reads(self, alive: np.ndarray) -> np.ndarray:
        """The bits the nodes selected by ``alive`` read through pins their tables use."""
        return self.src[alive[:, None] & self.used_pins()]

    def validate(self, name: str, start: int) -> None:
        _check_vector(f"{name}.table", self.table, np.uint64)
        if self.size == 0:
            raise NetlistError(f"{name} has no lookup tables")
        src = self.src
        if not isinstance(src, np.ndarray) or src.ndim != 2 or src.dtype != np.int32 or len(src) != self.size:
            raise NetlistError(f"{name}.src must be a ({self.size}, k) int32 array")
        if not 1 <= self.k <= tables.MAX_INPUTS:
            raise NetlistError(f"{name} has {self.k}-input tables; k must lie in 1..{tables.MAX_INPUTS}")
        if self.k < tables.MAX_INPUTS and (self.table >> np.uint64(1 << self.k)).any():
            raise NetlistError(f"{name}.table sets bits above the {1 << self.k} entries of a {self.k}-input table")
        _check_sources(f"{name}.src", src.reshape(-1), start, length=src.size)


Layer = GateLayer | ThresholdLayer | LutLayer
#: Every layer kind of the IR, for code that checks membership.
LAYER_KINDS = (GateLayer, ThresholdLayer, LutLayer)


@dataclass(frozen=True)
class GroupSumHead:
    """Class ``c``'s score is the popcount of ``bits[c*g:(c+1)*g]`` with ``g = len(bits) // num_classes``.

    The predicted class is the argmax of the scores, ties going to the lowest class index.
    ``tau`` is the training temperature, kept for reference: it does not change the argmax.
    """

    num_classes: int
    bits: np.ndarray  # int32 (num_classes * g,)
    tau: float = 1.0

    @property
    def group_size(self) -> int:
        return len(self.bits) // self.num_classes

    def distinct_bits(self) -> tuple[np.ndarray, np.ndarray]:
        """The bits the head reads, each once and in ascending order, and for every head position
        the index of its bit among them (a bit may count in several positions)."""
        distinct, position = np.unique(self.bits, return_inverse=True)
        return distinct, position


@dataclass(frozen=True)
class Netlist:
    inputs: InputEncoding
    layers: tuple[Layer, ...]
    head: GroupSumHead
    meta: dict = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        """Outputs of all layers: gates and threshold units."""
        return sum(layer.size for layer in self.layers)

    @property
    def num_gates(self) -> int:
        return sum(layer.size for layer in self.layers if isinstance(layer, GateLayer))

    @property
    def num_thresholds(self) -> int:
        return sum(layer.size for layer in self.layers if isinstance(layer, ThresholdLayer))

    @property
    def num_luts(self) -> int:
        return sum(layer.size for layer in self.layers if isinstance(layer, LutLayer))

    def describe(self) -> str:
        """``"2943 gates"``, ``"456 threshold units"``, ``"800 LUT4 nodes"`` or a mix: the network's
        size in its own units."""
        luts = {}
        for layer in self.layers:
            if isinstance(layer, LutLayer):
                luts[layer.k] = luts.get(layer.k, 0) + layer.size
        parts = [f"{n} {what}" for n, what in ((self.num_gates, "gates"), (self.num_thresholds, "threshold units"),
                                               *((luts[k], f"LUT{k} nodes") for k in sorted(luts))) if n]
        return ", ".join(parts) or "no nodes"

    @property
    def num_bits(self) -> int:
        return self.inputs.width + self.num_nodes

    def layer_offsets(self) -> list[int]:
        """Global index of each layer's first output bit."""
        offsets, at = [], self.inputs.width
        for layer in self.layers:
            offsets.append(at)
            at += layer.size
        return offsets

    def last_reads(self) -> np.ndarray:
        """Per bit, the last layer that reads it through a pin its node uses, counting only nodes
        something reads in turn; the head's reads count as layer ``len(layers)``; -1 for bits
        nothing reads (dead)."""
        last = np.full(self.num_bits, -1, dtype=np.int64)
        last[self.head.bits] = len(self.layers)
        offsets = self.layer_offsets()
        for i in reversed(range(len(self.layers))):
            layer, start = self.layers[i], offsets[i]
            read = layer.reads(last[start:start + layer.size] >= 0)
            last[read] = np.maximum(last[read], i)
        return last

    def validate(self) -> "Netlist":
        """Check shapes, dtypes and index ranges; raise :class:`NetlistError` naming the first fault."""
        enc = self.inputs
        _check_vector("inputs.feature", enc.feature, np.int32)
        _check_vector("inputs.threshold", enc.threshold, np.float32, length=enc.width)
        if enc.num_features < 1 or enc.width < 1:
            raise NetlistError("the input encoding is empty")
        if enc.feature.min() < 0 or enc.feature.max() >= enc.num_features:
            raise NetlistError(f"inputs.feature indexes outside 0..{enc.num_features - 1}")
        if not np.isfinite(enc.threshold).all():
            raise NetlistError("inputs.threshold holds a non-finite value")
        for i, (layer, start) in enumerate(zip(self.layers, self.layer_offsets())):
            if not isinstance(layer, LAYER_KINDS):
                raise NetlistError(f"layer {i} is a {type(layer).__name__}, not a gate, threshold or LUT layer")
            layer.validate(f"layers.{i}", start)
        head = self.head
        _check_vector("head.bits", head.bits, np.int32)
        if head.num_classes < 2:
            raise NetlistError("the head needs at least two classes")
        if not (np.isfinite(head.tau) and head.tau > 0):
            raise NetlistError(f"the head's temperature tau is {head.tau}, not a positive number")
        if len(head.bits) == 0 or len(head.bits) % head.num_classes:
            raise NetlistError(f"the head's {len(head.bits)} bits do not split into "
                               f"{head.num_classes} equal groups")
        if head.bits.min() < 0 or head.bits.max() >= self.num_bits:
            raise NetlistError(f"the head reads bits outside 0..{self.num_bits - 1}")
        return self


def feed_forward(inputs: InputEncoding, layers: list, num_classes: int, tau: float = 1.0,
                 meta: dict | None = None) -> Netlist:
    """A plain stack of layers, validated: each gate layer's ``(op, a, b)`` pins and each
    :class:`ThresholdLayer`'s or :class:`LutLayer`'s ``src`` index the previous layer's outputs
    (the input bits for the first), and the head reads the last layer's outputs in order."""
    built, start, width = [], 0, inputs.width
    for layer in layers:
        if isinstance(layer, (ThresholdLayer, LutLayer)):
            built.append(shifted(layer, start))
        else:
            op, a, b = layer
            built.append(GateLayer(np.asarray(op, np.uint8), np.asarray(a, np.int32) + np.int32(start),
                                   np.asarray(b, np.int32) + np.int32(start)))
        start, width = start + width, built[-1].size
    head = GroupSumHead(num_classes, np.arange(start, start + width, dtype=np.int32), float(tau))
    return Netlist(inputs, tuple(built), head, dict(meta or {})).validate()


def shifted(layer: Layer, shift: int) -> Layer:
    """``layer`` reading every bit index moved by ``shift``."""
    if isinstance(layer, GateLayer):
        return GateLayer(layer.op, (layer.a + np.int32(shift)).astype(np.int32), (layer.b + np.int32(shift)).astype(np.int32))
    return replace(layer, src=(layer.src + np.int32(shift)).astype(np.int32))


def _check_sources(name: str, src: np.ndarray, start: int, length: int) -> None:
    """``src`` indexes only bits before ``start``, the layer's first output."""
    _check_vector(name, src, np.int32, length=length)
    if len(src) and (src.min() < 0 or src.max() >= start):
        bad = int(src.max()) if src.max() >= start else int(src.min())
        raise NetlistError(f"{name} reads bit {bad}, but only bits 0..{start - 1} come before it")


def _check_vector(name: str, arr: np.ndarray, dtype: type, length: int | None = None) -> None:
    if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != dtype:
        got = f"{arr.dtype}{list(arr.shape)}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise NetlistError(f"{name} must be a 1-D {np.dtype(dtype).name} array, got {got}")
    if length is not None and len(arr) != length:
        raise NetlistError(f"{name} has {len(arr)} entries, expected {length}")
