/* Multi-class metrics from the confusion matrix: pure C, no OpenCL. */
#include "internal.h"

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
    const double w = weighted ? (double)m[c].support : 1.0;
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

clm_status clm_multiclass_finalize(const clm_multiclass_state *s,
                                   clm_zero_division zd,
                                   clm_multiclass_result *out) {
  if (!s || !out || !s->confusion)
    return CLM_ERR_INVALID_ARGUMENT;
  if (zd != CLM_ZERO_DIVISION_ZERO && zd != CLM_ZERO_DIVISION_ONE &&
      zd != CLM_ZERO_DIVISION_NAN)
    return CLM_ERR_INVALID_ARGUMENT;
  if (s->n == 0)
    return CLM_ERR_EMPTY;
  clm_multiclass_result r;
  memset(&r, 0, sizeof r);
  r.per_class = clm_calloc(s->n_classes, sizeof *r.per_class);
  if (!r.per_class)
    return CLM_ERR_OUT_OF_MEMORY;
  r.n_classes = s->n_classes;
  r.n = s->n;
  struct class_sums sums;
  per_class(s, zd, &r, &sums);
  averages(s, zd, &sums, &r);
  agreement(s, zd, &sums, &r);
  if (s->has_scores && s->n_scored > 0) {
    r.has_loss = 1;
    /* Over the rows that had scores: label-only updates add no loss. */
    const double ns = (double)s->n_scored;
    r.cross_entropy_mean = s->ce_sum / ns;
    if (s->top_k) {
      r.top_k = s->top_k;
      r.top_k_accuracy = (double)s->top_k_hits / ns;
    }
  }
  *out = r;
  return CLM_OK;
}
