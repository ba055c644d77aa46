/* Hand-written C baselines for the benchmarks (binary and multi-class).
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

/* OpenMP, the same outputs without storing the per-sample gradient (what
 * `clmetrics binary --json` computes). */
void bl_binary_omp_nograd_plain(const uint8_t *labels, const float *scores,
                                size_t n, bl_result *out);
void bl_binary_omp_nograd_fast(const uint8_t *labels, const float *scores,
                               size_t n, bl_result *out);

/* Compiler flags each copy was built with (for the report). */
extern const char bl_flags_plain[];
extern const char bl_flags_fast[];

/* ------------------------------------------------------------------ */
/* Multi-class                                                         */
/* ------------------------------------------------------------------ */

/* Return values of the multi-class loops. */
#define BL_MC_OK 0
#define BL_MC_BAD_LABEL (-1) /* a label outside [0, K) (out is undefined) */
#define BL_MC_NO_MEMORY (-2)

/* K x K confusion matrix (rows true, columns predicted) of n label pairs,
 * written (not added) to `out` (K*K uint64). Counted in private uint32
 * histograms flushed into uint64 at least every 2^30 samples; for K <= 32,
 * four interleaved sub-histograms per thread (consecutive samples hitting
 * the same cell would otherwise serialize on store-to-load forwarding).
 * Labels are checked without branches: an invalid pair goes to a spare
 * cell. The OpenMP version gives every thread its own histogram(s) and
 * merges them in parallel at the end. */
int bl_confusion_st_plain(const int32_t *y_true, const int32_t *y_pred,
                          size_t n, uint32_t k, uint64_t *out);
int bl_confusion_omp_plain(const int32_t *y_true, const int32_t *y_pred,
                           size_t n, uint32_t k, uint64_t *out);
int bl_confusion_st_fast(const int32_t *y_true, const int32_t *y_pred, size_t n,
                         uint32_t k, uint64_t *out);
int bl_confusion_omp_fast(const int32_t *y_true, const int32_t *y_pred,
                          size_t n, uint32_t k, uint64_t *out);

/* From an n x K row-major float32 logit matrix: per row the argmax (ties
 * to the lowest class), the cross-entropy (max - z_true) +
 * log(sum_c exp(z_c - max)) summed in double into *ce_sum, and the
 * confusion matrix of (true, argmax) written to `out` as above. A NaN score
 * is not checked for (the _fast copies could not see it anyway). */
int bl_mc_scores_st_plain(const int32_t *y_true, const float *scores, size_t n,
                          uint32_t k, uint64_t *out, double *ce_sum);
int bl_mc_scores_omp_plain(const int32_t *y_true, const float *scores, size_t n,
                           uint32_t k, uint64_t *out, double *ce_sum);
int bl_mc_scores_st_fast(const int32_t *y_true, const float *scores, size_t n,
                         uint32_t k, uint64_t *out, double *ce_sum);
int bl_mc_scores_omp_fast(const int32_t *y_true, const float *scores, size_t n,
                          uint32_t k, uint64_t *out, double *ce_sum);

#endif
