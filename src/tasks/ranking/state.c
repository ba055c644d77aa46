/* The streaming ranking state: level-1 counts that merge by addition and
 * finalize to certified intervals. */
#include "tasks/ranking/ranking.h"

#include <stdlib.h>
#include <string.h>

static void state_setup(const clm_ranking_state *st, clm_rk_setup *s) {
  memset(s, 0, sizeof *s);
  s->k = st->k;
  s->f64 = st->dtype == CLM_DTYPE_F64 && !st->softmax;
  s->key_bits = s->f64 ? 64 : 32;
  s->bits1 = st->bits;
  s->bins1 = 1u << st->bits;
  s->multilabel = st->multilabel != 0;
}

clm_status clm_ranking_state_init(clm_ranking_state *state, uint32_t k,
                                  clm_dtype dtype, int softmax, uint32_t bits) {
  if (!state || k == 0 || (softmax && k < 2) ||
      (dtype != CLM_DTYPE_F32 && dtype != CLM_DTYPE_F64) ||
      (bits != 0 && (bits < 8 || bits > 16)))
    return CLM_ERR_INVALID_ARGUMENT;
  if (bits == 0) {
    bits = 16;
    while (bits > 8 && ((uint64_t)k << bits) * 16 > ((uint64_t)64 << 20))
      --bits;
  }
  memset(state, 0, sizeof *state);
  state->counts = clm_calloc((size_t)k << bits, 2 * sizeof(uint64_t));
  if (!state->counts)
    return CLM_ERR_OUT_OF_MEMORY;
  state->k = k;
  state->bits = bits;
  state->dtype = dtype;
  state->softmax = softmax;
  return CLM_OK;
}

clm_status clm_ranking_state_init_multilabel(clm_ranking_state *state,
                                             uint32_t k, clm_dtype dtype,
                                             uint32_t bits) {
  const clm_status st = clm_ranking_state_init(state, k, dtype, 0, bits);
  if (st == CLM_OK)
    state->multilabel = 1;
  return st;
}

void clm_ranking_state_release(clm_ranking_state *state) {
  if (!state)
    return;
  free(state->counts);
  memset(state, 0, sizeof *state);
}

static clm_status update(clm_context *ctx, clm_ranking_state *state,
                         uint64_t base, const void *labels, const void *scores,
                         uint64_t n, clm_error *err) {
  clm_rk_setup s;
  state_setup(state, &s);
  const size_t cells = (size_t)s.k * s.bins1 * 2;
  uint64_t *counts = clm_malloc(cells * sizeof *counts);
  float *soft = NULL;
  const uint64_t batch = state->softmax ? (uint64_t)1 << 20 : (n ? n : 1);
  if (!counts ||
      (state->softmax && !(soft = clm_malloc(batch * s.k * sizeof *soft)))) {
    free(counts);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the ranking update's counts");
  }
  clm_status st = clm_rk_hist_begin(ctx, &s, err);
  const size_t lsz = clm_rk_label_bytes(&s);
  const size_t ssz = (size_t)s.k * (state->dtype == CLM_DTYPE_F64 ? 8 : 4);
  for (uint64_t first = 0; first < n && st == CLM_OK; first += batch) {
    const uint64_t m = n - first < batch ? n - first : batch;
    const void *y = (const char *)labels + first * lsz;
    const void *z = (const char *)scores + first * ssz;
    if (soft) {
      clm_rk_softmax_rows(z, state->dtype == CLM_DTYPE_F64, m, s.k, soft);
      z = soft;
    }
    st = clm_rk_hist_batch(ctx, &s, y, z, m, base + first, err);
  }
  if (st == CLM_OK)
    st = clm_rk_hist_end(ctx, &s, counts, NULL, err);
  clm_rk_trim(ctx, 0);
  if (st == CLM_OK) {
    for (size_t i = 0; i < cells; ++i)
      state->counts[i] += counts[i];
    state->n += n;
  }
  free(soft);
  free(counts);
  return st;
}

clm_status clm_ranking_update(clm_context *ctx, clm_ranking_state *state,
                              uint64_t base, const void *labels,
                              const void *scores, uint64_t n, clm_error *err) {
  clm_error_clear(err);
  if (!ctx || !state || !state->counts || (n > 0 && (!labels || !scores)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_update: NULL argument");
  if (n == 0)
    return CLM_OK;
  pthread_mutex_lock(&ctx->lock);
  clm_status st = update(ctx, state, base, labels, scores, n, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

clm_status clm_ranking_merge(clm_ranking_state *dst,
                             const clm_ranking_state *src) {
  if (!dst || !src || !dst->counts || !src->counts)
    return CLM_ERR_INVALID_ARGUMENT;
  if (dst->k != src->k || dst->bits != src->bits || dst->dtype != src->dtype ||
      dst->softmax != src->softmax || dst->multilabel != src->multilabel)
    return CLM_ERR_STATE_MISMATCH;
  const size_t cells = ((size_t)dst->k << dst->bits) * 2;
  for (size_t i = 0; i < cells; ++i)
    dst->counts[i] += src->counts[i];
  dst->n += src->n;
  return CLM_OK;
}

clm_status clm_ranking_finalize(const clm_ranking_state *state,
                                clm_ranking_result *out) {
  if (!state || !state->counts || !out)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  if (state->n == 0)
    return CLM_ERR_EMPTY;
  clm_rk_setup s;
  state_setup(state, &s);
  clm_rk_column *cols = clm_calloc(s.k, sizeof *cols);
  if (!cols)
    return CLM_ERR_OUT_OF_MEMORY;
  clm_rk_resolver r = {&s, cols, NULL, 0, NULL, NULL};
  clm_status st = CLM_OK;
  for (uint32_t k = 0; k < s.k && st == CLM_OK; ++k) {
    const uint64_t *c = state->counts + (size_t)k * s.bins1 * 2;
    clm_rk_column *col = &cols[k];
    for (uint32_t b = 0; b < s.bins1; ++b) {
      col->neg += c[2 * b];
      col->pos += c[2 * b + 1];
    }
    const clm_rk_node root = {.col = k,
                              .hi = ~0ull >> (64 - s.key_bits),
                              .pos = col->pos,
                              .neg = col->neg};
    st = clm_rk_scan_cells(&r, &root, c, CLM_RK_CELLS_U64, s.bins1,
                           s.key_bits - s.bits1);
  }
  if (st == CLM_OK)
    st = clm_rk_result(&s, cols, state->n, 0, out);
  if (st != CLM_OK)
    clm_ranking_result_release(out);
  else
    out->passes = 1;
  clm_rk_columns_free(cols, s.k);
  return st;
}
