/* Ranking passes on the device: the level-1 histogram and the refine
 * passes, one batch at a time in chunks through the engine. */
#include "tasks/ranking/ranking.h"

#include "clm_shared.h"
#include "engine/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clm_rk_ws {
  cl_kernel k_hist[2], k_refine[2]; /* [f64] */
  cl_kernel k_gather16;
  /* Inputs of one chunk (copy path). */
  cl_mem scores, labels;
  size_t scores_cap, labels_cap;
  /* Pass 1. */
  cl_mem hist, scratch, status, range;
  size_t hist_cap, scratch_cap, status_cap, range_cap;
  /* Refine pass: the plan and its outputs. */
  cl_mem table, tlo, thi, tshift, tbase, tcap, dense, cursor, gkeys, g16, split;
  size_t table_cap, tlo_cap, thi_cap, tshift_cap, tbase_cap, tcap_cap,
      dense_cap, cursor_cap, gkeys_cap, g16_cap, split_cap;
  uint32_t owners; /* refine groups owning runs of tasks (0: rows split) */
  /* The pass runs clm_rank_gather16_f32 with per-group prefix tables. */
  int gather16;
  cl_mem own;
  size_t own_cap;
  /* Mapped outputs of the last refine pass. */
  void *map_dense, *map_cursor, *map_gkeys, *map_g16;
  size_t gkeys_elem; /* bytes per gathered key */
};

static clm_status ws_init(clm_context *ctx, void *p, clm_error *err) {
  struct clm_rk_ws *ws = p;
  static const char *const names[5] = {
      "clm_rank_hist_f32", "clm_rank_hist_f64", "clm_rank_refine_f32",
      "clm_rank_refine_f64", "clm_rank_gather16_f32"};
  cl_kernel *out[5] = {&ws->k_hist[0], &ws->k_hist[1], &ws->k_refine[0],
                       &ws->k_refine[1], &ws->k_gather16};
  clm_status st = CLM_OK;
  for (int i = 0; i < 5 && st == CLM_OK; ++i)
    st = clm_kernel_create(ctx, names[i], out[i], err);
  return st;
}

static void ws_release(void *p) {
  struct clm_rk_ws *ws = p;
  cl_mem *mems[] = {&ws->own,    &ws->split,  &ws->g16,     &ws->gkeys,
                    &ws->cursor, &ws->dense,  &ws->tcap,    &ws->tbase,
                    &ws->tshift, &ws->thi,    &ws->tlo,     &ws->table,
                    &ws->range,  &ws->status, &ws->scratch, &ws->hist,
                    &ws->labels, &ws->scores};
  for (size_t i = 0; i < sizeof mems / sizeof *mems; ++i)
    clm_release_mem(mems[i]);
  clm_release_kernel(&ws->k_gather16);
  for (int i = 1; i >= 0; --i) {
    clm_release_kernel(&ws->k_refine[i]);
    clm_release_kernel(&ws->k_hist[i]);
  }
}

const clm_family clm_family_ranking = {"ranking", sizeof(struct clm_rk_ws),
                                       ws_init, ws_release};

static struct clm_rk_ws *workspace(clm_context *ctx, clm_error *err) {
  return clm_workspace(ctx, CLM_FAMILY_RANKING, err);
}

int clm_rk_maps_copy(const clm_context *ctx) {
  return !ctx->info.host_unified_memory;
}

/* Private per-group slices (CPUs) while they stay small; else atomics. */
static size_t hist_groups(const clm_context *ctx) {
  const size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  return cu;
}

static int hist_private(const clm_context *ctx, const clm_rk_setup *s) {
  const uint64_t slice = (uint64_t)s->k * s->bins1 * 2 * sizeof(cl_uint);
  return ctx->cm_local_size == 1 && slice * hist_groups(ctx) <= (64u << 20);
}

int clm_rk_owner_mode(const clm_context *ctx) {
  return ctx->cm_local_size == 1;
}

uint64_t clm_rk_hist_bytes(const clm_context *ctx, const clm_rk_setup *s) {
  const uint64_t cells = (uint64_t)s->k * s->bins1 * 2;
  const uint64_t track = s->track_range ? 2 : 1;
  uint64_t b = cells * 8;
  if (s->track_range) /* device ranges and their host copy */
    b += cells * 4 * 2;
  if (hist_private(ctx, s))
    b += cells * 4 * track * hist_groups(ctx);
  return b;
}

