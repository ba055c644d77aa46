/* Multilabel metrics from the state: pure C, double precision. */
#include "tasks/multilabel/multilabel.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void clm_multilabel_result_release(clm_multilabel_result *r) {
  if (!r)
    return;
  free(r->labels);
  memset(r, 0, sizeof *r);
}

/* num / den, or the policy's value with `bit` set when den is 0. */
static double ratio(double num, double den, clm_zero_division zd, unsigned bit,
                    unsigned *undefined) {
  if (den > 0)
    return num / den;
  *undefined |= bit;
  return clm_zero_division_value(zd);
}

/* Mean over labels ignoring NaN entries (scikit-learn's _nanaverage),
 * plain or by support weight; NaN when every entry is NaN. */
static double label_average(const clm_multilabel_label *m, uint32_t L,
                            size_t offset, int by_support) {
  double sum = 0, wsum = 0, plain = 0;
  uint64_t count = 0;
  for (uint32_t c = 0; c < L; ++c) {
    const double v = *(const double *)((const char *)&m[c] + offset);
    if (isnan(v))
      continue;
    const double w = by_support ? m[c].support_weight : 1.0;
    sum += w * v;
    wsum += w;
    plain += v;
    ++count;
  }
  if (count == 0)
    return NAN;
  /* Support weights all 0 among the defined values: the plain mean, as
   * _nanaverage falls back to. */
  return by_support && wsum > 0 ? sum / wsum : plain / (double)count;
}

/* A samples average: the defined rows' sum plus the undefined rows at the
 * policy's value, over the weight of the rows (NaN leaves them out). */
static double samples_average(double sum, double undef_w, double w_sum,
                              clm_zero_division zd, unsigned bit,
                              unsigned *undefined) {
  if (undef_w > 0)
    *undefined |= bit;
  if (zd == CLM_ZERO_DIVISION_NAN) {
    const double w = w_sum - undef_w;
    return w > 0 ? sum / w : NAN;
  }
  return w_sum > 0 ? (sum + clm_zero_division_value(zd) * undef_w) / w_sum
                   : NAN;
}

static void per_label(const clm_multilabel_state *s, clm_zero_division zd,
                      clm_multilabel_result *r) {
  const double rows_w = s->w_sum;
  for (uint32_t c = 0; c < s->n_labels; ++c) {
    clm_multilabel_label *m = &r->labels[c];
    m->tp = s->tp[c];
    m->fp = s->fp[c];
    m->fn = s->fn[c];
    m->tn = s->n - m->tp - m->fp - m->fn;
    m->support = m->tp + m->fn;
    if (s->weighted) {
      m->w_tp = s->w_tp[c];
      m->w_fp = s->w_fp[c];
      m->w_fn = s->w_fn[c];
      m->w_tn = s->w_tn[c];
    } else {
      m->w_tp = (double)m->tp;
      m->w_fp = (double)m->fp;
      m->w_fn = (double)m->fn;
      m->w_tn = (double)m->tn;
    }
    m->support_weight = m->w_tp + m->w_fn;
    m->precision = ratio(m->w_tp, m->w_tp + m->w_fp, zd, CLM_UNDEF_PRECISION,
                         &m->undefined);
    m->recall =
        ratio(m->w_tp, m->w_tp + m->w_fn, zd, CLM_UNDEF_RECALL, &m->undefined);
    m->f1 = ratio(2 * m->w_tp, 2 * m->w_tp + m->w_fp + m->w_fn, zd,
                  CLM_UNDEF_F1, &m->undefined);
    m->jaccard = ratio(m->w_tp, m->w_tp + m->w_fp + m->w_fn, zd,
                       CLM_UNDEF_JACCARD, &m->undefined);
    m->bce_mean =
        s->from_predictions || !(rows_w > 0) ? NAN : s->loss_sum[c] / rows_w;
  }
}

