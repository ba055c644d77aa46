/* Binary evaluation on the device: one fused kernel pass per chunk (plus
 * the weight-gradient kernel with features), driven by the engine.
 * Unweighted states run clm_binary, weighted ones clm_binary_weighted (the
 * same pass reading per-sample weights, with the cells' weight sums as
 * extra per-group partials). */
#include "tasks/binary/binary.h"

#include "clm_shared.h"
#include "engine/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Device buffers of one chunk in flight; two of them let the copy path
 * upload chunk i + 1 while chunk i computes. Grown on demand. */
struct slot {
  cl_mem scores, labels, weights, grad, partials, counters, features, wpartials;
  size_t scores_cap, labels_cap, weights_cap, grad_cap, partials_cap,
      counters_cap, features_cap, wpartials_cap; /* bytes */
};

struct binary_ws {
  cl_kernel k_binary, k_binary_weighted, k_weight_grad;
  struct slot slot[2];
};

static clm_status ws_init(clm_context *ctx, void *p, clm_error *err) {
  struct binary_ws *ws = p;
  clm_status st = clm_kernel_create(ctx, "clm_binary", &ws->k_binary, err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_binary_weighted", &ws->k_binary_weighted,
                           err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_weight_grad", &ws->k_weight_grad, err);
  return st;
}

static void ws_release(void *p) {
  struct binary_ws *ws = p;
  for (int i = 1; i >= 0; --i) {
    struct slot *b = &ws->slot[i];
    clm_release_mem(&b->wpartials);
    clm_release_mem(&b->features);
    clm_release_mem(&b->counters);
    clm_release_mem(&b->partials);
    clm_release_mem(&b->grad);
    clm_release_mem(&b->weights);
    clm_release_mem(&b->labels);
    clm_release_mem(&b->scores);
  }
  clm_release_kernel(&ws->k_weight_grad);
  clm_release_kernel(&ws->k_binary_weighted);
  clm_release_kernel(&ws->k_binary);
}

const clm_family clm_family_binary = {"binary", sizeof(struct binary_ws),
                                      ws_init, ws_release};

/* The device names the first index with any bad input; the host tells
 * which input it was, testing labels, scores and weights in that order as
 * the kernel does. */
static clm_status report_bad_input(const uint8_t *labels, const float *scores,
                                   const float *weights, clm_scores_kind kind,
                                   uint64_t i, uint64_t offset,
                                   clm_error *err) {
  const unsigned long long at = (unsigned long long)(offset + i);
  const double v = scores[i];
  clm_status st;
  clm_input input = CLM_INPUT_SCORES;
  if (labels[i] > 1) {
    st =
        clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, labels[i],
                 "index %llu: label %u is not 0 or 1", at, (unsigned)labels[i]);
    input = CLM_INPUT_LABELS;
  } else if (isnan(v)) {
    st = clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                  "index %llu: score is NaN", at);
  } else if (kind == CLM_SCORES_PROBS && (v < 0.0 || v > 1.0)) {
    st = clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                  "index %llu: probability %.9g is outside [0, 1]", at, v);
  } else if (weights) {
    const double w = weights[i];
    st = clm_fail(err, CLM_ERR_BAD_WEIGHT, (int64_t)at, w,
                  "index %llu: weight %.9g is not finite and >= 0", at, w);
    input = CLM_INPUT_WEIGHTS;
  } else {
    st = clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                  "index %llu: invalid score %.9g", at, v);
  }
  if (err)
    err->input = input;
  return st;
}

/* One chunk in flight: where it reads and writes, its device buffers (a
 * workspace slot), the zero-copy wrappers over the caller's memory, and the
 * host copies of its results. */
