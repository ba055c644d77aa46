/* Hand-written OpenMP baselines for bench_multilabel.
 *
 * baselines_multilabel.c is compiled twice, like baselines.c: plain -O3
 * (functions ending in _plain: scalar libm expf/log1pf, IEEE) and
 * -O3 -ffast-math (_fast: glibc's vectorized expf/log1pf from libmvec).
 *
 * One pass over an n x L row-major matrix of float32 logits and uint8 0/1
 * labels, decision z > 0 (threshold 0.5), computing what
 * clm_multilabel_update computes without weights or gradient:
 *   per label: tp, fp, fn (per-thread private uint32 arrays, flushed into
 *     uint64 per block of rows) and the BCE sum in the softplus form
 *     max(y ? -z : z, 0) + log1p(exp(-|z|)) (per-thread double arrays);
 *   per row: tp_r, fp_r, fn_r -> sums of precision, recall, F1 and Jaccard
 *     where defined and the number of rows where each is 0/0, rows with
 *     every label right, sum of fp_r + fn_r (Hamming numerator);
 *   with `rank`: per row with t true labels (0 < t < L), for each true
 *     label j the labels scoring >= s_j (all, true ones) and the false ones
 *     tied with it -> coverage, wrong pairs, tied pairs, LRAP sum (double);
 *     rows with t = 0 or t = L: coverage t, LRAP 1.
 * Every thread's per-row sums are added into the result in thread order.
 * Results are ADDED to `out` (so row batches accumulate). */
#ifndef CLM_BENCH_BASELINES_MULTILABEL_H
#define CLM_BENCH_BASELINES_MULTILABEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct bl_ml_result {
  uint32_t L;
  uint64_t n;             /* rows */
  uint64_t *tp, *fp, *fn; /* L each, caller-owned */
  double *loss;           /* L, caller-owned */
  uint64_t exact, diff;   /* rows all right; sum of fp_r + fn_r */
  double prec_sum, rec_sum, f1_sum, jac_sum;
  uint64_t prec_undef, rec_undef, f1_undef, jac_undef;
  /* With ranking. */
  uint64_t coverage_sum, bad_pairs, tie_pairs;
  double lrap_sum, rank_loss_sum;
} bl_ml_result;

#define BL_ML_OK 0
#define BL_ML_NO_MEMORY (-2)

int bl_ml_omp_plain(const uint8_t *labels, const float *scores, size_t n,
                    uint32_t L, int rank, bl_ml_result *out);
int bl_ml_omp_fast(const uint8_t *labels, const float *scores, size_t n,
                   uint32_t L, int rank, bl_ml_result *out);

#endif
