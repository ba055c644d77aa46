/* Double-precision reference for the multi-class loss options and sample
 * weights: PyTorch's CrossEntropyLoss(weight, ignore_index,
 * label_smoothing) per row, scikit-learn's sample_weight confusion matrix
 * and the metrics it derives from that matrix. Like reference.h, it depends
 * on nothing in the library. */
#ifndef CLM_REF_MULTICLASS_OPTIONS_H
#define CLM_REF_MULTICLASS_OPTIONS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clm_ref_mc_options {
  uint32_t k;
  const double *class_weight; /* K values, or NULL: all 1 */
  int has_ignore;
  int32_t ignore;
  double smoothing;     /* e in [0, 1] */
  const float *weights; /* n sample weights, or NULL: all 1 */
} clm_ref_mc_options;

/* -log p_c of one row for class c, in double: log-softmax of logits (with
 * the limits at +-inf of clm_ref_ce_logits: among m logits at +inf each
 * has probability 1/m, every other class 0), or -log(clip(p_c, FLT_EPSILON,
 * 1)) for probabilities. */
double clm_ref_neg_log_p(const float *row, uint32_t k, int probs, uint32_t c);

/* One row's loss, PyTorch's
 *   (1 - e) w_y (-log p_y) + (e / K) sum_c w_c (-log p_c),
 * where a zero weight times an infinite -log p counts 0. *mag (optional)
 * receives the same sum with every -log p_c replaced by -log p_c + 1: the
 * magnitude the device's rounding errors scale with. */
double clm_ref_ce_option_row(const float *row, uint32_t k, int probs,
                             uint32_t t, const clm_ref_mc_options *o,
                             double *mag);

/* One row's gradient of s * l (l as in clm_ref_ce_option_row) with respect
 * to its logits:
 *   g_j = s [(1 - e) w_t (p_j - [j = t]) + (e / K)(W p_j - w_j)],
 * W = sum_c w_c, p the softmax with the limits of clm_ref_neg_log_p (among
 * m logits at +inf each has 1/m, every other class 0). Probabilities are
 * taken as logits log p: p is the row divided by its sum (1/K each for an
 * all-zero row). A row whose label is the options' ignored one gets zeros.
 * Writes k doubles to grad and returns 0; returns -1 (nothing written) for
 * a row without probabilities: NaN, logits all -inf or all +inf, a
 * probability outside [0, 1].
 * mag (optional, k doubles): per element, the first-order bound, in units
 * of u = 2^-24, of the rounding error of the device's float32 evaluation
 * (tests/test_multiclass_grad.c derives it):
 *   j != t: s [c1 p_j (|x_j| + xb + K + 15) + 5 (e/K) w_j],
 *   j == t: s [c1 q (xr + xb + 2K + 14) + 5 (e/K)(W - w_t)],
 * with c1 = (1 - e) w_t + (e/K) W, q = 1 - p_t, x_j = z_j - max (0 for
 * probabilities and rows with +inf), xb and xr the means of |x_c| weighted
 * by exp(x_c) over all classes and over the classes other than t; plus
 * (s (c1 + 1) + 1) 2^-120 (a few float32 subnormal steps, for results at
 * or below the underflow). */
int clm_ref_ce_option_grad(const float *row, uint32_t k, int probs, int32_t t,
                           double s, const clm_ref_mc_options *o, double *grad,
                           double *mag);

typedef struct clm_ref_mc_weighted {
  uint64_t n, n_ignored, top_k_hits;
  double w_sum, w_ignored, w_scored, w_top_k_hits;
  double ce_sum, ce_norm, ce_mag; /* ce_mag: sum of s * mag (see above) */
} clm_ref_mc_weighted;

/* n rows: labels yt and either predictions yp (scores NULL) or an n x k
 * score matrix (predictions = argmax, and the loss, top-k hits). Rows whose
 * label is the ignored one are counted apart. cm (K x K uint64) and w_cm
 * (K x K double, sample weights summed in row order), when not NULL, are
 * zeroed first. Labels must be valid. */
void clm_ref_mc_weighted_eval(const int32_t *yt, const int32_t *yp,
                              const float *scores, uint64_t n, int probs,
                              uint32_t top_k, const clm_ref_mc_options *o,
                              uint64_t *cm, double *w_cm,
                              clm_ref_mc_weighted *r);

/* scikit-learn's metrics from a K x K matrix of weight sums (its
 * confusion_matrix(sample_weight=...)), every undefined ratio taken as 0:
 * per class precision/recall/F1 (arrays of K), accuracy, balanced accuracy
 * (mean recall over classes with support), MCC, Cohen's kappa (1 - the
 * off-diagonal observed sum over the off-diagonal expected sum), macro F1
 * over all K classes and support-weighted F1. */
typedef struct clm_ref_mc_metrics {
  double accuracy, balanced_accuracy, mcc, kappa, macro_f1, weighted_f1;
} clm_ref_mc_metrics;
void clm_ref_mc_metrics_from(const double *w_cm, uint32_t k, double *precision,
                             double *recall, double *f1, clm_ref_mc_metrics *m);

#ifdef __cplusplus
}
#endif

#endif
