/* Binary state: init, release and the exact merge. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

clm_status clm_binary_state_init(clm_binary_state *state, clm_scores_kind kind,
                                 double threshold, uint64_t n_features) {
  if (!state)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(state, 0, sizeof *state);
  if (kind != CLM_SCORES_LOGITS && kind != CLM_SCORES_PROBS)
    return CLM_ERR_INVALID_ARGUMENT;
  if (!(threshold >= 0.0 && threshold <= 1.0))
    return CLM_ERR_INVALID_ARGUMENT;
  state->kind = kind;
  state->threshold = threshold;
  if (n_features) {
    state->weight_grad_sum = clm_calloc(n_features, sizeof(double));
    if (!state->weight_grad_sum)
      return CLM_ERR_OUT_OF_MEMORY;
    state->n_features = n_features;
  }
  return CLM_OK;
}

void clm_binary_state_release(clm_binary_state *state) {
  if (!state)
    return;
  free(state->weight_grad_sum);
  memset(state, 0, sizeof *state);
}

clm_status clm_binary_merge(clm_binary_state *dst,
                            const clm_binary_state *src) {
  if (!dst || !src)
    return CLM_ERR_INVALID_ARGUMENT;
  if (dst->kind != src->kind || dst->threshold != src->threshold ||
      dst->n_features != src->n_features)
    return CLM_ERR_STATE_MISMATCH;
  dst->n += src->n;
  dst->tp += src->tp;
  dst->fp += src->fp;
  dst->tn += src->tn;
  dst->fn += src->fn;
  dst->bce_sum += src->bce_sum;
  dst->grad_sum += src->grad_sum;
  for (uint64_t j = 0; j < dst->n_features; ++j)
    dst->weight_grad_sum[j] += src->weight_grad_sum[j];
  return CLM_OK;
}
