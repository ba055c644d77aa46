/* The double-precision CPU reference and the seeded RNG, shared by the
 * device self-test (inside the library, hidden), the Criterion tests and the
 * benchmarks (each compiles reference.c into its own executable through the
 * clmetrics_reference static library).
 *
 * The reference is the oracle for every kernel: plain loops in double, the
 * numerically stable forms, no shortcuts. It depends on nothing else in the
 * project (not even clmetrics.h), so a bug in the library cannot leak into
 * the answers it is checked against. Inputs are the float32 values the
 * device sees, widened to double.
 *
 * Not part of the public API: names here carry no CLM_API and are not
 * exported by the shared library. */
#ifndef CLM_REFERENCE_H
#define CLM_REFERENCE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- RNG ---- */

/* xorshift64* (Vigna): fast, 2^64 - 1 period, good enough for test data.
 * The sequences are fixed forever: tests derive their data (and some of
 * their known answers) from them. */
typedef struct clm_rng {
  uint64_t state;
} clm_rng;

/* Sets the state to `state` as given (no scrambling), so a seed names the
 * same sequence it always did. A zero state would repeat zeros for ever and
 * is replaced by 0x9E3779B97F4A7C15. */
void clm_rng_seed(clm_rng *r, uint64_t state);
/* The next 64 random bits. */
uint64_t clm_rng_next(clm_rng *r);
/* Uniform in [0, 1) with 53 random bits: (next >> 11) * 2^-53. */
double clm_rng_uniform(clm_rng *r);
/* next % k for k >= 1 (the small modulo bias is part of the fixed
 * sequences). */
uint32_t clm_rng_below(clm_rng *r, uint32_t k);
/* splitmix64's output function applied to x + golden ratio: a counter-based
 * stream (value i = clm_rng_splitmix64(seed ^ i)), so data generated in
 * parallel do not depend on the number of threads. Also a good way to turn
 * a small seed into a clm_rng state. */
uint64_t clm_rng_splitmix64(uint64_t x);

/* ---- binary: one sample ---- */

/* sigma(z) = 1 / (1 + exp(-z)), evaluated as exp(z) / (1 + exp(z)) for
 * z < 0 so that neither form overflows; sigma(+-inf) = 1, 0. */
double clm_ref_sigmoid(double z);
/* softplus(a) = log(1 + exp(a)) as max(a, 0) + log1p(exp(-|a|)): no
 * overflow, softplus(+inf) = +inf, softplus(-inf) = 0 exactly. */
double clm_ref_softplus(double a);
/* The decision cut for logits: logit(t) = log(t) - log1p(-t), -inf for
 * t <= 0 and +inf for t >= 1. A logit z is positive iff z > logit(t). */
double clm_ref_threshold_logit(double t);
/* Binary cross-entropy of a logit in softplus form: softplus(-z) for y = 1,
 * softplus(z) for y = 0 (+inf with y = 1 costs exactly 0, never NaN). */
double clm_ref_bce_logit(double z, int y);
/* Binary cross-entropy of a probability, p clipped to [FLT_EPSILON,
 * 1 - FLT_EPSILON] (fmin/fmax): -log(p) for y = 1, -log1p(-p) for y = 0. */
double clm_ref_bce_prob(double p, int y);
/* dL/dz = sigma(z) - y for logits. */
double clm_ref_grad_logit(double z, int y);
/* The gradient reported for probabilities: p - y (unclipped). */
double clm_ref_grad_prob(double p, int y);

/* ---- binary: a set of samples ---- */

typedef struct clm_ref_binary {
  uint64_t n, tp, fp, tn, fn;
  double loss_sum, loss_abs; /* sum of per-sample BCE, and of |BCE| */
  double grad_sum, grad_abs; /* sum of per-sample dL/dz, and of |dL/dz| */
} clm_ref_binary;

/* Counts, loss and gradient of n samples: labels y (0 or 1), scores s
 * (logits, or probabilities when `probs`), threshold t in [0, 1]. A sample
 * is predicted positive iff s > logit(t) (logits) or s > t (probabilities),
 * strictly. `grad`, when not NULL, receives the n per-sample gradients. */
void clm_ref_binary_eval(const uint8_t *y, const float *s, uint64_t n,
                         int probs, double t, double *grad, clm_ref_binary *r);
/* The weight gradient dL/dW of the mean loss from per-sample gradients g
 * and the n x d row-major features x: w[j] = (sum_i g_i x_ij) / n and, as a
 * scale for tolerances, w_abs[j] = (sum_i |g_i x_ij|) / n (w_abs may be
 * NULL). Both are zero when n = 0. */
void clm_ref_weight_grad(const double *g, const float *x, uint64_t n,
                         uint64_t d, double *w, double *w_abs);

/* ---- multi-class: one row of K scores ---- */

