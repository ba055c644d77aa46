/* Double-precision reference for multilabel metrics: scikit-learn's
 * definitions over whole arrays (see ref_multilabel.h). */
#include "ref_multilabel.h"

#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One cell of a row, for sorting the row by score. */
struct cell {
  float s;
  uint32_t k;
  uint8_t y;
};

/* Descending score, ties by label index (any order would do: the walk
 * below treats a run of equal scores as one block). */
static int cell_cmp(const void *a, const void *b) {
  const struct cell *x = a, *y = b;
  if (x->s != y->s)
    return x->s > y->s ? -1 : 1;
  return (x->k > y->k) - (x->k < y->k);
}

struct row_rank {
  double coverage, lrap, loss, auc;
};

/* Sorts the row and walks its blocks of equal scores from the top. For a
 * true label in a block, cum_true and cum_all count the true and all
 * labels scoring >= it, cum_all - cum_true the false ones (the pairs the
 * ranking loss counts), the false labels below the block the pairs it
 * wins, and the block's false labels the ties. */
static struct row_rank row_ranking(const uint8_t *y, const float *s, uint32_t L,
                                   struct cell *c) {
  uint64_t t = 0;
  for (uint32_t k = 0; k < L; ++k) {
    c[k].s = s[k];
    c[k].k = k;
    c[k].y = y[k] != 0;
    t += c[k].y;
  }
  qsort(c, L, sizeof *c, cell_cmp);
  const uint64_t f = L - t;
  uint64_t cum_all = 0, cum_true = 0, cov = 0;
  uint64_t loss_pairs = 0, won_pairs = 0, tie_pairs = 0;
  double lrap = 0;
  for (uint32_t i = 0; i < L;) {
    uint32_t j = i;
    uint64_t g_true = 0;
    while (j < L && c[j].s == c[i].s)
      g_true += c[j++].y;
    const uint64_t g_all = j - i, g_false = g_all - g_true;
    cum_all += g_all;
    cum_true += g_true;
    const uint64_t cum_false = cum_all - cum_true;
    if (g_true) {
      cov = cum_all; /* the lowest block holding a true label wins */
      lrap += (double)g_true * ((double)cum_true / (double)cum_all);
      loss_pairs += g_true * cum_false;
      won_pairs += g_true * (f - cum_false);
      tie_pairs += g_true * g_false;
    }
    i = j;
  }
  struct row_rank r;
  r.coverage = (double)cov;
  if (t == 0 || f == 0) {
    r.lrap = 1.0; /* the ranking has no meaning: scikit-learn's 1 and 0 */
    r.loss = 0.0;
    r.auc = NAN;
  } else {
    const double pairs = (double)t * (double)f;
    r.lrap = lrap / (double)t;
    r.loss = (double)loss_pairs / pairs;
    r.auc = ((double)won_pairs + 0.5 * (double)tie_pairs) / pairs;
  }
  return r;
}

int clm_ref_multilabel_row_ranking(const uint8_t *y, const float *s, uint32_t L,
                                   double *coverage, double *lrap, double *loss,
                                   double *auc) {
  struct cell *c = malloc((L ? L : 1) * sizeof *c);
  if (!c)
    return -1;
  const struct row_rank r = row_ranking(y, s, L, c);
  free(c);
  *coverage = r.coverage;
  *lrap = r.lrap;
  *loss = r.loss;
  *auc = r.auc;
  return 0;
}

/* num / den, or the zero-division value with `bit` set in *undef. */
static double ratio(double num, double den, double zd, unsigned bit,
                    unsigned *undef) {
  if (den == 0) {
    *undef |= bit;
    return zd;
  }
  return num / den;
}

/* Mean of m values leaving NaN out (NaN when all are); with `wt`, weighted,
 * falling back to the plain mean when the kept weights sum to 0
 * (scikit-learn's _nanaverage). */
static double nan_average(const double *v, const double *wt, uint32_t m) {
  double sum = 0, wsum = 0, plain = 0;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < m; ++i) {
    const double x = v[i];
    if (isnan(x))
      continue;
    ++kept;
    plain += x;
    if (wt) {
      sum += wt[i] * x;
      wsum += wt[i];
    }
  }
  if (!kept)
    return NAN;
  if (wt && wsum > 0)
    return sum / wsum;
  return plain / kept;
}