static clm_status fill_zero(clm_context *ctx, cl_mem m, size_t bytes,
                            clm_error *err) {
  const cl_uint zero = 0;
  if (bytes == 0)
    return CLM_OK;
  cl_int rc = clEnqueueFillBuffer(ctx->queue, m, &zero, sizeof zero, 0, bytes,
                                  0, NULL, NULL);
  return rc == CL_SUCCESS ? CLM_OK
                          : clm_fail_cl(err, rc, "clEnqueueFillBuffer");
}

clm_status clm_rk_hist_begin(clm_context *ctx, const clm_rk_setup *s,
                             clm_error *err) {
  struct clm_rk_ws *ws = workspace(ctx, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  const size_t cells = (size_t)s->k * s->bins1 * 2;
  clm_status st = clm_ensure_buffer(ctx, &ws->hist, &ws->hist_cap, cells * 8,
                                    CL_MEM_READ_WRITE, err);
  const size_t track = s->track_range ? 2 : 1;
  if (st == CLM_OK && hist_private(ctx, s))
    st = clm_ensure_buffer(ctx, &ws->scratch, &ws->scratch_cap,
                           cells * 4 * track * hist_groups(ctx),
                           CL_MEM_READ_WRITE, err);
  /* Without tracking the kernel still takes a buffer; it stays unused. */
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &ws->range, &ws->range_cap,
                           s->track_range ? cells * 4 : 4, CL_MEM_READ_WRITE,
                           err);
  if (st == CLM_OK && s->track_range) {
    const cl_uint empty[2] = {0xffffffffu, 0u};
    cl_int rc = clEnqueueFillBuffer(ctx->queue, ws->range, empty, sizeof empty,
                                    0, cells * 4, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
      st = clm_fail_cl(err, rc, "clEnqueueFillBuffer(ranking ranges)");
  }
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &ws->status, &ws->status_cap, sizeof(cl_uint),
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = fill_zero(ctx, ws->hist, cells * 8, err);
  return st;
}

/* Where a chunk's kernels read: the caller's memory wrapped, or copies. */
struct chunk_in {
  cl_mem w_scores, w_labels;
  cl_mem scores, labels;
};

static void chunk_in_release(struct chunk_in *c) {
  clm_release_mem(&c->w_labels);
  clm_release_mem(&c->w_scores);
}

static clm_status chunk_inputs(clm_context *ctx, struct clm_rk_ws *ws,
                               const clm_rk_setup *s, const void *labels,
                               const void *scores, uint32_t m,
                               struct chunk_in *c, clm_error *err) {
  const size_t sbytes = (size_t)m * s->k * (s->f64 ? 8 : 4);
  const size_t lbytes = (size_t)m * clm_rk_label_bytes(s);
  cl_int rc = CL_SUCCESS;
  if (clm_can_wrap(ctx, scores) && clm_can_wrap(ctx, labels)) {
    c->w_scores = clm_wrap_host(ctx, CL_MEM_READ_ONLY, scores, sbytes, &rc);
    if (rc == CL_SUCCESS)
      c->w_labels = clm_wrap_host(ctx, CL_MEM_READ_ONLY, labels, lbytes, &rc);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR inputs)");
    c->scores = c->w_scores;
    c->labels = c->w_labels;
    return CLM_OK;
  }
  clm_status st = clm_ensure_buffer(ctx, &ws->scores, &ws->scores_cap, sbytes,
                                    CL_MEM_READ_ONLY, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &ws->labels, &ws->labels_cap, lbytes,
                           CL_MEM_READ_ONLY, err);
  if (st != CLM_OK)
    return st;
  rc = clEnqueueWriteBuffer(ctx->queue, ws->scores, CL_FALSE, 0, sbytes, scores,
                            0, NULL, NULL);
  if (rc == CL_SUCCESS)
    rc = clEnqueueWriteBuffer(ctx->queue, ws->labels, CL_FALSE, 0, lbytes,
                              labels, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueWriteBuffer(ranking inputs)");
  c->scores = ws->scores;
  c->labels = ws->labels;
  return CLM_OK;
}

/* The first bad cell of a multilabel row (label, then score, by column),
 * named by its flat index row * k + column. */
static clm_status report_bad_cell(const clm_rk_setup *s, const void *labels,
                                  const void *scores, uint32_t row, uint64_t at,
                                  clm_error *err) {
  for (uint32_t c = 0; c < s->k; ++c) {
    const uint64_t j = (uint64_t)row * s->k + c;
    const uint64_t flat = at * s->k + c;
    const uint8_t y = ((const uint8_t *)labels)[j];
    const double v = s->f64 ? ((const double *)scores)[j]
                            : (double)((const float *)scores)[j];
    if (y > 1)
      return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)flat, y,
                      "index %llu (row %llu, column %u): label %u is not 0 or "
                      "1",
                      (unsigned long long)flat, (unsigned long long)at,
                      (unsigned)c, (unsigned)y);
    if (isnan(v))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)flat, v,
                      "index %llu (row %llu, column %u): score is NaN",
                      (unsigned long long)flat, (unsigned long long)at,
                      (unsigned)c);
    if (s->probs && !(v >= 0.0 && v <= 1.0))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)flat, v,
                      "index %llu (row %llu, column %u): probability %.17g is "
                      "outside [0, 1]",
                      (unsigned long long)flat, (unsigned long long)at,
                      (unsigned)c, v);
  }
  return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, 0,
                  "row %llu: invalid input", (unsigned long long)at);
}

