/* The Mamba (S6) selective scan, fused, for the CPU: forward and backward.
 *
 * Compiled on first use by selfsup_audio/encoders/cpu_scan.py (the system C compiler, OpenMP)
 * and called through ctypes; see that module for the Python side and the autograd wrapper.
 *
 * Per batch row b and channel d, the whole of mamba-ssm's selective_scan_fn (the recurrence of
 * selective_scan.py's docstring), over time t = 0 .. l-1, or l-1 .. 0 when `reverse` is set
 * (the backward direction of a bidirectional block, without flipping any tensor):
 *
 *     dt_t   = softplus(delta_t + bias)   (or delta_t + bias; softplus(x) = x above 20, as torch)
 *     h_t[n] = exp(dt_t A[n]) h_{t-1}[n] + dt_t u_t B_t[n]      (h before the first step = 0)
 *     p_t    = sum_n C_t[n] h_t[n] + D u_t
 *     y_t    = p_t silu(z_t)                  (or p_t without z)
 *
 * The state h lives in registers/L1 for the whole sequence: nothing of size [b, l, d, n] is
 * written to memory, which is what makes a fused scan fast (mamba-ssm's CUDA kernel keeps it in
 * shared memory for the same reason). The forward stores the state at the start of every chunk
 * of `chunk` steps (`checkpoints`, [b, chunks, n, d]); the backward recomputes each chunk's
 * states from its checkpoint, then runs the adjoint recurrence, with gy_t the incoming gradient,
 * q_t = gy_t silu(z_t) (dL/dp_t) and g_t[n] = dL/dh_t[n]:
 *
 *     g_t[n]    = C_t[n] q_t + exp(dt_{t+1} A[n]) g_{t+1}[n]
 *     dL/dz_t   = gy_t p_t silu'(z_t),        silu'(z) = s (1 + z (1 - s)), s = sigmoid(z)
 *     dL/dC_t[n] += q_t h_t[n]                                  (summed over d)
 *     dL/dB_t[n] += g_t[n] dt_t u_t                             (summed over d)
 *     dL/du_t   = sum_n g_t[n] dt_t B_t[n] + q_t D
 *     dL/ddt_t  = sum_n g_t[n] (A[n] exp(dt_t A[n]) h_{t-1}[n] + u_t B_t[n])
 *     dL/ddelta_t = dL/ddt_t sigmoid(delta_t + bias) = dL/ddt_t (1 - exp(-dt_t))   (softplus)
 *     dL/dA[n] += g_t[n] dt_t exp(dt_t A[n]) h_{t-1}[n]          (summed over t; over b in Python)
 *     dL/dD    += q_t u_t,   dL/dbias += dL/ddelta_t             (summed over t; over b in Python)
 *
 * Layout: time-major, as the Linear layers around the scan produce it. u, delta, z: [b, l, d]
 * with the given batch and time strides (channels contiguous), so that views into a wider
 * projection need no copy; B, C: [b, l, n] with their own strides (states contiguous); A
 * transposed to [n, d]; D, bias [d]; y and the gradients of u, delta, z contiguous [b, l, d].
 * D, z and bias may be NULL. All float32.
 *
 * Vectorisation runs across WIDTH channels at once (every lane does the same recurrence for
 * another channel), so the loops over states need no horizontal sums in the forward. Work items
 * are (batch row, block of WIDTH channels). In the backward, dL/dB and dL/dC sum over channels:
 * the blocks are split into `groups`, each item of group g adds into gB_part/gC_part[g]
 * ([groups, b, l, n], summed in Python), and dL/dA, dL/dD, dL/dbias go to per-row [b, ...]
 * slices, so no two threads write the same float.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 16

typedef struct {
    const float *u, *delta, *z, *B, *C;
    long u_sb, u_st, delta_sb, delta_st, z_sb, z_st, B_sb, B_st, C_sb, C_st;
} scan_inputs;

/* exp(x) for the decays, inlined so that the loops over channels vectorise without a call per
   vector: Cody-Waite range reduction x = k ln2 + r, |r| <= ln2/2, Cephes' degree-6 polynomial for
   exp(r) (relative error about 1e-7, as expf), and 2^k built in the exponent bits. x is clamped to
   [-87.3, 88.7], where 2^k stays a normal float. */
