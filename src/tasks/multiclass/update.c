/* Multi-class evaluation on the device, driven by the engine: confusion
 * counts from label pairs, and from score matrices the fused argmax /
 * cross-entropy / top-k pass followed by the count. */
#include "tasks/multiclass/multiclass.h"

#include "engine/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(CLM_CM_LOCAL == CLM_CONFUSION_LOCAL - 1 &&
                   CLM_CM_DIAG == CLM_CONFUSION_DIAG - 1 &&
                   CLM_CM_GLOBAL == CLM_CONFUSION_GLOBAL - 1 &&
                   CLM_CM_PRIVATE == CLM_CONFUSION_PRIVATE - 1,
               "kernel strategies follow the public CLM_CONFUSION_* order");

/* ---- the family's workspace ---------------------------------------------- */

static clm_status ws_init(clm_context *ctx, void *p, clm_error *err) {
  struct mc_ws *ws = p;
  clm_status st =
      clm_kernel_create(ctx, "clm_confusion", &ws->k_confusion, err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_confusion_private",
                           &ws->k_confusion_private, err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_argmax_ce", &ws->k_argmax_ce, err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_argmax_ce_rows", &ws->k_argmax_ce_rows,
                           err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_confusion_ignore", &ws->k_confusion_ignore,
                           err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_confusion_private_ignore",
                           &ws->k_confusion_private_ignore, err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_confusion_private_sum",
                           &ws->k_confusion_private_sum, err);
  if (st == CLM_OK) {
    /* Only where the device has float64; without them the weighted cells
     * are summed on the host. */
    clm_error ignored;
    if (clm_kernel_create(ctx, "clm_confusion_private_w",
                          &ws->k_confusion_private_w, &ignored) != CLM_OK ||
        clm_kernel_create(ctx, "clm_confusion_private_w_ignore",
                          &ws->k_confusion_private_w_ignore,
                          &ignored) != CLM_OK)
      clm_release_kernel(&ws->k_confusion_private_w);
  }
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_argmax_ce_opt", &ws->k_argmax_ce_opt, err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_argmax_ce_rows_opt",
                           &ws->k_argmax_ce_rows_opt, err);
  if (st == CLM_OK)
    st = clm_kernel_create(ctx, "clm_mc_grad", &ws->k_grad, err);
  return st;
}

static void ws_release(void *p) {
  struct mc_ws *ws = p;
  for (int i = 1; i >= 0; --i) {
    struct mc_slot *b = &ws->slot[i];
    clm_release_mem(&b->grad);
    clm_release_mem(&b->wsl);
    clm_release_mem(&b->sw);
    clm_release_mem(&b->cm_status);
    clm_release_mem(&b->am_status);
    clm_release_mem(&b->hits);
    clm_release_mem(&b->partials);
    clm_release_mem(&b->scores);
    clm_release_mem(&b->yp);
    clm_release_mem(&b->yt);
  }
  clm_release_mem(&ws->grad_weight);
  clm_release_mem(&ws->class_weight);
  clm_release_mem(&ws->cm_scratch);
  clm_release_mem(&ws->cm);
  clm_release_kernel(&ws->k_grad);
  clm_release_kernel(&ws->k_confusion_private_w_ignore);
  clm_release_kernel(&ws->k_confusion_private_w);
  clm_release_kernel(&ws->k_confusion_private_sum);
  clm_release_kernel(&ws->k_confusion_private_ignore);
  clm_release_kernel(&ws->k_confusion_ignore);
  clm_release_kernel(&ws->k_argmax_ce_rows_opt);
  clm_release_kernel(&ws->k_argmax_ce_opt);
  clm_release_kernel(&ws->k_argmax_ce_rows);
  clm_release_kernel(&ws->k_argmax_ce);
  clm_release_kernel(&ws->k_confusion_private);
  clm_release_kernel(&ws->k_confusion);
}

const clm_family clm_family_multiclass = {"multiclass", sizeof(struct mc_ws),
                                          ws_init, ws_release};

/* ---- shared by both paths ------------------------------------------------ */

/* One chunk in flight: its zero-copy wrappers, the event of its last
 * command, and the host copies of its results. */
struct mc_job {
  uint64_t first;
  uint32_t n;
  size_t groups;    /* of the chunk's first kernel */
  size_t cm_groups; /* of its count, after the argmax pass */
  cl_mem w_yt, w_yp, w_scores, w_sw;
  cl_event done;
  cl_uint cm_status[CLM_CM_STATUS];
  cl_uint am_status[CLM_AM_STATUS];
  float *partials;
  cl_uint *hits;
  int32_t *pred_host; /* the chunk's predictions when pred_out is NULL and
                         the weighted matrix needs them */
};

static void job_release(struct mc_job *j) {
  if (j->done)
    clReleaseEvent(j->done);
  j->done = NULL;
  clm_release_mem(&j->w_sw);
  clm_release_mem(&j->w_scores);
  clm_release_mem(&j->w_yp);
  clm_release_mem(&j->w_yt);
}

/* Reads the confusion status as the chunk's last command and flushes. */
static clm_status read_cm_status(clm_context *ctx, struct mc_slot *b,
                                 struct mc_job *j, clm_error *err) {
  cl_int rc =
      clEnqueueReadBuffer(ctx->queue, b->cm_status, CL_FALSE, 0,
                          sizeof j->cm_status, j->cm_status, 0, NULL, &j->done);
  if (rc == CL_SUCCESS)
    rc = clFlush(ctx->queue);
  return rc == CL_SUCCESS ? CLM_OK
                          : clm_fail_cl(err, rc, "clEnqueueReadBuffer(status)");
}

static clm_status wait_job(struct mc_job *j, clm_error *err) {
  cl_int rc = clWaitForEvents(1, &j->done);
  return rc == CL_SUCCESS ? CLM_OK
                          : clm_fail_cl(err, rc, "clWaitForEvents(chunk)");
}

