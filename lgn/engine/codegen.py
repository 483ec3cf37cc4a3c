"""C source for a netlist: bit-sliced, many samples per machine word, straight-line gates.

Each bit of the network lives in a *slot*: a GCC vector of ``WORDS`` uint64 words, i.e. one bit
of ``64 * WORDS`` samples. The generated file has three parts:

1. the input encoding, a generic loop over constant tables: one feature of a block of samples is
   gathered and compared against each of its thresholds, 8 samples per AVX compare;
2. the gates, one C statement each (``s[9] = s[2] & ~s[7];``), split into functions of
   :data:`CHUNK` statements so the compiler's time stays linear in the network size; slots are
   reused once a bit has no readers left, which keeps the working set in cache;
3. the GroupSum head, a carry-save adder tree per class over bit planes (a full adder is five
   word operations for three bits), then per-sample extraction of the binary counts and argmax.
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from lgn.ir import ops
from lgn.ir.netlist import Netlist

WORDS = 4     # uint64 words per slot: 256 samples per pass, one AVX2 register
CHUNK = 2048  # gate statements per generated function

_TYPES = r"""
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX__
#include <immintrin.h>
#endif

typedef uint64_t vw __attribute__((vector_size(WORDS * 8), aligned(WORDS * 8)));
#define BLOCK (64 * WORDS)
"""

_RUNTIME = r"""
/* In-place transpose of a 64x64 bit matrix, bit c of a[r] being element (r, c). */
static void transpose64(uint64_t a[64]) {
    uint64_t m = 0x00000000FFFFFFFFULL;
    for (int j = 32; j != 0; j >>= 1, m ^= m << j) {
        for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
            uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
            a[k] ^= t << j;
            a[k | j] ^= t;
        }
    }
}

/* Bits "feature f > RANK_THRESHOLD[j][f]" of one sample, 64 features to a word. */
static void compare_row(const float *row, const float *t, uint64_t *out) {
    memset(out, 0, NGROUPS * sizeof(uint64_t));
    int f = 0;
#ifdef __AVX__
    for (; f + 8 <= NFEATURES; f += 8) {
        uint64_t byte = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row + f), _mm256_loadu_ps(t + f), _CMP_GT_OQ));
        out[f >> 6] |= byte << (f & 63);
    }
#endif
    for (; f < NFEATURES; f++) out[f >> 6] |= (uint64_t)(row[f] > t[f]) << (f & 63);
}

/* The input bits of samples base .. base+m-1 into their slots: per threshold rank, each sample's
   features are compared in order (8 per AVX compare), then 64 samples x 64 features are
   transposed into one word per feature. */
static void encode(vw *s, const float *x, int64_t base, int64_t m) {
    uint64_t rows[64][NGROUPS];
    uint64_t block[64];
    for (int w = 0; w < WORDS; w++) {
        for (int j = 0; j < NRANKS; j++) {
            for (int k = 0; k < 64; k++) {
                int64_t i = (int64_t)w * 64 + k;
                if (i < m) compare_row(x + (base + i) * NFEATURES, RANK_THRESHOLD + (int64_t)j * NFEATURES, rows[k]);
                else memset(rows[k], 0, sizeof rows[k]);
            }
            for (int g = 0; g < NGROUPS; g++) {
                int lo = RANK_START[j * (NGROUPS + 1) + g], hi = RANK_START[j * (NGROUPS + 1) + g + 1];
                if (lo == hi) continue;
                for (int k = 0; k < 64; k++) block[k] = rows[k][g];
                transpose64(block);
                for (int e = lo; e < hi; e++) ((uint64_t *)&s[ENC_SLOT[e]])[w] = block[ENC_FEATURE[e] & 63];
            }
        }
    }
}

static void decide(const vw *s, int64_t base, int64_t m, int32_t *scores, int64_t *classes) {
    for (int64_t k = 0; k < m; k++) {
        int w = (int)(k >> 6), bit = (int)(k & 63);
        int32_t best = -1;
        int64_t best_class = 0;
        for (int c = 0; c < NCLASSES; c++) {
            int32_t score = 0;
            for (int p = PLANE_START[c]; p < PLANE_START[c + 1]; p++)
                score |= (int32_t)((((const uint64_t *)&s[PLANE_SLOT[p]])[w] >> bit) & 1) << (p - PLANE_START[c]);
            scores[(base + k) * NCLASSES + c] = score;
            if (score > best) { best = score; best_class = c; }
        }
        classes[base + k] = best_class;
    }
}

