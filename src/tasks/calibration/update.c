/* Calibration on the device: per chunk one pass over the scores (binary, or
 * the top-label pass over the rows of a matrix) and, with class-wise bins,
 * a second pass over the columns, driven by the engine.
 *
 * Sums: every work-item owns a slice of the bins (kernels/calibration.cl)
 * with Kahan-compensated float32 sums; the host adds the slices of a chunk
 * in double, in slice order, so results are deterministic and their error
 * does not grow with n (see tests/test_calibration.c for the bound).
 * Memory: the slices of one launch take at most CAL_SLICE_BYTES, or one
 * work-group's slices when B is larger; the class-wise slices at most
 * CAL_CW_BYTES, or one K x B table when that is larger. */
#include "tasks/calibration/calibration.h"

#include "clm_shared.h"
#include "engine/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CAL_SLICE_BYTES ((size_t)16 << 20)
#define CAL_CW_BYTES ((size_t)32 << 20)
#define CAL_MAX_SLICES 1024u
#define CAL_MAX_SEGS 64u
#define CAL_CW_ITEMS 256u /* work-items the class-wise pass aims for */
#define CAL_BIN_BYTES                                                          \
  ((CLM_CAL_COUNTS * sizeof(cl_uint)) + (CLM_CAL_SUMS * sizeof(cl_float)))

/* Device buffers of one chunk in flight; grown on demand. */
struct slot {
  cl_mem scores, labels, weights, counts, sums, brier, status, stats, cw_counts,
      cw_sums;
  size_t scores_cap, labels_cap, weights_cap, counts_cap, sums_cap, brier_cap,
      status_cap, stats_cap, cw_counts_cap, cw_sums_cap;
};

struct cal_ws {
  cl_kernel k_binary, k_rows, k_classwise;
  cl_mem edges;
  size_t edges_cap;
  struct slot slot[2];
};

static clm_status ws_init(clm_context *ctx, void *p, clm_error *err) {
  struct cal_ws *ws = p;
  clm_status st = clm_kernel_create(ctx, "clm_cal_binary", &ws->k_binary, err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_cal_rows", &ws->k_rows, err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_cal_classwise", &ws->k_classwise, err);
  return st;
}

static void ws_release(void *p) {
  struct cal_ws *ws = p;
  for (int i = 1; i >= 0; --i) {
    struct slot *b = &ws->slot[i];
    clm_release_mem(&b->cw_sums);
    clm_release_mem(&b->cw_counts);
    clm_release_mem(&b->stats);
    clm_release_mem(&b->status);
    clm_release_mem(&b->brier);
    clm_release_mem(&b->sums);
    clm_release_mem(&b->counts);
    clm_release_mem(&b->weights);
    clm_release_mem(&b->labels);
    clm_release_mem(&b->scores);
  }
  clm_release_mem(&ws->edges);
  clm_release_kernel(&ws->k_classwise);
  clm_release_kernel(&ws->k_rows);
  clm_release_kernel(&ws->k_binary);
}

const clm_family clm_family_calibration = {"calibration", sizeof(struct cal_ws),
                                           ws_init, ws_release};

/* ---- bad input ---------------------------------------------------------- */

static clm_status bad_weight(clm_error *err, unsigned long long at, float w) {
  clm_fail(err, CLM_ERR_BAD_WEIGHT, (int64_t)at, w,
           "index %llu: weight %.9g is not finite and >= 0", at, (double)w);
  if (err)
    err->input = CLM_INPUT_WEIGHTS;
  return CLM_ERR_BAD_WEIGHT;
}

static clm_status report_binary(const uint8_t *labels, const float *scores,
                                const float *weights, int probs, uint64_t i,
                                uint64_t at_base, clm_error *err) {
  const unsigned long long at = (unsigned long long)(at_base + i);
  if (labels[i] > 1)
    return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, labels[i],
                    "index %llu: label %u is not 0 or 1", at,
                    (unsigned)labels[i]);
  const double v = scores[i];
  if (isnan(v))
    return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                    "index %llu: score is NaN", at);
  if (probs && (v < 0.0 || v > 1.0))
    return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                    "index %llu: probability %.9g is outside [0, 1]", at, v);
  if (weights && !(weights[i] >= 0.0f && !isinf(weights[i])))
    return bad_weight(err, at, weights[i]);
  return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                  "index %llu: invalid input (score %.9g)", at, v);
}

