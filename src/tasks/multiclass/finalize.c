/* Multi-class metrics from the confusion matrix: pure C, no OpenCL. */
#include "tasks/multiclass/multiclass.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void clm_multiclass_result_release(clm_multiclass_result *r) {
  if (!r)
    return;
  free(r->per_class);
  memset(r, 0, sizeof *r);
}

/* Weighted mean ignoring NaN entries, as scikit-learn's _nanaverage: NaN
 * when every entry is NaN; the plain mean when the remaining weights are
 * all zero. `offset` picks the field. */
static double nan_average(const clm_class_metrics *m, uint32_t k, size_t offset,
                          int weighted) {
  double sum = 0, wsum = 0, plain = 0;
  uint32_t count = 0;
  for (uint32_t c = 0; c < k; ++c) {
    const double v = *(const double *)((const char *)&m[c] + offset);
    if (isnan(v))
      continue;
    const double w = weighted ? m[c].support_weight : 1.0;
    sum += w * v;
    wsum += w;
    plain += v;
    ++count;
  }
  if (count == 0)
    return NAN;
  return wsum > 0 ? sum / wsum : plain / count;
}

/* Sums over classes that the correlation metrics need, in long double:
 * sums of products of counts reach n^2. */
struct class_sums {
  uint64_t correct;
  double recall_sum;
  uint32_t present; /* classes with support */
  long double tp_sum, t2, p2;
};

/* Per-class precision, recall, F1, support and predicted counts. */
static void per_class(const clm_multiclass_state *s, clm_zero_division zd,
                      clm_multiclass_result *r, struct class_sums *sums) {
  const uint32_t k = s->n_classes;
  memset(sums, 0, sizeof *sums);
  /* Row sums (support), column sums (predicted), diagonal. */
  for (uint32_t i = 0; i < k; ++i) {
    const uint64_t *row = s->confusion + (uint64_t)i * k;
    for (uint32_t j = 0; j < k; ++j) {
      r->per_class[i].support += row[j];
      r->per_class[j].predicted += row[j];
    }
    sums->correct += row[i];
  }
  for (uint32_t c = 0; c < k; ++c) {
    clm_class_metrics *m = &r->per_class[c];
    const uint64_t tp = s->confusion[(uint64_t)c * k + c];
    m->precision =
        clm_ratio(tp, m->predicted, zd, CLM_UNDEF_PRECISION, &m->undefined);
    m->recall = clm_ratio(tp, m->support, zd, CLM_UNDEF_RECALL, &m->undefined);
    m->f1 = clm_ratio(2 * tp, m->support + m->predicted, zd, CLM_UNDEF_F1,
                      &m->undefined);
    r->undefined |= m->undefined;
    if (m->support) {
      sums->recall_sum += (double)tp / (double)m->support;
      ++sums->present;
    }
    sums->tp_sum += (long double)m->support * m->predicted;
    sums->t2 += (long double)m->support * m->support;
    sums->p2 += (long double)m->predicted * m->predicted;
  }
}

/* Accuracy, the three averages and balanced accuracy. */
static void averages(const clm_multiclass_state *s, clm_zero_division zd,
                     const struct class_sums *sums, clm_multiclass_result *r) {
  const uint32_t k = s->n_classes;
  r->accuracy = (double)sums->correct / (double)s->n;
  const size_t op = offsetof(clm_class_metrics, precision),
               orc = offsetof(clm_class_metrics, recall),
               of = offsetof(clm_class_metrics, f1);
  r->macro.precision = nan_average(r->per_class, k, op, 0);
  r->macro.recall = nan_average(r->per_class, k, orc, 0);
  r->macro.f1 = nan_average(r->per_class, k, of, 0);
  r->weighted.precision = nan_average(r->per_class, k, op, 1);
  r->weighted.recall = nan_average(r->per_class, k, orc, 1);
  r->weighted.f1 = nan_average(r->per_class, k, of, 1);
  /* Single-label data: micro precision = recall = F1 = accuracy. */
  r->micro.precision = r->micro.recall = r->micro.f1 = r->accuracy;
  r->balanced_accuracy = sums->present ? sums->recall_sum / sums->present
                                       : clm_zero_division_value(zd);
}

