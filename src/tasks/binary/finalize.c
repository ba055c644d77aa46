/* Binary metrics from counts and sums: pure C, no OpenCL. */
#include "internal.h"

#include <math.h>

double clm_zero_division_value(clm_zero_division zd) {
  switch (zd) {
  case CLM_ZERO_DIVISION_ONE:
    return 1.0;
  case CLM_ZERO_DIVISION_NAN:
    return NAN;
  default:
    return 0.0;
  }
}

double clm_ratio(uint64_t num, uint64_t den, clm_zero_division zd, unsigned bit,
                 unsigned *undefined) {
  if (den == 0) {
    *undefined |= bit;
    return clm_zero_division_value(zd);
  }
  return (double)num / (double)den;
}

/* Matthews correlation without overflow: the numerator exactly in 128 bits
 * where the compiler has them, the denominator in long double. */
static double mcc(uint64_t tp, uint64_t fp, uint64_t tn, uint64_t fn,
                  clm_zero_division zd, unsigned *undefined) {
  long double a = (long double)tp + fp, b = (long double)tp + fn;
  long double c = (long double)tn + fp, d = (long double)tn + fn;
  if (a == 0 || b == 0 || c == 0 || d == 0) {
    *undefined |= CLM_UNDEF_MCC;
    return clm_zero_division_value(zd);
  }
#if defined(__SIZEOF_INT128__)
  unsigned __int128 x = (unsigned __int128)tp * tn;
  unsigned __int128 y = (unsigned __int128)fp * fn;
  long double num = x >= y ? (long double)(x - y) : -(long double)(y - x);
#else
  long double num = (long double)tp * tn - (long double)fp * fn;
#endif
  return (double)(num / sqrtl(a * b * c * d));
}

/* A ratio of weight sums; 0/0 follows the zero-division policy. */
static double wratio(double num, double den, clm_zero_division zd, unsigned bit,
                     unsigned *undefined) {
  if (den == 0.0) {
    *undefined |= bit;
    return clm_zero_division_value(zd);
  }
  return num / den;
}

/* Matthews correlation of the weighted cells, (tp tn - fp fn) over the root
 * of the four margins, as scikit-learn's from a sample-weighted confusion
 * matrix. In long double, and the root taken per pair of margins, so that
 * no product of four sums of float32 weights can overflow. */
static double wmcc(double tp, double fp, double tn, double fn,
                   clm_zero_division zd, unsigned *undefined) {
  const long double a = (long double)tp + fp, b = (long double)tp + fn;
  const long double c = (long double)tn + fp, d = (long double)tn + fn;
  if (a == 0 || b == 0 || c == 0 || d == 0) {
    *undefined |= CLM_UNDEF_MCC;
    return clm_zero_division_value(zd);
  }
  const long double num = (long double)tp * tn - (long double)fp * fn;
  return (double)(num / (sqrtl(a * b) * sqrtl(c * d)));
}

/* Every ratio from the sums of weights per cell (scikit-learn's
 * sample_weight); means over the weight sum. */
static void finalize_weighted(const clm_binary_state *s, clm_zero_division zd,
                              clm_binary_result *r) {
  const double tp = s->w_tp, fp = s->w_fp, tn = s->w_tn, fn = s->w_fn;
  r->accuracy = (tp + tn) / s->w_sum;
  r->precision = wratio(tp, tp + fp, zd, CLM_UNDEF_PRECISION, &r->undefined);
  r->recall = wratio(tp, tp + fn, zd, CLM_UNDEF_RECALL, &r->undefined);
  r->f1 = wratio(2 * tp, 2 * tp + fp + fn, zd, CLM_UNDEF_F1, &r->undefined);
  r->specificity =
      wratio(tn, tn + fp, zd, CLM_UNDEF_SPECIFICITY, &r->undefined);
  /* A class whose true weight sums to 0 is dropped, as scikit-learn drops
   * the NaN recall of an empty confusion-matrix row. */
  const double wpos = tp + fn, wneg = tn + fp;
  if (wpos > 0 && wneg > 0)
    r->balanced_accuracy = 0.5 * (tp / wpos + tn / wneg);
  else if (wpos > 0)
    r->balanced_accuracy = tp / wpos;
  else
    r->balanced_accuracy = tn / wneg;
  r->mcc = wmcc(tp, fp, tn, fn, zd, &r->undefined);
}