struct chunk_job {
  struct slot *slot;
  const uint8_t *labels;
  const float *scores, *weights, *features; /* weights: NULL unweighted */
  float *grad_out;
  uint32_t n;
  uint64_t offset; /* position in the caller's arrays, for messages */
  size_t groups, wgroups;
  cl_mem w_scores, w_labels, w_weights, w_grad, w_feat;
  cl_event done; /* the chunk's last command on ctx->queue */
  float *partials, *wpartials;
  cl_uint counters[CLM_BIN_COUNTERS];
  int live; /* submitted and not yet collected */
};

static void chunk_release(struct chunk_job *c) {
  if (c->done)
    clReleaseEvent(c->done);
  c->done = NULL;
  clm_release_mem(&c->w_feat);
  clm_release_mem(&c->w_grad);
  clm_release_mem(&c->w_weights);
  clm_release_mem(&c->w_labels);
  clm_release_mem(&c->w_scores);
  c->live = 0;
}

/* Float partials per work-group of the chunk's kernel. */
static size_t partials_per_group(const struct chunk_job *c) {
  return c->weights ? CLM_BINW_PARTIALS_PER_GROUP : CLM_BIN_PARTIALS_PER_GROUP;
}

/* Where one chunk's kernels read and write: the caller's memory wrapped
 * zero-copy, or the slot's device buffers. */
struct chunk_mem {
  int zc_in, zc_grad, zc_feat, need_grad;
  cl_mem scores, labels, weights, grad, features;
};

/* Wraps the caller's arrays (host-unified devices) or sizes the slot's
 * buffers for them. */
static clm_status chunk_buffers(clm_context *ctx, struct chunk_job *c,
                                uint64_t d, struct chunk_mem *m,
                                clm_error *err) {
  struct slot *b = c->slot;
  const uint32_t n = c->n;
  const size_t feat_bytes = (size_t)n * d * sizeof(float);
  cl_int rc = CL_SUCCESS;
  clm_status st = CLM_OK;
  m->need_grad = c->grad_out != NULL || d > 0;
  m->zc_in = n > 0 && clm_can_wrap(ctx, c->scores) &&
             clm_can_wrap(ctx, c->labels) &&
             (!c->weights || clm_can_wrap(ctx, c->weights));
  m->zc_grad = n > 0 && c->grad_out && clm_can_wrap(ctx, c->grad_out);
  m->zc_feat = c->wgroups > 0 && clm_can_wrap(ctx, c->features);
  if (m->zc_in) {
    c->w_scores = clm_wrap_host(ctx, CL_MEM_READ_ONLY, c->scores,
                                (size_t)n * sizeof(float), &rc);
    if (rc == CL_SUCCESS)
      c->w_labels = clm_wrap_host(ctx, CL_MEM_READ_ONLY, c->labels, n, &rc);
    if (rc == CL_SUCCESS && c->weights)
      c->w_weights = clm_wrap_host(ctx, CL_MEM_READ_ONLY, c->weights,
                                   (size_t)n * sizeof(float), &rc);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR inputs)");
  } else {
    st = clm_ensure_buffer(ctx, &b->scores, &b->scores_cap,
                           (size_t)n * sizeof(float), CL_MEM_READ_ONLY, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &b->labels, &b->labels_cap, n,
                             CL_MEM_READ_ONLY, err);
    if (st == CLM_OK && c->weights)
      st = clm_ensure_buffer(ctx, &b->weights, &b->weights_cap,
                             (size_t)n * sizeof(float), CL_MEM_READ_ONLY, err);
  }
  if (st == CLM_OK && m->zc_grad) {
    c->w_grad = clm_wrap_host(ctx, CL_MEM_READ_WRITE, c->grad_out,
                              (size_t)n * sizeof(float), &rc);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR gradient)");
  } else if (st == CLM_OK && m->need_grad) {
    st = clm_ensure_buffer(ctx, &b->grad, &b->grad_cap,
                           (size_t)n * sizeof(float), CL_MEM_READ_WRITE, err);
  }
  if (st == CLM_OK && m->zc_feat) {
    c->w_feat =
        clm_wrap_host(ctx, CL_MEM_READ_ONLY, c->features, feat_bytes, &rc);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR features)");
  } else if (st == CLM_OK && c->wgroups > 0) {
    st = clm_ensure_buffer(ctx, &b->features, &b->features_cap, feat_bytes,
                           CL_MEM_READ_ONLY, err);
  }
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->partials, &b->partials_cap,
                           c->groups * partials_per_group(c) * sizeof(float),
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->counters, &b->counters_cap,
                           CLM_BIN_COUNTERS * sizeof(cl_uint),
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK && c->wgroups > 0)
    st = clm_ensure_buffer(ctx, &b->wpartials, &b->wpartials_cap,
                           c->wgroups * d * sizeof(float), CL_MEM_READ_WRITE,
                           err);
  m->scores = m->zc_in ? c->w_scores : b->scores;
  m->labels = m->zc_in ? c->w_labels : b->labels;
  m->weights = m->zc_in ? c->w_weights : b->weights;
  m->grad = m->zc_grad     ? c->w_grad
            : m->need_grad ? b->grad
                           : b->partials; /* unused by the kernel */
  m->features = m->zc_feat ? c->w_feat : b->features;
  return st;
}

