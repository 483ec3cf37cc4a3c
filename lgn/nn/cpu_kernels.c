/* Compiled CPU kernels of training (lgn/nn/cpu_kernels.py): the multilinear table read of lookup
 * tables and the candidate mixture of a learned pin, each forward and backward, and the gathered
 * dot products that score a pin's candidates.
 *
 * The multilinear read: a node of k inputs (k = 1..6) holds 2^k entries e; its output for pin values x is the linear
 * interpolation of e along the highest pin first:
 *   level k = e;  level p[i] = level p+1[i] + x[p] * (level p+1[i + 2^p] - level p+1[i]),  i < 2^p;
 *   y = level 0[0].
 * Backward walks the levels up again: the gradient of level 0 is g; the gradient of x[p] is the sum
 * over i of G_p[i] * (level p+1[i + 2^p] - level p+1[i]); G_{p+1}[i] = G_p[i] (1 - x[p]) and
 * G_{p+1}[i + 2^p] = G_p[i] x[p]; the entries' gradient is G_k summed over the batch.
 *
 * torch's autograd keeps every level of every node and sample in memory and zero-fills slice
 * gradients; here a block of LANES samples of one node stays in L1 and the backward recomputes the
 * levels. Activations are feature-major float32: pins (k, nodes, batch), y and g (nodes, batch).
 * A call computes nodes [n0, n1): callers split the nodes among threads (each node belongs to one
 * call, so results do not depend on the split).
 */

#include <stdint.h>
#include <string.h>

#define LANES 16
#define MAXK 6

/* Pins of one block, lanes past m zero. */
static void load_pins(int k, int64_t nodes, int64_t batch, const float *pins, int64_t n, int64_t b0, int m,
                      float x[MAXK][LANES]) {
    for (int p = 0; p < k; p++) {
        const float *row = pins + ((int64_t)p * nodes + n) * batch + b0;
        for (int l = 0; l < LANES; l++) x[p][l] = l < m ? row[l] : 0.0f;
    }
}

/* Every level of one block: level j's 2^j entries at lv[2^j .. 2^(j+1)). */
static void levels(int k, const float *e, float x[MAXK][LANES], float lv[2 << MAXK][LANES]) {
    int top = 1 << k;
    for (int i = 0; i < top; i++)
        for (int l = 0; l < LANES; l++) lv[top + i][l] = e[i];
    for (int p = k - 1; p >= 0; p--) {
        int h = 1 << p;
        float (*up)[LANES] = lv + 2 * h, (*dn)[LANES] = lv + h;
        for (int i = 0; i < h; i++)
            for (int l = 0; l < LANES; l++) dn[i][l] = up[i][l] + x[p][l] * (up[i + h][l] - up[i][l]);
    }
}

void lgn_multilinear_forward(int k, int64_t nodes, int64_t batch, int64_t n0, int64_t n1, const float *pins,
                             const float *entries, float *y) {
    float x[MAXK][LANES], v[1 << MAXK][LANES];
    int top = 1 << k;
    for (int64_t n = n0; n < n1; n++) {
        const float *e = entries + n * top;
        for (int64_t b0 = 0; b0 < batch; b0 += LANES) {
            int m = batch - b0 < LANES ? (int)(batch - b0) : LANES;
            load_pins(k, nodes, batch, pins, n, b0, m, x);
            /* levels() computed in place, none kept and the entries read directly: calling it here
             * (every level stored, the entries copied into each lane) made a LUT6 training step
             * half as slow again (bench/kernel_train_speed.py: 0.151 -> 0.227 s) */
            int h = top >> 1;
            for (int i = 0; i < h; i++)
                for (int l = 0; l < LANES; l++) v[i][l] = e[i] + x[k - 1][l] * (e[i + h] - e[i]);
            for (int p = k - 2; p >= 0; p--) {
                h = 1 << p;
                for (int i = 0; i < h; i++)
                    for (int l = 0; l < LANES; l++) v[i][l] += x[p][l] * (v[i + h][l] - v[i][l]);
            }
            float *out = y + n * batch + b0;
            for (int l = 0; l < m; l++) out[l] = v[0][l];
        }
    }
}