/* Row-weighted sums of one samples-averaged ratio. */
struct samp {
  double sum;   /* sum of w_r * ratio over rows where it is defined */
  double undef; /* weight of the rows where it is 0/0 */
  double def;   /* weight of the rows where it is defined */
};

static void samp_add(struct samp *a, double num, double den, double w) {
  if (w == 0)
    return; /* scikit-learn: 0/0 of weight 0, nothing either way */
  if (den == 0) {
    a->undef += w;
  } else {
    a->sum += w * (num / den);
    a->def += w;
  }
}

static double samp_value(const struct samp *a, double w_sum,
                         clm_zero_division zd, unsigned bit, unsigned *undef) {
  if (a->undef > 0)
    *undef |= bit;
  if (zd == CLM_ZERO_DIVISION_NAN)
    return a->def > 0 ? a->sum / a->def : NAN;
  const double z = zd == CLM_ZERO_DIVISION_ONE ? 1.0 : 0.0;
  return (a->sum + z * a->undef) / w_sum;
}

static clm_status check_inputs(const uint8_t *labels, const float *scores,
                               const uint8_t *pred, const float *weights,
                               uint64_t n, uint32_t L, clm_scores_kind kind,
                               const double *thresholds, clm_zero_division zd,
                               double *w_sum) {
  if (!labels || (!scores && !pred) || L == 0)
    return CLM_ERR_INVALID_ARGUMENT;
  if (scores && kind != CLM_SCORES_LOGITS && kind != CLM_SCORES_PROBS)
    return CLM_ERR_INVALID_ARGUMENT;
  if (zd != CLM_ZERO_DIVISION_ZERO && zd != CLM_ZERO_DIVISION_ONE &&
      zd != CLM_ZERO_DIVISION_NAN)
    return CLM_ERR_INVALID_ARGUMENT;
  if (thresholds && scores)
    for (uint32_t k = 0; k < L; ++k)
      if (!(thresholds[k] >= 0 && thresholds[k] <= 1))
        return CLM_ERR_INVALID_ARGUMENT;
  const uint64_t cells = n * L;
  for (uint64_t i = 0; i < cells; ++i) {
    if (labels[i] > 1)
      return CLM_ERR_BAD_LABEL;
    if (scores) {
      const float v = scores[i];
      if (isnan(v) || (kind == CLM_SCORES_PROBS && !(v >= 0 && v <= 1)))
        return CLM_ERR_BAD_SCORE;
    }
  }
  double sum = 0;
  for (uint64_t r = 0; r < n; ++r) {
    const double w = weights ? weights[r] : 1.0;
    if (!isfinite(w) || w < 0)
      return CLM_ERR_BAD_WEIGHT;
    sum += w;
  }
  if (n == 0 || !(sum > 0))
    return CLM_ERR_EMPTY;
  *w_sum = sum;
  return CLM_OK;
}

/* Decision of one scored cell. The reference compares the double
 * probability with t: sigma(z) in double for logits. The device instead
 * compares the float logit with logit(t) rounded so that the comparison is
 * exact; the two agree except for a cell whose sigma(z) lies within a few
 * double ulps of t (a logit exactly at a threshold whose sigma is not
 * exact in double, or |z| large enough for sigma'(z) * ulp(z) to reach
 * double rounding, near t = 0 or 1). Tests comparing against a device
 * should keep their cells off such thresholds; cells exactly at t with an
 * exact sigma (z = 0, t = 0.5) are not predicted by either. */
static int decide(float v, clm_scores_kind kind, double t) {
  const double p = kind == CLM_SCORES_PROBS ? (double)v : clm_ref_sigmoid(v);
  return p > t;
}

