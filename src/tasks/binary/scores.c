/* Binary scores: the decision threshold in float32 and float64 scores
 * rounded without crossing it. */
#include "tasks/binary/binary.h"

#include <float.h>
#include <math.h>

/* Largest float <= v, so that `x > result` equals `x > v` for every float x
 * (v in real arithmetic as far as the double carries it). */
static float float_floor(double v) {
  if (isinf(v))
    return (float)v;
  float f = (float)v;
  if ((double)f > v)
    f = nextafterf(f, -INFINITY);
  return f;
}

/* The decision threshold in the score's own domain, rounded for an exact
 * float comparison: p > t for probabilities, z > logit(t) for logits. */
float clm_binary_device_threshold(clm_scores_kind kind, double t) {
  if (kind == CLM_SCORES_PROBS)
    return float_floor(t);
  if (t <= 0.0)
    return -INFINITY;
  if (t >= 1.0)
    return INFINITY;
  return float_floor(log(t) - log1p(-t));
}

double clm_binary_domain_threshold(clm_scores_kind kind, double t) {
  if (kind == CLM_SCORES_PROBS)
    return t;
  return t <= 0.0 ? -INFINITY : t >= 1.0 ? INFINITY : log(t) - log1p(-t);
}

float clm_binary_round_score(double v, double t, float tf) {
  float f = v > (double)FLT_MAX    ? INFINITY
            : v < -(double)FLT_MAX ? -INFINITY
                                   : (float)v;
  if (v > t && !(f > tf))
    f = nextafterf(tf, INFINITY);
  else if (!(v > t) && f > tf)
    f = tf;
  return f;
}

clm_status clm_binary_scores_from_f64_at(const double *in, uint64_t n,
                                         uint64_t base, clm_scores_kind kind,
                                         double threshold, float *out,
                                         clm_error *err) {
  clm_error_clear(err);
  if ((n > 0 && (!in || !out)) || !(threshold >= 0.0 && threshold <= 1.0))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_scores_from_f64: bad argument");
  const double t = clm_binary_domain_threshold(kind, threshold);
  const float tf = clm_binary_device_threshold(kind, threshold);
  for (uint64_t i = 0; i < n; ++i) {
    const double v = in[i];
    /* Checked here, on the value as stored: rounding could bring a
     * probability such as 1.00000001 or -1e-50 into [0, 1]. */
    if (isnan(v))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + i), v,
                      "index %llu: score is NaN",
                      (unsigned long long)(base + i));
    if (kind == CLM_SCORES_PROBS && (v < 0.0 || v > 1.0))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + i), v,
                      "index %llu: probability %.17g is outside [0, 1]",
                      (unsigned long long)(base + i), v);
    out[i] = clm_binary_round_score(v, t, tf);
  }
  return CLM_OK;
}

clm_status clm_binary_scores_from_f64(const double *in, uint64_t n,
                                      clm_scores_kind kind, double threshold,
                                      float *out, clm_error *err) {
  return clm_binary_scores_from_f64_at(in, n, 0, kind, threshold, out, err);
}