static inline float exp_decay(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    const float k = floorf(x * 1.44269504088896341f + 0.5f);
    const float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int bits; float value; } scale = { .bits = ((int)k + 127) << 23 };
    return p * scale.value;
}

/* One time step of a block's states: h[n] <- exp(dt A[n]) h[n] + dt u B[n]; out += sum_n C[n] h[n]. */
static inline __attribute__((always_inline)) void advance_states(
        float *restrict h, const float *restrict A_block, const float *restrict step, const float *restrict scaled,
        const float *restrict B_row, const float *restrict C_row, long n_state, float *restrict out) {
    for (long n = 0; n < n_state; ++n) {
        float *h_n = h + n * WIDTH;
        const float *A_n = A_block + n * WIDTH;
        const float b_n = B_row[n], c_n = C_row[n];
        #pragma omp simd
        for (long i = 0; i < WIDTH; ++i) {
            h_n[i] = exp_decay(step[i] * A_n[i]) * h_n[i] + scaled[i] * b_n;
            out[i] += c_n * h_n[i];
        }
    }
}

static inline float step_size(float raw, int softplus) {
    return softplus ? (raw > 20.0f ? raw : log1pf(expf(raw))) : raw;
}

/* The inputs of one chunk for channels d0 .. d0+w-1, zero-padded to WIDTH lanes (a padded lane
   has u = 0, so its state stays 0 and it adds nothing to dL/dB or dL/dC). Row r of a staging
   array is logical time t0 + r. `step_grad` is d dt / d delta (sigmoid(delta + bias), or 1). */
typedef struct {
    float step[WIDTH], step_grad[WIDTH], input[WIDTH], gate[WIDTH], sig[WIDTH];
} staged_step;

static void stage_chunk(const scan_inputs *in, const float (*shift)[WIDTH], int softplus, int reverse, long b,
                        long first, long count, long dim, long length, long t0, long t1, long chunk,
                        staged_step *rows) {
    /* rows[j * chunk + (t - t0)]: block first+j at time t. Time outside, blocks inside, so that
       each time step's channels are read in one sequential sweep (prefetcher-friendly). */
    for (long t = t0; t < t1; ++t) {
        const long p = reverse ? length - 1 - t : t;
        const float *delta_t = in->delta + b * in->delta_sb + p * in->delta_st;
        const float *u_t = in->u + b * in->u_sb + p * in->u_st;
        const float *z_t = in->z ? in->z + b * in->z_sb + p * in->z_st : NULL;
        for (long j = 0; j < count; ++j) {
            const long d0 = (first + j) * WIDTH, w = dim - d0 < WIDTH ? dim - d0 : WIDTH;
            staged_step *row = rows + j * chunk + (t - t0);
            float raw[WIDTH];
            if (w == WIDTH) {  /* constant sizes: single vector moves */
                memcpy(raw, delta_t + d0, sizeof(float) * WIDTH);
                memcpy(row->input, u_t + d0, sizeof(float) * WIDTH);
                if (z_t) memcpy(row->gate, z_t + d0, sizeof(float) * WIDTH);
            } else {
                memset(raw, 0, sizeof raw);
                memset(row, 0, sizeof(staged_step));
                memcpy(raw, delta_t + d0, sizeof(float) * w);
                memcpy(row->input, u_t + d0, sizeof(float) * w);
                if (z_t) memcpy(row->gate, z_t + d0, sizeof(float) * w);
            }
            #pragma omp simd
            for (long i = 0; i < WIDTH; ++i) {  /* one libm call per vector: log1pf */
                const float x = raw[i] + shift[j][i], e = exp_decay(x);
                const int linear = !softplus || x > 20.0f;
                row->step[i] = linear ? x : log1pf(e);
                row->step_grad[i] = linear ? 1.0f : e / (1.0f + e);  /* softplus' = sigmoid */
            }
            if (z_t) {
                #pragma omp simd
                for (long i = 0; i < WIDTH; ++i)
                    row->sig[i] = 1.0f / (1.0f + exp_decay(-row->gate[i]));
            }
        }
    }
}

static void load_block(const float *source, long n_rows, long stride, long d0, long w, float *block) {
    /* block[r * WIDTH + i] = source[r * stride + d0 + i], zero-padded lanes */
    memset(block, 0, sizeof(float) * n_rows * WIDTH);
    for (long r = 0; r < n_rows; ++r)
        memcpy(block + r * WIDTH, source + r * stride + d0, sizeof(float) * w);
}

