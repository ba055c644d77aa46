/* Double-precision reference for the multilabel family: n x L indicator
 * labels against n x L scores (or 0/1 predictions), scikit-learn's
 * definitions evaluated straight from whole arrays, for the tests and the
 * benchmarks. Unlike reference.h it includes clmetrics.h, for the result
 * struct and the enums only: it calls nothing in the library.
 *
 * Semantics (scikit-learn 1.2.1's, with sample_weight as row weights):
 * - A cell is predicted positive iff its probability is strictly above its
 *   label's threshold: p > t for probabilities, sigma(z) > t in double for
 *   logits (see the note in ref_multilabel.c on cells at the threshold),
 *   pred != 0 for predictions.
 * - Per label, from the weighted cells (the counts when unweighted):
 *   precision, recall, F1 = 2tp/(2tp+fp+fn) and Jaccard tp/(tp+fp+fn); a
 *   0/0 takes the zero-division value (0, 1 or NaN) and sets its
 *   CLM_UNDEF_* bit.
 * - micro from the summed cells; macro the mean over the L labels; weighted
 *   the mean by support weight; samples the row-weighted mean of each row's
 *   ratios. With zero-division NaN the undefined values are left out of
 *   the means (scikit-learn >= 1.3's _nanaverage, NaN when all are left
 *   out; by support weight, when every defined label has support 0, the
 *   plain mean of the defined ones, as _nanaverage falls back to). A total
 *   support weight of 0 gives scikit-learn 1.2.1's early return for
 *   average='weighted': (zd, zd, zd) without predicted positives, else
 *   (0, zd, 0). Rows of weight 0 add nothing to the samples averages and
 *   never set samples_undefined (scikit-learn counts them as 0/0 of weight
 *   0).
 * - subset accuracy, Hamming loss = sum w_r (fp_r + fn_r) / (L sum w);
 *   per-label BCE means (softplus form for logits, p clipped to
 *   [FLT_EPSILON, 1 - FLT_EPSILON]) and their overall mean; a row of
 *   weight 0 adds no loss even where its BCE is +inf.
 * - Label ranking, on the raw float scores, each row sorted (an O(L log L)
 *   method independent of per-label scans): coverage error, label ranking
 *   average precision (1 for rows with 0 or L true labels), ranking loss
 *   (0 for those rows) and the samples-averaged ROC AUC (ties count 1/2;
 *   NaN when a row of weight > 0 has 0 or L true labels, where
 *   scikit-learn raises). NaN without scores or without label_ranking.
 * Not part of the public API. */
#ifndef CLM_REF_MULTILABEL_H
#define CLM_REF_MULTILABEL_H

#include <stdint.h>

#include "clmetrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills *out (out->labels allocated with malloc; release with
 * clm_multilabel_result_release or free(out->labels)) from whole arrays.
 * labels: n x L row-major, each 0 or 1. scores: n x L float32 of `kind`,
 * or NULL to use pred (n x L, nonzero = positive). weights: n finite
 * values >= 0, or NULL (unweighted). thresholds: L probabilities in
 * [0, 1], or NULL for 0.5 each (ignored with pred). label_ranking: compute
 * the ranking metrics (scores only).
 * Errors (out zeroed, nothing allocated): CLM_ERR_INVALID_ARGUMENT (NULL
 * array, L = 0, unknown kind or zero-division policy, threshold outside
 * [0, 1]), CLM_ERR_BAD_LABEL, CLM_ERR_BAD_SCORE (NaN, probability outside
 * [0, 1]), CLM_ERR_BAD_WEIGHT, CLM_ERR_EMPTY (n = 0, or every weight 0),
 * CLM_ERR_OUT_OF_MEMORY. */
clm_status clm_ref_multilabel(const uint8_t *labels, const float *scores,
                              const uint8_t *pred, const float *weights,
                              uint64_t n, uint32_t L, clm_scores_kind kind,
                              const double *thresholds, int label_ranking,
                              clm_zero_division zd, clm_multilabel_result *out);

/* One row's label-ranking values from its L labels and scores, by sorting
 * (exposed for the tests' brute-force comparison): coverage, label ranking
 * average precision, ranking loss and ROC AUC (NaN when the row has 0 or L
 * true labels). Returns 0, or -1 when out of memory. */
int clm_ref_multilabel_row_ranking(const uint8_t *y, const float *s, uint32_t L,
                                   double *coverage, double *lrap, double *loss,
                                   double *auc);

#ifdef __cplusplus
}
#endif

#endif
