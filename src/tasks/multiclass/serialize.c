/* Multi-class state <-> saved bytes (the container is
 * src/io/state_codec.c). Payload, in order: K, top_k, kind, flags (1
 * has_scores, 2 weighted, 4 has_ignore_index, 8 class weights), ignore_index
 * i32, reserved u32; label_smoothing f64; n n_scored top_k_hits n_ignored
 * u64; ce_sum w_sum w_top_k_hits w_ignored ce_norm w_scored f64; class
 * weights f64[K] (flag 8); confusion u64[K x K]; w_confusion f64[K x K]
 * (weighted). */
#include "io/state_codec.h"

#include <stdlib.h>
#include <string.h>

#define F_SCORES 1u
#define F_WEIGHTED 2u
#define F_IGNORE 4u
#define F_CLASS_WEIGHT 8u

clm_status clm_multiclass_state_save(const clm_multiclass_state *s,
                                     uint8_t **buf, size_t *len,
                                     clm_error *err) {
  clm_error_clear(err);
  if (!s || !buf || !len || !s->confusion || (s->weighted && !s->w_confusion))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_state_save: NULL argument or a state "
                    "that was not initialised");
  const uint32_t flags = (s->has_scores ? F_SCORES : 0) |
                         (s->weighted ? F_WEIGHTED : 0) |
                         (s->has_ignore_index ? F_IGNORE : 0) |
                         (s->class_weight ? F_CLASS_WEIGHT : 0);
  const size_t k = s->n_classes;
  clm_wbuf w;
  clm_state_begin(&w, CLM_STATE_MULTICLASS);
  clm_w_u32(&w, s->n_classes);
  clm_w_u32(&w, s->top_k);
  clm_w_u32(&w, (uint32_t)s->kind);
  clm_w_u32(&w, flags);
  clm_w_i32(&w, s->has_ignore_index ? s->ignore_index : 0);
  clm_w_u32(&w, 0);
  clm_w_f64(&w, s->label_smoothing);
  const uint64_t counts[4] = {s->n, s->n_scored, s->top_k_hits, s->n_ignored};
  clm_w_u64s(&w, counts, 4);
  const double sums[6] = {s->ce_sum,    s->w_sum,   s->w_top_k_hits,
                          s->w_ignored, s->ce_norm, s->w_scored};
  clm_w_f64s(&w, sums, 6);
  if (s->class_weight)
    clm_w_f64s(&w, s->class_weight, k);
  clm_w_u64s(&w, s->confusion, k * k);
  if (s->weighted)
    clm_w_f64s(&w, s->w_confusion, k * k);
  return clm_state_finish(&w, buf, len, err);
}

/* The matrix sums to n, without wrapping around. */
static int matrix_adds_up(const uint64_t *cm, uint64_t cells, uint64_t n) {
  uint64_t left = n;
  for (uint64_t c = 0; c < cells; ++c) {
    if (cm[c] > left)
      return 0;
    left -= cm[c];
  }
  return left == 0;
}

clm_status clm_multiclass_state_load(const uint8_t *buf, size_t len,
                                     clm_multiclass_state *s, clm_error *err) {
  if (!s)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_state_load: NULL state");
  memset(s, 0, sizeof *s);
  clm_rbuf r;
  clm_status st = clm_state_open(buf, len, CLM_STATE_MULTICLASS, &r, err);
  if (st != CLM_OK)
    return st;
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = clm_r_u32(&r);
  o.top_k = clm_r_u32(&r);
  const uint32_t kind = clm_r_u32(&r), flags = clm_r_u32(&r);
  o.ignore_index = clm_r_i32(&r);
  const uint32_t reserved = clm_r_u32(&r);
  o.label_smoothing = clm_r_f64(&r);
  if (r.bad)
    return clm_state_close(&r, "multiclass", err);
  if (kind > CLM_SCORES_PROBS || flags > 15 || reserved != 0)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed multiclass state: scores kind %u, flags 0x%x",
                    (unsigned)kind, (unsigned)flags);
  o.weighted = (flags & F_WEIGHTED) != 0;
  o.has_ignore_index = (flags & F_IGNORE) != 0;
  /* Counts and sums (10 x 8 bytes), then K class weights and the K x K
   * matrices: K is bounded by the bytes present before any allocation. */
  const uint64_t k = o.n_classes;
  const uint64_t per_cell = o.weighted ? 16 : 8;
  if (clm_r_left(&r) < 80)
    return clm_state_size_error(err, "multiclass", "K", k, &r);
  uint64_t left = clm_r_left(&r) - 80;
  if (flags & F_CLASS_WEIGHT) {
    if (k > left / 8)
      return clm_state_size_error(err, "multiclass", "K", k, &r);
    left -= k * 8;
  }
  if (k < 2 || k > left / per_cell / k)
    return clm_state_size_error(err, "multiclass", "K", k, &r);
  uint64_t counts[4];
  double sums[6];
  clm_r_u64s(&r, counts, 4);
  clm_r_f64s(&r, sums, 6);
  double *cw = NULL;
  if (flags & F_CLASS_WEIGHT) {
    if (!(cw = clm_malloc((size_t)k * sizeof *cw)))
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "cannot allocate %llu class weights",
                      (unsigned long long)k);
    clm_r_f64s(&r, cw, (size_t)k);
    o.class_weight = cw;
  }
  st = clm_multiclass_state_init_ex(s, &o);
  free(cw);
  if (st == CLM_ERR_INVALID_ARGUMENT || st == CLM_ERR_BAD_WEIGHT)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed multiclass state: K %llu, top_k %u, label "
                    "smoothing %.17g or a class weight out of range",
                    (unsigned long long)k, (unsigned)o.top_k,
                    o.label_smoothing);
  if (st != CLM_OK)
    return clm_fail(err, st, -1, 0, "cannot load the %llu-class state: %s",
                    (unsigned long long)k, clm_status_str(st));
  clm_r_u64s(&r, s->confusion, (size_t)(k * k));
  if (o.weighted)
    clm_r_f64s(&r, s->w_confusion, (size_t)(k * k));
  st = clm_state_close(&r, "multiclass", err);
  if (st == CLM_OK && !matrix_adds_up(s->confusion, k * k, counts[0]))
    st = clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                  "malformed multiclass state: the confusion matrix does "
                  "not sum to n (%llu)",
                  (unsigned long long)counts[0]);
  if (st != CLM_OK) {
    clm_multiclass_state_release(s);
    return st;
  }
  s->has_scores = (flags & F_SCORES) != 0;
  s->kind = (clm_scores_kind)kind;
  s->n = counts[0], s->n_scored = counts[1], s->top_k_hits = counts[2];
  s->n_ignored = counts[3];
  s->ce_sum = sums[0], s->w_sum = sums[1], s->w_top_k_hits = sums[2];
  s->w_ignored = sums[3], s->ce_norm = sums[4], s->w_scored = sums[5];
  return CLM_OK;
}
