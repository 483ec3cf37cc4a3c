"""The reference executor: numpy, bit-packed 64 samples to a word. It defines what the IR means."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lgn.ir import ops, tables
from lgn.ir.netlist import GateLayer, InputEncoding, LutLayer, Netlist, ThresholdLayer

_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def samples(encoding: InputEncoding, raw: np.ndarray) -> np.ndarray:
    """``raw`` as a C-contiguous float32 ``(n, num_features)`` array; ``ValueError`` if it is not that shape."""
    raw = np.ascontiguousarray(raw, dtype=np.float32)
    if raw.ndim != 2 or raw.shape[1] != encoding.num_features:
        raise ValueError(f"expected samples with {encoding.num_features} features, "
                         f"got an array of shape {raw.shape}")
    return raw


def encode(encoding: InputEncoding, raw: np.ndarray) -> np.ndarray:
    """``(n, width)`` bool input bits for ``(n, num_features)`` raw samples."""
    return samples(encoding, raw)[:, encoding.feature] > encoding.threshold


def pack(bits: np.ndarray) -> np.ndarray:
    """``(n, w)`` bools to ``(w, ceil(n/64))`` uint64 words; sample ``s`` is bit ``s % 64`` of word ``s // 64``."""
    n, w = bits.shape
    padded = np.zeros((w, -(-n // 64) * 64), dtype=bool)
    padded[:, :n] = bits.T
    return np.packbits(padded, axis=1, bitorder="little").view("<u8")


def unpack(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack`: ``(w, words)`` uint64 to ``(n, w)`` bools."""
    return np.unpackbits(words.astype("<u8").view(np.uint8), axis=1, bitorder="little")[:, :n].T.astype(bool)


def evaluate_bits(net: Netlist, bits: np.ndarray) -> np.ndarray:
    """All bits of the netlist, packed: ``(num_bits, words)`` uint64 for ``(n, width)`` input bits."""
    values = np.empty((net.num_bits, -(-len(bits) // 64)), dtype=np.uint64)
    values[: net.inputs.width] = pack(bits)
    for layer, start in zip(net.layers, net.layer_offsets()):
        evaluate = {GateLayer: _gates, ThresholdLayer: _thresholds, LutLayer: _luts}[type(layer)]
        values[start:start + layer.size] = evaluate(layer, values, len(bits))
    return values


def _gates(layer: GateLayer, values: np.ndarray, n: int) -> np.ndarray:
    a, b = values[layer.a], values[layer.b]
    na, nb = ~a, ~b
    masks = np.where(ops.truth_tables().astype(bool)[layer.op], _ONES, np.uint64(0))[:, :, None]  # (n, 4, 1)
    return (na & nb & masks[:, 0]) | (na & b & masks[:, 1]) | (a & nb & masks[:, 2]) | (a & b & masks[:, 3])


_LUT_WORDS = 1 << 22  # table entries x sample words per step of _luts: bounds its memory (32 MiB)


def _luts(layer: LutLayer, values: np.ndarray, n: int) -> np.ndarray:
    """Each table as a tree of multiplexers, highest pin first: the entries for ``x[p] = 0`` and
    ``x[p] = 1`` are the table's lower and upper halves, so each step halves the entries."""
    words = values.shape[1]
    out = np.empty((layer.size, words), dtype=np.uint64)
    step = max(1, _LUT_WORDS // ((1 << layer.k) * words))
    for s in range(0, layer.size, step):
        src = layer.src[s:s + step]
        v = np.where(tables.expand(layer.table[s:s + step], layer.k)[:, :, None], _ONES, np.uint64(0))
        for p in reversed(range(layer.k)):
            half = v.shape[1] // 2
            x = values[src[:, p]][:, None, :]
            v = (x & v[:, half:]) | (~x & v[:, :half])
        out[s:s + step] = v[:, 0]
    return out


_CHUNK = 8192  # samples per matrix product: bounds the unpacked bits' memory


def _thresholds(layer: ThresholdLayer, values: np.ndarray, n: int) -> np.ndarray:
    """Each row's count as a product: ``popcount = #(w = 0) + sum over pins of (2w - 1) * bit``,
    with the bits unpacked to float32 (exact: counts stay far below 2**24)."""
    reads, column = np.unique(layer.src, return_inverse=True)
    row = layer.row_of_pin()
    signs = np.zeros((len(reads), layer.size), dtype=np.float32)
    np.add.at(signs, (column, row), 2.0 * layer.w - 1.0)
    base = np.bincount(row, weights=1 - layer.w, minlength=layer.size)
    packed, out = values[reads], np.empty((n, layer.size), dtype=bool)
    for s in range(0, n, _CHUNK):
        x = unpack(packed[:, s // 64:(s + _CHUNK) // 64], min(_CHUNK, n - s))
        out[s:s + _CHUNK] = x.astype(np.float32) @ signs + base >= layer.t
    return pack(out)


@dataclass(frozen=True)
class Prediction:
    scores: np.ndarray   # int64 (n, num_classes): group popcounts
    classes: np.ndarray  # int64 (n,): argmax, lowest index on ties


def run_bits(net: Netlist, bits: np.ndarray) -> Prediction:
    """Class scores and classes for ``(n, width)`` input bits."""
    head = net.head
    hits = unpack(evaluate_bits(net, bits)[head.bits], len(bits))
    scores = hits.reshape(len(bits), head.num_classes, head.group_size).sum(-1, dtype=np.int64)
    return Prediction(scores, scores.argmax(axis=1))


def run(net: Netlist, raw: np.ndarray) -> Prediction:
    """Class scores and classes for ``(n, num_features)`` raw samples."""
    return run_bits(net, encode(net.inputs, raw))
