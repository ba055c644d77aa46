/* Calibration metrics from a state (pure C, no OpenCL). */
#include "tasks/calibration/calibration.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Errors of one table of bins, each bin weighted by its share of `total`
 * (empty bins, weight 0, count as absent). Fills `rows` when not NULL. */
static void table_errors(const clm_calibration_state *s, const uint64_t *count,
                         const double *weight, const double *conf,
                         const double *hits, double total,
                         clm_calibration_bin *rows, double *ece, double *rmsce,
                         double *mce) {
  double l1 = 0.0, l2 = 0.0, worst = 0.0;
  for (uint32_t b = 0; b < s->n_bins; ++b) {
    const double w = s->weighted ? weight[b] : (double)count[b];
    const int empty = count[b] == 0 || !(w > 0.0);
    const double c = empty ? NAN : conf[b] / w;
    const double f = empty ? NAN : hits[b] / w;
    const double gap = f - c;
    if (!empty) {
      const double share = w / total;
      l1 += share * fabs(gap);
      l2 += share * gap * gap;
      if (fabs(gap) > worst)
        worst = fabs(gap);
    }
    if (rows)
      rows[b] = (clm_calibration_bin){.lo = s->edges[b],
                                      .hi = s->edges[b + 1],
                                      .count = count[b],
                                      .weight = w,
                                      .confidence = c,
                                      .frequency = f,
                                      .gap = gap};
  }
  *ece = l1;
  if (rmsce)
    *rmsce = sqrt(l2);
  if (mce)
    *mce = worst;
}

clm_status clm_calibration_finalize(const clm_calibration_state *state,
                                    clm_calibration_result *out) {
  if (!state || !out || !state->edges)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  const double total = state->weighted ? state->weight_sum : (double)state->n;
  if (state->n == 0 || !(total > 0.0))
    return CLM_ERR_EMPTY;
  out->n_classes = state->n_classes;
  out->n_bins = state->n_bins;
  out->n = state->n;
  out->n_ignored = state->n_ignored;
  out->weighted = state->weighted;
  out->weight_sum = total;
  out->brier = state->brier_sum / total;
  out->classwise_ece = NAN;
  out->bins = clm_malloc(state->n_bins * sizeof *out->bins);
  if (!out->bins)
    return CLM_ERR_OUT_OF_MEMORY;
  table_errors(state, state->count, state->weight, state->confidence,
               state->hits, total, out->bins, &out->ece, &out->rmsce,
               &out->mce);
  if (state->classwise) {
    const uint32_t k = state->n_classes, b = state->n_bins;
    out->classwise_ece_per_class = clm_malloc(k * sizeof(double));
    if (!out->classwise_ece_per_class) {
      clm_calibration_result_release(out);
      return CLM_ERR_OUT_OF_MEMORY;
    }
    double mean = 0.0;
    for (uint32_t c = 0; c < k; ++c) {
      const size_t o = (size_t)c * b;
      table_errors(state, state->cw_count + o, state->cw_weight + o,
                   state->cw_confidence + o, state->cw_hits + o, total, NULL,
                   &out->classwise_ece_per_class[c], NULL, NULL);
      mean += out->classwise_ece_per_class[c];
    }
    out->classwise_ece = mean / k;
  }
  return CLM_OK;
}

void clm_calibration_result_release(clm_calibration_result *result) {
  if (!result)
    return;
  free(result->bins);
  free(result->classwise_ece_per_class);
  result->bins = NULL;
  result->classwise_ece_per_class = NULL;
}
