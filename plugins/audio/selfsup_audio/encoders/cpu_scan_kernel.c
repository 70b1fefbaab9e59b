/* The Mamba (S6) selective scan, fused, for the CPU: forward and backward.
 *
 * Compiled on first use by selfsup_audio/encoders/cpu_scan.py (the system C compiler, OpenMP)
 * and called through ctypes; see that module for the Python side and the autograd wrapper.
 *
 * Per batch row b and channel d, the whole of mamba-ssm's selective_scan_fn (the recurrence of
 * selective_scan.py's docstring):
 *
 *     dt_t   = softplus(delta_t + bias)   (or delta_t + bias; softplus(x) = x above 20, as torch)
 *     h_t[n] = exp(dt_t A[n]) h_{t-1}[n] + dt_t u_t B_t[n]      (h_{-1} = 0)
 *     p_t    = sum_n C_t[n] h_t[n] + D u_t
 *     y_t    = p_t silu(z_t)                  (or p_t without z)
 *
 * The state h (N floats) lives in registers/L1 for the whole sequence: nothing of size
 * [b, d, l, n] is ever written to memory, which is what makes a fused scan fast (mamba-ssm's CUDA
 * kernel keeps it in shared memory for the same reason). The forward stores the state at the start
 * of every chunk of `chunk` steps (`checkpoints`, [b, d, ceil(l/chunk), n]); the backward
 * recomputes each chunk's states from its checkpoint, then runs the adjoint recurrence, with
 * gy_t the incoming gradient, q_t = gy_t silu(z_t) (dL/dp_t) and g_t[n] = dL/dh_t[n]:
 *
 *     g_t[n]    = C_t[n] q_t + exp(dt_{t+1} A[n]) g_{t+1}[n]
 *     dL/dz_t   = gy_t p_t silu'(z_t),        silu'(z) = s (1 + z (1 - s)), s = sigmoid(z)
 *     dL/dC_t[n] += q_t h_t[n]                                  (summed over d)
 *     dL/dB_t[n] += g_t[n] dt_t u_t                             (summed over d)
 *     dL/du_t   = sum_n g_t[n] dt_t B_t[n] + q_t D
 *     dL/ddt_t  = sum_n g_t[n] (A[n] exp(dt_t A[n]) h_{t-1}[n] + u_t B_t[n])
 *     dL/ddelta_t = dL/ddt_t sigmoid(delta_t + bias)            (with softplus; else dL/ddt_t)
 *     dL/dA[n] += g_t[n] dt_t exp(dt_t A[n]) h_{t-1}[n]          (summed over t; over b in Python)
 *     dL/dD    += q_t u_t,   dL/dbias += dL/ddelta_t             (summed over t; over b in Python)
 *
 * Layouts (all float32, C-contiguous): u, delta, z, y and their gradients [b, d, l]; A [d, n];
 * D, bias [d]; Bt, Ct and the gradients of B and C [b, l, n] (time-major, so that the n loop reads
 * contiguous memory). D, z and bias may be NULL. The backward parallelises over (b, group of
 * channels); each work item accumulates dL/dB and dL/dC of its own channel group in
 * gB_part/gC_part [groups, b, l, n] and the per-channel sums in [b, d] rows (all summed in
 * Python), so no two threads write the same float.
 */
#include <math.h>
#include <string.h>

static inline float step_size(float raw, int softplus) {
    return softplus ? (raw > 20.0f ? raw : log1pf(expf(raw))) : raw;
}

static inline void chunk_states(const float *A, const float *dt, const float *u, const float *Bt,
                                const float *h_start, float *states, float *decays, long t0, long t1,
                                long n_state) {
    /* states[(t - t0) * n_state + n] = h_t[n] and decays[...] = exp(dt_t A[n]) for t0 <= t < t1,
       from h_{t0-1} = h_start */
    const float *h_prev = h_start;
    for (long t = t0; t < t1; ++t) {
        const float step = dt[t - t0], input = step * u[t];
        const float *B_row = Bt + t * n_state;
        float *h = states + (t - t0) * n_state, *decay = decays + (t - t0) * n_state;
        #pragma omp simd
        for (long n = 0; n < n_state; ++n) {
            decay[n] = expf(step * A[n]);
            h[n] = decay[n] * h_prev[n] + input * B_row[n];
        }
        h_prev = h;
    }
}

