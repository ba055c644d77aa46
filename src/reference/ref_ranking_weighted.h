/* Double-precision (long double accumulated) reference for WEIGHTED exact
 * ROC-AUC and average precision, as scikit-learn's roc_auc_score,
 * average_precision_score, roc_curve and precision_recall_curve with
 * sample_weight. Sort-based, no bounded memory, no shortcuts; depends on
 * nothing in the library (not even clmetrics.h). Not part of the public
 * API. */
#ifndef CLM_REF_RANKING_WEIGHTED_H
#define CLM_REF_RANKING_WEIGHTED_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One threshold: the weighted samples scoring >= threshold. */
typedef struct clm_ref_wpoint {
  double threshold; /* a zero threshold is +0.0 */
  uint64_t tp, fp;  /* counts of samples with weight > 0 */
  double tp_weight, fp_weight;
} clm_ref_wpoint;

typedef struct clm_ref_wranking {
  uint64_t pos, neg; /* every sample, whatever its weight */
  double pos_weight, neg_weight;
  /* NaN when undefined: AUC needs both weight sums > 0, AP pos_weight > 0. */
  double roc_auc, average_precision;
  /* One point per distinct score among the samples of weight > 0 (those of
   * weight 0 are dropped first, as scikit-learn does), descending.
   * malloc'ed (clm_ref_wranking_free); NULL when there is none. */
  clm_ref_wpoint *curve;
  uint64_t curve_len;
} clm_ref_wranking;

/* Binary: labels y (nonzero = positive), scores s (no NaN; -0.0 == +0.0),
 * weights w (finite, >= 0). Samples of weight 0 are dropped; the rest are
 * sorted by score and grouped by exact equality. Per group the weights are
 * summed in long double; AUC = sum over groups of wp_g (WN_below_g +
 * wn_g / 2) / (WP WN), WN_below accumulated from the lowest group up; AP =
 * sum over groups, descending, of wp_g / WP * TP_g / (TP_g + FP_g). */
void clm_ref_wranking_eval(const uint8_t *y, const double *s, const double *w,
                           uint64_t n, clm_ref_wranking *out);
/* One-vs-rest over an n x k row-major score matrix. */
void clm_ref_wranking_ovr(const int32_t *y, const double *s, const double *w,
                          uint64_t n, uint32_t k, clm_ref_wranking *per_class);
/* Multilabel: column c of the n x k row-major scores against column c of
 * the n x k indicator matrix y (nonzero = positive), row weights w. */
void clm_ref_wranking_multilabel(const uint8_t *y, const double *s,
                                 const double *w, uint64_t n, uint32_t k,
                                 clm_ref_wranking *per_label);
/* Frees the curve and zeroes the struct. Accepts NULL. */
void clm_ref_wranking_free(clm_ref_wranking *r);

#ifdef __cplusplus
}
#endif

#endif
