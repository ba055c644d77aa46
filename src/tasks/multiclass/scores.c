/* Multi-class float64 scores rounded to float32 without changing any
 * row's argmax. */
#include "internal.h"

#include <float.h>
#include <math.h>

clm_status clm_multiclass_scores_from_f64_at(const double *in, uint64_t n,
                                             uint64_t base, uint32_t k,
                                             clm_scores_kind kind, float *out,
                                             clm_error *err) {
  clm_error_clear(err);
  if (k < 1 || (n > 0 && (!in || !out)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_scores_from_f64: bad argument");
  for (uint64_t r = 0; r < n; ++r) {
    const double *row = in + r * k;
    float *o = out + r * k;
    uint32_t arg = 0, neg_inf = 0, pos_inf = 0;
    for (uint32_t c = 0; c < k; ++c) {
      const double v = row[c];
      if (isnan(v) || (kind == CLM_SCORES_PROBS && (v < 0.0 || v > 1.0)))
        return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + r), v,
                        isnan(v) ? "row %llu, column %u: score is NaN"
                                 : "row %llu, column %u: probability %.17g is "
                                   "outside [0, 1]",
                        (unsigned long long)(base + r), c, v);
      o[c] = v > (double)FLT_MAX    ? INFINITY
             : v < -(double)FLT_MAX ? -INFINITY
                                    : (float)v;
      neg_inf += v == -INFINITY;
      if (v > row[arg])
        arg = c;
    }
    /* Logit rows without a cross-entropy (as the kernels report them),
     * named here by their stored values. */
    if (kind == CLM_SCORES_LOGITS && neg_inf == k)
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + r), row[0],
                      "row %llu: every score is -inf (no class has any "
                      "probability)",
                      (unsigned long long)(base + r));
    /* Rounding is monotonic, so it can only tie other columns with the
     * maximum: lift the maximum one float32 step, or where it cannot rise
     * (a probability of 1, +inf) step the tied columns down. */
    const float m = o[arg];
    int tied = 0;
    for (uint32_t c = 0; c < k; ++c)
      tied |= c != arg && o[c] == m && row[c] < row[arg];
    if (tied) {
      if (kind == CLM_SCORES_PROBS ? m < 1.0f : m < INFINITY) {
        o[arg] = nextafterf(m, INFINITY);
      } else {
        for (uint32_t c = 0; c < k; ++c)
          if (c != arg && o[c] == m)
            o[c] = nextafterf(m, -INFINITY);
      }
    }
    for (uint32_t c = 0; c < k; ++c)
      pos_inf += o[c] == INFINITY;
    if (kind == CLM_SCORES_LOGITS && pos_inf == k) {
      /* Every column tied at the maximum, which is +inf as float32. */
      if (isinf(row[0]))
        return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + r), row[0],
                        "row %llu: every score is +inf (inf - inf: the "
                        "probabilities are undefined)",
                        (unsigned long long)(base + r));
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + r), row[0],
                      "row %llu: every score is %.17g, +inf as float32: "
                      "subtract the row's maximum first",
                      (unsigned long long)(base + r), row[0]);
    }
  }
  return CLM_OK;
}

clm_status clm_multiclass_scores_from_f64(const double *in, uint64_t n,
                                          uint32_t k, clm_scores_kind kind,
                                          float *out, clm_error *err) {
  return clm_multiclass_scores_from_f64_at(in, n, 0, k, kind, out, err);
}
