/* Per-row gradients of the multi-class loss with its options
 * (clm_multiclass_gradient): one pass of clm_mc_grad per chunk, driven by
 * the engine. The state is only read: its K and loss options. */
#include "tasks/multiclass/multiclass.h"

#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>

/* One chunk in flight: its zero-copy wrappers, the event of its last
 * command and the status word read back. */
struct grad_job {
  uint64_t first;
  uint32_t n;
  cl_mem w_scores, w_yt, w_sw, w_grad;
  cl_event done;
  cl_uint status[CLM_MG_STATUS];
};

struct grad_run {
  clm_context *ctx;
  struct mc_ws *ws;
  const int32_t *yt;
  const float *scores, *weights; /* weights: NULL, every s = 1 */
  float *grad;
  clm_scores_kind kind;
  uint64_t base;
  uint32_t k;
  cl_int has_ignore, ignore;
  cl_float one_minus_e, e_over_k, w_all;
  struct grad_job job[2];
};

static void job_release(struct grad_job *j) {
  if (j->done)
    clReleaseEvent(j->done);
  j->done = NULL;
  clm_release_mem(&j->w_grad);
  clm_release_mem(&j->w_sw);
  clm_release_mem(&j->w_yt);
  clm_release_mem(&j->w_scores);
}

/* The chunk's inputs wrapped in place, or uploaded into the slot. */
static clm_status grad_inputs(struct grad_run *r, struct mc_slot *b,
                              struct grad_job *j, cl_event *uploaded,
                              clm_error *err) {
  const float *s = r->scores + j->first * r->k;
  const int32_t *yt = r->yt + j->first;
  const float *w = r->weights ? r->weights + j->first : NULL;
  return clm_mc_chunk_inputs(r->ctx, b, j->n, r->k, s, yt, w, &j->w_scores,
                             &j->w_yt, &j->w_sw, uploaded, err);
}