/* Copies what is not read in place on the upload queue; *uploaded is the
 * event the kernels wait for (NULL when nothing was copied). */
static clm_status chunk_upload(clm_context *ctx, const struct chunk_job *c,
                               uint64_t d, const struct chunk_mem *m,
                               cl_event *uploaded, clm_error *err) {
  const struct slot *b = c->slot;
  const uint32_t n = c->n;
  clm_upload copies[4];
  int count = 0;
  if (n > 0 && !m->zc_in) {
    copies[count++] = (clm_upload){c->scores, b->scores, n * sizeof(float)};
    copies[count++] = (clm_upload){c->labels, b->labels, n};
    if (c->weights)
      copies[count++] = (clm_upload){c->weights, b->weights, n * sizeof(float)};
  }
  if (n > 0 && c->wgroups > 0 && !m->zc_feat)
    copies[count++] =
        (clm_upload){c->features, b->features, (size_t)n * d * sizeof(float)};
  return clm_engine_upload(ctx, copies, count, uploaded, err);
}

/* Enqueues the fused pass and, with features, the weight-gradient pass,
 * both after the uploads. */
static clm_status chunk_launch(clm_context *ctx, struct binary_ws *ws,
                               const clm_binary_state *acc,
                               const struct chunk_job *c,
                               const struct chunk_mem *m, float thr,
                               cl_event uploaded, clm_error *err) {
  const struct slot *b = c->slot;
  const size_t ls = ctx->local_size;
  const cl_uint n_arg = c->n;
  const cl_int probs = acc->kind == CLM_SCORES_PROBS;
  const cl_int write_grad = m->need_grad;
  const cl_float pos_weight = (cl_float)acc->pos_weight;
  const int weighted = c->weights != NULL;
  const cl_kernel k = weighted ? ws->k_binary_weighted : ws->k_binary;
  const char *k_name = weighted ? "clm_binary_weighted" : "clm_binary";
  const cl_uint waits = uploaded ? 1 : 0;
  const cl_event *wait = uploaded ? &uploaded : NULL;
  /* Outlives the queue; only the first-bad slot starts at CLM_NO_BAD. */
  static const cl_uint init[CLM_BIN_COUNTERS] = {
      [CLM_BIN_POS] = 0, [CLM_BIN_FIRST_BAD] = CLM_NO_BAD};
  cl_int rc = clEnqueueWriteBuffer(ctx->queue, b->counters, CL_FALSE, 0,
                                   sizeof init, init, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueWriteBuffer(counters)");
  clm_kargs ka = {k, CL_SUCCESS, 0};
  clm_karg(&ka, CLM_BIN_ARG_SCORES, sizeof(cl_mem), &m->scores);
  clm_karg(&ka, CLM_BIN_ARG_LABELS, sizeof(cl_mem), &m->labels);
  clm_karg(&ka, CLM_BIN_ARG_N, sizeof n_arg, &n_arg);
  clm_karg(&ka, CLM_BIN_ARG_THRESHOLD, sizeof thr, &thr);
  clm_karg(&ka, CLM_BIN_ARG_PROBS, sizeof probs, &probs);
  clm_karg(&ka, CLM_BIN_ARG_WRITE_GRAD, sizeof write_grad, &write_grad);
  clm_karg(&ka, CLM_BIN_ARG_GRAD, sizeof(cl_mem), &m->grad);
  clm_karg(&ka, CLM_BIN_ARG_PARTIALS, sizeof(cl_mem), &b->partials);
  clm_karg(&ka, CLM_BIN_ARG_COUNTERS, sizeof(cl_mem), &b->counters);
  clm_karg(&ka, CLM_BIN_ARG_LOCAL_SUMS,
           partials_per_group(c) * ls * sizeof(cl_float), NULL);
  clm_karg(&ka, CLM_BIN_ARG_LOCAL_COUNTS,
           CLM_BIN_COUNTERS * ls * sizeof(cl_uint), NULL);
  clm_karg(&ka, CLM_BIN_ARG_POS_WEIGHT, sizeof pos_weight, &pos_weight);
  if (weighted)
    clm_karg(&ka, CLM_BINW_ARG_WEIGHTS, sizeof(cl_mem), &m->weights);
  clm_status st = clm_kargs_status(&ka, k_name, err);
  if (st != CLM_OK)
    return st;
  if (c->groups > 0) {
    const size_t global = c->groups * ls;
    rc = clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, &ls, waits,
                                wait, NULL);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc,
                         weighted ? "clEnqueueNDRangeKernel(clm_binary_"
                                    "weighted)"
                                  : "clEnqueueNDRangeKernel(clm_binary)");
  }
  if (c->wgroups == 0)
    return CLM_OK;
  const cl_uint d_arg = (cl_uint)acc->n_features, rows_arg = ctx->wg_rows;
  clm_kargs kw = {ws->k_weight_grad, CL_SUCCESS, 0};
  clm_karg(&kw, CLM_WG_ARG_GRAD, sizeof(cl_mem), &m->grad);
  clm_karg(&kw, CLM_WG_ARG_FEATURES, sizeof(cl_mem), &m->features);
  clm_karg(&kw, CLM_WG_ARG_N, sizeof n_arg, &n_arg);
  clm_karg(&kw, CLM_WG_ARG_D, sizeof d_arg, &d_arg);
  clm_karg(&kw, CLM_WG_ARG_ROWS, sizeof rows_arg, &rows_arg);
  clm_karg(&kw, CLM_WG_ARG_PARTIALS, sizeof(cl_mem), &b->wpartials);
  st = clm_kargs_status(&kw, "clm_weight_grad", err);
  if (st != CLM_OK)
    return st;
  const size_t wls = ctx->wg_local_size;
  const size_t wglobal = c->wgroups * wls;
  rc = clEnqueueNDRangeKernel(ctx->queue, ws->k_weight_grad, 1, NULL, &wglobal,
                              &wls, waits, wait, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(clm_weight_grad)");
  return CLM_OK;
}

