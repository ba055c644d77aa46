/* Calibration state: options, init, release, the merge, and equal-mass
 * edges from a finer state's bins. */
#include "tasks/calibration/calibration.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void clm_calibration_options_init(clm_calibration_options *opts) {
  if (!opts)
    return;
  memset(opts, 0, sizeof *opts);
  opts->n_classes = 1;
  opts->n_bins = CLM_CALIBRATION_DEFAULT_BINS;
  opts->classwise = 1;
}

static clm_status alloc_bins(clm_calibration_state *s) {
  const size_t b = s->n_bins;
  s->edges = clm_malloc((b + 1) * sizeof(double));
  s->count = clm_calloc(b, sizeof(uint64_t));
  s->weight = clm_calloc(b, sizeof(double));
  s->confidence = clm_calloc(b, sizeof(double));
  s->hits = clm_calloc(b, sizeof(double));
  if (!s->edges || !s->count || !s->weight || !s->confidence || !s->hits)
    return CLM_ERR_OUT_OF_MEMORY;
  if (s->classwise) {
    const size_t kb = (size_t)s->n_classes * b;
    s->cw_count = clm_calloc(kb, sizeof(uint64_t));
    s->cw_weight = clm_calloc(kb, sizeof(double));
    s->cw_confidence = clm_calloc(kb, sizeof(double));
    s->cw_hits = clm_calloc(kb, sizeof(double));
    if (!s->cw_count || !s->cw_weight || !s->cw_confidence || !s->cw_hits)
      return CLM_ERR_OUT_OF_MEMORY;
  }
  return CLM_OK;
}

clm_status clm_calibration_state_init(clm_calibration_state *state,
                                      const clm_calibration_options *opts) {
  if (!state)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(state, 0, sizeof *state);
  if (!opts || opts->n_bins == 0 || opts->n_classes == 0)
    return CLM_ERR_INVALID_ARGUMENT;
  const uint32_t b = opts->n_bins;
  if (opts->edges) {
    if (opts->edges[0] != 0.0 || opts->edges[b] != 1.0)
      return CLM_ERR_INVALID_ARGUMENT;
    for (uint32_t i = 0; i < b; ++i)
      if (!(opts->edges[i] < opts->edges[i + 1])) /* NaN fails too */
        return CLM_ERR_INVALID_ARGUMENT;
  }
  state->n_classes = opts->n_classes;
  state->n_bins = b;
  state->classwise = opts->n_classes >= 2 && opts->classwise ? 1 : 0;
  state->weighted = opts->weighted ? 1 : 0;
  state->has_ignore_index = opts->n_classes >= 2 && opts->has_ignore_index;
  state->ignore_index = state->has_ignore_index ? opts->ignore_index : 0;
  if (alloc_bins(state) != CLM_OK) {
    clm_calibration_state_release(state);
    return CLM_ERR_OUT_OF_MEMORY;
  }
  for (uint32_t i = 0; i <= b; ++i)
    state->edges[i] = opts->edges ? opts->edges[i] : (double)i / b;
  state->edges[0] = 0.0;
  state->edges[b] = 1.0;
  return CLM_OK;
}

void clm_calibration_state_release(clm_calibration_state *state) {
  if (!state)
    return;
  free(state->edges);
  free(state->count);
  free(state->weight);
  free(state->confidence);
  free(state->hits);
  free(state->cw_count);
  free(state->cw_weight);
  free(state->cw_confidence);
  free(state->cw_hits);
  memset(state, 0, sizeof *state);
}

clm_status clm_calibration_state_like(clm_calibration_state *out,
                                      const clm_calibration_state *like) {
  const clm_calibration_options o = {.n_classes = like->n_classes,
                                     .n_bins = like->n_bins,
                                     .edges = like->edges,
                                     .classwise = like->classwise,
                                     .weighted = like->weighted,
                                     .has_ignore_index = like->has_ignore_index,
                                     .ignore_index = like->ignore_index};
  return clm_calibration_state_init(out, &o);
}

int clm_calibration_compatible(const clm_calibration_state *a,
                               const clm_calibration_state *b) {
  if (a->n_classes != b->n_classes || a->n_bins != b->n_bins ||
      a->classwise != b->classwise || a->weighted != b->weighted ||
      a->has_ignore_index != b->has_ignore_index ||
      (a->has_ignore_index && a->ignore_index != b->ignore_index))
    return 0;
  for (uint32_t i = 0; i <= a->n_bins; ++i)
    if (a->edges[i] != b->edges[i])
      return 0;
  return 1;
}

clm_status clm_calibration_merge(clm_calibration_state *dst,
                                 const clm_calibration_state *src) {
  if (!dst || !src || !dst->edges || !src->edges)
    return CLM_ERR_INVALID_ARGUMENT;
  if (!clm_calibration_compatible(dst, src))
    return CLM_ERR_STATE_MISMATCH;
  dst->n += src->n;
  dst->n_ignored += src->n_ignored;
  dst->weight_sum += src->weight_sum;
  dst->brier_sum += src->brier_sum;
  for (uint32_t b = 0; b < dst->n_bins; ++b) {
    dst->count[b] += src->count[b];
    dst->weight[b] += src->weight[b];
    dst->confidence[b] += src->confidence[b];
    dst->hits[b] += src->hits[b];
  }
  if (dst->classwise) {
    const size_t kb = (size_t)dst->n_classes * dst->n_bins;
    for (size_t i = 0; i < kb; ++i) {
      dst->cw_count[i] += src->cw_count[i];
      dst->cw_weight[i] += src->cw_weight[i];
      dst->cw_confidence[i] += src->cw_confidence[i];
      dst->cw_hits[i] += src->cw_hits[i];
    }
  }
  return CLM_OK;
}

void clm_calibration_device_edges(const clm_calibration_state *state,
                                  float *out) {
  for (uint32_t i = 0; i <= state->n_bins; ++i) {
    const double e = state->edges[i];
    float f = (float)e; /* to nearest; step down when it rounded up */
    if ((double)f > e)
      f = nextafterf(f, -INFINITY);
    out[i] = f;
  }
}

clm_status clm_calibration_quantile_edges(const clm_calibration_state *fine,
                                          uint32_t n_bins, double *edges,
                                          uint32_t *out_bins) {
  if (!fine || !edges || !out_bins || n_bins == 0 || !fine->edges)
    return CLM_ERR_INVALID_ARGUMENT;
  *out_bins = 0;
  double total = 0.0;
  for (uint32_t b = 0; b < fine->n_bins; ++b)
    total += fine->weight[b];
  if (fine->n == 0 || !(total > 0.0))
    return CLM_ERR_EMPTY;
  uint32_t m = 0;
  edges[m] = 0.0;
  double cum = 0.0;
  uint32_t j = 1; /* the next quantile level j / n_bins */
  for (uint32_t b = 0; b < fine->n_bins && j < n_bins; ++b) {
    cum += fine->weight[b];
    /* Every level reached inside this fine bin ends at its upper edge. */
    const double hi = fine->edges[b + 1];
    while (j < n_bins && cum >= total * ((double)j / n_bins)) {
      if (hi > edges[m] && hi < 1.0)
        edges[++m] = hi; /* repeats (and 1 itself) are dropped */
      ++j;
    }
  }
  edges[++m] = 1.0;
  *out_bins = m;
  return CLM_OK;
}