/* micro, macro and weighted precision/recall/F1 and Jaccard. */
static void label_averages(const clm_multilabel_state *s, clm_zero_division zd,
                           clm_multilabel_result *r) {
  const uint32_t L = s->n_labels;
  double tp = 0, fp = 0, fn = 0;
  unsigned scratch = 0;
  for (uint32_t c = 0; c < L; ++c) {
    tp += r->labels[c].w_tp;
    fp += r->labels[c].w_fp;
    fn += r->labels[c].w_fn;
  }
  r->micro.precision = ratio(tp, tp + fp, zd, 1, &scratch);
  r->micro.recall = ratio(tp, tp + fn, zd, 1, &scratch);
  r->micro.f1 = ratio(2 * tp, 2 * tp + fp + fn, zd, 1, &scratch);
  r->jaccard_micro = ratio(tp, tp + fp + fn, zd, 1, &scratch);
  const size_t op = offsetof(clm_multilabel_label, precision),
               orc = offsetof(clm_multilabel_label, recall),
               of = offsetof(clm_multilabel_label, f1),
               oj = offsetof(clm_multilabel_label, jaccard);
  r->macro.precision = label_average(r->labels, L, op, 0);
  r->macro.recall = label_average(r->labels, L, orc, 0);
  r->macro.f1 = label_average(r->labels, L, of, 0);
  r->jaccard_macro = label_average(r->labels, L, oj, 0);
  if (tp + fn > 0) {
    r->weighted_avg.precision = label_average(r->labels, L, op, 1);
    r->weighted_avg.recall = label_average(r->labels, L, orc, 1);
    r->weighted_avg.f1 = label_average(r->labels, L, of, 1);
    r->jaccard_weighted = label_average(r->labels, L, oj, 1);
  } else {
    /* No label has support: scikit-learn returns the zero-division value
     * for all three when nothing was predicted either, else precision and
     * F1 0 and recall the zero-division value. */
    const double z = clm_zero_division_value(zd);
    const int none_predicted = !(tp + fp > 0);
    r->weighted_avg.precision = none_predicted ? z : 0.0;
    r->weighted_avg.recall = z;
    r->weighted_avg.f1 = none_predicted ? z : 0.0;
    r->jaccard_weighted = none_predicted ? z : 0.0;
  }
}

clm_status clm_multilabel_finalize(const clm_multilabel_state *s,
                                   clm_zero_division zd,
                                   clm_multilabel_result *r) {
  if (!r)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(r, 0, sizeof *r);
  if (!s || !s->tp || s->n_labels == 0)
    return CLM_ERR_INVALID_ARGUMENT;
  if (s->n == 0)
    return CLM_ERR_EMPTY;
  const uint32_t L = s->n_labels;
  r->labels = clm_calloc(L, sizeof *r->labels);
  if (!r->labels)
    return CLM_ERR_OUT_OF_MEMORY;
  r->n = s->n;
  r->n_labels = L;
  r->has_scores = !s->from_predictions;
  r->weighted = s->weighted;
  r->label_ranking = s->label_ranking;
  r->weight_sum = s->w_sum;
  per_label(s, zd, r);
  label_averages(s, zd, r);
  const double w = s->w_sum;
  unsigned *su = &r->samples_undefined;
  r->samples.precision = samples_average(s->prec_sum, s->prec_undef_w, w, zd,
                                         CLM_UNDEF_PRECISION, su);
  r->samples.recall =
      samples_average(s->rec_sum, s->rec_undef_w, w, zd, CLM_UNDEF_RECALL, su);
  r->samples.f1 =
      samples_average(s->f1_sum, s->f1_undef_w, w, zd, CLM_UNDEF_F1, su);
  r->jaccard_samples =
      samples_average(s->jac_sum, s->jac_undef_w, w, zd, CLM_UNDEF_JACCARD, su);
  r->subset_accuracy = w > 0 ? s->exact_w / w : NAN;
  r->hamming_loss = w > 0 ? s->diff_w / ((double)L * w) : NAN;
  r->bce_mean = NAN;
  if (!s->from_predictions && w > 0) {
    double loss = 0;
    for (uint32_t c = 0; c < L; ++c)
      loss += s->loss_sum[c];
    r->bce_mean = loss / ((double)L * w);
  }
  r->coverage_error = r->label_ranking_average_precision =
      r->label_ranking_loss = r->roc_auc_samples = NAN;
  if (s->label_ranking && w > 0) {
    r->coverage_error = s->coverage_sum / w;
    r->label_ranking_average_precision = s->lrap_sum / w;
    r->label_ranking_loss = s->rank_loss_sum / w;
    r->roc_auc_samples = s->auc_undef_w > 0 ? NAN : s->auc_sum / w;
  }
  return CLM_OK;
}