static inline void chunk_inputs(const float *delta, const float *z, float shift, int softplus, float *steps,
                                float *z_sigmoid, long t0, long t1) {
    /* the step sizes dt_t and, with a gate, sigmoid(z_t) of one chunk (vectorised: libmvec) */
    #pragma omp simd
    for (long t = t0; t < t1; ++t)
        steps[t - t0] = step_size(delta[t] + shift, softplus);
    if (z) {
        #pragma omp simd
        for (long t = t0; t < t1; ++t)
            z_sigmoid[t - t0] = 1.0f / (1.0f + expf(-z[t]));
    }
}

void selective_scan_forward(const float *u, const float *delta, const float *A, const float *Bt,
                            const float *Ct, const float *D, const float *z, const float *bias, int softplus,
                            float *y, float *checkpoints, long batch, long dim, long length, long n_state,
                            long chunk, int threads) {
    const long n_chunks = (length + chunk - 1) / chunk;
    #pragma omp parallel for collapse(2) schedule(static) num_threads(threads)
    for (long b = 0; b < batch; ++b) {
        for (long d = 0; d < dim; ++d) {
            const long row = b * dim + d;
            const float *u_r = u + row * length, *delta_r = delta + row * length, *A_d = A + d * n_state;
            const float *z_r = z ? z + row * length : NULL;
            const float *B_b = Bt + b * length * n_state, *C_b = Ct + b * length * n_state;
            const float skip = D ? D[d] : 0.0f, shift = bias ? bias[d] : 0.0f;
            float *y_r = y + row * length, *saved = checkpoints + row * n_chunks * n_state;
            float h[n_state], steps[chunk], z_sigmoid[chunk];
            memset(h, 0, sizeof(float) * n_state);
            for (long k = 0; k < n_chunks; ++k) {
                const long t0 = k * chunk, t1 = t0 + chunk < length ? t0 + chunk : length;
                memcpy(saved + k * n_state, h, sizeof(float) * n_state);
                chunk_inputs(delta_r, z_r, shift, softplus, steps, z_sigmoid, t0, t1);
                for (long t = t0; t < t1; ++t) {
                    const float step = steps[t - t0], input = step * u_r[t];
                    const float *B_row = B_b + t * n_state, *C_row = C_b + t * n_state;
                    float out = 0.0f;
                    #pragma omp simd reduction(+ : out)
                    for (long n = 0; n < n_state; ++n) {
                        h[n] = expf(step * A_d[n]) * h[n] + input * B_row[n];
                        out += C_row[n] * h[n];
                    }
                    out += skip * u_r[t];
                    y_r[t] = z_r ? out * z_r[t] * z_sigmoid[t - t0] : out;
                }
            }
        }
    }
}