/* MCC (Gorodkin) and Cohen's kappa from the class sums. */
static void agreement(const clm_multiclass_state *s, clm_zero_division zd,
                      const struct class_sums *sums, clm_multiclass_result *r) {
  /* As scikit-learn: (c*n - sum t_k p_k) /
   * sqrt((n^2 - sum p_k^2)(n^2 - sum t_k^2)). */
  const long double ln = (long double)s->n;
  const long double cov_tp = (long double)sums->correct * ln - sums->tp_sum;
  const long double cov_pp = ln * ln - sums->p2, cov_tt = ln * ln - sums->t2;
  if (cov_pp == 0 || cov_tt == 0) {
    r->undefined |= CLM_UNDEF_MCC;
    r->mcc = clm_zero_division_value(zd);
  } else {
    r->mcc = (double)(cov_tp / sqrtl(cov_pp * cov_tt));
  }
  /* Cohen's kappa: (p_o - p_e) / (1 - p_e), in counts. */
  const long double expected = sums->tp_sum / ln; /* sum t_k p_k / n */
  const long double den = ln - expected;
  if (den == 0) {
    r->undefined |= CLM_UNDEF_KAPPA;
    r->cohen_kappa = clm_zero_division_value(zd);
  } else {
    r->cohen_kappa = (double)(((long double)sums->correct - expected) / den);
  }
}

/* ---- sample-weighted states: the same metrics from the matrix of weight
 * sums, as scikit-learn computes them with sample_weight ---- */

/* num / den, or the policy's value with `bit` set where den is 0. */
static double ratio_w(double num, double den, clm_zero_division zd,
                      unsigned bit, unsigned *undefined) {
  if (den == 0) {
    *undefined |= bit;
    return clm_zero_division_value(zd);
  }
  return num / den;
}

/* Sums of the weighted matrix; `total` is its sum (scikit-learn's
 * n_samples), `correct` its trace. */
struct class_sums_w {
  long double correct, total, tp_sum, t2, p2;
  double recall_sum;
  uint32_t present; /* classes with a non-zero support weight */
};

static void per_class_w(const clm_multiclass_state *s, clm_zero_division zd,
                        clm_multiclass_result *r, struct class_sums_w *sums) {
  const uint32_t k = s->n_classes;
  memset(sums, 0, sizeof *sums);
  for (uint32_t i = 0; i < k; ++i) {
    const double *row = s->w_confusion + (uint64_t)i * k;
    for (uint32_t j = 0; j < k; ++j) {
      r->per_class[i].support_weight += row[j];
      r->per_class[j].predicted_weight += row[j];
    }
    sums->correct += row[i];
  }
  for (uint32_t c = 0; c < k; ++c) {
    clm_class_metrics *m = &r->per_class[c];
    const double tp = s->w_confusion[(uint64_t)c * k + c];
    const double t = m->support_weight, p = m->predicted_weight;
    m->precision = ratio_w(tp, p, zd, CLM_UNDEF_PRECISION, &m->undefined);
    m->recall = ratio_w(tp, t, zd, CLM_UNDEF_RECALL, &m->undefined);
    m->f1 = ratio_w(2 * tp, t + p, zd, CLM_UNDEF_F1, &m->undefined);
    r->undefined |= m->undefined;
    if (t > 0) {
      sums->recall_sum += tp / t;
      ++sums->present;
    }
    sums->total += t;
    sums->tp_sum += (long double)t * p;
    sums->t2 += (long double)t * t;
    sums->p2 += (long double)p * p;
  }
}

static void agreement_w(clm_zero_division zd, const struct class_sums_w *sums,
                        clm_multiclass_result *r) {
  const long double w = sums->total;
  const long double cov_tp = sums->correct * w - sums->tp_sum;
  const long double cov_pp = w * w - sums->p2, cov_tt = w * w - sums->t2;
  if (cov_pp == 0 || cov_tt == 0) {
    r->undefined |= CLM_UNDEF_MCC;
    r->mcc = clm_zero_division_value(zd);
  } else {
    r->mcc = (double)(cov_tp / sqrtl(cov_pp * cov_tt));
  }
  const long double expected = sums->tp_sum / w;
  const long double den = w - expected;
  if (den == 0) {
    r->undefined |= CLM_UNDEF_KAPPA;
    r->cohen_kappa = clm_zero_division_value(zd);
  } else {
    r->cohen_kappa = (double)((sums->correct - expected) / den);
  }
}

