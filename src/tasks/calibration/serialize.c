/* Calibration state <-> saved bytes (the container is
 * src/io/state_codec.c). Payload, in order: K, B, flags (1 class-wise, 2
 * weighted, 4 has_ignore_index) u32, ignore_index i32; n n_ignored u64;
 * weight_sum brier_sum f64; edges f64[B + 1]; count u64[B]; weight
 * confidence hits f64[B]; class-wise: cw_count u64[K x B], cw_weight
 * cw_confidence cw_hits f64[K x B]. */
#include "io/state_codec.h"

#include <stdlib.h>
#include <string.h>

#define F_CLASSWISE 1u
#define F_WEIGHTED 2u
#define F_IGNORE 4u

clm_status clm_calibration_state_save(const clm_calibration_state *s,
                                      uint8_t **buf, size_t *len,
                                      clm_error *err) {
  clm_error_clear(err);
  if (!s || !buf || !len || !s->edges || (s->classwise && !s->cw_count))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_calibration_state_save: NULL argument or a state "
                    "that was not initialised");
  const size_t b = s->n_bins, kb = (size_t)s->n_classes * b;
  clm_wbuf w;
  clm_state_begin(&w, CLM_STATE_CALIBRATION);
  clm_w_u32(&w, s->n_classes);
  clm_w_u32(&w, s->n_bins);
  clm_w_u32(&w, (s->classwise ? F_CLASSWISE : 0) |
                    (s->weighted ? F_WEIGHTED : 0) |
                    (s->has_ignore_index ? F_IGNORE : 0));
  clm_w_i32(&w, s->has_ignore_index ? s->ignore_index : 0);
  clm_w_u64(&w, s->n);
  clm_w_u64(&w, s->n_ignored);
  clm_w_f64(&w, s->weight_sum);
  clm_w_f64(&w, s->brier_sum);
  clm_w_f64s(&w, s->edges, b + 1);
  clm_w_u64s(&w, s->count, b);
  clm_w_f64s(&w, s->weight, b);
  clm_w_f64s(&w, s->confidence, b);
  clm_w_f64s(&w, s->hits, b);
  if (s->classwise) {
    clm_w_u64s(&w, s->cw_count, kb);
    clm_w_f64s(&w, s->cw_weight, kb);
    clm_w_f64s(&w, s->cw_confidence, kb);
    clm_w_f64s(&w, s->cw_hits, kb);
  }
  return clm_state_finish(&w, buf, len, err);
}

clm_status clm_calibration_state_load(const uint8_t *buf, size_t len,
                                      clm_calibration_state *s,
                                      clm_error *err) {
  if (!s)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_calibration_state_load: NULL state");
  memset(s, 0, sizeof *s);
  clm_rbuf r;
  clm_status st = clm_state_open(buf, len, CLM_STATE_CALIBRATION, &r, err);
  if (st != CLM_OK)
    return st;
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = clm_r_u32(&r);
  o.n_bins = clm_r_u32(&r);
  const uint32_t flags = clm_r_u32(&r);
  o.ignore_index = clm_r_i32(&r);
  const uint64_t n = clm_r_u64(&r), n_ignored = clm_r_u64(&r);
  const double weight_sum = clm_r_f64(&r), brier_sum = clm_r_f64(&r);
  if (r.bad)
    return clm_state_close(&r, "calibration", err);
  o.classwise = (flags & F_CLASSWISE) != 0;
  o.weighted = (flags & F_WEIGHTED) != 0;
  o.has_ignore_index = (flags & F_IGNORE) != 0;
  if (flags > 7 || o.n_classes == 0 ||
      ((o.classwise || o.has_ignore_index) && o.n_classes < 2))
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed calibration state: K %u, flags 0x%x",
                    (unsigned)o.n_classes, (unsigned)flags);
  /* B + 1 edges and 4 values per bin, then 4 per class and bin: bounded by
   * the bytes present before anything is allocated. */
  const uint64_t b = o.n_bins, k = o.n_classes;
  const uint64_t left = clm_r_left(&r);
  if (b == 0 || left < 8 || b > (left - 8) / 40)
    return clm_state_size_error(err, "calibration", "bins", b, &r);
  const uint64_t rest = left - 8 - 40 * b;
  if ((o.classwise && k > rest / 32 / b) || (!o.classwise && rest != 0))
    return clm_state_size_error(err, "calibration", "K", k, &r);
  double *edges = clm_malloc((size_t)(b + 1) * sizeof *edges);
  if (!edges)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate %llu calibration edges",
                    (unsigned long long)b + 1);
  clm_r_f64s(&r, edges, (size_t)b + 1);
  o.edges = edges;
  st = clm_calibration_state_init(s, &o);
  free(edges);
  if (st == CLM_ERR_INVALID_ARGUMENT)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed calibration state: the %llu bin edges are not "
                    "strictly ascending from 0 to 1",
                    (unsigned long long)b);
  if (st != CLM_OK)
    return clm_fail(err, st, -1, 0, "cannot load the calibration state: %s",
                    clm_status_str(st));
  const size_t kb = (size_t)(k * b);
  clm_r_u64s(&r, s->count, (size_t)b);
  clm_r_f64s(&r, s->weight, (size_t)b);
  clm_r_f64s(&r, s->confidence, (size_t)b);
  clm_r_f64s(&r, s->hits, (size_t)b);
  if (s->classwise) {
    clm_r_u64s(&r, s->cw_count, kb);
    clm_r_f64s(&r, s->cw_weight, kb);
    clm_r_f64s(&r, s->cw_confidence, kb);
    clm_r_f64s(&r, s->cw_hits, kb);
  }
  st = clm_state_close(&r, "calibration", err);
  if (st != CLM_OK) {
    clm_calibration_state_release(s);
    return st;
  }
  s->n = n;
  s->n_ignored = n_ignored;
  s->weight_sum = weight_sum;
  s->brier_sum = brier_sum;
  return CLM_OK;
}
