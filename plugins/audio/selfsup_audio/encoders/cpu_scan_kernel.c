/* The Mamba (S6) selective scan, fused, for the CPU: forward and backward.
 *
 * Compiled on first use by selfsup_audio/encoders/cpu_scan.py (the system C compiler, OpenMP)
 * and called through ctypes; see that module for the Python side and the autograd wrapper.
 *
 * Per batch row b and channel d (the recurrence of selective_scan.py's docstring, without the
 * D skip and the z gate, which PyTorch applies around this kernel):
 *
 *     h_t[n] = exp(dt_t A[n]) h_{t-1}[n] + dt_t u_t B_t[n]      (h_{-1} = 0)
 *     y_t    = sum_n C_t[n] h_t[n]
 *
 * The state h (N floats) lives in registers/L1 for the whole sequence: nothing of size
 * [b, d, l, n] is ever written to memory, which is what makes a fused scan fast (mamba-ssm's CUDA
 * kernel keeps it in shared memory for the same reason). The forward stores the state at the start
 * of every chunk of `chunk` steps (`checkpoints`, [b, d, ceil(l/chunk), n]); the backward
 * recomputes each chunk's states from its checkpoint, then runs the adjoint recurrence
 *
 *     g_t[n]   = C_t[n] gy_t + exp(dt_{t+1} A[n]) g_{t+1}[n]      (dL/dh_t)
 *     dL/dC_t[n] += gy_t h_t[n]                                 (summed over d)
 *     dL/dB_t[n] += g_t[n] dt_t u_t                             (summed over d)
 *     dL/du_t   = sum_n g_t[n] dt_t B_t[n]
 *     dL/ddt_t  = sum_n g_t[n] (A[n] exp(dt_t A[n]) h_{t-1}[n] + u_t B_t[n])
 *     dL/dA[n] += g_t[n] dt_t exp(dt_t A[n]) h_{t-1}[n]          (summed over t; over b in Python)
 *
 * Layouts (all float32, C-contiguous): u, dt, y, gu, gdt [b, d, l]; A [d, n]; Bt, Ct, and the
 * gradients of B and C [b, l, n] (time-major, so that the n loop reads contiguous memory).
 * The backward parallelises over (b, group of channels); each work item accumulates dL/dB and
 * dL/dC of its own channel group in gB_part/gC_part [groups, b, l, n] (summed in Python), so no
 * two threads write the same float.
 */
#include <math.h>
#include <string.h>

static inline void load_chunk_states(const float *A, const float *dt, const float *u, const float *Bt,
                                     const float *h_start, float *states, long t0, long t1, long n_state) {
    /* states[(t - t0) * n_state + n] = h_t[n] for t0 <= t < t1, from h_{t0-1} = h_start */
    const float *h_prev = h_start;
    for (long t = t0; t < t1; ++t) {
        const float step = dt[t], input = step * u[t];
        const float *B_row = Bt + t * n_state;
        float *h = states + (t - t0) * n_state;
        #pragma omp simd
        for (long n = 0; n < n_state; ++n)
            h[n] = expf(step * A[n]) * h_prev[n] + input * B_row[n];
        h_prev = h;
    }
}

void selective_scan_forward(const float *u, const float *dt, const float *A, const float *Bt, const float *Ct,
                            float *y, float *checkpoints, long batch, long dim, long length, long n_state,
                            long chunk, int threads) {
    const long n_chunks = (length + chunk - 1) / chunk;
    #pragma omp parallel for collapse(2) schedule(static) num_threads(threads)
    for (long b = 0; b < batch; ++b) {
        for (long d = 0; d < dim; ++d) {
            const long row = b * dim + d;
            const float *u_r = u + row * length, *dt_r = dt + row * length, *A_d = A + d * n_state;
            const float *B_b = Bt + b * length * n_state, *C_b = Ct + b * length * n_state;
            float *y_r = y + row * length, *saved = checkpoints + row * n_chunks * n_state;
            float h[n_state];
            memset(h, 0, sizeof(float) * n_state);
            for (long t = 0; t < length; ++t) {
                if (t % chunk == 0)
                    memcpy(saved + (t / chunk) * n_state, h, sizeof(float) * n_state);
                const float step = dt_r[t], input = step * u_r[t];
                const float *B_row = B_b + t * n_state, *C_row = C_b + t * n_state;
                float out = 0.0f;
                #pragma omp simd reduction(+ : out)
                for (long n = 0; n < n_state; ++n) {
                    h[n] = expf(step * A_d[n]) * h[n] + input * B_row[n];
                    out += C_row[n] * h[n];
                }
                y_r[t] = out;
            }
        }
    }
}

void selective_scan_backward(const float *u, const float *dt, const float *A, const float *Bt, const float *Ct,
                             const float *checkpoints, const float *gy, float *gu, float *gdt, float *gA_part,
                             float *gB_part, float *gC_part, long batch, long dim, long length, long n_state,
                             long chunk, long groups, int threads) {
    const long n_chunks = (length + chunk - 1) / chunk;
    const long per_group = (dim + groups - 1) / groups;
    #pragma omp parallel for collapse(2) schedule(dynamic) num_threads(threads)
    for (long g = 0; g < groups; ++g) {
        for (long b = 0; b < batch; ++b) {
            const float *B_b = Bt + b * length * n_state, *C_b = Ct + b * length * n_state;
            float *gB_b = gB_part + (g * batch + b) * length * n_state;
            float *gC_b = gC_part + (g * batch + b) * length * n_state;
            float states[chunk * n_state], carry[n_state];
            const long d_end = (g + 1) * per_group < dim ? (g + 1) * per_group : dim;
            for (long d = g * per_group; d < d_end; ++d) {
                const long row = b * dim + d;
                const float *u_r = u + row * length, *dt_r = dt + row * length, *gy_r = gy + row * length;
                const float *A_d = A + d * n_state, *saved = checkpoints + row * n_chunks * n_state;
                float *gu_r = gu + row * length, *gdt_r = gdt + row * length, *gA = gA_part + row * n_state;
                memset(carry, 0, sizeof(float) * n_state);
                for (long k = n_chunks - 1; k >= 0; --k) {
                    const long t0 = k * chunk, t1 = t0 + chunk < length ? t0 + chunk : length;
                    const float *h_start = saved + k * n_state;
                    load_chunk_states(A_d, dt_r, u_r, B_b, h_start, states, t0, t1, n_state);
                    for (long t = t1 - 1; t >= t0; --t) {
                        const float step = dt_r[t], input = u_r[t], grad_out = gy_r[t];
                        const float *h = states + (t - t0) * n_state;
                        const float *h_prev = t > t0 ? h - n_state : h_start;
                        const float *B_row = B_b + t * n_state, *C_row = C_b + t * n_state;
                        float *gB_row = gB_b + t * n_state, *gC_row = gC_b + t * n_state;
                        float g_input = 0.0f, g_step = 0.0f;
                        #pragma omp simd reduction(+ : g_input, g_step)
                        for (long n = 0; n < n_state; ++n) {
                            const float decay = expf(step * A_d[n]);
                            const float g_h = carry[n] + C_row[n] * grad_out;
                            const float g_decay = g_h * h_prev[n] * decay;
                            gC_row[n] += grad_out * h[n];
                            gB_row[n] += g_h * step * input;
                            gA[n] += g_decay * step;
                            g_input += g_h * B_row[n];
                            g_step += g_decay * A_d[n] + g_h * input * B_row[n];
                            carry[n] = g_h * decay;
                        }
                        gu_r[t] = g_input * step;
                        gdt_r[t] = g_step;
                    }
                }
            }
        }
    }
}
