/* Hand-written C baselines for the binary benchmark.
 *
 * baselines.c is compiled twice: once with plain -O3 (functions ending in
 * _plain: scalar libm expf/log1pf, IEEE semantics) and once with
 * -O3 -ffast-math (functions ending in _fast: glibc's vectorized
 * expf/log1pf through libmvec). Each computes, for threshold 0.5 on logits,
 * the loss sum, the gradient sum, the confusion counts and the per-sample
 * gradient sigma(z) - y written to `grad`. Sums are accumulated in double
 * (per thread for the OpenMP variants). */
#ifndef CLM_BENCH_BASELINES_H
#define CLM_BENCH_BASELINES_H

#include <stddef.h>
#include <stdint.h>

typedef struct bl_result {
  double loss_sum;
  double grad_sum;
  uint64_t tp, fp, tn, fn;
} bl_result;

typedef void (*bl_fn)(const uint8_t *labels, const float *scores, size_t n,
                      float *grad, bl_result *out);

/* Single thread. */
void bl_binary_st_plain(const uint8_t *labels, const float *scores, size_t n,
                        float *grad, bl_result *out);
void bl_binary_st_fast(const uint8_t *labels, const float *scores, size_t n,
                       float *grad, bl_result *out);
/* OpenMP, all threads (omp_get_max_threads). */
void bl_binary_omp_plain(const uint8_t *labels, const float *scores, size_t n,
                         float *grad, bl_result *out);
void bl_binary_omp_fast(const uint8_t *labels, const float *scores, size_t n,
                        float *grad, bl_result *out);

/* Compiler flags each copy was built with (for the report). */
extern const char bl_flags_plain[];
extern const char bl_flags_fast[];

#endif