static void load_group(const float *A_t, const float *D, const float *bias, long n_state, long dim, long first,
                       long count, float *A_all, float (*skip)[WIDTH], float (*shift)[WIDTH]) {
    /* the per-channel parameters of blocks first .. first+count-1, zero-padded to WIDTH lanes */
    for (long j = 0; j < count; ++j) {
        const long d0 = (first + j) * WIDTH, w = dim - d0 < WIDTH ? dim - d0 : WIDTH;
        memset(skip[j], 0, sizeof skip[j]);
        memset(shift[j], 0, sizeof shift[j]);
        if (D) memcpy(skip[j], D + d0, sizeof(float) * w);
        if (bias) memcpy(shift[j], bias + d0, sizeof(float) * w);
        load_block(A_t, n_state, dim, d0, w, A_all + j * n_state * WIDTH);
    }
}

void selective_scan_forward(scan_inputs in, const float *A_t, const float *D, const float *bias, int softplus,
                            int reverse, float *y, float *checkpoints, long batch, long dim, long length,
                            long n_state, long chunk, long groups, int threads) {
    const long n_chunks = (length + chunk - 1) / chunk, n_blocks = (dim + WIDTH - 1) / WIDTH;
    const long per_group = (n_blocks + groups - 1) / groups, plane = n_state * WIDTH;
    #pragma omp parallel num_threads(threads)
    {
        staged_step *rows_all = malloc(sizeof(staged_step) * chunk * per_group);
        float *A_all = malloc(sizeof(float) * plane * per_group), *h_all = malloc(sizeof(float) * plane * per_group);
        float (*skip)[WIDTH] = malloc(sizeof(float) * WIDTH * per_group);
        float (*shift)[WIDTH] = malloc(sizeof(float) * WIDTH * per_group);
        #pragma omp for collapse(2) schedule(dynamic)
        for (long g = 0; g < groups; ++g) {
            for (long b = 0; b < batch; ++b) {
                const long first = g * per_group, count = (first + per_group < n_blocks ? per_group : n_blocks - first);
                load_group(A_t, D, bias, n_state, dim, first, count, A_all, skip, shift);
                memset(h_all, 0, sizeof(float) * plane * per_group);
                /* chunks outside, channel blocks inside: a chunk's rows of u, delta and z stay in cache
                   while every block of the group reads its columns */
                for (long k = 0; k < n_chunks; ++k) {
                    const long t0 = k * chunk, t1 = t0 + chunk < length ? t0 + chunk : length;
                    stage_chunk(&in, (const float (*)[WIDTH])shift, softplus, reverse, b, first, count, dim, length,
                                t0, t1, chunk, rows_all);
                    for (long j = 0; j < count; ++j) {
                        const long d0 = (first + j) * WIDTH, w = dim - d0 < WIDTH ? dim - d0 : WIDTH;
                        const staged_step *rows = rows_all + j * chunk;
                        float *h = h_all + j * plane;
                        const float *A_block = A_all + j * plane;
                        float *saved = checkpoints + ((b * n_chunks + k) * n_state) * dim + d0;
                        for (long n = 0; n < n_state; ++n)
                            memcpy(saved + n * dim, h + n * WIDTH, sizeof(float) * w);
                        for (long t = t0; t < t1; ++t) {
                            const long p = reverse ? length - 1 - t : t;
                            const staged_step *row = rows + (t - t0);
                            const float *B_row = in.B + b * in.B_sb + p * in.B_st;
                            const float *C_row = in.C + b * in.C_sb + p * in.C_st;
                            float out[WIDTH], scaled[WIDTH];
                            #pragma omp simd
                            for (long i = 0; i < WIDTH; ++i) {
                                out[i] = skip[j][i] * row->input[i];
                                scaled[i] = row->step[i] * row->input[i];
                            }
                            if (n_state == 16)  /* Mamba's size: a constant trip count unrolls fully */
                                advance_states(h, A_block, row->step, scaled, B_row, C_row, 16, out);
                            else
                                advance_states(h, A_block, row->step, scaled, B_row, C_row, n_state, out);
                            if (in.z) {
                                #pragma omp simd
                                for (long i = 0; i < WIDTH; ++i) out[i] *= row->gate[i] * row->sig[i];
                            }
                            float *y_row = y + (b * length + p) * dim + d0;
                            if (w == WIDTH) memcpy(y_row, out, sizeof(float) * WIDTH);
                            else memcpy(y_row, out, sizeof(float) * w);
                        }
                    }
                }
            }
        }
        free(rows_all); free(A_all); free(h_all); free(skip); free(shift);
    }
}

