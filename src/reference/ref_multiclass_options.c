/* Double-precision reference: PyTorch cross-entropy options, weighted
 * confusion matrices and scikit-learn's sample-weighted metrics. */
#include "ref_multiclass_options.h"

#include "reference.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* A logit row's maximum, its count of +inf and log sum_c exp(z_c - max). */
struct ref_row {
  double max, log_sum;
  uint32_t ninf;
};

static struct ref_row row_stats(const float *row, uint32_t k) {
  struct ref_row r = {-INFINITY, 0, 0};
  for (uint32_t j = 0; j < k; ++j) {
    if (row[j] > r.max)
      r.max = row[j];
    r.ninf += row[j] == INFINITY;
  }
  if (isfinite(r.max)) {
    double sum = 0;
    for (uint32_t j = 0; j < k; ++j)
      sum += exp((double)row[j] - r.max);
    r.log_sum = log(sum);
  }
  return r;
}

static double neg_log_p(const float *row, uint32_t k, int probs,
                        const struct ref_row *st, uint32_t c) {
  if (probs) {
    double q = row[c];
    if (q < FLT_EPSILON)
      q = FLT_EPSILON;
    else if (q > 1.0)
      q = 1.0;
    return -log(q);
  }
  if (isinf(st->max) && (st->max < 0 || st->ninf == k))
    return NAN; /* all -inf or all +inf: no probabilities */
  if (isinf(st->max))
    return row[c] == INFINITY ? log((double)st->ninf) : INFINITY;
  if (row[c] == -INFINITY)
    return INFINITY;
  return (st->max - row[c]) + st->log_sum;
}

double clm_ref_neg_log_p(const float *row, uint32_t k, int probs, uint32_t c) {
  const struct ref_row st = row_stats(row, probs ? 0 : k);
  return neg_log_p(row, k, probs, &st, c);
}

/* w * x with 0 * inf = 0. */
static double times(double w, double x) {
  return w == 0 ? 0 : w * x;
}

double clm_ref_ce_option_row(const float *row, uint32_t k, int probs,
                             uint32_t t, const clm_ref_mc_options *o,
                             double *mag) {
  const double e = o->smoothing;
  const double *cw = o->class_weight;
  const double wy = cw ? cw[t] : 1.0;
  const struct ref_row st = row_stats(row, probs ? 0 : k);
  const double lt = neg_log_p(row, k, probs, &st, t);
  double l = times((1 - e) * wy, lt), g = times((1 - e) * wy, lt + 1);
  if (e != 0) {
    double smooth = 0, smooth_mag = 0;
    for (uint32_t c = 0; c < k; ++c) {
      const double wc = cw ? cw[c] : 1.0;
      const double lc = neg_log_p(row, k, probs, &st, c);
      smooth += times(wc, lc);
      smooth_mag += times(wc, lc + 1);
    }
    l += e / k * smooth;
    g += e / k * smooth_mag;
  }
  if (mag)
    *mag = g;
  return l;
}

int clm_ref_ce_option_grad(const float *row, uint32_t k, int probs, int32_t t,
                           double s, const clm_ref_mc_options *o, double *grad,
                           double *mag) {
  double mx = -INFINITY, lo = INFINITY;
  for (uint32_t c = 0; c < k; ++c) {
    const double v = row[c];
    if (isnan(v) || (probs && (v < 0 || v > 1)))
      return -1;
    mx = v > mx ? v : mx;
    lo = v < lo ? v : lo;
  }
  if (!probs && (mx == -INFINITY || lo == INFINITY))
    return -1;
  if (o->has_ignore && t == o->ignore) {
    for (uint32_t c = 0; c < k; ++c) {
      grad[c] = 0;
      if (mag)
        mag[c] = 0;
    }
    return 0;
  }
  /* e_c = exp(z_c - max) and x_c = z_c - max; their sums. */
  const int top = !probs && mx == INFINITY;
  double sum = 0, rest = 0, xs = 0, xr = 0;
  for (uint32_t c = 0; c < k; ++c) {
    const double v = row[c];
    const double x = probs || top ? 0 : v - mx;
    const double e = probs ? v : top ? (v == INFINITY) : exp(x);
    sum += e;
    xs += e * fabs(x == -INFINITY ? 0 : x);
    if (c != (uint32_t)t) {
      rest += e;
      xr += e * fabs(x == -INFINITY ? 0 : x);
    }
  }
  const int uniform = sum == 0; /* probabilities all 0 */
  if (uniform) {
    sum = k;
    rest = k - 1;
  }
  const double *cw = o->class_weight;
  double w_all = 0;
  for (uint32_t c = 0; c < k; ++c)
    w_all += cw ? cw[c] : 1.0;
  const double e = o->smoothing, ek = e / k;
  const double wt = cw ? cw[t] : 1.0, w_rest = w_all - wt;
  const double q = rest / sum; /* 1 - p_t, without cancellation */
  const double c1 = (1 - e) * wt + ek * w_all;
  const double xb = xs / sum, xrb = rest > 0 ? xr / rest : 0;
  /* Results near the float32 underflow: a few subnormal steps. */
  const double floor = (s * (c1 + 1) + 1) * 0x1p-120;
  for (uint32_t c = 0; c < k; ++c) {
    const double v = row[c];
    const double ec = uniform ? 1.0
                      : probs ? v
                      : top   ? (v == INFINITY)
                              : exp(v - mx);
    const double p = ec / sum, wc = cw ? cw[c] : 1.0;
    const double x = probs || top || v == -INFINITY ? 0 : mx - v;
    if (c == (uint32_t)t) {
      /* W p_t - w_t = (W - w_t) p_t - w_t q */
      grad[c] = s * ((1 - e) * wt * -q + ek * (w_rest * p - wt * q));
      if (mag)
        mag[c] =
            s * (c1 * q * (xrb + xb + 2.0 * k + 14) + 5 * ek * w_rest) + floor;
    } else {
      grad[c] = s * ((1 - e) * wt * p + ek * (w_all * p - wc));
      if (mag)
        mag[c] = s * (c1 * p * (x + xb + k + 15) + 5 * ek * wc) + floor;
    }
  }
  return 0;
}

