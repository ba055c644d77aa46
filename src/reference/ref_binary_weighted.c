/* Weighted binary evaluation and pos_weight in double precision. */
#include "ref_binary_weighted.h"

#include "reference.h"

#include <float.h>
#include <math.h>
#include <string.h>

double clm_ref_bce_logit_pw(double z, int y, double pos_weight) {
  return y ? pos_weight * clm_ref_softplus(-z) : clm_ref_softplus(z);
}

double clm_ref_bce_prob_pw(double p, int y, double pos_weight) {
  return (y ? pos_weight : 1.0) * clm_ref_bce_prob(p, y);
}

double clm_ref_grad_logit_pw(double z, int y, double pos_weight) {
  return y ? -pos_weight * clm_ref_sigmoid(-z) : clm_ref_sigmoid(z);
}

void clm_ref_binary_weighted_eval(const uint8_t *y, const float *s,
                                  const float *w, uint64_t n, int probs,
                                  double t, double pos_weight, double *grad,
                                  double *loss, clm_ref_binary_weighted *r) {
  memset(r, 0, sizeof *r);
  r->n = n;
  const double cut = probs ? t : clm_ref_threshold_logit(t);
  for (uint64_t i = 0; i < n; ++i) {
    const double v = s[i];
    const int yi = y[i] != 0;
    const double wi = w ? (double)w[i] : 1.0;
    const double fi = yi ? pos_weight : 1.0;
    const double l = probs ? clm_ref_bce_prob_pw(v, yi, pos_weight)
                           : clm_ref_bce_logit_pw(v, yi, pos_weight);
    const double g = probs ? fi * clm_ref_grad_prob(v, yi)
                           : clm_ref_grad_logit_pw(v, yi, pos_weight);
    const double ti = wi == 0.0 ? 0.0 : wi * l;
    const double gi = wi * g;
    if (grad)
      grad[i] = gi;
    if (loss)
      loss[i] = ti;
    r->loss_sum += ti;
    r->loss_abs += fabs(ti);
    r->grad_sum += gi;
    r->grad_abs += fabs(gi);
    r->scale_sum += wi * fi;
    const int pred = v > cut;
    r->tp += yi && pred;
    r->fn += yi && !pred;
    r->fp += !yi && pred;
    r->tn += !yi && !pred;
    r->w_sum += wi;
    if (yi && pred)
      r->w_tp += wi;
    else if (yi)
      r->w_fn += wi;
    else if (pred)
      r->w_fp += wi;
    else
      r->w_tn += wi;
  }
}

void clm_ref_weight_grad_sum(const double *g, const float *x, uint64_t n,
                             uint64_t d, double *sum, double *abs) {
  for (uint64_t j = 0; j < d; ++j) {
    sum[j] = 0;
    if (abs)
      abs[j] = 0;
  }
  for (uint64_t i = 0; i < n; ++i)
    for (uint64_t j = 0; j < d; ++j) {
      const double v = g[i] * x[i * d + j];
      sum[j] += v;
      if (abs)
        abs[j] += fabs(v);
    }
}