static clm_status report_row(const int32_t *labels, const float *scores,
                             const float *weights, uint32_t k, int probs,
                             uint64_t r, uint64_t at_base, clm_error *err) {
  const unsigned long long at = (unsigned long long)(at_base + r);
  const int32_t y = labels[r];
  if (y < 0 || (uint32_t)y >= k)
    return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, y,
                    "index %llu: true label %d is outside [0, %u)", at, (int)y,
                    (unsigned)k);
  const float *row = scores + r * k;
  uint32_t neg_inf = 0, pos_inf = 0;
  for (uint32_t c = 0; c < k; ++c) {
    const float v = row[c];
    if (isnan(v))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                      "row %llu, column %u: score is NaN", at, c);
    if (probs && (v < 0.0f || v > 1.0f))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                      "row %llu, column %u: probability %.9g is outside "
                      "[0, 1]",
                      at, c, (double)v);
    neg_inf += v == -INFINITY;
    pos_inf += v == INFINITY;
  }
  if (!probs && neg_inf == k)
    return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, -INFINITY,
                    "row %llu: every score is -inf (no class has any "
                    "probability)",
                    at);
  if (!probs && pos_inf == k)
    return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, INFINITY,
                    "row %llu: every score is +inf (inf - inf: the "
                    "probabilities are undefined)",
                    at);
  if (weights && !(weights[r] >= 0.0f && !isinf(weights[r])))
    return bad_weight(err, at, weights[r]);
  return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, 0,
                  "row %llu: invalid input", at);
}

/* ---- one update call ---------------------------------------------------- */

/* One chunk in flight: its inputs, slot, zero-copy wrappers and the host
 * copies of its results. */
struct job {
  struct slot *slot;
  const void *labels;
  const float *scores, *weights;
  uint32_t n;
  uint64_t first;
  uint32_t slices, segs, block, cw_items;
  cl_mem w_scores, w_labels, w_weights;
  cl_event done;
  cl_uint status;
  cl_uint *counts, *cw_counts;
  float *sums, *brier, *cw_sums;
};

struct cal_run {
  clm_context *ctx;
  struct cal_ws *ws;
  clm_calibration_state acc;
  const void *labels;
  const float *scores, *weights;
  uint64_t base;
  int probs, multiclass;
  struct job job[2];
};

static void job_release(struct job *j) {
  if (j->done)
    clReleaseEvent(j->done);
  j->done = NULL;
  clm_release_mem(&j->w_weights);
  clm_release_mem(&j->w_labels);
  clm_release_mem(&j->w_scores);
}

static uint64_t round_up(uint64_t x, uint64_t m) {
  return (x + m - 1) / m * m;
}

/* Work-items (slices) for `units` vectors or row groups over `nb` bins: a
 * multiple of the local size, within CAL_SLICE_BYTES unless one group's
 * slices are larger. */
static uint32_t slice_count(const clm_context *ctx, uint64_t units,
                            uint32_t nb) {
  const uint64_t ls = ctx->local_size;
  uint64_t cap = CAL_SLICE_BYTES / ((uint64_t)nb * CAL_BIN_BYTES);
  if (cap > CAL_MAX_SLICES)
    cap = CAL_MAX_SLICES;
  cap = cap / ls * ls;
  if (cap < ls)
    cap = ls;
  uint64_t want = round_up((units + ctx->items - 1) / ctx->items, ls);
  if (want < ls)
    want = ls;
  return (uint32_t)(want < cap ? want : cap);
}

/* The class-wise pass's shape: row segments (each with its own K x B
 * slices, within CAL_CW_BYTES) times blocks of columns. */