/* ---- labels ------------------------------------------------------------- */

/* The pair the device flagged; the true label of an ignored row is never
 * at fault, only its predicted one. */
static clm_status report_bad_pair(const struct cm_run *cm, const int32_t *yt,
                                  const int32_t *yp, uint64_t i,
                                  uint64_t offset, clm_error *err) {
  const uint32_t k = cm->k;
  const unsigned long long at = (unsigned long long)(offset + i);
  const int ignored = cm->has_ignore && yt[i] == cm->ignore;
  const int true_bad = !ignored && (yt[i] < 0 || (uint32_t)yt[i] >= k);
  const int32_t v = true_bad ? yt[i] : yp[i];
  clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, v,
           "index %llu: %s label %d is outside [0, %u)", at,
           true_bad ? "true" : "predicted", (int)v, (unsigned)k);
  if (err && !true_bad)
    err->input = CLM_INPUT_PRED;
  return CLM_ERR_BAD_LABEL;
}

struct labels_run {
  clm_context *ctx;
  struct mc_ws *ws;
  struct cm_run cm;
  const int32_t *yt, *yp;
  uint64_t base;
  uint64_t ignored; /* rows of the ignored label, from the device */
  struct mc_job job[2];
  /* Weights summed on the device (clm_cm_weighted_fits): the caller's
   * weights, a launch's slices read back, and their sums (K x K cells,
   * then the ignored rows' weight). */
  const float *w;
  int dev_w;
  double *wtmp, *wacc;
};

static clm_status labels_submit(void *self, int slot, uint64_t first,
                                uint32_t n, clm_error *err) {
  struct labels_run *r = self;
  clm_context *ctx = r->ctx;
  struct mc_slot *b = &r->ws->slot[slot];
  struct mc_job *j = &r->job[slot];
  const int32_t *yt = r->yt + first, *yp = r->yp + first;
  const size_t bytes = (size_t)n * sizeof(int32_t);
  j->first = first;
  j->n = n;
  cl_int rc = CL_SUCCESS;
  cl_event uploaded = NULL;
  clm_status st =
      clm_ensure_buffer(ctx, &b->cm_status, &b->cm_status_cap,
                        sizeof j->cm_status, CL_MEM_READ_WRITE, err);
  const float *w = r->dev_w ? r->w + first : NULL;
  if (st == CLM_OK && w)
    st = clm_ensure_buffer(ctx, &b->wsl, &b->wsl_cap,
                           clm_cm_wslice_bytes(&r->cm, n), CL_MEM_READ_WRITE,
                           err);
  if (st == CLM_OK && clm_can_wrap(ctx, yt) && clm_can_wrap(ctx, yp) &&
      (!w || clm_can_wrap(ctx, w))) {
    /* Host-unified device: count the caller's arrays in place. */
    j->w_yt = clm_wrap_host(ctx, CL_MEM_READ_ONLY, yt, bytes, &rc);
    if (rc == CL_SUCCESS)
      j->w_yp = clm_wrap_host(ctx, CL_MEM_READ_ONLY, yp, bytes, &rc);
    if (rc == CL_SUCCESS && w)
      j->w_sw = clm_wrap_host(ctx, CL_MEM_READ_ONLY, w, bytes, &rc);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR labels)");
  } else if (st == CLM_OK) {
    st = clm_ensure_buffer(ctx, &b->yt, &b->yt_cap, bytes, CL_MEM_READ_ONLY,
                           err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &b->yp, &b->yp_cap, bytes, CL_MEM_READ_WRITE,
                             err);
    if (st == CLM_OK && w)
      st = clm_ensure_buffer(ctx, &b->sw, &b->sw_cap, bytes, CL_MEM_READ_ONLY,
                             err);
    const clm_upload copies[3] = {
        {yt, b->yt, bytes}, {yp, b->yp, bytes}, {w, b->sw, bytes}};
    if (st == CLM_OK)
      st = clm_engine_upload(ctx, copies, w ? 3 : 2, &uploaded, err);
  }
  r->cm.weights = w ? (j->w_sw ? j->w_sw : b->sw) : NULL;
  r->cm.wslices = w ? b->wsl : NULL;
  if (st == CLM_OK)
    st = clm_cm_enqueue(&r->cm, j->w_yt ? j->w_yt : b->yt,
                        j->w_yp ? j->w_yp : b->yp, b->cm_status, n, uploaded,
                        err);
  if (uploaded)
    clReleaseEvent(uploaded);
  j->groups = r->cm.groups;
  if (st == CLM_OK)
    st = read_cm_status(ctx, b, j, err);
  return st;
}

/* Adds a weighted launch's per-group slices (slot `wsl`, `groups` of them)
 * into `cells` (K x K) and `*ignored`, in group order (replicas in order
 * within a cell): deterministic. `tmp` holds the slices read back. */
