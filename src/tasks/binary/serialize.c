/* Binary state <-> saved bytes (the container is src/io/state_codec.c).
 * Payload, in order: kind u32, weighted u32, threshold f64, pos_weight
 * f64, n_features u64, n tp fp tn fn u64, bce_sum grad_sum w_sum w_tp
 * w_fp w_tn w_fn f64, weight_grad_sum f64[n_features]. */
#include "io/state_codec.h"

#include <stdlib.h>
#include <string.h>

/* tp + fp + tn + fn == n, without wrapping around. */
static int cells_add_up(const uint64_t c[5]) {
  uint64_t left = c[0];
  for (int i = 1; i < 5; ++i) {
    if (c[i] > left)
      return 0;
    left -= c[i];
  }
  return left == 0;
}

clm_status clm_binary_state_save(const clm_binary_state *s, uint8_t **buf,
                                 size_t *len, clm_error *err) {
  clm_error_clear(err);
  if (!s || !buf || !len || (s->n_features && !s->weight_grad_sum))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_state_save: NULL argument");
  clm_wbuf w;
  clm_state_begin(&w, CLM_STATE_BINARY);
  clm_w_u32(&w, (uint32_t)s->kind);
  clm_w_u32(&w, (uint32_t)(s->weighted != 0));
  clm_w_f64(&w, s->threshold);
  clm_w_f64(&w, s->pos_weight);
  clm_w_u64(&w, s->n_features);
  const uint64_t counts[5] = {s->n, s->tp, s->fp, s->tn, s->fn};
  clm_w_u64s(&w, counts, 5);
  const double sums[7] = {s->bce_sum, s->grad_sum, s->w_sum, s->w_tp,
                          s->w_fp,    s->w_tn,     s->w_fn};
  clm_w_f64s(&w, sums, 7);
  clm_w_f64s(&w, s->weight_grad_sum, (size_t)s->n_features);
  return clm_state_finish(&w, buf, len, err);
}

clm_status clm_binary_state_load(const uint8_t *buf, size_t len,
                                 clm_binary_state *s, clm_error *err) {
  if (!s)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_state_load: NULL state");
  memset(s, 0, sizeof *s);
  clm_rbuf r;
  clm_status st = clm_state_open(buf, len, CLM_STATE_BINARY, &r, err);
  if (st != CLM_OK)
    return st;
  clm_binary_options o;
  clm_binary_options_init(&o);
  const uint32_t kind = clm_r_u32(&r), weighted = clm_r_u32(&r);
  o.threshold = clm_r_f64(&r);
  o.pos_weight = clm_r_f64(&r);
  o.n_features = clm_r_u64(&r);
  if (r.bad)
    return clm_state_close(&r, "binary", err);
  if (kind > CLM_SCORES_PROBS || weighted > 1)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed binary state: scores kind %u, weighted %u",
                    (unsigned)kind, (unsigned)weighted);
  o.kind = (clm_scores_kind)kind;
  o.weighted = (int)weighted;
  /* Counts and sums (12 x 8 bytes), then the features' sums. */
  if (clm_r_left(&r) < 96 || o.n_features > (clm_r_left(&r) - 96) / 8)
    return clm_state_size_error(err, "binary", "n_features", o.n_features, &r);
  st = clm_binary_state_init_ex(s, &o);
  if (st == CLM_ERR_INVALID_ARGUMENT)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed binary state: threshold %.17g or pos_weight "
                    "%.17g out of range",
                    o.threshold, o.pos_weight);
  if (st != CLM_OK)
    return clm_fail(err, st, -1, 0, "cannot load the binary state: %s",
                    clm_status_str(st));
  uint64_t c[5];
  double sums[7];
  clm_r_u64s(&r, c, 5);
  clm_r_f64s(&r, sums, 7);
  clm_r_f64s(&r, s->weight_grad_sum, (size_t)s->n_features);
  st = clm_state_close(&r, "binary", err);
  if (st == CLM_OK && !cells_add_up(c))
    st = clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                  "malformed binary state: tp + fp + tn + fn != n (%llu)",
                  (unsigned long long)c[0]);
  if (st != CLM_OK) {
    clm_binary_state_release(s);
    return st;
  }
  s->n = c[0], s->tp = c[1], s->fp = c[2], s->tn = c[3], s->fn = c[4];
  s->bce_sum = sums[0], s->grad_sum = sums[1], s->w_sum = sums[2];
  s->w_tp = sums[3], s->w_fp = sums[4], s->w_tn = sums[5], s->w_fn = sums[6];
  return CLM_OK;
}