void selective_scan_backward(scan_inputs in, const float *A_t, const float *D, const float *bias, int softplus,
                             int reverse, const float *checkpoints, const float *gy, float *gu, float *gdelta,
                             float *gz, float *gA_part, float *gB_part, float *gC_part, float *gD_part,
                             float *gbias_part, long batch, long dim, long length, long n_state, long chunk,
                             long groups, int threads) {
    const long n_chunks = (length + chunk - 1) / chunk, n_blocks = (dim + WIDTH - 1) / WIDTH;
    const long per_group = (n_blocks + groups - 1) / groups;
    const long plane = n_state * WIDTH;  /* one time step's states of a block */
    #pragma omp parallel num_threads(threads)
    {
        staged_step *rows_all = malloc(sizeof(staged_step) * chunk * per_group);
        float *A_all = malloc(sizeof(float) * plane * per_group), *carry_all = malloc(sizeof(float) * plane * per_group);
        float *g_A_all = malloc(sizeof(float) * plane * per_group), *h_start = malloc(sizeof(float) * plane);
        float *states = malloc(sizeof(float) * plane * chunk), *decays = malloc(sizeof(float) * plane * chunk);
        float (*skip)[WIDTH] = malloc(sizeof(float) * WIDTH * per_group);
        float (*shift)[WIDTH] = malloc(sizeof(float) * WIDTH * per_group);
        float (*g_skip)[WIDTH] = malloc(sizeof(float) * WIDTH * per_group);
        float (*g_shift)[WIDTH] = malloc(sizeof(float) * WIDTH * per_group);
        #pragma omp for collapse(2) schedule(dynamic)
        for (long g = 0; g < groups; ++g) {
            for (long b = 0; b < batch; ++b) {
                float *gB_b = gB_part + (g * batch + b) * length * n_state;
                float *gC_b = gC_part + (g * batch + b) * length * n_state;
                const long first = g * per_group, count = (first + per_group < n_blocks ? per_group : n_blocks - first);
                load_group(A_t, D, bias, n_state, dim, first, count, A_all, skip, shift);
                memset(carry_all, 0, sizeof(float) * plane * per_group);
                memset(g_A_all, 0, sizeof(float) * plane * per_group);
                memset(g_skip, 0, sizeof(float) * WIDTH * per_group);
                memset(g_shift, 0, sizeof(float) * WIDTH * per_group);
                for (long k = n_chunks - 1; k >= 0; --k) {  /* chunks outside, blocks inside (see the forward) */
                    const long t0 = k * chunk, t1 = t0 + chunk < length ? t0 + chunk : length;
                    stage_chunk(&in, (const float (*)[WIDTH])shift, softplus, reverse, b, first, count, dim, length,
                                t0, t1, chunk, rows_all);
                    for (long j = 0; j < count; ++j) {
                        const long d0 = (first + j) * WIDTH, w = dim - d0 < WIDTH ? dim - d0 : WIDTH;
                        const staged_step *rows = rows_all + j * chunk;
                        const float *A_block = A_all + j * plane;
                        float *carry = carry_all + j * plane, *g_A = g_A_all + j * plane;
                        load_block(checkpoints + (b * n_chunks + k) * n_state * dim, n_state, dim, d0, w, h_start);
                        for (long t = t0; t < t1; ++t) {  /* recompute the chunk's states and decays */
                            const long p = reverse ? length - 1 - t : t;
                            const staged_step *row = rows + (t - t0);
                            const float *B_row = in.B + b * in.B_sb + p * in.B_st;
                            const float *prev = t > t0 ? states + (t - t0 - 1) * plane : h_start;
                            float *h = states + (t - t0) * plane, *decay = decays + (t - t0) * plane;
                            for (long n = 0; n < n_state; ++n) {
                                const float b_n = B_row[n];
                                #pragma omp simd
                                for (long i = 0; i < WIDTH; ++i) {
                                    decay[n * WIDTH + i] = exp_decay(row->step[i] * A_block[n * WIDTH + i]);
                                    h[n * WIDTH + i] = decay[n * WIDTH + i] * prev[n * WIDTH + i]
                                                       + row->step[i] * row->input[i] * b_n;
                                }
                            }
                        }
                        for (long t = t1 - 1; t >= t0; --t) {
                            const long p = reverse ? length - 1 - t : t;
                            const staged_step *row = rows + (t - t0);
                            const float *gy_row = gy + (b * length + p) * dim + d0;
                            const float *B_row = in.B + b * in.B_sb + p * in.B_st;
                            const float *C_row = in.C + b * in.C_sb + p * in.C_st;
                            const float *h = states + (t - t0) * plane, *decay = decays + (t - t0) * plane;
                            const float *prev = t > t0 ? h - plane : h_start;
                            float *gB_row = gB_b + p * n_state, *gC_row = gC_b + p * n_state;
                            float grad_out[WIDTH] = {0}, q[WIDTH], out[WIDTH], g_input[WIDTH], g_step[WIDTH];
                            if (w == WIDTH) memcpy(grad_out, gy_row, sizeof(float) * WIDTH);
                            else memcpy(grad_out, gy_row, sizeof(float) * w);
                            #pragma omp simd
                            for (long i = 0; i < WIDTH; ++i) {  /* q_t = gy_t silu(z_t) */
                                q[i] = in.z ? grad_out[i] * row->gate[i] * row->sig[i] : grad_out[i];
                                out[i] = skip[j][i] * row->input[i];
                                g_input[i] = q[i] * skip[j][i];
                                g_step[i] = 0.0f;
                            }
                            for (long n = 0; n < n_state; ++n) {
                                const float b_n = B_row[n], c_n = C_row[n];
                                float g_b = 0.0f, g_c = 0.0f;
                                #pragma omp simd reduction(+ : g_b, g_c)
                                for (long i = 0; i < WIDTH; ++i) {
                                    const long at = n * WIDTH + i;
                                    const float g_h = carry[at] + c_n * q[i];
                                    const float g_decay = g_h * prev[at] * decay[at];
                                    out[i] += c_n * h[at];
                                    g_c += q[i] * h[at];
                                    g_b += g_h * row->step[i] * row->input[i];
                                    g_A[at] += g_decay * row->step[i];
                                    g_input[i] += g_h * row->step[i] * b_n;
                                    g_step[i] += g_decay * A_block[at] + g_h * row->input[i] * b_n;
                                    carry[at] = g_h * decay[at];
                                }
                                gB_row[n] += g_b;
                                gC_row[n] += g_c;
                            }
                            float g_gate[WIDTH];
                            #pragma omp simd
                            for (long i = 0; i < WIDTH; ++i) {
                                const float s = row->sig[i];  /* dL/dz = gy p silu'(z) */
                                g_gate[i] = grad_out[i] * out[i] * s * (1.0f + row->gate[i] * (1.0f - s));
                                g_step[i] *= row->step_grad[i];
                                g_skip[j][i] += q[i] * row->input[i];
                                g_shift[j][i] += g_step[i];
                            }
                            const long at = (b * length + p) * dim + d0;
                            memcpy(gu + at, g_input, sizeof(float) * w);
                            memcpy(gdelta + at, g_step, sizeof(float) * w);
                            if (in.z) memcpy(gz + at, g_gate, sizeof(float) * w);
                        }
                    }
                }
                for (long j = 0; j < count; ++j) {
                    const long d0 = (first + j) * WIDTH, w = dim - d0 < WIDTH ? dim - d0 : WIDTH;
                    for (long n = 0; n < n_state; ++n)
                        memcpy(gA_part + (b * n_state + n) * dim + d0, g_A_all + j * plane + n * WIDTH, sizeof(float) * w);
                    memcpy(gD_part + b * dim + d0, g_skip[j], sizeof(float) * w);
                    memcpy(gbias_part + b * dim + d0, g_shift[j], sizeof(float) * w);
                }
            }
        }
        free(rows_all); free(A_all); free(carry_all); free(g_A_all); free(h_start); free(states); free(decays);
        free(skip); free(shift); free(g_skip); free(g_shift);
    }
}