static clm_status add_wslices(const struct cm_run *cm, cl_mem wsl,
                              size_t groups, double *tmp, double *cells_acc,
                              double *ignored, clm_error *err) {
  const uint64_t cells = (uint64_t)cm->k * cm->k;
  const uint64_t reps = cm->replicas, stride = cells * reps + 1;
  const size_t bytes = groups * (size_t)stride * sizeof(double);
  if (!bytes)
    return CLM_OK;
  cl_int rc = clEnqueueReadBuffer(cm->ctx->queue, wsl, CL_TRUE, 0, bytes, tmp,
                                  0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(weighted cells)");
  for (size_t g = 0; g < groups; ++g) {
    const double *h = tmp + g * stride;
    for (uint64_t c = 0; c < cells; ++c)
      for (uint64_t q = 0; q < reps; ++q)
        cells_acc[c] += h[q * cells + c];
    *ignored += h[cells * reps];
  }
  return CLM_OK;
}

/* The first bad weight the weighted count flagged, reported as the host
 * check words it. */
static clm_status report_bad_weight(const float *w, uint64_t i, uint64_t at,
                                    clm_error *err) {
  clm_status st = clm_mc_check_weight_values(w + i, 1, at, err);
  if (st == CLM_OK) /* the memory changed under the call */
    st = clm_fail(err, CLM_ERR_BAD_WEIGHT, (int64_t)at, 0,
                  "index %llu: bad sample weight", (unsigned long long)at);
  return st;
}

static clm_status labels_collect(void *self, int slot, clm_error *err) {
  struct labels_run *r = self;
  struct mc_job *j = &r->job[slot];
  clm_status st = wait_job(j, err);
  if (st == CLM_OK && j->cm_status[CLM_CM_BAD_WEIGHTS] > 0) {
    /* Weights before labels, as the host check orders them. */
    const uint64_t i = j->first + j->cm_status[CLM_CM_FIRST_BAD_WEIGHT];
    st = report_bad_weight(r->w, i, r->base + i, err);
  }
  if (st == CLM_OK && j->cm_status[CLM_CM_BAD_COUNT] > 0)
    st = report_bad_pair(&r->cm, r->yt + j->first, r->yp + j->first,
                         j->cm_status[CLM_CM_FIRST_BAD], r->base + j->first,
                         err);
  if (st == CLM_OK)
    r->ignored += j->cm_status[CLM_CM_IGNORED];
  if (st == CLM_OK && r->dev_w)
    st = add_wslices(&r->cm, r->ws->slot[slot].wsl, j->groups, r->wtmp, r->wacc,
                     &r->wacc[(uint64_t)r->cm.k * r->cm.k], err);
  return st;
}

static clm_status labels_flush(void *self, clm_error *err) {
  struct labels_run *r = self;
  return clm_cm_flush(&r->cm, err);
}

static void labels_release(void *self, int slot) {
  struct labels_run *r = self;
  job_release(&r->job[slot]);
}

static clm_status update_labels(clm_context *ctx, clm_multiclass_state *state,
                                uint64_t base, const int32_t *y_true,
                                const int32_t *y_pred, const float *weights,
                                uint64_t n, clm_error *err) {
  if (!state || !state->confusion || (n > 0 && (!y_true || !y_pred)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_update_labels: NULL argument");
  /* The arguments first: weights iff the state is weighted. */
  clm_status st = clm_mc_check_weights(state, weights, 0, base, err);
  if (st != CLM_OK)
    return st;
  struct mc_ws *ws = clm_workspace(ctx, CLM_FAMILY_MULTICLASS, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  struct labels_run r = {.ctx = ctx,
                         .ws = ws,
                         .yt = y_true,
                         .yp = y_pred,
                         .base = base,
                         .w = weights};
  st = clm_cm_begin(ctx, ws, &r.cm, state->n_classes, n, err);
  if (st != CLM_OK)
    return st;
  r.cm.has_ignore = state->has_ignore_index;
  r.cm.ignore = state->ignore_index;
  /* Labels are light (8 bytes a sample) while each launch zeroes and
   * flushes its groups' counters: launch over larger chunks. */
  const uint64_t chunk =
      clm_engine_chunk_rows(ctx, sizeof(int32_t), 8, (uint64_t)1 << 30);
  /* Weighted: summed per cell on the device in the same pass where it can,
   * else checked here and summed on the host after the count. */
  r.dev_w = state->weighted && weights && n > 0 && clm_cm_weighted_fits(&r.cm);
  if (r.dev_w) {
    const uint64_t cells = (uint64_t)state->n_classes * state->n_classes;
    r.wtmp = clm_malloc(
        clm_cm_wslice_bytes(&r.cm, (uint32_t)(n < chunk ? n : chunk)));
    r.wacc = clm_calloc((size_t)cells + 1, sizeof(double));
    if (!r.wtmp || !r.wacc)
      st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the weighted cells");
  } else {
    st = clm_mc_check_weights(state, weights, n, base, err);
  }
  if (st != CLM_OK) {
    free(r.wtmp);
    free(r.wacc);
    clm_cm_end(&r.cm);
    return st;
  }
  const int copies = !(clm_can_wrap(ctx, y_true) && clm_can_wrap(ctx, y_pred) &&
                       (!r.dev_w || clm_can_wrap(ctx, weights)));
  const clm_task task = {.self = &r,
                         .n = n,
                         .chunk = chunk,
                         .pipelined = n > chunk && copies,
                         .submit = labels_submit,
                         .collect = labels_collect,
                         .flush = labels_flush,
                         .release = labels_release};
  st = clm_engine_run(ctx, &task, err);
  if (st == CLM_OK)
    st = clm_cm_finish(&r.cm, state, err);
  if (st == CLM_OK) {
    state->n += n - r.ignored;
    state->n_ignored += r.ignored;
    if (r.dev_w) {
      const uint64_t cells = (uint64_t)state->n_classes * state->n_classes;
      double w_sum = 0.0;
      for (uint64_t c = 0; c < cells; ++c) {
        state->w_confusion[c] += r.wacc[c];
        w_sum += r.wacc[c];
      }
      state->w_sum += w_sum;
      state->w_ignored += r.wacc[cells];
    } else if (state->weighted) {
      /* Every label is valid now: the weighted cells in row order. */
      struct mc_wsums acc = {0};
      clm_mc_weight_rows(state, y_true, y_pred, weights, n, 0,
                         state->w_confusion, &acc);
      state->w_sum += acc.w_sum;
      state->w_ignored += acc.w_ignored;
    }
  } else {
    clFinish(ctx->queue); /* nothing may still use the caller's memory */
  }
  clm_cm_end(&r.cm);
  free(r.wtmp);
  free(r.wacc);
  return st;
}

/* ---- scores ------------------------------------------------------------- */

/* The first bad score of a row the kernel flagged (flagged column `col`),
 * found again on the host: NaN, a probability outside [0, 1], or a logit
 * row whose scores are all -inf or all +inf. */
clm_status clm_mc_report_bad_row(const float *row, uint32_t k,
                                 clm_scores_kind kind, uint64_t r, uint64_t col,
                                 clm_error *err) {
  const unsigned long long at = (unsigned long long)r;
  uint32_t neg_inf = 0, pos_inf = 0;
  for (uint32_t c = 0; c < k; ++c) {
    const float v = row[c];
    if (isnan(v))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)r, v,
                      "row %llu, column %u: score is NaN", at, c);
    if (kind == CLM_SCORES_PROBS && (v < 0.0f || v > 1.0f))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)r, v,
                      "row %llu, column %u: probability %.9g is outside "
                      "[0, 1]",
                      at, c, (double)v);
    neg_inf += v == -INFINITY;
    pos_inf += v == INFINITY;
  }
  if (kind == CLM_SCORES_LOGITS && neg_inf == k)
    return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)r, -INFINITY,
                    "row %llu: every score is -inf (no class has any "
                    "probability)",
                    at);
  if (kind == CLM_SCORES_LOGITS && pos_inf == k)
    return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)r, INFINITY,
                    "row %llu: every score is +inf (inf - inf: the "
                    "probabilities are undefined)",
                    at);
  /* Not found again (the memory changed under the call): the kernel's. */
  return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)r, row[col],
                  "row %llu, column %llu: bad score %.9g", at,
                  (unsigned long long)col, (double)row[col]);
}