void lgn_multilinear_backward(int k, int64_t nodes, int64_t batch, int64_t n0, int64_t n1, const float *pins,
                              const float *entries, const float *grad, float *grad_pins, float *grad_entries) {
    float x[MAXK][LANES], lv[2 << MAXK][LANES], G[1 << MAXK][LANES], acc[1 << MAXK][LANES];
    int top = 1 << k;
    for (int64_t n = n0; n < n1; n++) {
        memset(acc, 0, sizeof acc);
        for (int64_t b0 = 0; b0 < batch; b0 += LANES) {
            int m = batch - b0 < LANES ? (int)(batch - b0) : LANES;
            load_pins(k, nodes, batch, pins, n, b0, m, x);
            levels(k, entries + n * top, x, lv);
            const float *g = grad + n * batch + b0;
            for (int l = 0; l < LANES; l++) G[0][l] = l < m ? g[l] : 0.0f;
            for (int p = 0; p < k; p++) {
                int h = 1 << p;
                float (*up)[LANES] = lv + 2 * h, dx[LANES];
                for (int l = 0; l < LANES; l++) dx[l] = 0.0f;
                for (int i = 0; i < h; i++)
                    for (int l = 0; l < LANES; l++) dx[l] += G[i][l] * (up[i + h][l] - up[i][l]);
                for (int i = 0; i < h; i++)
                    for (int l = 0; l < LANES; l++) {
                        G[i + h][l] = G[i][l] * x[p][l];
                        G[i][l] -= G[i + h][l];
                    }
                float *out = grad_pins + ((int64_t)p * nodes + n) * batch + b0;
                for (int l = 0; l < m; l++) out[l] = dx[l];
            }
            for (int i = 0; i < top; i++)
                for (int l = 0; l < LANES; l++) acc[i][l] += G[i][l];
        }
        float *ge = grad_entries + n * top;
        for (int i = 0; i < top; i++) {
            float s = 0.0f;
            for (int l = 0; l < LANES; l++) s += acc[i][l];
            ge[i] = s;
        }
    }
}

/* A learned pin's value while training: the softmax mixture of its c candidate inputs,
 *   pins[r][b] = sum_j w[r][j] * x[cand[r][j]][b]   for rows r = (pin, node), x (inputs, batch).
 * Rows [r0, r1) per call. */
void lgn_mix_forward(int64_t c, int64_t batch, int64_t r0, int64_t r1, const float *x, const int64_t *cand,
                     const float *w, float *pins) {
    for (int64_t r = r0; r < r1; r++) {
        float *out = pins + r * batch;
        const float *src = x + cand[r * c] * batch;
        float wj = w[r * c];
        for (int64_t b = 0; b < batch; b++) out[b] = wj * src[b];
        for (int64_t j = 1; j < c; j++) {
            src = x + cand[r * c + j] * batch;
            wj = w[r * c + j];
            for (int64_t b = 0; b < batch; b++) out[b] += wj * src[b];
        }
    }
}

/* Rows [r0, r1) of out[r][j] = sum_b grad[r][b] * x[cand[r % cand_rows][j]][b]: the mixture weights'
 * gradient, and a learned mapping's candidate scores (x the signed inputs; every pin of a node
 * scores the same cand_rows = nodes candidates). */
void lgn_gather_dot(int64_t c, int64_t batch, int64_t r0, int64_t r1, int64_t cand_rows, const float *x,
                    const int64_t *cand, const float *grad, float *out) {
    for (int64_t r = r0; r < r1; r++) {
        const int64_t *row = cand + (r % cand_rows) * c;
        const float *g = grad + r * batch;
        for (int64_t j = 0; j < c; j++) {
            const float *src = x + row[j] * batch;
            float part[LANES] = {0};  /* LANES partial sums: a reduction the compiler vectorizes */
            int64_t b = 0;
            for (; b + LANES <= batch; b += LANES)
                for (int l = 0; l < LANES; l++) part[l] += g[b + l] * src[b + l];
            for (int l = 0; b + l < batch; l++) part[l] += g[b + l] * src[b + l];
            float s = 0.0f;
            for (int l = 0; l < LANES; l++) s += part[l];
            out[r * c + j] = s;
        }
    }
}

/* The inputs' gradient of inputs [i0, i1): grad_x[i] = sum of w[e] * grad[row of e] over the
 * candidate slots e that read input i, listed in order[start[i] .. start[i + 1]) (slot e = r * c + j).
 * Split by input, so every sum has one order whatever the threads. */
void lgn_mix_backward_inputs(int64_t c, int64_t batch, int64_t i0, int64_t i1, const int64_t *order,
                             const int64_t *start, const float *w, const float *grad, float *grad_x) {
    for (int64_t i = i0; i < i1; i++) {
        float *out = grad_x + i * batch;
        for (int64_t b = 0; b < batch; b++) out[b] = 0.0f;
        for (int64_t s = start[i]; s < start[i + 1]; s++) {
            int64_t e = order[s];
            const float *g = grad + (e / c) * batch;
            float we = w[e];
            for (int64_t b = 0; b < batch; b++) out[b] += we * g[b];
        }
    }
}