/* Reads the results back without blocking; the counters' read is the
 * chunk's last command (its `done` event), and the queue is in order. */
static clm_status chunk_read(clm_context *ctx, struct chunk_job *c, uint64_t d,
                             const struct chunk_mem *m, clm_error *err) {
  const struct slot *b = c->slot;
  cl_int rc = CL_SUCCESS;
  if (c->groups > 0)
    rc = clEnqueueReadBuffer(ctx->queue, b->partials, CL_FALSE, 0,
                             c->groups * partials_per_group(c) * sizeof(float),
                             c->partials, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(partials)");
  if (c->wgroups > 0)
    rc = clEnqueueReadBuffer(ctx->queue, b->wpartials, CL_FALSE, 0,
                             c->wgroups * d * sizeof(float), c->wpartials, 0,
                             NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(weight partials)");
  if (c->grad_out && c->n > 0 && !m->zc_grad)
    rc = clEnqueueReadBuffer(ctx->queue, b->grad, CL_FALSE, 0,
                             (size_t)c->n * sizeof(float), c->grad_out, 0, NULL,
                             NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(gradient)");
  if (m->zc_grad) {
    clm_status st =
        clm_engine_map_back(ctx, c->w_grad, c->grad_out,
                            (size_t)c->n * sizeof(float), "gradient", err);
    if (st != CLM_OK)
      return st;
  }
  rc = clEnqueueReadBuffer(ctx->queue, b->counters, CL_FALSE, 0,
                           sizeof c->counters, c->counters, 0, NULL, &c->done);
  if (rc == CL_SUCCESS)
    rc = clFlush(ctx->queue);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(counters)");
  return CLM_OK;
}

/* Enqueues one chunk without waiting for it. On host-unified devices the
 * kernels read the caller's scores, labels and features and write grad_out
 * in place; otherwise the inputs are copied on ctx->upload_queue into the
 * chunk's slot, so that the copy overlaps with the previous chunk's
 * kernels, and the results come back on ctx->queue. */
static clm_status chunk_submit(clm_context *ctx, struct binary_ws *ws,
                               const clm_binary_state *acc, struct chunk_job *c,
                               float thr, clm_error *err) {
  const size_t tile = ctx->local_size * ctx->items * ctx->vec_width;
  const uint64_t d = acc->n_features;
  c->groups = (c->n + tile - 1) / tile;
  c->wgroups = d > 0 ? (c->n + ctx->wg_rows - 1) / ctx->wg_rows : 0;
  c->live = 1;
  struct chunk_mem m;
  clm_status st = chunk_buffers(ctx, c, d, &m, err);
  cl_event uploaded = NULL;
  if (st == CLM_OK)
    st = chunk_upload(ctx, c, d, &m, &uploaded, err);
  if (st == CLM_OK)
    st = chunk_launch(ctx, ws, acc, c, &m, thr, uploaded, err);
  if (uploaded)
    clReleaseEvent(uploaded);
  if (st == CLM_OK)
    st = chunk_read(ctx, c, d, &m, err);
  return st;
}

/* Waits for a submitted chunk and adds it to `acc`. */
static clm_status chunk_collect(clm_binary_state *acc, struct chunk_job *c,
                                clm_error *err) {
  cl_int rc = clWaitForEvents(1, &c->done);
  if (rc != CL_SUCCESS) {
    chunk_release(c);
    return clm_fail_cl(err, rc, "clWaitForEvents(chunk)");
  }
  clm_status st = CLM_OK;
  if (c->counters[CLM_BIN_FIRST_BAD] != CLM_NO_BAD) {
    st = report_bad_input(c->labels, c->scores, c->weights, acc->kind,
                          c->counters[CLM_BIN_FIRST_BAD], c->offset, err);
  } else {
    /* Host sums in double, in group order: deterministic. */
    const uint64_t d = acc->n_features, n = c->n;
    const size_t per = partials_per_group(c);
    double loss = 0.0, gsum = 0.0;
    double cell[CLM_BINW_PARTIALS_PER_GROUP] = {0};
    for (size_t g = 0; g < c->groups; ++g) {
      loss += c->partials[per * g];
      gsum += c->partials[per * g + 1];
      for (size_t q = CLM_BINW_TP; q < per; ++q)
        cell[q] += c->partials[per * g + q];
    }
    if (c->weights) {
      acc->w_tp += cell[CLM_BINW_TP];
      acc->w_fp += cell[CLM_BINW_FP];
      acc->w_fn += cell[CLM_BINW_FN];
      acc->w_tn += cell[CLM_BINW_TN];
      acc->w_sum += cell[CLM_BINW_TP] + cell[CLM_BINW_FP] + cell[CLM_BINW_FN] +
                    cell[CLM_BINW_TN];
    }
    for (size_t g = 0; g < c->wgroups; ++g)
      for (uint64_t j = 0; j < d; ++j)
        acc->weight_grad_sum[j] += c->wpartials[g * d + j];
    const uint64_t pos = c->counters[CLM_BIN_POS],
                   pred = c->counters[CLM_BIN_PRED],
                   tp = c->counters[CLM_BIN_TP];
    acc->n += n;
    acc->tp += tp;
    acc->fp += pred - tp;
    acc->fn += pos - tp;
    acc->tn += n - pos - (pred - tp);
    acc->bce_sum += loss;
    acc->grad_sum += gsum;
  }
  chunk_release(c);
  return st;
}

/* One update call as an engine task: the chunks' inputs, their two slots
 * and the accumulator they fold into. */
struct binary_run {
  clm_context *ctx;
  struct binary_ws *ws;
  clm_binary_state acc;
  const uint8_t *labels;
  const float *scores, *weights, *features;
  float *grad_out;
  uint64_t base;
  float thr;
  struct chunk_job job[2];
};

static clm_status run_submit(void *self, int slot, uint64_t first,
                             uint32_t count, clm_error *err) {
  struct binary_run *r = self;
  struct chunk_job *c = &r->job[slot];
  const uint64_t d = r->acc.n_features;
  c->slot = &r->ws->slot[slot];
  c->labels = r->labels + first;
  c->scores = r->scores + first;
  c->weights = r->weights ? r->weights + first : NULL;
  c->features = r->features ? r->features + first * d : NULL;
  c->grad_out = r->grad_out ? r->grad_out + first : NULL;
  c->n = count;
  c->offset = r->base + first;
  return chunk_submit(r->ctx, r->ws, &r->acc, c, r->thr, err);
}

static clm_status run_collect(void *self, int slot, clm_error *err) {
  struct binary_run *r = self;
  return chunk_collect(&r->acc, &r->job[slot], err);
}

static void run_release(void *self, int slot) {
  struct binary_run *r = self;
  chunk_release(&r->job[slot]);
}

/* Rows per chunk: the context's chunk, with one chunk's features (two on
 * the copy path) within one device allocation. */
static clm_status chunk_rows(const clm_context *ctx, uint64_t d, int copies,
                             uint64_t *out, clm_error *err) {
  uint64_t chunk = ctx->chunk_samples;
  if (d > 0) {
    uint64_t by_alloc = ctx->info.max_alloc_bytes / (d * sizeof(float));
    if (by_alloc == 0)
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "one row of %llu features exceeds the device's largest "
                      "allocation (%llu bytes)",
                      (unsigned long long)d,
                      (unsigned long long)ctx->info.max_alloc_bytes);
    if (copies && by_alloc > 1)
      by_alloc /= 2;
    if (chunk > by_alloc)
      chunk = by_alloc;
  }
  *out = chunk;
  return CLM_OK;
}

static clm_status update(clm_context *ctx, clm_binary_state *state,
                         uint64_t base, const uint8_t *labels,
                         const float *scores, const float *weights, uint64_t n,
                         const float *features, float *grad_out,
                         clm_error *err) {
  if (!state || (n > 0 && (!labels || !scores)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_update: NULL argument");
  if (!state->weighted && weights)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_update: weights given, but the state is "
                    "unweighted (clm_binary_options.weighted)");
  if (state->weighted && n > 0 && !weights)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_update: the state is weighted, but no weights "
                    "were given (clm_binary_update_weighted)");
  if (n == 0)
    weights = NULL;
  if (state->n_features > 0 && n > 0 && !features)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_update: the state expects %llu features per "
                    "sample, but no feature matrix was given",
                    (unsigned long long)state->n_features);
  const uint64_t d = state->n_features;
  const int copies = !(clm_can_wrap(ctx, scores) && clm_can_wrap(ctx, labels) &&
                       (!weights || clm_can_wrap(ctx, weights)));
  uint64_t chunk = 0;
  clm_status st = chunk_rows(ctx, d, copies, &chunk, err);
  if (st != CLM_OK)
    return st;
  struct binary_ws *ws = clm_workspace(ctx, CLM_FAMILY_BINARY, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  struct binary_run r = {
      .ctx = ctx,
      .ws = ws,
      .labels = labels,
      .scores = scores,
      .weights = weights,
      .features = features,
      .grad_out = grad_out,
      .base = base,
      .thr = clm_binary_device_threshold(state->kind, state->threshold)};
  clm_binary_options acc_opts;
  clm_binary_options_init(&acc_opts);
  acc_opts.kind = state->kind;
  acc_opts.threshold = state->threshold;
  acc_opts.n_features = d;
  acc_opts.pos_weight = state->pos_weight;
  acc_opts.weighted = state->weighted;
  st = clm_binary_state_init_ex(&r.acc, &acc_opts);
  if (st != CLM_OK)
    return clm_fail(err, st, -1, 0,
                    "cannot initialise a binary state like the caller's "
                    "(was it prepared by clm_binary_state_init or _init_ex?)");
  /* Host copies of each chunk's partials, sized for the largest chunk. */
  const uint64_t this_chunk = n < chunk ? n : chunk;
  const size_t tile = ctx->local_size * ctx->items * ctx->vec_width;
  const size_t max_groups = (this_chunk + tile - 1) / tile + 1;
  const size_t max_wgroups =
      d > 0 ? (this_chunk + ctx->wg_rows - 1) / ctx->wg_rows + 1 : 0;
  for (int i = 0; i < 2 && st == CLM_OK; ++i) {
    r.job[i].partials =
        clm_malloc(max_groups * CLM_BINW_PARTIALS_PER_GROUP * sizeof(float));
    r.job[i].wpartials =
        max_wgroups ? clm_malloc(max_wgroups * d * sizeof(float)) : NULL;
    if (!r.job[i].partials || (max_wgroups && !r.job[i].wpartials))
      st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate host scratch for %zu work-groups",
                    max_groups);
  }
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
    st = clm_binary_merge(state, &r.acc);
  for (int i = 0; i < 2; ++i) {
    free(r.job[i].wpartials);
    free(r.job[i].partials);
  }
  clm_binary_state_release(&r.acc);
  return st;
}

clm_status clm_binary_update_weighted(clm_context *ctx, clm_binary_state *state,
                                      uint64_t base, const uint8_t *labels,
                                      const float *scores, const float *weights,
                                      uint64_t n, const float *features,
                                      float *grad_out, clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_update: NULL context");
  pthread_mutex_lock(&ctx->lock);
  clm_status st = update(ctx, state, base, labels, scores, weights, n, features,
                         grad_out, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

clm_status clm_binary_update_at(clm_context *ctx, clm_binary_state *state,
                                uint64_t base, const uint8_t *labels,
                                const float *scores, uint64_t n,
                                const float *features, float *grad_out,
                                clm_error *err) {
  return clm_binary_update_weighted(ctx, state, base, labels, scores, NULL, n,
                                    features, grad_out, err);
}

clm_status clm_binary_update(clm_context *ctx, clm_binary_state *state,
                             const uint8_t *labels, const float *scores,
                             uint64_t n, const float *features, float *grad_out,
                             clm_error *err) {
  return clm_binary_update_at(ctx, state, 0, labels, scores, n, features,
                              grad_out, err);
}
