/* Multilabel state: options, init, release and the exact merge. */
#include "tasks/multilabel/multilabel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void clm_multilabel_options_init(clm_multilabel_options *opts) {
  if (!opts)
    return;
  memset(opts, 0, sizeof *opts);
  opts->kind = CLM_SCORES_LOGITS;
  opts->threshold = 0.5;
  opts->label_ranking = 1;
}

void clm_multilabel_state_release(clm_multilabel_state *s) {
  if (!s)
    return;
  free(s->w_tn);
  free(s->w_fn);
  free(s->w_fp);
  free(s->w_tp);
  free(s->loss_sum);
  free(s->fn);
  free(s->fp);
  free(s->tp);
  free(s->thresholds);
  memset(s, 0, sizeof *s);
}

static int valid_threshold(double t) {
  return t >= 0.0 && t <= 1.0;
}

clm_status clm_multilabel_state_init(clm_multilabel_state *s,
                                     const clm_multilabel_options *o) {
  if (!s)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(s, 0, sizeof *s);
  if (!o || o->n_labels == 0 ||
      (o->kind != CLM_SCORES_LOGITS && o->kind != CLM_SCORES_PROBS) ||
      !valid_threshold(o->threshold))
    return CLM_ERR_INVALID_ARGUMENT;
  const uint32_t L = o->n_labels;
  if (o->thresholds)
    for (uint32_t c = 0; c < L; ++c)
      if (!valid_threshold(o->thresholds[c]))
        return CLM_ERR_INVALID_ARGUMENT;
  s->n_labels = L;
  s->kind = o->kind;
  s->from_predictions = o->from_predictions != 0;
  s->weighted = o->weighted != 0;
  /* Ranking needs scores. */
  s->label_ranking = o->label_ranking != 0 && !s->from_predictions;
  s->thresholds = clm_malloc(L * sizeof(double));
  s->tp = clm_calloc(L, sizeof(uint64_t));
  s->fp = clm_calloc(L, sizeof(uint64_t));
  s->fn = clm_calloc(L, sizeof(uint64_t));
  s->loss_sum = clm_calloc(L, sizeof(double));
  int ok = s->thresholds && s->tp && s->fp && s->fn && s->loss_sum;
  if (ok && s->weighted) {
    s->w_tp = clm_calloc(L, sizeof(double));
    s->w_fp = clm_calloc(L, sizeof(double));
    s->w_fn = clm_calloc(L, sizeof(double));
    s->w_tn = clm_calloc(L, sizeof(double));
    ok = s->w_tp && s->w_fp && s->w_fn && s->w_tn;
  }
  if (!ok) {
    clm_multilabel_state_release(s);
    return CLM_ERR_OUT_OF_MEMORY;
  }
  for (uint32_t c = 0; c < L; ++c)
    s->thresholds[c] = o->thresholds ? o->thresholds[c] : o->threshold;
  return CLM_OK;
}

clm_status clm_multilabel_state_like(clm_multilabel_state *s,
                                     const clm_multilabel_state *like) {
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = like->n_labels;
  o.kind = like->kind;
  o.from_predictions = like->from_predictions;
  o.thresholds = like->thresholds;
  o.weighted = like->weighted;
  o.label_ranking = like->label_ranking;
  return clm_multilabel_state_init(s, &o);
}

clm_status clm_multilabel_merge(clm_multilabel_state *dst,
                                const clm_multilabel_state *src) {
  if (!dst || !src || !dst->tp || !src->tp)
    return CLM_ERR_INVALID_ARGUMENT;
  const uint32_t L = dst->n_labels;
  if (src->n_labels != L || src->kind != dst->kind ||
      src->from_predictions != dst->from_predictions ||
      src->weighted != dst->weighted ||
      src->label_ranking != dst->label_ranking ||
      memcmp(src->thresholds, dst->thresholds, L * sizeof(double)) != 0)
    return CLM_ERR_STATE_MISMATCH;
  dst->n += src->n;
  for (uint32_t c = 0; c < L; ++c) {
    dst->tp[c] += src->tp[c];
    dst->fp[c] += src->fp[c];
    dst->fn[c] += src->fn[c];
    dst->loss_sum[c] += src->loss_sum[c];
    if (dst->weighted) {
      dst->w_tp[c] += src->w_tp[c];
      dst->w_fp[c] += src->w_fp[c];
      dst->w_fn[c] += src->w_fn[c];
      dst->w_tn[c] += src->w_tn[c];
    }
  }
  dst->w_sum += src->w_sum;
  dst->exact_w += src->exact_w;
  dst->diff_w += src->diff_w;
  dst->prec_sum += src->prec_sum;
  dst->rec_sum += src->rec_sum;
  dst->f1_sum += src->f1_sum;
  dst->jac_sum += src->jac_sum;
  dst->prec_undef_w += src->prec_undef_w;
  dst->rec_undef_w += src->rec_undef_w;
  dst->f1_undef_w += src->f1_undef_w;
  dst->jac_undef_w += src->jac_undef_w;
  dst->coverage_sum += src->coverage_sum;
  dst->lrap_sum += src->lrap_sum;
  dst->rank_loss_sum += src->rank_loss_sum;
  dst->auc_sum += src->auc_sum;
  dst->auc_undef_w += src->auc_undef_w;
  return CLM_OK;
}