/* Logic-tree kernels of a convolution (lgn/nn/conv.py), forward and backward. A tree of depth d
 * has L = 2^d leaves and L - 1 two-input gates, each the relaxed gate c0 + c1 a + c2 b + c3 a b.
 * Its nodes sit in heap order: the root at 1, node h reading nodes 2h (pin a) and 2h + 1 (pin b),
 * leaf j at L + j. The coefficients are stored level by level from the leaves (level l, gate i at
 * L - L / 2^l + i), which for node h in [s, 2s) is L + h - 3s.
 *
 * win (rows, N): the window rows (one per offset and channel) at N columns (position x sample);
 * leaves (K, L): the row each kernel's leaf reads; coef (K, L - 1, 4); y and grad (K, N).
 * Columns are split into chunks of CHUNK, a call takes chunks [q0, q1); the backward leaves each
 * chunk's coefficient gradient in part (chunks, K, L - 1, 4), so every sum has one order whatever
 * the threads. The leaves' gradient is added into grad_win (zeroed by the caller): a chunk's
 * columns belong to one call. */

#define CHUNK 1024
#define MAXD 6

static int64_t coef_index(int L, int h) {
    int s = 1;
    while (2 * s <= h) s *= 2;
    return L + h - 3 * s;
}

/* Every node of one kernel's tree for LANES columns from j (lanes past m zero). */
static void tree_nodes(int L, const float *win, int64_t N, const int64_t *leaf, const float *coef, int64_t j,
                       int m, float v[2 << MAXD][LANES]) {
    for (int i = 0; i < L; i++) {
        const float *row = win + leaf[i] * N + j;
        for (int l = 0; l < LANES; l++) v[L + i][l] = l < m ? row[l] : 0.0f;
    }
    for (int h = L - 1; h >= 1; h--) {
        const float *c = coef + 4 * coef_index(L, h);
        for (int l = 0; l < LANES; l++) {
            float a = v[2 * h][l], b = v[2 * h + 1][l];
            v[h][l] = c[0] + c[1] * a + b * (c[2] + c[3] * a);
        }
    }
}

void lgn_tree_forward(int depth, int64_t K, int64_t N, int64_t q0, int64_t q1, const float *win,
                      const int64_t *leaves, const float *coef, float *y) {
    int L = 1 << depth;
    float v[2 << MAXD][LANES];
    for (int64_t q = q0; q < q1; q++) {
        int64_t end = (q + 1) * CHUNK < N ? (q + 1) * CHUNK : N;
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = q * CHUNK; j < end; j += LANES) {
                int m = end - j < LANES ? (int)(end - j) : LANES;
                tree_nodes(L, win, N, leaves + k * L, coef + k * (L - 1) * 4, j, m, v);
                for (int l = 0; l < m; l++) y[k * N + j + l] = v[1][l];
            }
    }
}

void lgn_tree_backward(int depth, int64_t K, int64_t N, int64_t q0, int64_t q1, const float *win,
                       const int64_t *leaves, const float *coef, const float *grad, float *grad_win, float *part) {
    int L = 1 << depth;
    float v[2 << MAXD][LANES], G[2 << MAXD][LANES], acc[(1 << MAXD) - 1][4][LANES];
    for (int64_t q = q0; q < q1; q++) {
        int64_t end = (q + 1) * CHUNK < N ? (q + 1) * CHUNK : N;
        for (int64_t k = 0; k < K; k++) {
            const int64_t *leaf = leaves + k * L;
            const float *ck = coef + k * (L - 1) * 4;
            memset(acc, 0, sizeof acc);
            for (int64_t j = q * CHUNK; j < end; j += LANES) {
                int m = end - j < LANES ? (int)(end - j) : LANES;
                tree_nodes(L, win, N, leaf, ck, j, m, v);
                for (int l = 0; l < LANES; l++) G[1][l] = l < m ? grad[k * N + j + l] : 0.0f;
                for (int h = 1; h < L; h++) {
                    int64_t g = coef_index(L, h);
                    const float *c = ck + 4 * g;
                    for (int l = 0; l < LANES; l++) {
                        float a = v[2 * h][l], b = v[2 * h + 1][l], d = G[h][l];
                        acc[g][0][l] += d;
                        acc[g][1][l] += d * a;
                        acc[g][2][l] += d * b;
                        acc[g][3][l] += d * a * b;
                        G[2 * h][l] = d * (c[1] + c[3] * b);
                        G[2 * h + 1][l] = d * (c[2] + c[3] * a);
                    }
                }
                for (int i = 0; i < L; i++) {
                    float *row = grad_win + leaf[i] * N + j;
                    for (int l = 0; l < m; l++) row[l] += G[L + i][l];
                }
            }
            float *out = part + (q * K + k) * (L - 1) * 4;
            for (int g = 0; g < L - 1; g++)
                for (int t = 0; t < 4; t++) {
                    float s = 0.0f;
                    for (int l = 0; l < LANES; l++) s += acc[g][t][l];
                    out[g * 4 + t] = s;
                }
        }
    }
}
