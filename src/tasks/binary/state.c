/* Binary state: init, release and the exact merge. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void clm_binary_options_init(clm_binary_options *opts) {
  if (!opts)
    return;
  memset(opts, 0, sizeof *opts);
  opts->kind = CLM_SCORES_LOGITS;
  opts->threshold = 0.5;
  opts->n_features = 0;
  opts->pos_weight = 1.0;
  opts->weighted = 0;
}

clm_status clm_binary_state_init_ex(clm_binary_state *state,
                                    const clm_binary_options *opts) {
  if (!state)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(state, 0, sizeof *state);
  if (!opts)
    return CLM_ERR_INVALID_ARGUMENT;
  if (opts->kind != CLM_SCORES_LOGITS && opts->kind != CLM_SCORES_PROBS)
    return CLM_ERR_INVALID_ARGUMENT;
  if (!(opts->threshold >= 0.0 && opts->threshold <= 1.0))
    return CLM_ERR_INVALID_ARGUMENT;
  /* The kernels multiply by (float)pos_weight: it must stay positive and
   * finite in float32 too. */
  if (!(opts->pos_weight > 0.0 && isfinite(opts->pos_weight)) ||
      !((float)opts->pos_weight > 0.0f && isfinite((float)opts->pos_weight)))
    return CLM_ERR_INVALID_ARGUMENT;
  state->kind = opts->kind;
  state->threshold = opts->threshold;
  state->pos_weight = opts->pos_weight;
  state->weighted = opts->weighted != 0;
  if (opts->n_features) {
    state->weight_grad_sum = clm_calloc(opts->n_features, sizeof(double));
    if (!state->weight_grad_sum)
      return CLM_ERR_OUT_OF_MEMORY;
    state->n_features = opts->n_features;
  }
  return CLM_OK;
}

clm_status clm_binary_state_init(clm_binary_state *state, clm_scores_kind kind,
                                 double threshold, uint64_t n_features) {
  clm_binary_options o;
  clm_binary_options_init(&o);
  o.kind = kind;
  o.threshold = threshold;
  o.n_features = n_features;
  return clm_binary_state_init_ex(state, &o);
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
      dst->n_features != src->n_features ||
      dst->pos_weight != src->pos_weight || dst->weighted != src->weighted)
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
  dst->w_sum += src->w_sum;
  dst->w_tp += src->w_tp;
  dst->w_fp += src->w_fp;
  dst->w_tn += src->w_tn;
  dst->w_fn += src->w_fn;
  return CLM_OK;
}