/* The first bad row of a chunk, described from the host's copy. */
static clm_status report_bad(const clm_rk_setup *s, const void *labels,
                             const void *scores, uint32_t row, uint64_t at,
                             clm_error *err) {
  const unsigned long long idx = (unsigned long long)at;
  if (s->multilabel)
    return report_bad_cell(s, labels, scores, row, at, err);
  if (s->k == 1) {
    const uint8_t y = ((const uint8_t *)labels)[row];
    if (y > 1)
      return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, y,
                      "index %llu: label %u is not 0 or 1", idx, (unsigned)y);
  } else {
    const int32_t y = ((const int32_t *)labels)[row];
    if (y < 0 || (uint32_t)y >= s->k)
      return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, y,
                      "index %llu: class %d is outside [0, %u)", idx, (int)y,
                      (unsigned)s->k);
  }
  for (uint32_t c = 0; c < s->k; ++c) {
    const uint64_t j = (uint64_t)row * s->k + c;
    const double v = s->f64 ? ((const double *)scores)[j]
                            : (double)((const float *)scores)[j];
    char col[32] = "";
    if (s->k > 1)
      snprintf(col, sizeof col, ", column %u", (unsigned)c);
    if (isnan(v))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                      "index %llu%s: score is NaN", idx, col);
    if (s->probs && !(v >= 0.0 && v <= 1.0))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                      "index %llu%s: probability %.17g is outside [0, 1]", idx,
                      col, v);
  }
  return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, 0,
                  "index %llu: invalid input", idx);
}

/* Work-items per group and rows per group for n rows. */
static void launch_shape(const clm_context *ctx, int priv, uint32_t n,
                         size_t *ls, size_t *groups, uint32_t *per_group) {
  const size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  *ls = priv ? 1 : (ctx->cm_local_size > 1 ? ctx->cm_local_size : 2);
  size_t g = priv ? hist_groups(ctx) : 4 * cu;
  if (!priv) {
    /* At least 64 rows per work-item, so the groups are worth it. */
    const size_t by_rows = (n + *ls * 64 - 1) / (*ls * 64);
    if (g > by_rows)
      g = by_rows;
  }
  if (g == 0)
    g = 1;
  *per_group = (uint32_t)((n + g - 1) / g);
  if (*per_group == 0)
    *per_group = 1;
  *groups = (n + *per_group - 1) / *per_group;
  if (*groups == 0)
    *groups = 1;
}

static uint64_t chunk_rows(const clm_context *ctx, const clm_rk_setup *s) {
  return clm_engine_chunk_rows(ctx, (uint64_t)s->k * (s->f64 ? 8 : 4), 1,
                               0xffffffffULL / (s->k ? s->k : 1));
}