int lgn_run(const float *x, int64_t n, int32_t *scores, int64_t *classes) {
    vw *s = aligned_alloc(WORDS * 8, (size_t)NSLOTS * sizeof(vw));
    if (!s) return 1;
    for (int64_t base = 0; base < n; base += BLOCK) {
        int64_t m = n - base < BLOCK ? n - base : BLOCK;
        encode(s, x, base, m);
        gates(s);
        decide(s, base, m, scores, classes);
    }
    free(s);
    return 0;
}
"""


class _Slots:
    """Slot allocation: a bit takes a free slot when written and gives it back after its last read."""

    def __init__(self) -> None:
        self.count = 0
        self.free: list[int] = []

    def take(self) -> int:
        if self.free:
            return self.free.pop()
        self.count += 1
        return self.count - 1

    def give(self, slot: int) -> None:
        self.free.append(slot)


def _c_array(ctype: str, name: str, values) -> str:
    return f"static const {ctype} {name}[] = {{{','.join(str(v) for v in values) or '0'}}};"


def _c_float(value: np.float32) -> str:
    """A C float literal that reads back as exactly ``value``."""
    return f"{float(value).hex()}f" if np.isfinite(value) else "INFINITY"


def _expression(op: int, a: str, b: str) -> str:
    text = ops.EXPRESSIONS[op]
    if text in ("0", "1"):
        return "ZERO" if text == "0" else "~ZERO"
    return re.sub(r"\b[ab]\b", lambda m: a if m.group() == "a" else b, text)


def generate(net: Netlist) -> str:
    """The C source of ``int lgn_run(const float *x, int64_t n, int32_t *scores, int64_t *classes)``."""
    width, total = net.inputs.width, net.num_gates
    gate_op = np.concatenate([layer.op for layer in net.layers]) if net.layers else np.zeros(0, np.uint8)
    gate_a = np.concatenate([layer.a for layer in net.layers]) if net.layers else np.zeros(0, np.int32)
    gate_b = np.concatenate([layer.b for layer in net.layers]) if net.layers else np.zeros(0, np.int32)

    # the gate index of each bit's last read (the head reads after every gate; -1: never read)
    last_read = np.full(net.num_bits, -1, dtype=np.int64)
    index = np.arange(total)
    for pins, used in ((gate_a, ops.USES_A[gate_op]), (gate_b, ops.USES_B[gate_op])):
        np.maximum.at(last_read, pins[used], index[used])
    last_read[net.head.bits] = total
    expires: dict[int, list[int]] = defaultdict(list)
    for bit in np.flatnonzero((last_read >= 0) & (last_read < total)).tolist():
        expires[int(last_read[bit])].append(bit)

    slots = _Slots()
    slot = np.full(net.num_bits, -1, dtype=np.int64)
    encoded, rank, rank_threshold = _encoding_ranks(net, np.flatnonzero(last_read[:width] >= 0))
    for i in encoded:
        slot[i] = slots.take()
    statements = []
    for g, (op, a, b) in enumerate(zip(gate_op.tolist(), gate_a.tolist(), gate_b.tolist())):
        expression = _expression(op, f"s[{slot[a]}]", f"s[{slot[b]}]")
        for bit in expires.get(g, ()):
            slots.give(int(slot[bit]))
        if last_read[width + g] < 0:
            continue  # no reader: not computed
        slot[width + g] = slots.take()
        statements.append(f"s[{slot[width + g]}] = {expression};")

    planes, plane_start = [], [0]
    size = net.head.group_size
    for c in range(net.head.num_classes):
        planes += _count(statements, slots, slot[net.head.bits[c * size:(c + 1) * size]].tolist())
        plane_start.append(len(planes))

    groups = -(-net.inputs.num_features // 64)
    # encoded bits are sorted by (rank, feature): RANK_START[j * (groups + 1) + g] is where the
    # bits of rank j on features 64g .. 64g+63 start
    keys = [int(rank[i]) * groups + int(net.inputs.feature[i]) // 64 for i in encoded]
    rank_start = []
    for j in range(len(rank_threshold)):
        rank_start += np.searchsorted(keys, [j * groups + g for g in range(groups + 1)]).tolist()

    chunks = [statements[k:k + CHUNK] for k in range(0, len(statements), CHUNK)]
    functions = [f"static void gates_{i}(vw *restrict s) {{\n    const vw ZERO = {{0}};\n    (void)ZERO;\n    "
                 + "\n    ".join(chunk) + "\n}" for i, chunk in enumerate(chunks)]
    return "\n".join([
        f"#define WORDS {WORDS}",
        f"#define NFEATURES {net.inputs.num_features}",
        f"#define NCLASSES {net.head.num_classes}",
        f"#define NSLOTS {max(slots.count, 1)}",
        f"#define NRANKS {len(rank_threshold)}",
        f"#define NGROUPS {groups}",
        _TYPES,
        _c_array("int32_t", "ENC_FEATURE", [int(net.inputs.feature[i]) for i in encoded]),
        _c_array("int32_t", "ENC_SLOT", [int(slot[i]) for i in encoded]),
        _c_array("int32_t", "RANK_START", rank_start),
        _c_array("float", "RANK_THRESHOLD", [_c_float(t) for row in rank_threshold for t in row]),
        _c_array("int32_t", "PLANE_SLOT", planes),
        _c_array("int32_t", "PLANE_START", plane_start),
        *functions,
        "static void gates(vw *restrict s) {\n    (void)s;\n    "
        + "\n    ".join(f"gates_{i}(s);" for i in range(len(chunks))) + "\n}",
        _RUNTIME,
    ])


def _encoding_ranks(net: Netlist, used: np.ndarray) -> tuple[list[int], dict[int, int], list[np.ndarray]]:
    """The used input bits sorted by (rank, feature), each bit's rank, and per rank a threshold per feature.

    A bit's rank is its position among the used bits of its feature, so each rank compares every
    feature against at most one threshold; features without a bit of that rank get +inf (never
    true, never read).
    """
    feature = net.inputs.feature
    rank: dict[int, int] = {}
    seen: dict[int, int] = defaultdict(int)
    for i in used.tolist():
        rank[i] = seen[int(feature[i])]
        seen[int(feature[i])] += 1
    ranks = max(seen.values(), default=0)
    thresholds = [np.full(net.inputs.num_features, np.inf, dtype=np.float32) for _ in range(ranks)]
    for i, j in rank.items():
        thresholds[j][feature[i]] = net.inputs.threshold[i]
    encoded = sorted(rank, key=lambda i: (rank[i], int(feature[i]), i))
    return encoded, rank, thresholds


def _count(statements: list[str], slots: _Slots, bits: list[int]) -> list[int]:
    """Statements summing the bit planes in slots ``bits`` with full and half adders (carry-save,
    column by column); returns the slots of the count's binary digits, least significant first.
    Temporaries are given back as soon as they are consumed; the input slots are left alone."""
    columns: list[list[int]] = [list(bits)]
    temporaries: set[int] = set()

    def take() -> int:
        s = slots.take()
        temporaries.add(s)
        return s

    def release(*used: int) -> None:
        for s in used:
            if s in temporaries:
                temporaries.discard(s)
                slots.give(s)

    digits, k = [], 0
    while k < len(columns):
        col = columns[k]
        while len(col) > 1:
            if len(columns) == k + 1:
                columns.append([])
            x, y = col.pop(), col.pop()
            total, carry = take(), take()
            if col:  # full adder: three bits of weight k in, one of weight k and one of k + 1 out
                z, t = col.pop(), take()
                statements.append(f"s[{t}] = s[{x}] ^ s[{y}]; s[{total}] = s[{t}] ^ s[{z}]; "
                                  f"s[{carry}] = (s[{x}] & s[{y}]) | (s[{t}] & s[{z}]);")
                release(x, y, z, t)
            else:  # half adder
                statements.append(f"s[{total}] = s[{x}] ^ s[{y}]; s[{carry}] = s[{x}] & s[{y}];")
                release(x, y)
            col.insert(0, total)
            columns[k + 1].append(carry)
        digits.append(col[0])
        k += 1
    return digits