struct scores_run {
  clm_context *ctx;
  struct mc_ws *ws;
  struct cm_run cm;
  const clm_multiclass_state *state; /* its options, read only */
  const int32_t *yt;
  const float *scores;
  const float *weights; /* NULL: unweighted */
  int32_t *pred_out;
  clm_scores_kind kind;
  uint32_t top_k;
  uint64_t base;
  int by_rows;   /* the wide-row kernel */
  int opts;      /* the option kernels (clm_mc_has_options) */
  size_t tile;   /* rows per work-group */
  double ce_sum; /* in chunk order, group order within */
  uint64_t top_k_hits;
  uint64_t ignored;
  double w_top_k_hits;   /* likewise */
  double *w_cm;          /* this call's weighted cells (weighted states) */
  struct mc_wsums wsums; /* host sums in row order */
  struct mc_job job[2];
  /* The weighted cells summed on the device by the count of each chunk's
   * predictions (clm_cm_weighted_fits); `wtmp` holds a launch's slices. */
  int dev_w;
  double *wtmp;
};

/* A chunk's n x k scores, true labels and (w non-NULL) weights: wrapped in
 * place on host-unified devices (*w_scores, *w_yt, *w_sw), else uploaded
 * into the slot. Shared by the scores pass and the gradient pass. */
clm_status clm_mc_chunk_inputs(clm_context *ctx, struct mc_slot *b, uint64_t n,
                               uint32_t k, const float *s, const int32_t *yt,
                               const float *w, cl_mem *w_scores, cl_mem *w_yt,
                               cl_mem *w_sw, cl_event *uploaded,
                               clm_error *err) {
  const size_t sbytes = (size_t)n * k * sizeof(float);
  const size_t ybytes = (size_t)n * sizeof(int32_t);
  const size_t wbytes = (size_t)n * sizeof(float);
  cl_int rc = CL_SUCCESS;
  if (clm_can_wrap(ctx, s) && clm_can_wrap(ctx, yt) &&
      (!w || clm_can_wrap(ctx, w))) {
    *w_scores = clm_wrap_host(ctx, CL_MEM_READ_ONLY, s, sbytes, &rc);
    if (rc == CL_SUCCESS)
      *w_yt = clm_wrap_host(ctx, CL_MEM_READ_ONLY, yt, ybytes, &rc);
    if (rc == CL_SUCCESS && w)
      *w_sw = clm_wrap_host(ctx, CL_MEM_READ_ONLY, w, wbytes, &rc);
    return rc == CL_SUCCESS
               ? CLM_OK
               : clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR scores)");
  }
  clm_status st = clm_ensure_buffer(ctx, &b->scores, &b->scores_cap, sbytes,
                                    CL_MEM_READ_ONLY, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->yt, &b->yt_cap, ybytes, CL_MEM_READ_ONLY,
                           err);
  if (st == CLM_OK && w)
    st = clm_ensure_buffer(ctx, &b->sw, &b->sw_cap, wbytes, CL_MEM_READ_ONLY,
                           err);
  const clm_upload copies[3] = {
      {s, b->scores, sbytes}, {yt, b->yt, ybytes}, {w, b->sw, wbytes}};
  if (st == CLM_OK)
    st = clm_engine_upload(ctx, copies, w ? 3 : 2, uploaded, err);
  return st;
}

static clm_status scores_inputs(struct scores_run *r, struct mc_slot *b,
                                struct mc_job *j, const float *s,
                                const int32_t *yt, const float *w,
                                cl_event *uploaded, clm_error *err) {
  return clm_mc_chunk_inputs(r->ctx, b, j->n, r->cm.k, s, yt, w, &j->w_scores,
                             &j->w_yt, &j->w_sw, uploaded, err);
}