/* The mixer's causal depthwise convolution and SiLU, fused, time-major (the other half of a Mamba
 * branch's element-wise work; mamba-ssm has causal_conv1d for it on CUDA). Per channel d, with
 * kernel width K and w_t[k * dim + d] = weight[d, 0, k]:
 *
 *     a_t = bias + sum_k w[k] x_{t-(K-1)+k}        (reverse: x_{t+(K-1)-k}; zero outside 0..l-1)
 *     u_t = silu(a_t) = a_t sigmoid(a_t)
 *
 * Backward, with ga_t = gu_t silu'(a_t) (a recomputed): dL/dx_s += w[k] ga_t for each (t, k)
 * that read x_s, dL/dw[k] += ga_t x_{src(t,k)}, dL/dbias += ga_t. x: [b, l, d] with batch and time
 * strides (channels contiguous); u, gu, gx: contiguous [b, l, d]; gw_part [b, K, d], gbias_part
 * [b, d] (summed over b in Python). Parallel over batch rows. */
static inline long conv_source(long t, long k, long width, int reverse) {
    return reverse ? t + (width - 1) - k : t - (width - 1) + k;
}

static inline void conv_row(const float *x_b, long x_st, const float *w_t, const float *bias, int reverse,
                            long t, long length, long dim, long width, float *a) {
    memcpy(a, bias, sizeof(float) * dim);
    for (long k = 0; k < width; ++k) {
        const long s = conv_source(t, k, width, reverse);
        if (s < 0 || s >= length) continue;
        const float *x_s = x_b + s * x_st, *w_k = w_t + k * dim;
        #pragma omp simd
        for (long d = 0; d < dim; ++d) a[d] += w_k[d] * x_s[d];
    }
}