void selective_scan_backward(const float *u, const float *delta, const float *A, const float *Bt,
                             const float *Ct, const float *D, const float *z, const float *bias, int softplus,
                             const float *checkpoints, const float *gy, float *gu, float *gdelta, float *gz,
                             float *gA_part, float *gB_part, float *gC_part, float *gD_part, float *gbias_part,
                             long batch, long dim, long length, long n_state, long chunk, long groups,
                             int threads) {
    const long n_chunks = (length + chunk - 1) / chunk;
    const long per_group = (dim + groups - 1) / groups;
    #pragma omp parallel for collapse(2) schedule(dynamic) num_threads(threads)
    for (long g = 0; g < groups; ++g) {
        for (long b = 0; b < batch; ++b) {
            const float *B_b = Bt + b * length * n_state, *C_b = Ct + b * length * n_state;
            float *gB_b = gB_part + (g * batch + b) * length * n_state;
            float *gC_b = gC_part + (g * batch + b) * length * n_state;
            float states[chunk * n_state], decays[chunk * n_state], carry[n_state];
            float steps[chunk], z_sigmoid[chunk], softplus_grad[chunk];
            const long d_end = (g + 1) * per_group < dim ? (g + 1) * per_group : dim;
            for (long d = g * per_group; d < d_end; ++d) {
                const long row = b * dim + d;
                const float *u_r = u + row * length, *delta_r = delta + row * length, *gy_r = gy + row * length;
                const float *z_r = z ? z + row * length : NULL;
                const float *A_d = A + d * n_state, *saved = checkpoints + row * n_chunks * n_state;
                const float skip = D ? D[d] : 0.0f, shift = bias ? bias[d] : 0.0f;
                float *gu_r = gu + row * length, *gdelta_r = gdelta + row * length, *gA = gA_part + row * n_state;
                float g_skip = 0.0f, g_shift = 0.0f;
                memset(carry, 0, sizeof(float) * n_state);
                for (long k = n_chunks - 1; k >= 0; --k) {
                    const long t0 = k * chunk, t1 = t0 + chunk < length ? t0 + chunk : length;
                    const float *h_start = saved + k * n_state;
                    chunk_inputs(delta_r, z_r, shift, softplus, steps, z_sigmoid, t0, t1);
                    chunk_states(A_d, steps, u_r, B_b, h_start, states, decays, t0, t1, n_state);
                    #pragma omp simd
                    for (long t = t0; t < t1; ++t)  /* softplus'(x) = sigmoid(x) = 1 - exp(-softplus(x)) */
                        softplus_grad[t - t0] = softplus && delta_r[t] + shift <= 20.0f ? -expm1f(-steps[t - t0]) : 1.0f;
                    for (long t = t1 - 1; t >= t0; --t) {
                        const float step = steps[t - t0], input = u_r[t];
                        const float gate = z_r ? z_r[t] : 0.0f, sig = z_r ? z_sigmoid[t - t0] : 0.0f;
                        const float grad_out = z_r ? gy_r[t] * gate * sig : gy_r[t];  /* q_t = gy_t silu(z_t) */
                        const float *h = states + (t - t0) * n_state, *decay = decays + (t - t0) * n_state;
                        const float *h_prev = t > t0 ? h - n_state : h_start;
                        const float *B_row = B_b + t * n_state, *C_row = C_b + t * n_state;
                        float *gB_row = gB_b + t * n_state, *gC_row = gC_b + t * n_state;
                        float g_input = 0.0f, g_step = 0.0f, out = 0.0f;
                        #pragma omp simd reduction(+ : g_input, g_step, out)
                        for (long n = 0; n < n_state; ++n) {
                            const float g_h = carry[n] + C_row[n] * grad_out;
                            const float g_decay = g_h * h_prev[n] * decay[n];
                            out += C_row[n] * h[n];
                            gC_row[n] += grad_out * h[n];
                            gB_row[n] += g_h * step * input;
                            gA[n] += g_decay * step;
                            g_input += g_h * B_row[n];
                            g_step += g_decay * A_d[n] + g_h * input * B_row[n];
                            carry[n] = g_h * decay[n];
                        }
                        if (z_r)  /* dL/dz = gy p silu'(z), p = sum_n C h + D u */
                            gz[row * length + t] = gy_r[t] * (out + skip * input) * sig * (1.0f + gate * (1.0f - sig));
                        g_step *= softplus_grad[t - t0];
                        gu_r[t] = g_input * step + grad_out * skip;
                        gdelta_r[t] = g_step;
                        g_skip += grad_out * input;
                        g_shift += g_step;
                    }
                }
                gD_part[row] = g_skip;
                gbias_part[row] = g_shift;
            }
        }
    }
}