/* The argmax / cross-entropy / top-k pass, after the uploads. */
static clm_status scores_launch(struct scores_run *r, struct mc_slot *b,
                                struct mc_job *j, cl_mem m_scores, cl_mem m_yt,
                                cl_mem m_sw, cl_event uploaded,
                                clm_error *err) {
  clm_context *ctx = r->ctx;
  const size_t ls = ctx->local_size;
  static const cl_uint init[CLM_AM_STATUS] = {
      [CLM_AM_BAD_SCORES] = 0,
      [CLM_AM_FIRST_BAD_SCORE] = CLM_NO_BAD,
      [CLM_AM_BAD_LABELS] = 0,
      [CLM_AM_FIRST_BAD_LABEL] = CLM_NO_BAD}; /* outlives the queue */
  cl_int rc = clEnqueueWriteBuffer(ctx->queue, b->am_status, CL_FALSE, 0,
                                   sizeof init, init, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueWriteBuffer(status)");
  const cl_uint n_arg = j->n, k_arg = r->cm.k, topk_arg = r->top_k;
  const cl_int probs = r->kind == CLM_SCORES_PROBS;
  static const char *const names[2][2] = {
      {"clm_argmax_ce", "clm_argmax_ce_rows"},
      {"clm_argmax_ce_opt", "clm_argmax_ce_rows_opt"}};
  const cl_kernel kernels[2][2] = {
      {r->ws->k_argmax_ce, r->ws->k_argmax_ce_rows},
      {r->ws->k_argmax_ce_opt, r->ws->k_argmax_ce_rows_opt}};
  const char *name = names[r->opts][r->by_rows];
  clm_kargs ka = {kernels[r->opts][r->by_rows], CL_SUCCESS, 0};
  clm_karg(&ka, CLM_AM_ARG_SCORES, sizeof(cl_mem), &m_scores);
  clm_karg(&ka, CLM_AM_ARG_YT, sizeof(cl_mem), &m_yt);
  clm_karg(&ka, CLM_AM_ARG_N, sizeof n_arg, &n_arg);
  clm_karg(&ka, CLM_AM_ARG_K, sizeof k_arg, &k_arg);
  clm_karg(&ka, CLM_AM_ARG_PROBS, sizeof probs, &probs);
  clm_karg(&ka, CLM_AM_ARG_TOP_K, sizeof topk_arg, &topk_arg);
  clm_karg(&ka, CLM_AM_ARG_PRED, sizeof(cl_mem), &b->yp);
  clm_karg(&ka, CLM_AM_ARG_PARTIALS, sizeof(cl_mem), &b->partials);
  clm_karg(&ka, CLM_AM_ARG_HITS, sizeof(cl_mem), &b->hits);
  clm_karg(&ka, CLM_AM_ARG_STATUS, sizeof(cl_mem), &b->am_status);
  clm_karg(&ka, CLM_AM_ARG_LOCAL_SUMS,
           (r->opts ? CLM_AM_OPT_PARTIALS_PER_GROUP : 1) * ls *
               sizeof(cl_float),
           NULL);
  clm_karg(&ka, CLM_AM_ARG_LOCAL_COUNTS, ls * sizeof(cl_uint), NULL);
  if (r->opts) {
    const clm_multiclass_state *s = r->state;
    const cl_int has_ignore = s->has_ignore_index, ignore = s->ignore_index;
    const cl_int has_sw = r->weights != NULL;
    /* 1 - e and e / K rounded once from double. */
    const cl_float one_minus_e = (cl_float)(1.0 - s->label_smoothing);
    const cl_float e_over_k = (cl_float)(s->label_smoothing / r->cm.k);
    clm_karg(&ka, CLM_AM_ARG_HAS_IGNORE, sizeof has_ignore, &has_ignore);
    clm_karg(&ka, CLM_AM_ARG_IGNORE, sizeof ignore, &ignore);
    clm_karg(&ka, CLM_AM_ARG_CLASS_WEIGHT, sizeof(cl_mem),
             &r->ws->class_weight);
    /* Without weights any buffer stands in; the kernel never reads it. */
    clm_karg(&ka, CLM_AM_ARG_SAMPLE_WEIGHT, sizeof(cl_mem),
             has_sw ? &m_sw : &m_yt);
    clm_karg(&ka, CLM_AM_ARG_HAS_SW, sizeof has_sw, &has_sw);
    clm_karg(&ka, CLM_AM_ARG_ONE_MINUS_E, sizeof one_minus_e, &one_minus_e);
    clm_karg(&ka, CLM_AM_ARG_E_OVER_K, sizeof e_over_k, &e_over_k);
  }
  clm_status st = clm_kargs_status(&ka, name, err);
  if (st != CLM_OK)
    return st;
  const size_t global = j->groups * ls;
  rc = clEnqueueNDRangeKernel(ctx->queue, ka.kernel, 1, NULL, &global, &ls,
                              uploaded ? 1 : 0, uploaded ? &uploaded : NULL,
                              NULL);
  if (rc != CL_SUCCESS) {
    char what[64];
    snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s)", name);
    return clm_fail_cl(err, rc, what);
  }
  return CLM_OK;
}

/* Results back without blocking: status, partials, hits, predictions. */
static clm_status scores_read(struct scores_run *r, struct mc_slot *b,
                              struct mc_job *j, clm_error *err) {
  clm_context *ctx = r->ctx;
  cl_int rc =
      clEnqueueReadBuffer(ctx->queue, b->am_status, CL_FALSE, 0,
                          sizeof j->am_status, j->am_status, 0, NULL, NULL);
  const size_t per_group = r->opts ? CLM_AM_OPT_PARTIALS_PER_GROUP : 1;
  if (rc == CL_SUCCESS)
    rc = clEnqueueReadBuffer(ctx->queue, b->partials, CL_FALSE, 0,
                             j->groups * per_group * sizeof(float), j->partials,
                             0, NULL, NULL);
  if (rc == CL_SUCCESS)
    rc = clEnqueueReadBuffer(ctx->queue, b->hits, CL_FALSE, 0,
                             j->groups * sizeof(cl_uint), j->hits, 0, NULL,
                             NULL);
  int32_t *preds = r->pred_out ? r->pred_out + j->first : j->pred_host;
  if (rc == CL_SUCCESS && preds)
    rc = clEnqueueReadBuffer(ctx->queue, b->yp, CL_FALSE, 0,
                             (size_t)j->n * sizeof(int32_t), preds, 0, NULL,
                             NULL);
  return rc == CL_SUCCESS
             ? CLM_OK
             : clm_fail_cl(err, rc, "clEnqueueReadBuffer(partials)");
}