void causal_conv_silu_forward(const float *x, long x_sb, long x_st, const float *w_t, const float *bias, int reverse,
                              float *u, long batch, long length, long dim, long width, int threads) {
    #pragma omp parallel num_threads(threads)
    {
        float *a = malloc(sizeof(float) * dim);
        #pragma omp for collapse(2) schedule(static)
        for (long b = 0; b < batch; ++b) {
            for (long t = 0; t < length; ++t) {
                conv_row(x + b * x_sb, x_st, w_t, bias, reverse, t, length, dim, width, a);
                float *u_t = u + (b * length + t) * dim;
                #pragma omp simd
                for (long d = 0; d < dim; ++d) u_t[d] = a[d] / (1.0f + exp_decay(-a[d]));
            }
        }
        free(a);
    }
}

void causal_conv_silu_backward(const float *x, long x_sb, long x_st, const float *w_t, const float *bias,
                               int reverse, const float *gu, float *gx, float *gw_part, float *gbias_part,
                               long batch, long length, long dim, long width, int threads) {
    #pragma omp parallel num_threads(threads)
    {
        float *a = malloc(sizeof(float) * dim), *ga = malloc(sizeof(float) * dim);
        #pragma omp for schedule(static)
        for (long b = 0; b < batch; ++b) {
            const float *x_b = x + b * x_sb;
            float *gx_b = gx + b * length * dim, *gw = gw_part + b * width * dim, *gbias = gbias_part + b * dim;
            memset(gx_b, 0, sizeof(float) * length * dim);
            memset(gw, 0, sizeof(float) * width * dim);
            memset(gbias, 0, sizeof(float) * dim);
            for (long t = 0; t < length; ++t) {
                conv_row(x_b, x_st, w_t, bias, reverse, t, length, dim, width, a);
                const float *gu_t = gu + (b * length + t) * dim;
                #pragma omp simd
                for (long d = 0; d < dim; ++d) {
                    const float s = 1.0f / (1.0f + exp_decay(-a[d]));
                    ga[d] = gu_t[d] * s * (1.0f + a[d] * (1.0f - s));
                    gbias[d] += ga[d];
                }
                for (long k = 0; k < width; ++k) {
                    const long src = conv_source(t, k, width, reverse);
                    if (src < 0 || src >= length) continue;
                    const float *x_s = x_b + src * x_st, *w_k = w_t + k * dim;
                    float *gx_s = gx_b + src * dim, *gw_k = gw + k * dim;
                    #pragma omp simd
                    for (long d = 0; d < dim; ++d) {
                        gx_s[d] += w_k[d] * ga[d];
                        gw_k[d] += ga[d] * x_s[d];
                    }
                }
            }
        }
        free(a); free(ga);
    }
}