void clm_ref_mc_weighted_eval(const int32_t *yt, const int32_t *yp,
                              const float *scores, uint64_t n, int probs,
                              uint32_t top_k, const clm_ref_mc_options *o,
                              uint64_t *cm, double *w_cm,
                              clm_ref_mc_weighted *r) {
  const uint32_t k = o->k;
  memset(r, 0, sizeof *r);
  if (cm)
    memset(cm, 0, (size_t)k * k * sizeof *cm);
  if (w_cm)
    memset(w_cm, 0, (size_t)k * k * sizeof *w_cm);
  for (uint64_t i = 0; i < n; ++i) {
    const double s = o->weights ? (double)o->weights[i] : 1.0;
    if (o->has_ignore && yt[i] == o->ignore) {
      ++r->n_ignored;
      r->w_ignored += s;
      continue;
    }
    const uint32_t t = (uint32_t)yt[i];
    const float *row = scores ? scores + i * k : NULL;
    const uint32_t p = row ? clm_ref_argmax(row, k) : (uint32_t)yp[i];
    ++r->n;
    r->w_sum += s;
    if (cm)
      cm[(uint64_t)t * k + p]++;
    if (w_cm)
      w_cm[(uint64_t)t * k + p] += s;
    if (!row)
      continue;
    double mag;
    const double l = clm_ref_ce_option_row(row, k, probs, t, o, &mag);
    r->ce_sum += times(s, l);
    r->ce_mag += times(s, mag);
    r->ce_norm += s * (o->class_weight ? o->class_weight[t] : 1.0);
    r->w_scored += s;
    if (clm_ref_rank(row, k, t) < top_k) {
      ++r->top_k_hits;
      r->w_top_k_hits += s;
    }
  }
}

void clm_ref_mc_metrics_from(const double *w_cm, uint32_t k, double *precision,
                             double *recall, double *f1,
                             clm_ref_mc_metrics *m) {
  double total = 0, trace = 0, tp_dot = 0, t2 = 0, p2 = 0, recall_sum = 0;
  double macro = 0, weighted = 0;
  uint32_t present = 0;
  for (uint32_t c = 0; c < k; ++c) {
    double t = 0, p = 0;
    for (uint32_t j = 0; j < k; ++j) {
      t += w_cm[(uint64_t)c * k + j];
      p += w_cm[(uint64_t)j * k + c];
    }
    const double tp = w_cm[(uint64_t)c * k + c];
    precision[c] = p > 0 ? tp / p : 0;
    recall[c] = t > 0 ? tp / t : 0;
    f1[c] = t + p > 0 ? 2 * tp / (t + p) : 0;
    total += t;
    trace += tp;
    tp_dot += t * p;
    t2 += t * t;
    p2 += p * p;
    if (t > 0) {
      recall_sum += recall[c];
      ++present;
    }
    macro += f1[c];
    weighted += t * f1[c];
  }
  m->accuracy = trace / total;
  m->balanced_accuracy = present ? recall_sum / present : 0;
  const double cov_ytyp = trace * total - tp_dot;
  const double cov_ypyp = total * total - p2, cov_ytyt = total * total - t2;
  m->mcc = cov_ypyp * cov_ytyt == 0 ? 0 : cov_ytyp / sqrt(cov_ytyt * cov_ypyp);
  /* scikit-learn's cohen_kappa_score: expected = outer(col sums, row
   * sums) / total; kappa = 1 - sum(off-diagonal observed) / sum(off-diagonal
   * expected), the off-diagonal expected sum being
   * (total^2 - sum_c t_c p_c) / total. */
  const double obs_off = total - trace;
  const double exp_off = (total * total - tp_dot) / total;
  m->kappa = exp_off == 0 ? 0 : 1 - obs_off / exp_off;
  m->macro_f1 = macro / k;
  m->weighted_f1 = total > 0 ? weighted / total : 0;
}