static clm_status scores_submit(void *self, int slot, uint64_t first,
                                uint32_t n, clm_error *err) {
  struct scores_run *r = self;
  clm_context *ctx = r->ctx;
  struct mc_slot *b = &r->ws->slot[slot];
  struct mc_job *j = &r->job[slot];
  j->first = first;
  j->n = n;
  j->groups = (n + r->tile - 1) / r->tile;
  clm_status st =
      clm_ensure_buffer(ctx, &b->yp, &b->yp_cap, (size_t)n * sizeof(int32_t),
                        CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->partials, &b->partials_cap,
                           j->groups *
                               (r->opts ? CLM_AM_OPT_PARTIALS_PER_GROUP : 1) *
                               sizeof(float),
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->hits, &b->hits_cap,
                           j->groups * sizeof(cl_uint), CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->am_status, &b->am_status_cap,
                           sizeof j->am_status, CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->cm_status, &b->cm_status_cap,
                           sizeof j->cm_status, CL_MEM_READ_WRITE, err);
  cl_event uploaded = NULL;
  if (st == CLM_OK)
    st = scores_inputs(r, b, j, r->scores + first * r->cm.k, r->yt + first,
                       r->weights ? r->weights + first : NULL, &uploaded, err);
  cl_mem m_scores = j->w_scores ? j->w_scores : b->scores;
  cl_mem m_yt = j->w_yt ? j->w_yt : b->yt;
  cl_mem m_sw = j->w_sw ? j->w_sw : b->sw;
  if (st == CLM_OK)
    st = scores_launch(r, b, j, m_scores, m_yt, m_sw, uploaded, err);
  if (uploaded)
    clReleaseEvent(uploaded);
  if (st == CLM_OK)
    st = scores_read(r, b, j, err);
  /* The matrix counts the kernel's predictions; its own label check cannot
   * fire after the argmax pass checked the true labels. Weighted on the
   * device, it also sums and checks the weights. */
  if (st == CLM_OK && r->dev_w)
    st = clm_ensure_buffer(ctx, &b->wsl, &b->wsl_cap,
                           clm_cm_wslice_bytes(&r->cm, n), CL_MEM_READ_WRITE,
                           err);
  r->cm.weights = r->dev_w ? m_sw : NULL;
  r->cm.wslices = r->dev_w ? b->wsl : NULL;
  if (st == CLM_OK)
    st = clm_cm_enqueue(&r->cm, m_yt, b->yp, b->cm_status, n, NULL, err);
  j->cm_groups = r->cm.groups;
  if (st == CLM_OK)
    st = read_cm_status(ctx, b, j, err);
  return st;
}

static clm_status scores_collect(void *self, int slot, clm_error *err) {
  struct scores_run *r = self;
  struct mc_job *j = &r->job[slot];
  const uint32_t k = r->cm.k;
  clm_status st = wait_job(j, err);
  if (st != CLM_OK)
    return st;
  if (j->cm_status[CLM_CM_BAD_WEIGHTS] > 0) {
    /* Weights first, as the host check orders them. */
    const uint64_t i = j->first + j->cm_status[CLM_CM_FIRST_BAD_WEIGHT];
    return report_bad_weight(r->weights, i, r->base + i, err);
  }
  if (j->am_status[CLM_AM_BAD_LABELS] > 0) {
    const uint64_t i = j->am_status[CLM_AM_FIRST_BAD_LABEL];
    const int32_t v = r->yt[j->first + i];
    return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)(r->base + j->first + i),
                    v, "index %llu: true label %d is outside [0, %u)",
                    (unsigned long long)(r->base + j->first + i), (int)v,
                    (unsigned)k);
  }
  if (j->am_status[CLM_AM_BAD_SCORES] > 0) {
    const uint64_t flat = j->am_status[CLM_AM_FIRST_BAD_SCORE];
    const uint64_t row = j->first + flat / k;
    return clm_mc_report_bad_row(r->scores + row * k, k, r->kind, r->base + row,
                                 flat % k, err);
  }
  if (j->cm_status[CLM_CM_BAD_COUNT] > 0) /* cannot happen: checked above */
    return clm_fail(err, CLM_ERR_BAD_LABEL, -1, 0,
                    "the device counted labels outside [0, %u)", (unsigned)k);
  if (!r->opts) {
    for (size_t g = 0; g < j->groups; ++g) {
      r->ce_sum += j->partials[g];
      r->top_k_hits += j->hits[g];
    }
    return CLM_OK;
  }
  const size_t pg = CLM_AM_OPT_PARTIALS_PER_GROUP;
  for (size_t g = 0; g < j->groups; ++g) {
    r->ce_sum += j->partials[g * pg + CLM_AM_OPT_LOSS];
    r->w_top_k_hits += j->partials[g * pg + CLM_AM_OPT_WHITS];
    r->top_k_hits += j->hits[g];
  }
  r->ignored += j->cm_status[CLM_CM_IGNORED];
  if (r->dev_w) /* the loss denominator then follows from the cells */
    return add_wslices(&r->cm, r->ws->slot[slot].wsl, j->cm_groups, r->wtmp,
                       r->w_cm, &r->wsums.w_ignored, err);
  /* The loss denominator and, weighted, the cells of the device's
   * predictions, in row order. */
  const int32_t *preds = r->pred_out ? r->pred_out + j->first : j->pred_host;
  clm_mc_weight_rows(r->state, r->yt + j->first, preds,
                     r->weights ? r->weights + j->first : NULL, j->n, 1,
                     r->w_cm, &r->wsums);
  return CLM_OK;
}

