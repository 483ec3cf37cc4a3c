/* lgn's bit-sliced engine: runs a program from lgn/engine/codegen.py over blocks of samples.
 * A slot holds one bit of BLOCK samples; all of a block's slots stay in cache together. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX__
#include <immintrin.h>
#endif

#define WORDS 4
#define BLOCK (64 * WORDS)
#define FULL_ADD 16
#define HALF_ADD 17

typedef uint64_t vw __attribute__((vector_size(WORDS * 8), aligned(WORDS * 8)));

typedef struct {
    int32_t num_features, num_classes, num_slots, num_runs, num_ranks;
    const int32_t *run_op, *run_start, *a, *b, *c, *d, *e;
    const int32_t *enc_feature, *enc_slot, *rank_start;
    const float *rank_threshold;
    const int32_t *plane_slot, *plane_start;
} program;

/* In-place transpose of a 64x64 bit matrix, bit c of m[r] being element (r, c). */
static void transpose64(uint64_t m[64]) {
    uint64_t mask = 0x00000000FFFFFFFFULL;
    for (int j = 32; j != 0; j >>= 1, mask ^= mask << j)
        for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
            uint64_t t = ((m[k] >> j) ^ m[k | j]) & mask;
            m[k] ^= t << j;
            m[k | j] ^= t;
        }
}

/* Bit f of out: row[f] > t[f], 64 features to a word, 8 per AVX compare. */
static void compare_row(const float *row, const float *t, int nf, uint64_t *out) {
    memset(out, 0, (size_t)((nf + 63) / 64) * sizeof(uint64_t));
    int f = 0;
#ifdef __AVX__
    for (; f + 8 <= nf; f += 8) {
        uint64_t bits = (uint32_t)_mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_loadu_ps(row + f), _mm256_loadu_ps(t + f), _CMP_GT_OQ));
        out[f >> 6] |= bits << (f & 63);
    }
#endif
    for (; f < nf; f++) out[f >> 6] |= (uint64_t)(row[f] > t[f]) << (f & 63);
}

/* Input bits of samples base .. base+m-1: per rank, each sample's features against that rank's
 * thresholds, then 64 samples x 64 features transposed into one word per feature. */
static void encode(const program *p, vw *s, const float *x, int64_t base, int64_t m, uint64_t *rows) {
    int groups = (p->num_features + 63) / 64;
    uint64_t block[64];
    for (int w = 0; w < WORDS; w++)
        for (int j = 0; j < p->num_ranks; j++) {
            for (int k = 0; k < 64; k++) {
                int64_t i = (int64_t)w * 64 + k;
                if (i < m)
                    compare_row(x + (base + i) * p->num_features, p->rank_threshold + (int64_t)j * p->num_features,
                                p->num_features, rows + (int64_t)k * groups);
                else
                    memset(rows + (int64_t)k * groups, 0, (size_t)groups * sizeof(uint64_t));
            }
            for (int g = 0; g < groups; g++) {
                int lo = p->rank_start[j * (groups + 1) + g], hi = p->rank_start[j * (groups + 1) + g + 1];
                if (lo == hi) continue;
                for (int k = 0; k < 64; k++) block[k] = rows[(int64_t)k * groups + g];
                transpose64(block);
                for (int q = lo; q < hi; q++) ((uint64_t *)&s[p->enc_slot[q]])[w] = block[p->enc_feature[q] & 63];
            }
        }
}

#define RUN(expr) for (int i = lo; i < hi; i++) { vw a = s[A[i]], b = s[B[i]]; s[D[i]] = (expr); } break
static void execute(const program *p, vw *restrict s) {
    const int32_t *A = p->a, *B = p->b, *C = p->c, *D = p->d, *E = p->e;
    const vw zero = {0};
    for (int r = 0; r < p->num_runs; r++) {
        int lo = p->run_start[r], hi = p->run_start[r + 1];
        switch (p->run_op[r]) {
        case 0: RUN(zero);
        case 1: RUN(a & b);
        case 2: RUN(a & ~b);
        case 3: RUN(a);
        case 4: RUN(~a & b);
        case 5: RUN(b);
        case 6: RUN(a ^ b);
        case 7: RUN(a | b);
        case 8: RUN(~(a | b));
        case 9: RUN(~(a ^ b));
        case 10: RUN(~b);
        case 11: RUN(a | ~b);
        case 12: RUN(~a);
        case 13: RUN(~a | b);
        case 14: RUN(~(a & b));
        case 15: RUN(~zero);
        case FULL_ADD:
            for (int i = lo; i < hi; i++) {
                vw a = s[A[i]], b = s[B[i]], c = s[C[i]], t = a ^ b;
                s[D[i]] = t ^ c;
                s[E[i]] = (a & b) | (t & c);
            }
            break;
        case HALF_ADD:
            for (int i = lo; i < hi; i++) {
                vw a = s[A[i]], b = s[B[i]];
                s[D[i]] = a ^ b;
                s[E[i]] = a & b;
            }
            break;
        }
    }
}

/* Per sample: each class's count from its digit planes (transposed 64 planes at a time), the
 * argmax with ties to the lowest class. */
static void decide(const program *p, const vw *s, int64_t base, int64_t m, int32_t *scores, int64_t *classes) {
    int planes = p->plane_start[p->num_classes];
    uint64_t block[64];
    for (int w = 0; w < WORDS && (int64_t)w * 64 < m; w++) {
        int n = m - (int64_t)w * 64 < 64 ? (int)(m - (int64_t)w * 64) : 64;
        int64_t first = base + (int64_t)w * 64;
        memset(scores + first * p->num_classes, 0, (size_t)n * p->num_classes * sizeof(int32_t));
        for (int lo = 0; lo < planes; lo += 64) {
            int hi = planes - lo < 64 ? planes : lo + 64;
            for (int q = 0; q < 64; q++) block[q] = q < hi - lo ? ((const uint64_t *)&s[p->plane_slot[lo + q]])[w] : 0;
            transpose64(block);
            for (int c = 0; c < p->num_classes; c++) {
                int from = p->plane_start[c] > lo ? p->plane_start[c] : lo;
                int to = p->plane_start[c + 1] < hi ? p->plane_start[c + 1] : hi;
                if (from >= to) continue;
                uint64_t mask = (to - from == 64) ? ~0ULL : ((1ULL << (to - from)) - 1);
                int shift = from - p->plane_start[c];
                for (int k = 0; k < n; k++)
                    scores[(first + k) * p->num_classes + c] |= (int32_t)(((block[k] >> (from - lo)) & mask) << shift);
            }
        }
        for (int k = 0; k < n; k++) {
            const int32_t *row = scores + (first + k) * p->num_classes;
            int best = 0;
            for (int c = 1; c < p->num_classes; c++) if (row[c] > row[best]) best = c;
            classes[first + k] = best;
        }
    }
}

int lgn_run(const program *p, const float *x, int64_t n, int32_t *scores, int64_t *classes) {
    vw *s = aligned_alloc(sizeof(vw), (size_t)p->num_slots * sizeof(vw));
    uint64_t *rows = malloc((size_t)64 * ((p->num_features + 63) / 64) * sizeof(uint64_t));
    if (!s || !rows) { free(s); free(rows); return 1; }
    for (int64_t base = 0; base < n; base += BLOCK) {
        int64_t m = n - base < BLOCK ? n - base : BLOCK;
        encode(p, s, x, base, m, rows);
        execute(p, s);
        decide(p, s, base, m, scores, classes);
    }
    free(s);
    free(rows);
    return 0;
}