clm_status clm_rk_hist_batch(clm_context *ctx, const clm_rk_setup *s,
                             const void *labels, const void *scores,
                             uint64_t rows, uint64_t base, clm_error *err) {
  struct clm_rk_ws *ws = workspace(ctx, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  const int priv = hist_private(ctx, s);
  const uint64_t chunk = chunk_rows(ctx, s);
  const size_t lsz = clm_rk_label_bytes(s),
               ssz = (size_t)s->k * (s->f64 ? 8 : 4);
  clm_status st = CLM_OK;
  for (uint64_t first = 0; first < rows && st == CLM_OK; first += chunk) {
    const uint32_t m = (uint32_t)(rows - first < chunk ? rows - first : chunk);
    const void *y = (const char *)labels + first * lsz;
    const void *z = (const char *)scores + first * ssz;
    struct chunk_in c = {0};
    st = chunk_inputs(ctx, ws, s, y, z, m, &c, err);
    size_t ls, groups;
    uint32_t per_group;
    launch_shape(ctx, priv, m, &ls, &groups, &per_group);
    const cl_uint no_bad = CLM_NO_BAD, k = s->k, shift = s->key_bits - s->bits1,
                  bins = s->bins1;
    const cl_int probs = s->probs;
    cl_uint bad = CLM_NO_BAD;
    if (st == CLM_OK) {
      cl_int rc = clEnqueueWriteBuffer(ctx->queue, ws->status, CL_FALSE, 0,
                                       sizeof no_bad, &no_bad, 0, NULL, NULL);
      if (rc != CL_SUCCESS)
        st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(status)");
    }
    if (st == CLM_OK) {
      cl_kernel kern = ws->k_hist[s->f64];
      const cl_mem scratch = priv ? ws->scratch : ws->hist;
      clm_kargs ka = {kern, CL_SUCCESS, 0};
      clm_karg(&ka, CLM_RKH_ARG_SCORES, sizeof(cl_mem), &c.scores);
      clm_karg(&ka, CLM_RKH_ARG_Y8, sizeof(cl_mem), &c.labels);
      clm_karg(&ka, CLM_RKH_ARG_Y32, sizeof(cl_mem), &c.labels);
      clm_karg(&ka, CLM_RKH_ARG_N, sizeof m, &m);
      clm_karg(&ka, CLM_RKH_ARG_K, sizeof k, &k);
      clm_karg(&ka, CLM_RKH_ARG_SHIFT, sizeof shift, &shift);
      clm_karg(&ka, CLM_RKH_ARG_BINS, sizeof bins, &bins);
      clm_karg(&ka, CLM_RKH_ARG_PROBS, sizeof probs, &probs);
      clm_karg(&ka, CLM_RKH_ARG_PER_GROUP, sizeof per_group, &per_group);
      clm_karg(&ka, CLM_RKH_ARG_HIST, sizeof(cl_mem), &ws->hist);
      clm_karg(&ka, CLM_RKH_ARG_SCRATCH, sizeof(cl_mem), &scratch);
      clm_karg(&ka, CLM_RKH_ARG_STATUS, sizeof(cl_mem), &ws->status);
      const cl_int ml = s->multilabel;
      clm_karg(&ka, CLM_RKH_ARG_MULTILABEL, sizeof ml, &ml);
      clm_karg(&ka, CLM_RKH_ARG_RANGE, sizeof(cl_mem), &ws->range);
      const cl_int track = s->track_range;
      clm_karg(&ka, CLM_RKH_ARG_TRACK, sizeof track, &track);
      st = clm_kargs_status(&ka, "clm_rank_hist", err);
      const size_t global = groups * ls;
      cl_int rc = CL_SUCCESS;
      if (st == CLM_OK &&
          (rc = clEnqueueNDRangeKernel(ctx->queue, kern, 1, NULL, &global, &ls,
                                       0, NULL, NULL)) != CL_SUCCESS)
        st = clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(clm_rank_hist)");
      if (st == CLM_OK && (rc = clEnqueueReadBuffer(
                               ctx->queue, ws->status, CL_TRUE, 0, sizeof bad,
                               &bad, 0, NULL, NULL)) != CL_SUCCESS)
        st = clm_fail_cl(err, rc, "clEnqueueReadBuffer(status)");
    }
    if (st != CLM_OK)
      clFinish(ctx->queue);
    chunk_in_release(&c);
    if (st == CLM_OK && bad != CLM_NO_BAD)
      st = report_bad(s, y, z, bad, base + first + bad, err);
  }
  return st;
}

clm_status clm_rk_hist_end(clm_context *ctx, const clm_rk_setup *s,
                           uint64_t *counts, uint32_t *range, clm_error *err) {
  struct clm_rk_ws *ws = workspace(ctx, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  const size_t cells = (size_t)s->k * s->bins1 * 2;
  /* (low, high) uint pairs, assembled explicitly so that the host's byte
   * order does not matter. */
  uint32_t *words = clm_malloc(cells * 8);
  if (!words)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the ranking histogram");
  cl_int rc = clEnqueueReadBuffer(ctx->queue, ws->hist, CL_TRUE, 0, cells * 8,
                                  words, 0, NULL, NULL);
  for (size_t i = 0; i < cells && rc == CL_SUCCESS; ++i)
    counts[i] = (uint64_t)words[2 * i + 1] << 32 | words[2 * i];
  free(words);
  if (rc == CL_SUCCESS && range && s->track_range)
    rc = clEnqueueReadBuffer(ctx->queue, ws->range, CL_TRUE, 0, cells * 4,
                             range, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(ranking histogram)");
  return CLM_OK;
}

/* ---- refine passes ------------------------------------------------------ */

static clm_status upload(clm_context *ctx, cl_mem *buf, size_t *cap,
                         const void *src, size_t bytes, clm_error *err) {
  clm_status st =
      clm_ensure_buffer(ctx, buf, cap, bytes, CL_MEM_READ_WRITE, err);
  if (st != CLM_OK || bytes == 0)
    return st;
  cl_int rc = clEnqueueWriteBuffer(ctx->queue, *buf, CL_TRUE, 0, bytes, src, 0,
                                   NULL, NULL);
  return rc == CL_SUCCESS ? CLM_OK
                          : clm_fail_cl(err, rc, "clEnqueueWriteBuffer(plan)");
}

/* Binary float32 passes whose every task is a whole 16-bit level-1 range,
 * on owner groups: each group gets its prefix table for
 * clm_rank_gather16_f32. */
static clm_status gather16_plan(clm_context *ctx, struct clm_rk_ws *ws,
                                const clm_rk_setup *s, const clm_rk_plan *p,
                                const uint32_t *split, uint32_t groups,
                                clm_error *err) {
  ws->gather16 = ws->owners && s->k == 1 && !s->multilabel && !s->f64 &&
                 s->key_bits - s->bits1 == 16 && p->dense_cells == 0 &&
                 p->gather_slots == 0 && p->ntasks > 0;
  for (uint32_t i = 0; ws->gather16 && i < p->ntasks; ++i)
    ws->gather16 = p->whole[i] != 0;
  for (uint32_t g = 0; ws->gather16 && g < groups; ++g)
    ws->gather16 = split[g + 1] - split[g] < CLM_RK_NOT_OWNED;
  if (!ws->gather16)
    return CLM_OK;
  const size_t entries = (size_t)groups << 16;
  uint16_t *own = clm_malloc(entries * sizeof *own);
  if (!own)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the ranking prefix tables");
  memset(own, 0xff, entries * sizeof *own);
  for (uint32_t g = 0; g < groups; ++g)
    for (uint32_t i = split[g]; i < split[g + 1]; ++i)
      own[((size_t)g << 16) | (size_t)(p->lo[i] >> 16)] =
          (uint16_t)(i - split[g]);
  clm_status st =
      upload(ctx, &ws->own, &ws->own_cap, own, entries * sizeof *own, err);
  free(own);
  return st;
}

clm_status clm_rk_refine_begin(clm_context *ctx, const clm_rk_setup *s,
                               const clm_rk_plan *p, clm_error *err) {
  struct clm_rk_ws *ws = workspace(ctx, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  const size_t t = p->ntasks, kb = s->f64 ? 8 : 4;
  ws->gkeys_elem = kb;
  /* The kernel reads task keys at the key width. */
  const size_t tb = t > 0 ? t * kb : 1;
  void *lo = clm_malloc(tb), *hi = clm_malloc(tb);
  if (!lo || !hi) {
    free(lo);
    free(hi);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the ranking plan");
  }
  for (size_t i = 0; i < t; ++i) {
    if (s->f64) {
      ((uint64_t *)lo)[i] = p->lo[i];
      ((uint64_t *)hi)[i] = p->hi[i];
    } else {
      ((uint32_t *)lo)[i] = (uint32_t)p->lo[i];
      ((uint32_t *)hi)[i] = (uint32_t)p->hi[i];
    }
  }
  clm_status st = upload(ctx, &ws->table, &ws->table_cap, p->table,
                         (size_t)s->k * s->bins1 * 8, err);
  if (st == CLM_OK)
    st = upload(ctx, &ws->tlo, &ws->tlo_cap, lo, t * kb, err);
  if (st == CLM_OK)
    st = upload(ctx, &ws->thi, &ws->thi_cap, hi, t * kb, err);
  if (st == CLM_OK)
    st = upload(ctx, &ws->tshift, &ws->tshift_cap, p->shift, t * 4, err);
  if (st == CLM_OK)
    st = upload(ctx, &ws->tbase, &ws->tbase_cap, p->base, t * 8, err);
  if (st == CLM_OK)
    st = upload(ctx, &ws->tcap, &ws->tcap_cap, p->cap, t * 4, err);
  free(lo);
  free(hi);
  const size_t dense_bytes = p->dense_cells * 2 * (p->wide ? 8 : 4);
  const size_t g16_bytes = (p->g16_slots * 2 + 3) & ~(size_t)3;
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &ws->dense, &ws->dense_cap, dense_bytes,
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &ws->gkeys, &ws->gkeys_cap,
                           p->gather_slots * kb, CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = upload(ctx, &ws->cursor, &ws->cursor_cap, p->cursor_init, t * 16, err);
  /* CPUs: each group owns a run of tasks holding about the same number of
   * samples and reads every row. */
  uint32_t split[65];
  uint32_t g = 1;
  if (clm_rk_owner_mode(ctx)) {
    g = ctx->info.compute_units ? ctx->info.compute_units : 1;
    g = g > 64 ? 64 : g;
    g = g > t ? (uint32_t)t : g;
  }
  ws->owners = clm_rk_owner_mode(ctx) ? g : 0;
  uint64_t total = 0, acc = 0;
  for (size_t i = 0; i < t; ++i)
    total += p->count[i];
  split[0] = 0;
  uint32_t at = 1;
  for (size_t i = 0; i < t && at < g; ++i) {
    acc += p->count[i];
    while (at < g && acc * g >= total * at)
      split[at++] = (uint32_t)(i + 1);
  }
  while (at <= g)
    split[at++] = (uint32_t)t;
  if (st == CLM_OK)
    st = upload(ctx, &ws->split, &ws->split_cap, split, (g + 1) * 4, err);
  if (st == CLM_OK)
    st = gather16_plan(ctx, ws, s, p, split, g, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &ws->g16, &ws->g16_cap, g16_bytes,
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = fill_zero(ctx, ws->dense, dense_bytes, err);
  return st;
}

clm_status clm_rk_refine_batch(clm_context *ctx, const clm_rk_setup *s,
                               const clm_rk_plan *p, const void *labels,
                               const void *scores, uint64_t rows,
                               clm_error *err) {
  struct clm_rk_ws *ws = workspace(ctx, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  const uint64_t chunk = chunk_rows(ctx, s);
  const size_t lsz = clm_rk_label_bytes(s),
               ssz = (size_t)s->k * (s->f64 ? 8 : 4);
  clm_status st = CLM_OK;
  for (uint64_t first = 0; first < rows && st == CLM_OK; first += chunk) {
    const uint32_t m = (uint32_t)(rows - first < chunk ? rows - first : chunk);
    struct chunk_in c = {0};
    st = chunk_inputs(ctx, ws, s, (const char *)labels + first * lsz,
                      (const char *)scores + first * ssz, m, &c, err);
    size_t ls, groups;
    uint32_t per_group;
    launch_shape(ctx, 0, m, &ls, &groups, &per_group);
    if (ws->owners) { /* owners of tasks, each reading every row */
      ls = 1;
      groups = ws->owners;
      per_group = m;
    }
    const cl_uint k = s->k, shift1 = s->key_bits - s->bits1, bins1 = s->bins1;
    /* The binary float32 gather kernel, or the general refine kernel. */
    const char *name =
        ws->gather16 ? "clm_rank_gather16_f32" : "clm_rank_refine";
    const char *enqueued = ws->gather16
                               ? "clEnqueueNDRangeKernel(clm_rank_gather16)"
                               : "clEnqueueNDRangeKernel(clm_rank_refine)";
    const char *finished = ws->gather16 ? "clFinish(clm_rank_gather16)"
                                        : "clFinish(clm_rank_refine)";
    cl_kernel kern = ws->gather16 ? ws->k_gather16 : ws->k_refine[s->f64];
    clm_kargs ka = {kern, CL_SUCCESS, 0};
    if (st == CLM_OK && ws->gather16) {
      clm_karg(&ka, CLM_RKG_ARG_SCORES, sizeof(cl_mem), &c.scores);
      clm_karg(&ka, CLM_RKG_ARG_Y8, sizeof(cl_mem), &c.labels);
      clm_karg(&ka, CLM_RKG_ARG_N, sizeof m, &m);
      clm_karg(&ka, CLM_RKG_ARG_OWN, sizeof(cl_mem), &ws->own);
      clm_karg(&ka, CLM_RKG_ARG_CURSOR, sizeof(cl_mem), &ws->cursor);
      clm_karg(&ka, CLM_RKG_ARG_G16, sizeof(cl_mem), &ws->g16);
      clm_karg(&ka, CLM_RKG_ARG_SPLIT, sizeof(cl_mem), &ws->split);
    } else if (st == CLM_OK) {
      clm_karg(&ka, CLM_RKR_ARG_SCORES, sizeof(cl_mem), &c.scores);
      clm_karg(&ka, CLM_RKR_ARG_Y8, sizeof(cl_mem), &c.labels);
      clm_karg(&ka, CLM_RKR_ARG_Y32, sizeof(cl_mem), &c.labels);
      clm_karg(&ka, CLM_RKR_ARG_N, sizeof m, &m);
      clm_karg(&ka, CLM_RKR_ARG_K, sizeof k, &k);
      clm_karg(&ka, CLM_RKR_ARG_SHIFT1, sizeof shift1, &shift1);
      clm_karg(&ka, CLM_RKR_ARG_BINS1, sizeof bins1, &bins1);
      clm_karg(&ka, CLM_RKR_ARG_PER_GROUP, sizeof per_group, &per_group);
      clm_karg(&ka, CLM_RKR_ARG_TABLE, sizeof(cl_mem), &ws->table);
      clm_karg(&ka, CLM_RKR_ARG_TLO, sizeof(cl_mem), &ws->tlo);
      clm_karg(&ka, CLM_RKR_ARG_THI, sizeof(cl_mem), &ws->thi);
      clm_karg(&ka, CLM_RKR_ARG_TSHIFT, sizeof(cl_mem), &ws->tshift);
      clm_karg(&ka, CLM_RKR_ARG_TBASE, sizeof(cl_mem), &ws->tbase);
      clm_karg(&ka, CLM_RKR_ARG_TCAP, sizeof(cl_mem), &ws->tcap);
      clm_karg(&ka, CLM_RKR_ARG_DENSE, sizeof(cl_mem), &ws->dense);
      clm_karg(&ka, CLM_RKR_ARG_CURSOR, sizeof(cl_mem), &ws->cursor);
      clm_karg(&ka, CLM_RKR_ARG_GKEYS, sizeof(cl_mem), &ws->gkeys);
      clm_karg(&ka, CLM_RKR_ARG_G16, sizeof(cl_mem), &ws->g16);
      clm_karg(&ka, CLM_RKR_ARG_SPLIT, sizeof(cl_mem), &ws->split);
      const cl_int wide = p->wide;
      clm_karg(&ka, CLM_RKR_ARG_WIDE, sizeof wide, &wide);
      const cl_int ml = s->multilabel;
      clm_karg(&ka, CLM_RKR_ARG_MULTILABEL, sizeof ml, &ml);
    }
    if (st == CLM_OK) {
      st = clm_kargs_status(&ka, name, err);
      const size_t global = groups * ls;
      cl_int rc = CL_SUCCESS;
      if (st == CLM_OK &&
          (rc = clEnqueueNDRangeKernel(ctx->queue, kern, 1, NULL, &global, &ls,
                                       0, NULL, NULL)) != CL_SUCCESS)
        st = clm_fail_cl(err, rc, enqueued);
      if (st == CLM_OK && (rc = clFinish(ctx->queue)) != CL_SUCCESS)
        st = clm_fail_cl(err, rc, finished);
    }
    if (st != CLM_OK)
      clFinish(ctx->queue);
    chunk_in_release(&c);
  }
  return st;
}

static void *map(clm_context *ctx, cl_mem m, size_t bytes, cl_int *rc) {
  if (bytes == 0) {
    *rc = CL_SUCCESS;
    return NULL;
  }
  return clEnqueueMapBuffer(ctx->queue, m, CL_TRUE, CL_MAP_READ, 0, bytes, 0,
                            NULL, NULL, rc);
}

clm_status clm_rk_refine_end(clm_context *ctx, const clm_rk_plan *p,
                             clm_rk_out *out, clm_error *err) {
  struct clm_rk_ws *ws = workspace(ctx, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  memset(out, 0, sizeof *out);
  cl_int rc = CL_SUCCESS;
  ws->map_dense =
      map(ctx, ws->dense, p->dense_cells * 2 * (p->wide ? 8 : 4), &rc);
  if (rc == CL_SUCCESS)
    ws->map_cursor = map(ctx, ws->cursor, (size_t)p->ntasks * 16, &rc);
  if (rc == CL_SUCCESS)
    ws->map_g16 = map(ctx, ws->g16, p->g16_slots * 2, &rc);
  if (rc == CL_SUCCESS)
    ws->map_gkeys = map(ctx, ws->gkeys, p->gather_slots * ws->gkeys_elem, &rc);
  if (rc != CL_SUCCESS) {
    clm_rk_refine_release(ctx);
    return clm_fail_cl(err, rc, "clEnqueueMapBuffer(ranking results)");
  }
  out->dense = ws->map_dense;
  out->cursor = ws->map_cursor;
  out->gkeys = ws->map_gkeys;
  out->g16 = ws->map_g16;
  return CLM_OK;
}

void clm_rk_refine_release(clm_context *ctx) {
  struct clm_rk_ws *ws = ctx->family_ws[CLM_FAMILY_RANKING].ws;
  if (!ws)
    return;
  void **maps[] = {&ws->map_dense, &ws->map_cursor, &ws->map_gkeys,
                   &ws->map_g16};
  cl_mem mems[] = {ws->dense, ws->cursor, ws->gkeys, ws->g16};
  for (int i = 0; i < 4; ++i)
    if (*maps[i]) {
      clEnqueueUnmapMemObject(ctx->queue, mems[i], *maps[i], 0, NULL, NULL);
      *maps[i] = NULL;
    }
  clFinish(ctx->queue);
}

void clm_rk_trim(clm_context *ctx, int hist_only) {
  struct clm_rk_ws *ws = ctx->family_ws[CLM_FAMILY_RANKING].ws;
  if (!ws)
    return;
  clm_release_mem(&ws->scratch);
  ws->scratch_cap = 0;
  clm_release_mem(&ws->hist);
  ws->hist_cap = 0;
  if (hist_only)
    return;
  cl_mem *mems[] = {&ws->dense,  &ws->gkeys,  &ws->g16,
                    &ws->scores, &ws->labels, &ws->table};
  size_t *caps[] = {&ws->dense_cap,  &ws->gkeys_cap,  &ws->g16_cap,
                    &ws->scores_cap, &ws->labels_cap, &ws->table_cap};
  for (int i = 0; i < 6; ++i) {
    clm_release_mem(mems[i]);
    *caps[i] = 0;
  }
}