static clm_status scores_flush(void *self, clm_error *err) {
  struct scores_run *r = self;
  return clm_cm_flush(&r->cm, err);
}

static void scores_release(void *self, int slot) {
  struct scores_run *r = self;
  job_release(&r->job[slot]);
}

static clm_status check_scores_call(const clm_multiclass_state *state,
                                    const int32_t *y_true, const float *scores,
                                    uint64_t n, clm_scores_kind kind,
                                    clm_error *err) {
  if (!state || !state->confusion || (n > 0 && (!y_true || !scores)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_update_scores: NULL argument");
  if (kind != CLM_SCORES_LOGITS && kind != CLM_SCORES_PROBS)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_update_scores: unknown score kind");
  if (state->has_scores && state->kind != kind)
    return clm_fail(
        err, CLM_ERR_STATE_MISMATCH, -1, 0, "the state holds %s; cannot add %s",
        state->kind == CLM_SCORES_PROBS ? "probabilities" : "logits",
        kind == CLM_SCORES_PROBS ? "probabilities" : "logits");
  return CLM_OK;
}

/* The option kernels' class weights on the device: K floats, 1 where the
 * state has none (the products are then exact). */
static clm_status upload_class_weights(clm_context *ctx, struct mc_ws *ws,
                                       const clm_multiclass_state *s,
                                       clm_error *err) {
  const uint32_t k = s->n_classes;
  float *w = clm_malloc((size_t)k * sizeof(float));
  if (!w)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate %u class weights", (unsigned)k);
  for (uint32_t c = 0; c < k; ++c)
    w[c] = s->class_weight ? (float)s->class_weight[c] : 1.0f;
  clm_status st =
      clm_ensure_buffer(ctx, &ws->class_weight, &ws->class_weight_cap,
                        (size_t)k * sizeof(float), CL_MEM_READ_ONLY, err);
  if (st == CLM_OK) {
    const cl_int rc =
        clEnqueueWriteBuffer(ctx->queue, ws->class_weight, CL_TRUE, 0,
                             (size_t)k * sizeof(float), w, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
      st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(class weights)");
  }
  free(w);
  return st;
}

/* Host scratch of the run: per-slot partials, hits and (weighted, without
 * pred_out) predictions; the call's weighted cells. */
static clm_status scores_scratch(struct scores_run *r, size_t max_groups,
                                 uint64_t max_rows, clm_error *err) {
  const size_t per_group = r->opts ? CLM_AM_OPT_PARTIALS_PER_GROUP : 1;
  const int host_preds = r->weights && !r->pred_out && !r->dev_w;
  for (int i = 0; i < 2; ++i) {
    struct mc_job *j = &r->job[i];
    j->partials = clm_malloc(max_groups * per_group * sizeof(float));
    j->hits = clm_malloc(max_groups * sizeof(cl_uint));
    if (host_preds)
      j->pred_host = clm_malloc((size_t)max_rows * sizeof(int32_t));
    if (!j->partials || !j->hits || (host_preds && !j->pred_host))
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "cannot allocate host scratch");
  }
  if (r->weights) {
    const uint64_t cells = (uint64_t)r->cm.k * r->cm.k;
    const double host = clm_host_memory_bytes();
    if ((host > 0 && (double)cells * sizeof(double) > host) ||
        !(r->w_cm = clm_calloc((size_t)cells, sizeof(double))))
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "cannot allocate the %u x %u weighted cells of this "
                      "update",
                      (unsigned)r->cm.k, (unsigned)r->cm.k);
  }
  return CLM_OK;
}

/* Adds a successful run to the state. */
static void scores_commit(const struct scores_run *r,
                          clm_multiclass_state *state, uint64_t n,
                          clm_scores_kind kind) {
  const uint64_t counted = n - r->ignored;
  state->n += counted;
  state->has_scores = 1;
  state->kind = kind;
  state->n_scored += counted;
  state->ce_sum += r->ce_sum;
  state->top_k_hits += r->top_k_hits;
  state->n_ignored += r->ignored;
  const uint64_t k = state->n_classes, cells = k * k;
  struct mc_wsums ws = r->wsums;
  if (r->dev_w) {
    /* Summed on the device per cell: every row counted is scored; the
     * denominator weighs each true class's row of cells. */
    ws.w_sum = ws.ce_norm = 0.0;
    for (uint64_t t = 0; t < k; ++t) {
      double row = 0.0;
      for (uint64_t p = 0; p < k; ++p)
        row += r->w_cm[t * k + p];
      ws.w_sum += row;
      ws.ce_norm += state->class_weight ? row * state->class_weight[t] : row;
    }
    ws.w_scored = ws.w_sum;
  }
  /* Option-less: the plain mean over the scored rows. */
  state->ce_norm += r->opts ? ws.ce_norm : (double)n;
  if (!state->weighted)
    return;
  for (uint64_t c = 0; c < cells; ++c)
    state->w_confusion[c] += r->w_cm[c];
  state->w_sum += ws.w_sum;
  state->w_ignored += ws.w_ignored;
  state->w_scored += ws.w_scored;
  state->w_top_k_hits += r->w_top_k_hits;
}

static clm_status update_scores(clm_context *ctx, clm_multiclass_state *state,
                                uint64_t base, const int32_t *y_true,
                                const float *scores, const float *weights,
                                uint64_t n, clm_scores_kind kind,
                                int32_t *pred_out, clm_error *err) {
  clm_status st = check_scores_call(state, y_true, scores, n, kind, err);
  if (st == CLM_OK) /* the arguments; the values below */
    st = clm_mc_check_weights(state, weights, 0, base, err);
  if (st != CLM_OK)
    return st;
  struct mc_ws *ws = clm_workspace(ctx, CLM_FAMILY_MULTICLASS, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  const uint32_t k = state->n_classes;
  /* Wide rows on CPUs: each work-item walks whole rows with vector loads
   * along the columns; otherwise rows are interleaved across lanes. */
  const int by_rows =
      !ctx->strided && k > CLM_AM_PACKED_MAX_K && k >= 2 * ctx->vec_width;
  struct scores_run r = {.ctx = ctx,
                         .ws = ws,
                         .state = state,
                         .yt = y_true,
                         .scores = scores,
                         .weights = weights,
                         .pred_out = pred_out,
                         .kind = kind,
                         .top_k = state->top_k,
                         .base = base,
                         .by_rows = by_rows,
                         .opts = clm_mc_has_options(state),
                         .tile = by_rows ? ctx->local_size * CLM_ROWS_PER_ITEM
                                         : ctx->local_size * ctx->items *
                                               ctx->vec_width};
  /* Rows per launch: the score block fits one allocation and its flat
   * indices fit in 32 bits. */
  const uint64_t chunk = clm_engine_chunk_rows(ctx, (uint64_t)k * sizeof(float),
                                               1, 0x7fffffffu / k);
  const uint64_t max_rows = chunk < n ? chunk : n;
  const size_t max_groups = (size_t)(max_rows + r.tile - 1) / r.tile + 1;
  st = clm_cm_begin(ctx, ws, &r.cm, k, n, err);
  r.cm.has_ignore = state->has_ignore_index;
  r.cm.ignore = state->ignore_index;
  /* Weighted: the count of the predictions sums (and checks) the weights
   * on the device where it can; else they are checked here and summed on
   * the host. */
  r.dev_w = st == CLM_OK && state->weighted && weights && n > 0 &&
            clm_cm_weighted_fits(&r.cm);
  if (st == CLM_OK && r.dev_w) {
    if (!(r.wtmp = clm_malloc(clm_cm_wslice_bytes(&r.cm, (uint32_t)max_rows))))
      st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the weighted cells");
  } else if (st == CLM_OK) {
    st = clm_mc_check_weights(state, weights, n, base, err);
  }
  if (st == CLM_OK)
    st = scores_scratch(&r, max_groups, max_rows, err);
  if (st == CLM_OK && r.opts)
    st = upload_class_weights(ctx, ws, state, err);
  const int copies = !(clm_can_wrap(ctx, scores) && clm_can_wrap(ctx, y_true) &&
                       (!weights || clm_can_wrap(ctx, weights)));
  const clm_task task = {.self = &r,
                         .n = n,
                         .chunk = chunk,
                         .pipelined = n > chunk && copies,
                         .submit = scores_submit,
                         .collect = scores_collect,
                         .flush = scores_flush,
                         .release = scores_release};
  if (st == CLM_OK)
    st = clm_engine_run(ctx, &task, err);
  if (st == CLM_OK)
    st = clm_cm_finish(&r.cm, state, err);
  if (st == CLM_OK)
    scores_commit(&r, state, n, kind);
  else
    clFinish(ctx->queue); /* nothing may still use the caller's memory */
  for (int i = 0; i < 2; ++i) {
    free(r.job[i].pred_host);
    free(r.job[i].hits);
    free(r.job[i].partials);
  }
  free(r.w_cm);
  free(r.wtmp);
  clm_cm_end(&r.cm);
  return st;
}

/* ---- public entry points (under the context's lock) ---------------------- */

clm_status clm_multiclass_update_labels_at(clm_context *ctx,
                                           clm_multiclass_state *state,
                                           uint64_t base, const int32_t *y_true,
                                           const int32_t *y_pred, uint64_t n,
                                           clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_update_labels: NULL context");
  pthread_mutex_lock(&ctx->lock);
  clm_status st = update_labels(ctx, state, base, y_true, y_pred, NULL, n, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

clm_status clm_multiclass_update_labels(clm_context *ctx,
                                        clm_multiclass_state *state,
                                        const int32_t *y_true,
                                        const int32_t *y_pred, uint64_t n,
                                        clm_error *err) {
  return clm_multiclass_update_labels_at(ctx, state, 0, y_true, y_pred, n, err);
}

clm_status clm_multiclass_update_scores_at(clm_context *ctx,
                                           clm_multiclass_state *state,
                                           uint64_t base, const int32_t *y_true,
                                           const float *scores, uint64_t n,
                                           clm_scores_kind kind,
                                           int32_t *pred_out, clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_update_scores: NULL context");
  pthread_mutex_lock(&ctx->lock);
  clm_status st = update_scores(ctx, state, base, y_true, scores, NULL, n, kind,
                                pred_out, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

clm_status clm_multiclass_update_scores(clm_context *ctx,
                                        clm_multiclass_state *state,
                                        const int32_t *y_true,
                                        const float *scores, uint64_t n,
                                        clm_scores_kind kind, int32_t *pred_out,
                                        clm_error *err) {
  return clm_multiclass_update_scores_at(ctx, state, 0, y_true, scores, n, kind,
                                         pred_out, err);
}

clm_status clm_multiclass_update_labels_weighted(
    clm_context *ctx, clm_multiclass_state *state, uint64_t base,
    const int32_t *y_true, const int32_t *y_pred, const float *weights,
    uint64_t n, clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_update_labels_weighted: NULL context");
  pthread_mutex_lock(&ctx->lock);
  clm_status st =
      update_labels(ctx, state, base, y_true, y_pred, weights, n, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

clm_status clm_multiclass_update_scores_weighted(
    clm_context *ctx, clm_multiclass_state *state, uint64_t base,
    const int32_t *y_true, const float *scores, const float *weights,
    uint64_t n, clm_scores_kind kind, int32_t *pred_out, clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_update_scores_weighted: NULL context");
  pthread_mutex_lock(&ctx->lock);
  clm_status st = update_scores(ctx, state, base, y_true, scores, weights, n,
                                kind, pred_out, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}
