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

/* ------------------------------------------------------------------ */
/* Ranking: exact ROC-AUC and average precision by sorting             */
/* ------------------------------------------------------------------ */

/* Compiled in the plain copy only (no -ffast-math: the key mapping, the
 * NaN check and the long double sums rely on IEEE semantics); the names
 * carry no suffix.
 *
 * What a careful C programmer would write with OpenMP: map every score to
 * an order-preserving unsigned key (-0.0 canonicalised to +0.0; negative:
 * ~bits, else bits | sign bit), sort with a parallel LSD radix sort
 * (11-bit digits, per-thread histograms, prefix offsets, scatter; a digit
 * every key shares is skipped), then one parallel scan over the sorted
 * keys (chunks start at tie-group boundaries):
 *   U2 = sum over positives of (2 * #negatives strictly below + #negatives
 *        tied), exact in unsigned __int128; ROC-AUC = U2 / (2 P N);
 *   AP = sum over distinct thresholds of (tp_g / P) * tp / (tp + fp), where
 *        tp, fp count the samples scoring >= the threshold and tp_g the
 *        positives at it, summed in long double.
 * float32: key (32 bits) and label packed as key << 1 | label in one
 * uint64, three 11-bit passes. float64: uint64 keys and a uint8 label
 * array moved alongside, six passes. Labels must be 0 or 1 (any nonzero
 * byte counts as positive). */

typedef struct bl_rank_result {
  uint64_t positives, negatives, distinct;
  double roc_auc;           /* NaN without both classes */
  double average_precision; /* NaN without positives */
} bl_rank_result;

#define BL_RANK_OK 0
#define BL_RANK_NAN (-1)       /* a NaN score (out is undefined) */
#define BL_RANK_NO_MEMORY (-2) /* workspace could not be allocated */

/* Bytes of workspace bl_rank_sort_f32/_f64 need for n samples (two key
 * buffers; float64 also two label buffers). */
size_t bl_rank_workspace_bytes(size_t n, int f64);

/* Exact ROC-AUC and AP of n samples, threads = omp_get_max_threads().
 * work: NULL (allocated and freed inside the call) or at least
 * bl_rank_workspace_bytes(n, f64) bytes, 8-byte aligned. */
int bl_rank_sort_f32(const uint8_t *labels, const float *scores, size_t n,
                     void *work, bl_rank_result *out);
int bl_rank_sort_f64(const uint8_t *labels, const double *scores, size_t n,
                     void *work, bl_rank_result *out);

/* The trivial reference: qsort of (score, label) pairs (one thread),
 * ROC-AUC from the rank sum with tied ranks averaged (exact integer
 * arithmetic), AP from a descending scan over tie groups in long double.
 * For checking the sort baseline on small inputs. */
int bl_rank_qsort_f32(const uint8_t *labels, const float *scores, size_t n,
                      bl_rank_result *out);
int bl_rank_qsort_f64(const uint8_t *labels, const double *scores, size_t n,
                      bl_rank_result *out);

#endif