/* Every ratio from the exact integer counts. */
static void finalize_counts(const clm_binary_state *s, clm_zero_division zd,
                            clm_binary_result *rp) {
  clm_binary_result r = *rp;
  const double n = (double)s->n;
  r.accuracy = (double)(s->tp + s->tn) / n;
  r.precision =
      clm_ratio(s->tp, s->tp + s->fp, zd, CLM_UNDEF_PRECISION, &r.undefined);
  r.recall =
      clm_ratio(s->tp, s->tp + s->fn, zd, CLM_UNDEF_RECALL, &r.undefined);
  /* F1 = 2tp / (2tp + fp + fn), as scikit-learn >= 1.3 computes it:
   * undefined only when there are no positives at all, true or predicted. */
  r.f1 = clm_ratio(2 * s->tp, 2 * s->tp + s->fp + s->fn, zd, CLM_UNDEF_F1,
                   &r.undefined);
  r.specificity =
      clm_ratio(s->tn, s->tn + s->fp, zd, CLM_UNDEF_SPECIFICITY, &r.undefined);
  /* Balanced accuracy averages the recall of the classes present in the
   * truth (scikit-learn drops an absent class rather than guessing). */
  const uint64_t npos = s->tp + s->fn, nneg = s->tn + s->fp;
  if (npos && nneg)
    r.balanced_accuracy =
        0.5 * ((double)s->tp / (double)npos + (double)s->tn / (double)nneg);
  else if (npos)
    r.balanced_accuracy = (double)s->tp / (double)npos;
  else
    r.balanced_accuracy = (double)s->tn / (double)nneg;
  r.mcc = mcc(s->tp, s->fp, s->tn, s->fn, zd, &r.undefined);
  *rp = r;
}

clm_status clm_binary_finalize(const clm_binary_state *s, clm_zero_division zd,
                               clm_binary_result *out, double *weight_grad) {
  if (!s || !out)
    return CLM_ERR_INVALID_ARGUMENT;
  if (zd != CLM_ZERO_DIVISION_ZERO && zd != CLM_ZERO_DIVISION_ONE &&
      zd != CLM_ZERO_DIVISION_NAN)
    return CLM_ERR_INVALID_ARGUMENT;
  if (s->n == 0)
    return CLM_ERR_EMPTY;
  /* Zero weights everywhere: every ratio and mean would be 0/0. */
  if (s->weighted && !(s->w_sum > 0))
    return CLM_ERR_EMPTY;
  clm_binary_result r = {0};
  r.n = s->n;
  r.tp = s->tp;
  r.fp = s->fp;
  r.tn = s->tn;
  r.fn = s->fn;
  r.threshold = s->threshold;
  r.weighted = s->weighted;
  r.pos_weight = s->pos_weight;
  if (s->weighted) {
    r.weight_sum = s->w_sum;
    r.w_tp = s->w_tp;
    r.w_fp = s->w_fp;
    r.w_tn = s->w_tn;
    r.w_fn = s->w_fn;
    finalize_weighted(s, zd, &r);
  } else {
    r.weight_sum = (double)s->n;
    r.w_tp = (double)s->tp;
    r.w_fp = (double)s->fp;
    r.w_tn = (double)s->tn;
    r.w_fn = (double)s->fn;
    finalize_counts(s, zd, &r);
  }
  /* The mean over the samples (PyTorch's reduction='mean', pos_weight
   * included) or over the weights (log_loss's sample_weight). */
  const double n = r.weight_sum;
  r.bce_sum = s->bce_sum;
  r.bce_mean = s->bce_sum / n;
  r.grad_bias = s->grad_sum / n;
  if (weight_grad)
    for (uint64_t j = 0; j < s->n_features; ++j)
      weight_grad[j] = s->weight_grad_sum[j] / n;
  *out = r;
  return CLM_OK;
}