/* Argmax of the row, ties to the lowest index (as NumPy). */
uint32_t clm_ref_argmax(const float *z, uint32_t k);
/* Rank of the true class t: the classes that score higher, plus the tied
 * ones with a lower index. Top-k hit iff rank < k (so top-1 = argmax). */
uint32_t clm_ref_rank(const float *z, uint32_t k, uint32_t t);
/* Cross-entropy of a logit row: log-sum-exp minus the true logit, computed
 * as (max - z_t) + log(sum_c exp(z_c - max)), with the limits at +-inf:
 * among m > 0 logits at +inf the probability splits evenly (log m for a true
 * class at +inf, +inf for one below), and a -inf true logit beside a finite
 * maximum costs +inf. A row of all -inf or all +inf logits has no
 * cross-entropy (the library refuses it): NaN. */
double clm_ref_ce_logits(const float *z, uint32_t k, uint32_t t);
/* Cross-entropy of a probability row: -log(clip(p_t, FLT_EPSILON, 1)). */
double clm_ref_ce_probs(const float *p, uint32_t k, uint32_t t);

/* ---- multi-class: a set of rows ---- */

/* The K x K confusion matrix (rows = true class, columns = predicted) of n
 * label pairs in [0, k), into cm (zeroed first). */
void clm_ref_confusion(const int32_t *yt, const int32_t *yp, uint64_t n,
                       uint32_t k, uint64_t *cm);

typedef struct clm_ref_multiclass {
  double ce_sum, ce_abs; /* sum of per-row cross-entropy, and of |CE| */
  uint64_t top_k_hits;
} clm_ref_multiclass;

/* From n x k row-major scores (logits, or probabilities when `probs`) and
 * true classes yt: cross-entropy sums, top-k hits and, when cm is not NULL,
 * the confusion matrix of (true class, argmax) (zeroed first). */
void clm_ref_multiclass_eval(const int32_t *yt, const float *z, uint64_t n,
                             uint32_t k, int probs, uint32_t top_k,
                             uint64_t *cm, clm_ref_multiclass *r);

/* ---- ranking: exact ROC-AUC and average precision ---- */

/* One point of the ROC/PR curves: the samples scoring >= threshold. */
typedef struct clm_ref_rank_point {
  double threshold;
  uint64_t tp, fp;
} clm_ref_rank_point;

typedef struct clm_ref_ranking {
  uint64_t pos, neg;
  /* NaN when undefined: AUC needs both classes, AP needs >= 1 positive. */
  double roc_auc, average_precision;
  /* One point per distinct score, descending threshold, cumulative tp/fp of
   * the samples with score >= threshold; a threshold of zero is +0.0 (a
   * tie group of -0.0 and +0.0 is one point). malloc'ed, caller frees
   * (clm_ref_ranking_free); NULL when n == 0. */
  clm_ref_rank_point *curve;
  uint64_t curve_len;
} clm_ref_ranking;

/* Exact ranking metrics of n samples, as scikit-learn's roc_auc_score and
 * average_precision_score: labels y (nonzero = positive), scores s (no NaN;
 * a float32 input is widened exactly by the caller). The samples are sorted
 * by descending score; ties are exact equality (-0.0 == +0.0, +-inf are
 * ordinary values). AUC is Mann-Whitney with 1/2 credit for ties, computed
 * exactly in integers: U2 = sum over positives of (2 * #negatives strictly
 * below + #negatives equal) as unsigned __int128, AUC = U2 / (2 P N) in long
 * double. AP = sum over distinct thresholds (descending) of
 * (tp_i - tp_{i-1}) / P * tp_i / (tp_i + fp_i), accumulated in long double.
 * On allocation failure both values are NaN and there is no curve. */
void clm_ref_ranking_eval(const uint8_t *y, const double *s, uint64_t n,
                          clm_ref_ranking *out);
/* One-vs-rest over an n x k row-major score matrix: per_class[c] is column
 * c ranked against (y == c). Each entry is freed with clm_ref_ranking_free. */
void clm_ref_ranking_ovr(const int32_t *y, const double *s, uint64_t n,
                         uint32_t k, clm_ref_ranking *per_class);
/* Multilabel: per_label[c] is column c of the n x k row-major scores
 * ranked against column c of the n x k indicator matrix y (nonzero =
 * positive). Each entry is freed with clm_ref_ranking_free. */
void clm_ref_ranking_multilabel(const uint8_t *y, const double *s, uint64_t n,
                                uint32_t k, clm_ref_ranking *per_label);
/* Frees the curve and zeroes the struct. Accepts NULL. */
void clm_ref_ranking_free(clm_ref_ranking *r);
/* Softmax of one row of k float32 logits, in float32 as the device computes
 * it: m = max_j z_j; e_j = expf(z_j - m); s = the float sum of e_j for j
 * ascending; p_j = e_j / s. */
void clm_ref_softmax_f32(const float *z, uint32_t k, float *p);

#ifdef __cplusplus
}
#endif

#endif