static void classwise_shape(const clm_context *ctx, uint64_t groups, uint32_t k,
                            uint32_t nb, struct job *j) {
  const uint64_t table = (uint64_t)k * nb * CAL_BIN_BYTES;
  uint64_t segs = CAL_CW_BYTES / table;
  if (segs > CAL_MAX_SEGS)
    segs = CAL_MAX_SEGS;
  if (segs > groups)
    segs = groups;
  if (segs < 1)
    segs = 1;
  uint64_t blocks = (CAL_CW_ITEMS + segs - 1) / segs;
  if (blocks > k)
    blocks = k;
  const uint64_t block = (k + blocks - 1) / blocks;
  blocks = (k + block - 1) / block;
  j->segs = (uint32_t)segs;
  j->block = (uint32_t)block;
  j->cw_items = (uint32_t)round_up(segs * blocks, ctx->local_size);
}

static clm_status job_buffers(struct cal_run *r, struct job *j,
                              clm_error *err) {
  clm_context *ctx = r->ctx;
  struct slot *b = j->slot;
  const uint32_t k = r->acc.n_classes, nb = r->acc.n_bins;
  const size_t n = j->n;
  const size_t score_bytes = n * k * sizeof(float);
  const size_t label_bytes = n * (r->multiclass ? sizeof(int32_t) : 1);
  cl_int rc = CL_SUCCESS;
  clm_status st = CLM_OK;
  const int wrap = clm_can_wrap(ctx, j->scores) &&
                   clm_can_wrap(ctx, j->labels) &&
                   (!j->weights || clm_can_wrap(ctx, j->weights));
  if (wrap) {
    j->w_scores =
        clm_wrap_host(ctx, CL_MEM_READ_ONLY, j->scores, score_bytes, &rc);
    if (rc == CL_SUCCESS)
      j->w_labels =
          clm_wrap_host(ctx, CL_MEM_READ_ONLY, j->labels, label_bytes, &rc);
    if (rc == CL_SUCCESS && j->weights)
      j->w_weights = clm_wrap_host(ctx, CL_MEM_READ_ONLY, j->weights,
                                   n * sizeof(float), &rc);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR inputs)");
  } else {
    st = clm_ensure_buffer(ctx, &b->scores, &b->scores_cap, score_bytes,
                           CL_MEM_READ_ONLY, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &b->labels, &b->labels_cap, label_bytes,
                             CL_MEM_READ_ONLY, err);
    if (st == CLM_OK && j->weights)
      st = clm_ensure_buffer(ctx, &b->weights, &b->weights_cap,
                             n * sizeof(float), CL_MEM_READ_ONLY, err);
  }
  const size_t s = j->slices;
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->counts, &b->counts_cap,
                           s * nb * CLM_CAL_COUNTS * sizeof(cl_uint),
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->sums, &b->sums_cap,
                           s * nb * CLM_CAL_SUMS * sizeof(cl_float),
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->brier, &b->brier_cap,
                           s * CLM_CAL_BRIER * sizeof(cl_float),
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->status, &b->status_cap, sizeof(cl_uint),
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK && r->acc.classwise) {
    const size_t cells = (size_t)j->segs * k * nb;
    st = clm_ensure_buffer(ctx, &b->stats, &b->stats_cap,
                           2 * n * sizeof(cl_float), CL_MEM_READ_WRITE, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &b->cw_counts, &b->cw_counts_cap,
                             cells * CLM_CAL_COUNTS * sizeof(cl_uint),
                             CL_MEM_READ_WRITE, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &b->cw_sums, &b->cw_sums_cap,
                             cells * CLM_CAL_SUMS * sizeof(cl_float),
                             CL_MEM_READ_WRITE, err);
  }
  if (st == CLM_OK && !wrap) {
    clm_upload copies[3] = {{j->scores, b->scores, score_bytes},
                            {j->labels, b->labels, label_bytes},
                            {j->weights, b->weights, n * sizeof(float)}};
    cl_event uploaded = NULL;
    st = clm_engine_upload(ctx, copies, j->weights ? 3 : 2, &uploaded, err);
    /* The kernels wait for the copies through the marker event. */
    if (st == CLM_OK && uploaded) {
      rc = clEnqueueBarrierWithWaitList(ctx->queue, 1, &uploaded, NULL);
      clReleaseEvent(uploaded);
      if (rc != CL_SUCCESS)
        return clm_fail_cl(err, rc, "clEnqueueBarrierWithWaitList(upload)");
    }
  }
  return st;
}

