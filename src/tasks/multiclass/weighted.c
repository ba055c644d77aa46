/* Multi-class sample weights and loss options on the host: checking the
 * weights and the float64 sums the device does not make (the weighted
 * confusion cells and the loss denominator), in row order so that they are
 * deterministic and exact to double rounding. */
#include "tasks/multiclass/multiclass.h"

#include <math.h>

int clm_mc_has_options(const clm_multiclass_state *s) {
  return s->weighted || s->class_weight || s->has_ignore_index ||
         s->label_smoothing != 0.0;
}

clm_status clm_mc_check_weights(const clm_multiclass_state *s,
                                const float *weights, uint64_t n, uint64_t base,
                                clm_error *err) {
  if (!s->weighted && weights)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "the state is not weighted (clm_multiclass_options."
                    "weighted = 0): pass NULL weights");
  if (s->weighted && !weights && n > 0)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "the state is weighted: every update needs per-sample "
                    "weights");
  return weights ? clm_mc_check_weight_values(weights, n, base, err) : CLM_OK;
}

clm_status clm_mc_check_weight_values(const float *weights, uint64_t n,
                                      uint64_t base, clm_error *err) {
  for (uint64_t i = 0; i < n; ++i) {
    const float w = weights[i];
    if (!(w >= 0.0f) || isinf(w)) {
      const unsigned long long at = (unsigned long long)(base + i);
      clm_fail(err, CLM_ERR_BAD_WEIGHT, (int64_t)at, w,
               "index %llu: sample weight %.9g is %s", at, (double)w,
               isnan(w)   ? "NaN"
               : isinf(w) ? "infinite"
                          : "negative");
      if (err)
        err->input = CLM_INPUT_WEIGHTS;
      return CLM_ERR_BAD_WEIGHT;
    }
  }
  return CLM_OK;
}

void clm_mc_weight_rows(const clm_multiclass_state *s, const int32_t *yt,
                        const int32_t *yp, const float *weights, uint64_t n,
                        int scored, double *w_cm, struct mc_wsums *acc) {
  const uint64_t k = s->n_classes;
  const double *cw = s->class_weight;
  for (uint64_t i = 0; i < n; ++i) {
    const double w = weights ? (double)weights[i] : 1.0;
    if (clm_mc_ignored(s, yt[i])) {
      acc->w_ignored += w;
      continue;
    }
    acc->w_sum += w;
    if (w_cm)
      w_cm[(uint64_t)yt[i] * k + (uint64_t)yp[i]] += w;
    if (scored) {
      acc->w_scored += w;
      acc->ce_norm += cw ? w * cw[yt[i]] : w;
    }
  }
}