clm_status clm_ref_multilabel(const uint8_t *labels, const float *scores,
                              const uint8_t *pred, const float *weights,
                              uint64_t n, uint32_t L, clm_scores_kind kind,
                              const double *thresholds, int label_ranking,
                              clm_zero_division zd,
                              clm_multilabel_result *out) {
  if (!out)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  double w_sum = 0;
  clm_status st = check_inputs(labels, scores, pred, weights, n, L, kind,
                               thresholds, zd, &w_sum);
  if (st != CLM_OK)
    return st;
  const int ranking = scores && label_ranking;
  clm_multilabel_label *lab = calloc(L, sizeof *lab);
  double *loss = calloc(L, sizeof *loss);
  struct cell *scratch = ranking ? malloc((size_t)L * sizeof *scratch) : NULL;
  if (!lab || !loss || (ranking && !scratch)) {
    free(lab);
    free(loss);
    free(scratch);
    return CLM_ERR_OUT_OF_MEMORY;
  }
  const double zv = zd == CLM_ZERO_DIVISION_NAN   ? NAN
                    : zd == CLM_ZERO_DIVISION_ONE ? 1.0
                                                  : 0.0;
  struct samp s_prec = {0}, s_rec = {0}, s_f1 = {0}, s_jac = {0};
  double exact_w = 0, diff_w = 0, cov_sum = 0, lrap_sum = 0, rl_sum = 0;
  double auc_sum = 0;
  int auc_undefined = 0;

  for (uint64_t r = 0; r < n; ++r) {
    const double w = weights ? weights[r] : 1.0;
    const uint8_t *yr = labels + r * L;
    uint64_t tp = 0, fp = 0, fn = 0;
    for (uint32_t k = 0; k < L; ++k) {
      const uint64_t i = r * L + k;
      const int y = yr[k] != 0;
      const double t = thresholds ? thresholds[k] : 0.5;
      const int p = scores ? decide(scores[i], kind, t) : pred[i] != 0;
      clm_multilabel_label *c = &lab[k];
      if (y && p) {
        c->tp++;
        c->w_tp += w;
        tp++;
      } else if (!y && p) {
        c->fp++;
        c->w_fp += w;
        fp++;
      } else if (y) {
        c->fn++;
        c->w_fn += w;
        fn++;
      } else {
        c->tn++;
        c->w_tn += w;
      }
      /* A zero weight drops the cell, even one whose loss is +inf. */
      if (scores && w > 0) {
        const double l = kind == CLM_SCORES_PROBS
                             ? clm_ref_bce_prob(scores[i], y)
                             : clm_ref_bce_logit(scores[i], y);
        loss[k] += w * l;
      }
    }
    samp_add(&s_prec, (double)tp, (double)(tp + fp), w);
    samp_add(&s_rec, (double)tp, (double)(tp + fn), w);
    samp_add(&s_f1, 2.0 * (double)tp, (double)(2 * tp + fp + fn), w);
    samp_add(&s_jac, (double)tp, (double)(tp + fp + fn), w);
    if (fp + fn == 0)
      exact_w += w;
    diff_w += w * (double)(fp + fn);
    if (ranking) {
      const struct row_rank rr = row_ranking(yr, scores + r * L, L, scratch);
      cov_sum += w * rr.coverage;
      lrap_sum += w * rr.lrap;
      rl_sum += w * rr.loss;
      if (isnan(rr.auc)) {
        if (w > 0)
          auc_undefined = 1;
      } else {
        auc_sum += w * rr.auc;
      }
    }
  }
  free(scratch);

  /* Per label, from the weighted cells. */
  double m_tp = 0, m_fp = 0, m_fn = 0, loss_total = 0;
  for (uint32_t k = 0; k < L; ++k) {
    clm_multilabel_label *c = &lab[k];
    c->support = c->tp + c->fn;
    c->support_weight = c->w_tp + c->w_fn;
    unsigned u = 0;
    c->precision =
        ratio(c->w_tp, c->w_tp + c->w_fp, zv, CLM_UNDEF_PRECISION, &u);
    c->recall = ratio(c->w_tp, c->w_tp + c->w_fn, zv, CLM_UNDEF_RECALL, &u);
    c->f1 = ratio(2 * c->w_tp, 2 * c->w_tp + c->w_fp + c->w_fn, zv,
                  CLM_UNDEF_F1, &u);
    c->jaccard =
        ratio(c->w_tp, c->w_tp + c->w_fp + c->w_fn, zv, CLM_UNDEF_JACCARD, &u);
    c->undefined = u;
    c->bce_mean = scores ? loss[k] / w_sum : NAN;
    m_tp += c->w_tp;
    m_fp += c->w_fp;
    m_fn += c->w_fn;
    loss_total += loss[k];
  }
  free(loss);

  clm_multilabel_result *o = out;
  o->n = n;
  o->n_labels = L;
  o->has_scores = scores != NULL;
  o->weighted = weights != NULL;
  o->label_ranking = ranking;
  o->weight_sum = w_sum;
  o->labels = lab;

  unsigned ignore = 0;
  o->micro.precision = ratio(m_tp, m_tp + m_fp, zv, 1, &ignore);
  o->micro.recall = ratio(m_tp, m_tp + m_fn, zv, 1, &ignore);
  o->micro.f1 = ratio(2 * m_tp, 2 * m_tp + m_fp + m_fn, zv, 1, &ignore);
  o->jaccard_micro = ratio(m_tp, m_tp + m_fp + m_fn, zv, 1, &ignore);

  /* Macro and support-weighted means over the labels. Without NaN values
   * nan_average is the plain (weighted) mean. */
  double *col = malloc((size_t)L * 5 * sizeof *col);
  if (!col) {
    free(lab);
    memset(out, 0, sizeof *out);
    return CLM_ERR_OUT_OF_MEMORY;
  }
  double *cp = col, *cr = col + L, *cf = col + 2 * L, *cj = col + 3 * L,
         *cs = col + 4 * L;
  double s_total = 0, pred_total = 0;
  for (uint32_t k = 0; k < L; ++k) {
    cp[k] = lab[k].precision;
    cr[k] = lab[k].recall;
    cf[k] = lab[k].f1;
    cj[k] = lab[k].jaccard;
    cs[k] = lab[k].support_weight;
    s_total += cs[k];
    pred_total += lab[k].w_tp + lab[k].w_fp;
  }
  o->macro.precision = nan_average(cp, NULL, L);
  o->macro.recall = nan_average(cr, NULL, L);
  o->macro.f1 = nan_average(cf, NULL, L);
  o->jaccard_macro = nan_average(cj, NULL, L);
  if (s_total == 0) {
    /* scikit-learn 1.2.1's early return for average='weighted'. */
    const int none_predicted = pred_total == 0;
    o->weighted_avg.precision = none_predicted ? zv : 0.0;
    o->weighted_avg.recall = zv;
    o->weighted_avg.f1 = none_predicted ? zv : 0.0;
  } else {
    o->weighted_avg.precision = nan_average(cp, cs, L);
    o->weighted_avg.recall = nan_average(cr, cs, L);
    o->weighted_avg.f1 = nan_average(cf, cs, L);
  }
  free(col);

  unsigned su = 0;
  o->samples.precision =
      samp_value(&s_prec, w_sum, zd, CLM_UNDEF_PRECISION, &su);
  o->samples.recall = samp_value(&s_rec, w_sum, zd, CLM_UNDEF_RECALL, &su);
  o->samples.f1 = samp_value(&s_f1, w_sum, zd, CLM_UNDEF_F1, &su);
  o->jaccard_samples = samp_value(&s_jac, w_sum, zd, CLM_UNDEF_JACCARD, &su);
  o->samples_undefined = su;

  o->subset_accuracy = exact_w / w_sum;
  o->hamming_loss = diff_w / ((double)L * w_sum);
  o->bce_mean = scores ? loss_total / ((double)L * w_sum) : NAN;
  if (ranking) {
    o->coverage_error = cov_sum / w_sum;
    o->label_ranking_average_precision = lrap_sum / w_sum;
    o->label_ranking_loss = rl_sum / w_sum;
    o->roc_auc_samples = auc_undefined ? NAN : auc_sum / w_sum;
  } else {
    o->coverage_error = NAN;
    o->label_ranking_average_precision = NAN;
    o->label_ranking_loss = NAN;
    o->roc_auc_samples = NAN;
  }
  return CLM_OK;
}