static clm_status job_launch(struct cal_run *r, struct job *j, clm_error *err) {
  clm_context *ctx = r->ctx;
  struct cal_ws *ws = r->ws;
  const struct slot *b = j->slot;
  const clm_calibration_state *a = &r->acc;
  const cl_mem scores = j->w_scores ? j->w_scores : b->scores;
  const cl_mem labels = j->w_labels ? j->w_labels : b->labels;
  /* Unweighted: any buffer stands in for the weights, never read. */
  const cl_mem weights = !j->weights    ? scores
                         : j->w_weights ? j->w_weights
                                        : b->weights;
  const cl_uint n = j->n, k = a->n_classes, nb = a->n_bins;
  const cl_uint slices = j->slices;
  const cl_int probs = r->probs, weighted = a->weighted;
  const cl_int has_ignore = a->has_ignore_index, ignore = a->ignore_index;
  const cl_int write_stats = a->classwise;
  static const cl_uint no_bad = CLM_NO_BAD; /* outlives the queue */
  cl_int rc = clEnqueueWriteBuffer(ctx->queue, b->status, CL_FALSE, 0,
                                   sizeof no_bad, &no_bad, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueWriteBuffer(status)");
  const size_t ls = ctx->local_size;
  clm_status st;
  cl_kernel kern;
  if (!r->multiclass) {
    kern = ws->k_binary;
    clm_kargs ka = {kern, CL_SUCCESS, 0};
    clm_karg(&ka, CLM_CALB_ARG_SCORES, sizeof(cl_mem), &scores);
    clm_karg(&ka, CLM_CALB_ARG_LABELS, sizeof(cl_mem), &labels);
    clm_karg(&ka, CLM_CALB_ARG_WEIGHTS, sizeof(cl_mem), &weights);
    clm_karg(&ka, CLM_CALB_ARG_N, sizeof n, &n);
    clm_karg(&ka, CLM_CALB_ARG_PROBS, sizeof probs, &probs);
    clm_karg(&ka, CLM_CALB_ARG_WEIGHTED, sizeof weighted, &weighted);
    clm_karg(&ka, CLM_CALB_ARG_EDGES, sizeof(cl_mem), &ws->edges);
    clm_karg(&ka, CLM_CALB_ARG_BINS, sizeof nb, &nb);
    clm_karg(&ka, CLM_CALB_ARG_SLICES, sizeof slices, &slices);
    clm_karg(&ka, CLM_CALB_ARG_COUNTS, sizeof(cl_mem), &b->counts);
    clm_karg(&ka, CLM_CALB_ARG_SUMS, sizeof(cl_mem), &b->sums);
    clm_karg(&ka, CLM_CALB_ARG_BRIER, sizeof(cl_mem), &b->brier);
    clm_karg(&ka, CLM_CALB_ARG_STATUS, sizeof(cl_mem), &b->status);
    st = clm_kargs_status(&ka, "clm_cal_binary", err);
  } else {
    /* The stats buffer exists only with class-wise bins. */
    const cl_mem stats = a->classwise ? b->stats : b->brier;
    kern = ws->k_rows;
    clm_kargs ka = {kern, CL_SUCCESS, 0};
    clm_karg(&ka, CLM_CALM_ARG_SCORES, sizeof(cl_mem), &scores);
    clm_karg(&ka, CLM_CALM_ARG_LABELS, sizeof(cl_mem), &labels);
    clm_karg(&ka, CLM_CALM_ARG_WEIGHTS, sizeof(cl_mem), &weights);
    clm_karg(&ka, CLM_CALM_ARG_N, sizeof n, &n);
    clm_karg(&ka, CLM_CALM_ARG_K, sizeof k, &k);
    clm_karg(&ka, CLM_CALM_ARG_PROBS, sizeof probs, &probs);
    clm_karg(&ka, CLM_CALM_ARG_WEIGHTED, sizeof weighted, &weighted);
    clm_karg(&ka, CLM_CALM_ARG_HAS_IGNORE, sizeof has_ignore, &has_ignore);
    clm_karg(&ka, CLM_CALM_ARG_IGNORE, sizeof ignore, &ignore);
    clm_karg(&ka, CLM_CALM_ARG_EDGES, sizeof(cl_mem), &ws->edges);
    clm_karg(&ka, CLM_CALM_ARG_BINS, sizeof nb, &nb);
    clm_karg(&ka, CLM_CALR_ARG_SLICES, sizeof slices, &slices);
    clm_karg(&ka, CLM_CALR_ARG_COUNTS, sizeof(cl_mem), &b->counts);
    clm_karg(&ka, CLM_CALR_ARG_SUMS, sizeof(cl_mem), &b->sums);
    clm_karg(&ka, CLM_CALR_ARG_BRIER, sizeof(cl_mem), &b->brier);
    clm_karg(&ka, CLM_CALR_ARG_STATUS, sizeof(cl_mem), &b->status);
    clm_karg(&ka, CLM_CALR_ARG_STATS, sizeof(cl_mem), &stats);
    clm_karg(&ka, CLM_CALR_ARG_WRITE_STATS, sizeof write_stats, &write_stats);
    st = clm_kargs_status(&ka, "clm_cal_rows", err);
  }
  if (st != CLM_OK)
    return st;
  const size_t global = slices;
  rc = clEnqueueNDRangeKernel(ctx->queue, kern, 1, NULL, &global, &ls, 0, NULL,
                              NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(calibration)");
  if (!a->classwise)
    return CLM_OK;
  const cl_uint segs = j->segs, block = j->block;
  clm_kargs kc = {ws->k_classwise, CL_SUCCESS, 0};
  clm_karg(&kc, CLM_CALM_ARG_SCORES, sizeof(cl_mem), &scores);
  clm_karg(&kc, CLM_CALM_ARG_LABELS, sizeof(cl_mem), &labels);
  clm_karg(&kc, CLM_CALM_ARG_WEIGHTS, sizeof(cl_mem), &weights);
  clm_karg(&kc, CLM_CALM_ARG_N, sizeof n, &n);
  clm_karg(&kc, CLM_CALM_ARG_K, sizeof k, &k);
  clm_karg(&kc, CLM_CALM_ARG_PROBS, sizeof probs, &probs);
  clm_karg(&kc, CLM_CALM_ARG_WEIGHTED, sizeof weighted, &weighted);
  clm_karg(&kc, CLM_CALM_ARG_HAS_IGNORE, sizeof has_ignore, &has_ignore);
  clm_karg(&kc, CLM_CALM_ARG_IGNORE, sizeof ignore, &ignore);
  clm_karg(&kc, CLM_CALM_ARG_EDGES, sizeof(cl_mem), &ws->edges);
  clm_karg(&kc, CLM_CALM_ARG_BINS, sizeof nb, &nb);
  clm_karg(&kc, CLM_CALC_ARG_SEGS, sizeof segs, &segs);
  clm_karg(&kc, CLM_CALC_ARG_BLOCK, sizeof block, &block);
  clm_karg(&kc, CLM_CALC_ARG_COUNTS, sizeof(cl_mem), &b->cw_counts);
  clm_karg(&kc, CLM_CALC_ARG_SUMS, sizeof(cl_mem), &b->cw_sums);
  clm_karg(&kc, CLM_CALC_ARG_STATS, sizeof(cl_mem), &b->stats);
  st = clm_kargs_status(&kc, "clm_cal_classwise", err);
  if (st != CLM_OK)
    return st;
  const size_t cw_global = j->cw_items;
  rc = clEnqueueNDRangeKernel(ctx->queue, ws->k_classwise, 1, NULL, &cw_global,
                              &ls, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(clm_cal_classwise)");
  return CLM_OK;
}

/* Reads the results back without blocking; the status read is last (the
 * job's `done` event) on the in-order queue. */
static clm_status job_read(struct cal_run *r, struct job *j, clm_error *err) {
  clm_context *ctx = r->ctx;
  const struct slot *b = j->slot;
  const size_t nb = r->acc.n_bins, s = j->slices;
  struct {
    cl_mem buf;
    void *dst;
    size_t bytes;
  } reads[5] = {
      {b->counts, j->counts, s * nb * CLM_CAL_COUNTS * sizeof(cl_uint)},
      {b->sums, j->sums, s * nb * CLM_CAL_SUMS * sizeof(cl_float)},
      {b->brier, j->brier, s * CLM_CAL_BRIER * sizeof(cl_float)},
      {b->cw_counts, j->cw_counts, 0},
      {b->cw_sums, j->cw_sums, 0}};
  int count = 3;
  if (r->acc.classwise) {
    const size_t cells = (size_t)j->segs * r->acc.n_classes * nb;
    reads[3].bytes = cells * CLM_CAL_COUNTS * sizeof(cl_uint);
    reads[4].bytes = cells * CLM_CAL_SUMS * sizeof(cl_float);
    count = 5;
  }
  cl_int rc = CL_SUCCESS;
  for (int i = 0; i < count && rc == CL_SUCCESS; ++i)
    rc = clEnqueueReadBuffer(ctx->queue, reads[i].buf, CL_FALSE, 0,
                             reads[i].bytes, reads[i].dst, 0, NULL, NULL);
  if (rc == CL_SUCCESS)
    rc = clEnqueueReadBuffer(ctx->queue, b->status, CL_FALSE, 0,
                             sizeof j->status, &j->status, 0, NULL, &j->done);
  if (rc == CL_SUCCESS)
    rc = clFlush(ctx->queue);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(calibration results)");
  return CLM_OK;
}

static clm_status run_submit(void *self, int slot, uint64_t first,
                             uint32_t count, clm_error *err) {
  struct cal_run *r = self;
  struct job *j = &r->job[slot];
  const uint32_t k = r->acc.n_classes;
  j->slot = &r->ws->slot[slot];
  j->first = first;
  j->n = count;
  j->scores = r->scores + first * k;
  j->labels = r->multiclass
                  ? (const void *)((const int32_t *)r->labels + first)
                  : (const void *)((const uint8_t *)r->labels + first);
  j->weights = r->weights ? r->weights + first : NULL;
  const uint64_t units = (count + r->ctx->vec_width - 1) / r->ctx->vec_width;
  j->slices = slice_count(r->ctx, units, r->acc.n_bins);
  if (r->acc.classwise)
    classwise_shape(r->ctx, units, k, r->acc.n_bins, j);
  clm_status st = job_buffers(r, j, err);
  if (st == CLM_OK)
    st = job_launch(r, j, err);
  if (st == CLM_OK)
    st = job_read(r, j, err);
  return st;
}

/* Adds `slices` slices of `nb` bins (laid out slice-major) to a table of
 * the accumulator, in slice order; returns the rows and weight counted. */
static void fold_bins(const clm_calibration_state *a, const cl_uint *counts,
                      const float *sums, size_t slices, size_t stride,
                      uint64_t *count, double *weight, double *conf,
                      double *hits, uint64_t *rows, double *wsum) {
  const size_t nb = a->n_bins;
  for (size_t s = 0; s < slices; ++s)
    for (size_t b = 0; b < nb; ++b) {
      const cl_uint *c = counts + (s * stride + b) * CLM_CAL_COUNTS;
      const float *f = sums + (s * stride + b) * CLM_CAL_SUMS;
      count[b] += c[CLM_CAL_N];
      *rows += c[CLM_CAL_N];
      conf[b] += (double)f[CLM_CAL_CONF] - (double)f[CLM_CAL_CONF + 1];
      if (a->weighted) {
        const double w = (double)f[CLM_CAL_W] - (double)f[CLM_CAL_W + 1];
        weight[b] += w;
        *wsum += w;
        hits[b] += (double)f[CLM_CAL_HIT] - (double)f[CLM_CAL_HIT + 1];
      } else {
        weight[b] += c[CLM_CAL_N];
        hits[b] += c[CLM_CAL_HITS];
      }
    }
}

static clm_status run_collect(void *self, int slot, clm_error *err) {
  struct cal_run *r = self;
  struct job *j = &r->job[slot];
  clm_calibration_state *a = &r->acc;
  cl_int rc = clWaitForEvents(1, &j->done);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clWaitForEvents(calibration chunk)");
  if (j->status != CLM_NO_BAD)
    return r->multiclass
               ? report_row(j->labels, j->scores, j->weights, a->n_classes,
                            r->probs, j->status, r->base + j->first, err)
               : report_binary(j->labels, j->scores, j->weights, r->probs,
                               j->status, r->base + j->first, err);
  uint64_t rows = 0;
  double wsum = 0.0;
  fold_bins(a, j->counts, j->sums, j->slices, a->n_bins, a->count, a->weight,
            a->confidence, a->hits, &rows, &wsum);
  double brier = 0.0;
  for (size_t s = 0; s < j->slices; ++s)
    brier += (double)j->brier[CLM_CAL_BRIER * s] -
             (double)j->brier[CLM_CAL_BRIER * s + 1];
  if (a->classwise) {
    const size_t nb = a->n_bins;
    for (uint32_t seg = 0; seg < j->segs; ++seg)
      for (uint32_t c = 0; c < a->n_classes; ++c) {
        const size_t cell = ((size_t)seg * a->n_classes + c) * nb;
        const size_t o = (size_t)c * nb;
        uint64_t cw_rows = 0;
        double cw_w = 0.0;
        fold_bins(a, j->cw_counts + cell * CLM_CAL_COUNTS,
                  j->cw_sums + cell * CLM_CAL_SUMS, 1, nb, a->cw_count + o,
                  a->cw_weight + o, a->cw_confidence + o, a->cw_hits + o,
                  &cw_rows, &cw_w);
      }
  }
  a->n += rows;
  a->n_ignored += j->n - rows;
  a->weight_sum += a->weighted ? wsum : (double)rows;
  a->brier_sum += brier;
  return CLM_OK;
}

static void run_release(void *self, int slot) {
  struct cal_run *r = self;
  job_release(&r->job[slot]);
}

static void run_free(struct cal_run *r) {
  for (int i = 0; i < 2; ++i) {
    free(r->job[i].counts);
    free(r->job[i].sums);
    free(r->job[i].brier);
    free(r->job[i].cw_counts);
    free(r->job[i].cw_sums);
  }
  clm_calibration_state_release(&r->acc);
}

/* Host copies of a chunk's slices, sized for the largest chunk. */
static clm_status run_alloc(struct cal_run *r, uint64_t chunk, clm_error *err) {
  const uint32_t k = r->acc.n_classes, nb = r->acc.n_bins;
  const uint64_t units = (chunk + r->ctx->vec_width - 1) / r->ctx->vec_width;
  const size_t s = slice_count(r->ctx, units, nb);
  struct job shape = {0};
  if (r->acc.classwise)
    classwise_shape(r->ctx, units, k, nb, &shape);
  const size_t cells = (size_t)shape.segs * k * nb;
  for (int i = 0; i < 2; ++i) {
    struct job *j = &r->job[i];
    j->counts = clm_malloc(s * nb * CLM_CAL_COUNTS * sizeof(cl_uint));
    j->sums = clm_malloc(s * nb * CLM_CAL_SUMS * sizeof(float));
    j->brier = clm_malloc(s * CLM_CAL_BRIER * sizeof(float));
    if (cells) {
      j->cw_counts = clm_malloc(cells * CLM_CAL_COUNTS * sizeof(cl_uint));
      j->cw_sums = clm_malloc(cells * CLM_CAL_SUMS * sizeof(float));
    }
    if (!j->counts || !j->sums || !j->brier ||
        (cells && (!j->cw_counts || !j->cw_sums)))
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "cannot allocate host scratch for %zu slices", s);
  }
  return CLM_OK;
}

static clm_status update(clm_context *ctx, clm_calibration_state *state,
                         uint64_t base, const void *labels, const float *scores,
                         const float *weights, uint64_t n, clm_scores_kind kind,
                         int multiclass, clm_error *err) {
  const char *fn = multiclass ? "clm_calibration_update_multiclass"
                              : "clm_calibration_update_binary";
  if (!state || !state->edges || (n > 0 && (!labels || !scores)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0, "%s: NULL argument",
                    fn);
  if (multiclass ? state->n_classes < 2 : state->n_classes != 1)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "%s: the state has %u classes", fn,
                    (unsigned)state->n_classes);
  if (kind != CLM_SCORES_LOGITS && kind != CLM_SCORES_PROBS)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "%s: unknown scores kind %d", fn, (int)kind);
  if (n > 0 && (!weights) != (!state->weighted))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    state->weighted ? "%s: the state is weighted, but no "
                                      "weights were given"
                                    : "%s: weights given to an unweighted "
                                      "state",
                    fn);
  if (n == 0)
    return CLM_OK;
  const uint32_t k = state->n_classes;
  struct cal_ws *ws = clm_workspace(ctx, CLM_FAMILY_CALIBRATION, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  const size_t edge_bytes = (state->n_bins + 1) * sizeof(float);
  float *edges = clm_malloc(edge_bytes);
  if (!edges)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "edges");
  clm_calibration_device_edges(state, edges);
  clm_status st = clm_ensure_buffer(ctx, &ws->edges, &ws->edges_cap, edge_bytes,
                                    CL_MEM_READ_ONLY, err);
  if (st == CLM_OK) {
    const cl_int rc = clEnqueueWriteBuffer(ctx->queue, ws->edges, CL_TRUE, 0,
                                           edge_bytes, edges, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
      st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(edges)");
  }
  free(edges);
  if (st != CLM_OK)
    return st;
  struct cal_run r = {.ctx = ctx,
                      .ws = ws,
                      .labels = labels,
                      .scores = scores,
                      .weights = weights,
                      .base = base,
                      .probs = kind == CLM_SCORES_PROBS,
                      .multiclass = multiclass};
  if (clm_calibration_state_like(&r.acc, state) != CLM_OK) {
    run_free(&r);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate a calibration state");
  }
  /* Rows per launch: the score block within one allocation, per-launch
   * counts and element indices within 32 bits. */
  const uint64_t chunk =
      clm_engine_chunk_rows(ctx, (uint64_t)k * sizeof(float), 1,
                            multiclass ? 0x7fffffffu / k : (uint64_t)1 << 30);
  st = run_alloc(&r, chunk < n ? chunk : n, err);
  const int copies = !(clm_can_wrap(ctx, scores) && clm_can_wrap(ctx, labels) &&
                       (!weights || clm_can_wrap(ctx, weights)));
  const clm_task task = {.self = &r,
                         .n = n,
                         .chunk = chunk,
                         .pipelined = n > chunk && copies,
                         .submit = run_submit,
                         .collect = run_collect,
                         .release = run_release};
  if (st == CLM_OK)
    st = clm_engine_run(ctx, &task, err);
  if (st == CLM_OK)
    st = clm_calibration_merge(state, &r.acc);
  run_free(&r);
  return st;
}

clm_status clm_calibration_update_binary(clm_context *ctx,
                                         clm_calibration_state *state,
                                         uint64_t base, const uint8_t *labels,
                                         const float *scores,
                                         const float *weights, uint64_t n,
                                         clm_scores_kind kind, clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_calibration_update_binary: NULL context");
  pthread_mutex_lock(&ctx->lock);
  clm_status st =
      update(ctx, state, base, labels, scores, weights, n, kind, 0, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

clm_status clm_calibration_update_multiclass(
    clm_context *ctx, clm_calibration_state *state, uint64_t base,
    const int32_t *y_true, const float *scores, const float *weights,
    uint64_t n, clm_scores_kind kind, clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_calibration_update_multiclass: NULL context");
  pthread_mutex_lock(&ctx->lock);
  clm_status st =
      update(ctx, state, base, y_true, scores, weights, n, kind, 1, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}