static clm_status grad_launch(struct grad_run *r, struct mc_slot *b,
                              struct grad_job *j, cl_mem m_grad,
                              cl_event uploaded, clm_error *err) {
  clm_context *ctx = r->ctx;
  static const cl_uint init[CLM_MG_STATUS] = {
      [CLM_MG_BAD_ROWS] = 0, [CLM_MG_FIRST_BAD] = CLM_NO_BAD}; /* outlives the
                                                                  queue */
  cl_int rc = clEnqueueWriteBuffer(ctx->queue, b->am_status, CL_FALSE, 0,
                                   sizeof init, init, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueWriteBuffer(status)");
  /* Each work-item takes `rows` rows: about 16 groups per compute unit, so
   * a group's launch cost is spread over many rows. */
  const size_t ls = ctx->local_size;
  const uint64_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  const uint64_t items = (uint64_t)ls * cu * 16;
  const cl_uint rows = (cl_uint)((j->n + items - 1) / items);
  const size_t per_group = ls * rows;
  const size_t global = (j->n + per_group - 1) / per_group * ls;
  cl_mem m_scores = j->w_scores ? j->w_scores : b->scores;
  cl_mem m_yt = j->w_yt ? j->w_yt : b->yt;
  cl_mem m_sw = j->w_sw ? j->w_sw : b->sw;
  const cl_uint n_arg = j->n, k_arg = r->k;
  const cl_int probs = r->kind == CLM_SCORES_PROBS;
  const cl_int has_sw = r->weights != NULL;
  clm_kargs ka = {r->ws->k_grad, CL_SUCCESS, 0};
  clm_karg(&ka, CLM_MG_ARG_SCORES, sizeof(cl_mem), &m_scores);
  clm_karg(&ka, CLM_MG_ARG_YT, sizeof(cl_mem), &m_yt);
  /* Without weights any buffer stands in; the kernel never reads it. */
  clm_karg(&ka, CLM_MG_ARG_SAMPLE_WEIGHT, sizeof(cl_mem),
           has_sw ? &m_sw : &m_yt);
  clm_karg(&ka, CLM_MG_ARG_N, sizeof n_arg, &n_arg);
  clm_karg(&ka, CLM_MG_ARG_K, sizeof k_arg, &k_arg);
  clm_karg(&ka, CLM_MG_ARG_PROBS, sizeof probs, &probs);
  clm_karg(&ka, CLM_MG_ARG_HAS_SW, sizeof has_sw, &has_sw);
  clm_karg(&ka, CLM_MG_ARG_HAS_IGNORE, sizeof r->has_ignore, &r->has_ignore);
  clm_karg(&ka, CLM_MG_ARG_IGNORE, sizeof r->ignore, &r->ignore);
  clm_karg(&ka, CLM_MG_ARG_CLASS_WEIGHT, sizeof(cl_mem), &r->ws->grad_weight);
  clm_karg(&ka, CLM_MG_ARG_ONE_MINUS_E, sizeof r->one_minus_e, &r->one_minus_e);
  clm_karg(&ka, CLM_MG_ARG_E_OVER_K, sizeof r->e_over_k, &r->e_over_k);
  clm_karg(&ka, CLM_MG_ARG_W_SUM, sizeof r->w_all, &r->w_all);
  clm_karg(&ka, CLM_MG_ARG_ROWS, sizeof rows, &rows);
  clm_karg(&ka, CLM_MG_ARG_GRAD, sizeof(cl_mem), &m_grad);
  clm_karg(&ka, CLM_MG_ARG_STATUS, sizeof(cl_mem), &b->am_status);
  clm_status st = clm_kargs_status(&ka, "clm_mc_grad", err);
  if (st != CLM_OK)
    return st;
  rc = clEnqueueNDRangeKernel(ctx->queue, ka.kernel, 1, NULL, &global, &ls,
                              uploaded ? 1 : 0, uploaded ? &uploaded : NULL,
                              NULL);
  return rc == CL_SUCCESS
             ? CLM_OK
             : clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(clm_mc_grad)");
}

static clm_status grad_submit(void *self, int slot, uint64_t first, uint32_t n,
                              clm_error *err) {
  struct grad_run *r = self;
  clm_context *ctx = r->ctx;
  struct mc_slot *b = &r->ws->slot[slot];
  struct grad_job *j = &r->job[slot];
  j->first = first;
  j->n = n;
  float *out = r->grad + first * r->k;
  const size_t gbytes = (size_t)n * r->k * sizeof(float);
  cl_int rc = CL_SUCCESS;
  cl_event uploaded = NULL;
  clm_status st = clm_ensure_buffer(ctx, &b->am_status, &b->am_status_cap,
                                    sizeof j->status, CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = grad_inputs(r, b, j, &uploaded, err);
  /* The output: written in place on host-unified devices. */
  if (st == CLM_OK && clm_can_wrap(ctx, out)) {
    j->w_grad = clm_wrap_host(ctx, CL_MEM_READ_WRITE, out, gbytes, &rc);
    if (rc != CL_SUCCESS)
      st = clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR gradient)");
  } else if (st == CLM_OK) {
    st = clm_ensure_buffer(ctx, &b->grad, &b->grad_cap, gbytes,
                           CL_MEM_READ_WRITE, err);
  }
  if (st == CLM_OK)
    st = grad_launch(r, b, j, j->w_grad ? j->w_grad : b->grad, uploaded, err);
  if (uploaded)
    clReleaseEvent(uploaded);
  if (st == CLM_OK && j->w_grad) {
    st = clm_engine_map_back(ctx, j->w_grad, out, gbytes, "gradient", err);
  } else if (st == CLM_OK) {
    rc = clEnqueueReadBuffer(ctx->queue, b->grad, CL_FALSE, 0, gbytes, out, 0,
                             NULL, NULL);
    if (rc != CL_SUCCESS)
      st = clm_fail_cl(err, rc, "clEnqueueReadBuffer(gradient)");
  }
  /* The status is the chunk's last command; the queue is in order. */
  if (st == CLM_OK) {
    rc = clEnqueueReadBuffer(ctx->queue, b->am_status, CL_FALSE, 0,
                             sizeof j->status, j->status, 0, NULL, &j->done);
    if (rc == CL_SUCCESS)
      rc = clFlush(ctx->queue);
    if (rc != CL_SUCCESS)
      st = clm_fail_cl(err, rc, "clEnqueueReadBuffer(status)");
  }
  return st;
}

static clm_status grad_collect(void *self, int slot, clm_error *err) {
  struct grad_run *r = self;
  struct grad_job *j = &r->job[slot];
  const cl_int rc = clWaitForEvents(1, &j->done);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clWaitForEvents(chunk)");
  if (j->status[CLM_MG_BAD_ROWS] == 0)
    return CLM_OK;
  const uint64_t flat = j->status[CLM_MG_FIRST_BAD];
  const uint64_t row = j->first + flat / r->k;
  return clm_mc_report_bad_row(r->scores + row * r->k, r->k, r->kind,
                               r->base + row, flat % r->k, err);
}

static void grad_release(void *self, int slot) {
  struct grad_run *r = self;
  job_release(&r->job[slot]);
}

/* The kernel's 2K class-weight floats: w_c (1 without class weights), then
 * W - w_c, each rounded once from double; *w_all = W. */
static clm_status upload_grad_weights(clm_context *ctx, struct mc_ws *ws,
                                      const clm_multiclass_state *s,
                                      double *w_all, clm_error *err) {
  const uint32_t k = s->n_classes;
  float *w = clm_malloc((size_t)2 * k * sizeof(float));
  if (!w)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate %u class weights", (unsigned)k);
  double sum = 0;
  for (uint32_t c = 0; c < k; ++c)
    sum += s->class_weight ? s->class_weight[c] : 1.0;
  for (uint32_t c = 0; c < k; ++c) {
    const double wc = s->class_weight ? s->class_weight[c] : 1.0;
    w[c] = (float)wc;
    w[k + c] = (float)(sum - wc);
  }
  *w_all = sum;
  const size_t bytes = (size_t)2 * k * sizeof(float);
  clm_status st = clm_ensure_buffer(ctx, &ws->grad_weight, &ws->grad_weight_cap,
                                    bytes, CL_MEM_READ_ONLY, err);
  if (st == CLM_OK) {
    const cl_int rc = clEnqueueWriteBuffer(ctx->queue, ws->grad_weight, CL_TRUE,
                                           0, bytes, w, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
      st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(class weights)");
  }
  free(w);
  return st;
}

/* Weights, then true labels, on the host before any device work. */
static clm_status check_call(const clm_multiclass_state *state, uint64_t base,
                             const int32_t *y_true, const float *scores,
                             const float *weights, uint64_t n,
                             clm_scores_kind kind, const float *grad_out,
                             clm_error *err) {
  if (!state || state->n_classes < 2 ||
      (n > 0 && (!y_true || !scores || !grad_out)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_gradient: NULL argument or an "
                    "uninitialised state");
  if (kind != CLM_SCORES_LOGITS && kind != CLM_SCORES_PROBS)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_gradient: unknown score kind");
  if (weights) {
    const clm_status st = clm_mc_check_weight_values(weights, n, base, err);
    if (st != CLM_OK)
      return st;
  }
  const uint32_t k = state->n_classes;
  for (uint64_t i = 0; i < n; ++i) {
    const int32_t t = y_true[i];
    if (clm_mc_ignored(state, t) || (t >= 0 && (uint32_t)t < k))
      continue;
    const unsigned long long at = (unsigned long long)(base + i);
    return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, t,
                    "index %llu: true label %d is outside [0, %u)", at, (int)t,
                    (unsigned)k);
  }
  return CLM_OK;
}

static clm_status gradient(clm_context *ctx, const clm_multiclass_state *state,
                           uint64_t base, const int32_t *y_true,
                           const float *scores, const float *weights,
                           uint64_t n, clm_scores_kind kind, float *grad_out,
                           clm_error *err) {
  clm_status st =
      check_call(state, base, y_true, scores, weights, n, kind, grad_out, err);
  if (st != CLM_OK || n == 0)
    return st;
  struct mc_ws *ws = clm_workspace(ctx, CLM_FAMILY_MULTICLASS, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  const uint32_t k = state->n_classes;
  const double e = state->label_smoothing;
  double w_all = 0;
  st = upload_grad_weights(ctx, ws, state, &w_all, err);
  if (st != CLM_OK)
    return st;
  struct grad_run r = {.ctx = ctx,
                       .ws = ws,
                       .yt = y_true,
                       .scores = scores,
                       .weights = weights,
                       .grad = grad_out,
                       .kind = kind,
                       .base = base,
                       .k = k,
                       .has_ignore = state->has_ignore_index,
                       .ignore = state->ignore_index,
                       /* rounded once from double */
                       .one_minus_e = (cl_float)(1.0 - e),
                       .e_over_k = (cl_float)(e / k),
                       .w_all = (cl_float)w_all};
  /* Rows per launch: as the update's (flat indices within 31 bits). */
  const uint64_t chunk = clm_engine_chunk_rows(ctx, (uint64_t)k * sizeof(float),
                                               1, 0x7fffffffu / k);
  const int copies = !(clm_can_wrap(ctx, scores) && clm_can_wrap(ctx, y_true) &&
                       (!weights || clm_can_wrap(ctx, weights)) &&
                       clm_can_wrap(ctx, grad_out));
  const clm_task task = {.self = &r,
                         .n = n,
                         .chunk = chunk,
                         .pipelined = n > chunk && copies,
                         .submit = grad_submit,
                         .collect = grad_collect,
                         .release = grad_release};
  st = clm_engine_run(ctx, &task, err);
  if (st != CLM_OK)
    clFinish(ctx->queue); /* nothing may still use the caller's memory */
  return st;
}

clm_status clm_multiclass_gradient(clm_context *ctx,
                                   const clm_multiclass_state *state,
                                   uint64_t base, const int32_t *y_true,
                                   const float *scores, const float *weights,
                                   uint64_t n, clm_scores_kind kind,
                                   float *grad_out, clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_gradient: NULL context");
  pthread_mutex_lock(&ctx->lock);
  clm_status st = gradient(ctx, state, base, y_true, scores, weights, n, kind,
                           grad_out, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}
