/* Streaming ranking state <-> saved bytes (the container is
 * src/io/state_codec.c). Payload, in order: k, bits, dtype (clm_dtype),
 * flags (1 softmax, 2 multilabel) u32; n u64; counts u64[k x 2^bits x 2]
 * ((negatives, positives) per column and key prefix). */
#include "io/state_codec.h"

#include <stdlib.h>
#include <string.h>

#define F_SOFTMAX 1u
#define F_MULTILABEL 2u

clm_status clm_ranking_state_save(const clm_ranking_state *s, uint8_t **buf,
                                  size_t *len, clm_error *err) {
  clm_error_clear(err);
  if (!s || !buf || !len || !s->counts)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_state_save: NULL argument or a state that "
                    "was not initialised");
  clm_wbuf w;
  clm_state_begin(&w, CLM_STATE_RANKING);
  clm_w_u32(&w, s->k);
  clm_w_u32(&w, s->bits);
  clm_w_u32(&w, (uint32_t)s->dtype);
  clm_w_u32(&w,
            (s->softmax ? F_SOFTMAX : 0) | (s->multilabel ? F_MULTILABEL : 0));
  clm_w_u64(&w, s->n);
  clm_w_u64s(&w, s->counts, ((size_t)s->k << s->bits) * 2);
  return clm_state_finish(&w, buf, len, err);
}

clm_status clm_ranking_state_load(const uint8_t *buf, size_t len,
                                  clm_ranking_state *s, clm_error *err) {
  if (!s)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_state_load: NULL state");
  memset(s, 0, sizeof *s);
  clm_rbuf r;
  clm_status st = clm_state_open(buf, len, CLM_STATE_RANKING, &r, err);
  if (st != CLM_OK)
    return st;
  const uint32_t k = clm_r_u32(&r), bits = clm_r_u32(&r);
  const uint32_t dtype = clm_r_u32(&r), flags = clm_r_u32(&r);
  const uint64_t n = clm_r_u64(&r);
  if (r.bad)
    return clm_state_close(&r, "ranking", err);
  const int softmax = (flags & F_SOFTMAX) != 0;
  const int multilabel = (flags & F_MULTILABEL) != 0;
  if (bits < 8 || bits > 16 ||
      (dtype != CLM_DTYPE_F32 && dtype != CLM_DTYPE_F64) || flags > 3 ||
      (softmax && (multilabel || k < 2)))
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "malformed ranking state: bits %u, dtype %u, flags 0x%x",
                    (unsigned)bits, (unsigned)dtype, (unsigned)flags);
  /* k columns of 2^bits (negatives, positives) pairs must be exactly the
   * bytes left: checked before the counts are allocated. */
  const uint64_t column = (uint64_t)16 << bits;
  if (k == 0 || clm_r_left(&r) % column != 0 || k != clm_r_left(&r) / column)
    return clm_state_size_error(err, "ranking", "k", k, &r);
  st = multilabel
           ? clm_ranking_state_init_multilabel(s, k, (clm_dtype)dtype, bits)
           : clm_ranking_state_init(s, k, (clm_dtype)dtype, softmax, bits);
  if (st != CLM_OK)
    return clm_fail(err, st, -1, 0, "cannot load the ranking state: %s",
                    clm_status_str(st));
  const size_t cells = ((size_t)k << bits) * 2;
  clm_r_u64s(&r, s->counts, cells);
  st = clm_state_close(&r, "ranking", err);
  /* Every column counts every row once. */
  for (uint32_t c = 0; c < k && st == CLM_OK; ++c) {
    const uint64_t *v = s->counts + ((size_t)c << bits) * 2;
    uint64_t left = n;
    int ok = 1;
    for (size_t i = 0; i < ((size_t)2 << bits) && ok; ++i) {
      ok = v[i] <= left;
      left -= ok ? v[i] : 0;
    }
    if (!ok || left != 0)
      st = clm_fail(err, CLM_ERR_FORMAT, c, 0,
                    "malformed ranking state: column %u does not count n "
                    "(%llu) rows",
                    (unsigned)c, (unsigned long long)n);
  }
  if (st != CLM_OK) {
    clm_ranking_state_release(s);
    return st;
  }
  s->n = n;
  return CLM_OK;
}