static void weighted_metrics(const clm_multiclass_state *s,
                             clm_zero_division zd, clm_multiclass_result *r) {
  const uint32_t k = s->n_classes;
  /* The integer counts stay as they are (support, predicted). */
  for (uint32_t i = 0; i < k; ++i)
    for (uint32_t j = 0; j < k; ++j) {
      const uint64_t v = s->confusion[(uint64_t)i * k + j];
      r->per_class[i].support += v;
      r->per_class[j].predicted += v;
    }
  struct class_sums_w sums;
  per_class_w(s, zd, r, &sums);
  r->accuracy = (double)(sums.correct / sums.total);
  const size_t op = offsetof(clm_class_metrics, precision),
               orc = offsetof(clm_class_metrics, recall),
               of = offsetof(clm_class_metrics, f1);
  r->macro.precision = nan_average(r->per_class, k, op, 0);
  r->macro.recall = nan_average(r->per_class, k, orc, 0);
  r->macro.f1 = nan_average(r->per_class, k, of, 0);
  r->weighted.precision = nan_average(r->per_class, k, op, 1);
  r->weighted.recall = nan_average(r->per_class, k, orc, 1);
  r->weighted.f1 = nan_average(r->per_class, k, of, 1);
  r->micro.precision = r->micro.recall = r->micro.f1 = r->accuracy;
  r->balanced_accuracy = sums.present ? sums.recall_sum / sums.present
                                      : clm_zero_division_value(zd);
  agreement_w(zd, &sums, r);
}

/* The loss and top-k accuracy. Option-less states (no weights, class
 * weights, ignored label or smoothing) divide by n_scored, as before the
 * options existed, whatever ce_norm holds (states restored from older
 * files have none). */
static void loss_metrics(const clm_multiclass_state *s,
                         clm_multiclass_result *r) {
  if (!s->has_scores || s->n_scored == 0)
    return;
  r->has_loss = 1;
  const double ns = (double)s->n_scored;
  const int plain = !clm_mc_has_options(s);
  r->cross_entropy_sum = s->ce_sum;
  r->cross_entropy_norm = plain ? ns : s->ce_norm;
  /* PyTorch's weighted mean; 0 / 0 (every true class weighing 0) is NaN,
   * as PyTorch gives. */
  r->cross_entropy_mean = plain            ? s->ce_sum / ns
                          : s->ce_norm > 0 ? s->ce_sum / s->ce_norm
                                           : NAN;
  if (s->top_k) {
    r->top_k = s->top_k;
    r->top_k_accuracy = !s->weighted        ? (double)s->top_k_hits / ns
                        : s->w_scored > 0.0 ? s->w_top_k_hits / s->w_scored
                                            : NAN;
  }
}

clm_status clm_multiclass_finalize(const clm_multiclass_state *s,
                                   clm_zero_division zd,
                                   clm_multiclass_result *out) {
  if (!s || !out || !s->confusion)
    return CLM_ERR_INVALID_ARGUMENT;
  if (zd != CLM_ZERO_DIVISION_ZERO && zd != CLM_ZERO_DIVISION_ONE &&
      zd != CLM_ZERO_DIVISION_NAN)
    return CLM_ERR_INVALID_ARGUMENT;
  if (s->n == 0 || (s->weighted && !(s->w_sum > 0)))
    return CLM_ERR_EMPTY;
  if (s->weighted && !s->w_confusion)
    return CLM_ERR_INVALID_ARGUMENT;
  clm_multiclass_result r;
  memset(&r, 0, sizeof r);
  r.per_class = clm_calloc(s->n_classes, sizeof *r.per_class);
  if (!r.per_class)
    return CLM_ERR_OUT_OF_MEMORY;
  r.n_classes = s->n_classes;
  r.n = s->n;
  r.n_ignored = s->n_ignored;
  if (s->weighted) {
    r.sample_weighted = 1;
    r.weight_sum = s->w_sum;
    weighted_metrics(s, zd, &r);
  } else {
    r.weight_sum = (double)s->n;
    struct class_sums sums;
    per_class(s, zd, &r, &sums);
    for (uint32_t c = 0; c < s->n_classes; ++c) {
      r.per_class[c].support_weight = (double)r.per_class[c].support;
      r.per_class[c].predicted_weight = (double)r.per_class[c].predicted;
    }
    averages(s, zd, &sums, &r);
    agreement(s, zd, &sums, &r);
  }
  /* Over the rows that had scores: label-only updates add no loss. */
  loss_metrics(s, &r);
  *out = r;
  return CLM_OK;
}
