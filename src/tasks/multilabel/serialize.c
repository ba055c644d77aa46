/* Multilabel state <-> saved bytes (the container is
 * src/io/state_codec.c). Payload, in order: L, kind, flags (1
 * from_predictions, 2 weighted, 4 label_ranking), reserved u32; n u64; the
 * 16 per-row sums f64 (w_sum exact_w diff_w prec_sum rec_sum f1_sum jac_sum
 * prec_undef_w rec_undef_w f1_undef_w jac_undef_w coverage_sum lrap_sum
 * rank_loss_sum auc_sum auc_undef_w); thresholds f64[L]; tp fp fn u64[L];
 * loss_sum f64[L]; weighted: w_tp w_fp w_fn w_tn f64[L]. */
#include "io/state_codec.h"

#include <stdlib.h>
#include <string.h>

#define F_PREDICTIONS 1u
#define F_WEIGHTED 2u
#define F_LABEL_RANKING 4u
#define N_SUMS 16

/* The per-row sums, in payload order. */
static double *const *sum_fields(const clm_multilabel_state *s,
                                 double *out[N_SUMS]) {
  clm_multilabel_state *m = (clm_multilabel_state *)s;
  double *const f[N_SUMS] = {
      &m->w_sum,       &m->exact_w,       &m->diff_w,      &m->prec_sum,
      &m->rec_sum,     &m->f1_sum,        &m->jac_sum,     &m->prec_undef_w,
      &m->rec_undef_w, &m->f1_undef_w,    &m->jac_undef_w, &m->coverage_sum,
      &m->lrap_sum,    &m->rank_loss_sum, &m->auc_sum,     &m->auc_undef_w};
  memcpy(out, f, sizeof f);
  return out;
}

clm_status clm_multilabel_state_save(const clm_multilabel_state *s,
                                     uint8_t **buf, size_t *len,
                                     clm_error *err) {
  clm_error_clear(err);
  if (!s || !buf || !len || !s->tp || (s->weighted && !s->w_tp))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multilabel_state_save: NULL argument or a state "
                    "that was not initialised");
  const size_t L = s->n_labels;
  clm_wbuf w;
  clm_state_begin(&w, CLM_STATE_MULTILABEL);
  clm_w_u32(&w, s->n_labels);
  clm_w_u32(&w, (uint32_t)s->kind);
  clm_w_u32(&w, (s->from_predictions ? F_PREDICTIONS : 0) |
                    (s->weighted ? F_WEIGHTED : 0) |
                    (s->label_ranking ? F_LABEL_RANKING : 0));
  clm_w_u32(&w, 0);
  clm_w_u64(&w, s->n);
  double *f[N_SUMS];
  sum_fields(s, f);
  for (int i = 0; i < N_SUMS; ++i)
    clm_w_f64(&w, *f[i]);
  clm_w_f64s(&w, s->thresholds, L);
  clm_w_u64s(&w, s->tp, L);
  clm_w_u64s(&w, s->fp, L);
  clm_w_u64s(&w, s->fn, L);
  clm_w_f64s(&w, s->loss_sum, L);
  if (s->weighted) {
    clm_w_f64s(&w, s->w_tp, L);
    clm_w_f64s(&w, s->w_fp, L);
    clm_w_f64s(&w, s->w_fn, L);
    clm_w_f64s(&w, s->w_tn, L);
  }
  return clm_state_finish(&w, buf, len, err);
}

clm_status clm_multilabel_state_load(const uint8_t *buf, size_t len,
                                     clm_multilabel_state *s, clm_error *err) {
  if (!s)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multilabel_state_load: NULL state");
  memset(s, 0, sizeof *s);
  clm_rbuf r;
  clm_status st = clm_state_open(buf, len, CLM_STATE_MULTILABEL, &r, err);
  if (st != CLM_OK)
    return st;
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = clm_r_u32(&r);
  const uint32_t kind = clm_r_u32(&r), flags = clm_r_u32(&r);
  const uint32_t reserved = clm_r_u32(&r);
  const uint64_t n = clm_r_u64(&r);
  double sums[N_SUMS];
  clm_r_f64s(&r, sums, N_SUMS);
  if (r.bad)
    return clm_state_close(&r, "multilabel", err);
  o.from_predictions = (flags & F_PREDICTIONS) != 0;
  o.weighted = (flags & F_WEIGHTED) != 0;
  o.label_ranking = (flags & F_LABEL_RANKING) != 0;
  if (kind > CLM_SCORES_PROBS || flags > 7 || reserved != 0 ||
      (o.from_predictions && o.label_ranking))
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed multilabel state: scores kind %u, flags 0x%x",
                    (unsigned)kind, (unsigned)flags);
  o.kind = (clm_scores_kind)kind;
  /* Per label: a threshold, 3 counts and a loss sum (40 bytes), and 4
   * weight sums when weighted; L must be exactly what the bytes hold. */
  const uint64_t L = o.n_labels, per_label = o.weighted ? 72 : 40;
  if (L == 0 || clm_r_left(&r) % per_label != 0 ||
      L != clm_r_left(&r) / per_label)
    return clm_state_size_error(err, "multilabel", "L", L, &r);
  double *thresholds = clm_malloc((size_t)L * sizeof *thresholds);
  if (!thresholds)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate %llu thresholds", (unsigned long long)L);
  clm_r_f64s(&r, thresholds, (size_t)L);
  o.thresholds = thresholds;
  st = clm_multilabel_state_init(s, &o);
  free(thresholds);
  if (st == CLM_ERR_INVALID_ARGUMENT)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed multilabel state: a threshold outside [0, 1]");
  if (st != CLM_OK)
    return clm_fail(err, st, -1, 0, "cannot load the multilabel state: %s",
                    clm_status_str(st));
  clm_r_u64s(&r, s->tp, (size_t)L);
  clm_r_u64s(&r, s->fp, (size_t)L);
  clm_r_u64s(&r, s->fn, (size_t)L);
  clm_r_f64s(&r, s->loss_sum, (size_t)L);
  if (s->weighted) {
    clm_r_f64s(&r, s->w_tp, (size_t)L);
    clm_r_f64s(&r, s->w_fp, (size_t)L);
    clm_r_f64s(&r, s->w_fn, (size_t)L);
    clm_r_f64s(&r, s->w_tn, (size_t)L);
  }
  st = clm_state_close(&r, "multilabel", err);
  for (uint64_t c = 0; c < L && st == CLM_OK; ++c)
    if (s->tp[c] > n || s->fp[c] > n - s->tp[c] ||
        s->fn[c] > n - s->tp[c] - s->fp[c])
      st = clm_fail(err, CLM_ERR_FORMAT, (int64_t)c, 0,
                    "malformed multilabel state: label %llu counts more "
                    "cells than n (%llu) rows",
                    (unsigned long long)c, (unsigned long long)n);
  if (st != CLM_OK) {
    clm_multilabel_state_release(s);
    return st;
  }
  s->n = n;
  double *f[N_SUMS];
  sum_fields(s, f);
  for (int i = 0; i < N_SUMS; ++i)
    *f[i] = sums[i];
  return CLM_OK;
}
