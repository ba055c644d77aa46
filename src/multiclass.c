/* Multi-class evaluation, host side: confusion strategies, chunking. */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLM_NO_BAD 0xffffffffu

enum { CM_LOCAL = 0, CM_DIAG = 1, CM_GLOBAL = 2, CM_PRIVATE = 3 };

/* Bytes of physical memory on this host, or 0 when unknown. */
static double host_memory_bytes(void) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
}

clm_status clm_multiclass_state_init(clm_multiclass_state *s, uint32_t k,
                                     uint32_t top_k) {
  if (!s)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(s, 0, sizeof *s);
  if (k < 2 || top_k > k)
    return CLM_ERR_INVALID_ARGUMENT;
  const uint64_t cells = (uint64_t)k * k;
  if (cells > SIZE_MAX / sizeof(uint64_t))
    return CLM_ERR_OUT_OF_MEMORY;
  /* A matrix larger than the machine is never reserved (calloc would
   * succeed lazily and fail only when counted into). */
  const double host = host_memory_bytes();
  if (host > 0 && (double)cells * sizeof(uint64_t) > host)
    return CLM_ERR_OUT_OF_MEMORY;
  s->confusion = clm_calloc((size_t)cells, sizeof(uint64_t));
  if (!s->confusion)
    return CLM_ERR_OUT_OF_MEMORY;
  s->n_classes = k;
  s->top_k = top_k;
  return CLM_OK;
}

void clm_multiclass_state_release(clm_multiclass_state *s) {
  if (!s)
    return;
  free(s->confusion);
  memset(s, 0, sizeof *s);
}

clm_status clm_multiclass_scores_from_f64_at(const double *in, uint64_t n,
                                             uint64_t base, uint32_t k,
                                             clm_scores_kind kind, float *out,
                                             clm_error *err) {
  clm_error_clear(err);
  if (k < 1 || (n > 0 && (!in || !out)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_scores_from_f64: bad argument");
  for (uint64_t r = 0; r < n; ++r) {
    const double *row = in + r * k;
    float *o = out + r * k;
    uint32_t arg = 0, neg_inf = 0, pos_inf = 0;
    for (uint32_t c = 0; c < k; ++c) {
      const double v = row[c];
      if (isnan(v) || (kind == CLM_SCORES_PROBS && (v < 0.0 || v > 1.0)))
        return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + r), v,
                        isnan(v) ? "row %llu, column %u: score is NaN"
                                 : "row %llu, column %u: probability %.17g is "
                                   "outside [0, 1]",
                        (unsigned long long)(base + r), c, v);
      o[c] = v > (double)FLT_MAX    ? INFINITY
             : v < -(double)FLT_MAX ? -INFINITY
                                    : (float)v;
      neg_inf += v == -INFINITY;
      if (v > row[arg])
        arg = c;
    }
    /* Logit rows without a cross-entropy (as the kernels report them),
     * named here by their stored values. */
    if (kind == CLM_SCORES_LOGITS && neg_inf == k)
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + r), row[0],
                      "row %llu: every score is -inf (no class has any "
                      "probability)",
                      (unsigned long long)(base + r));
    /* Rounding is monotonic, so it can only tie other columns with the
     * maximum: lift the maximum one float32 step, or where it cannot rise
     * (a probability of 1, +inf) step the tied columns down. */
    const float m = o[arg];
    int tied = 0;
    for (uint32_t c = 0; c < k; ++c)
      tied |= c != arg && o[c] == m && row[c] < row[arg];
    if (tied) {
      if (kind == CLM_SCORES_PROBS ? m < 1.0f : m < INFINITY) {
        o[arg] = nextafterf(m, INFINITY);
      } else {
        for (uint32_t c = 0; c < k; ++c)
          if (c != arg && o[c] == m)
            o[c] = nextafterf(m, -INFINITY);
      }
    }
    for (uint32_t c = 0; c < k; ++c)
      pos_inf += o[c] == INFINITY;
    if (kind == CLM_SCORES_LOGITS && pos_inf == k) {
      /* Every column tied at the maximum, which is +inf as float32. */
      if (isinf(row[0]))
        return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + r), row[0],
                        "row %llu: every score is +inf (inf - inf: the "
                        "probabilities are undefined)",
                        (unsigned long long)(base + r));
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)(base + r), row[0],
                      "row %llu: every score is %.17g, +inf as float32: "
                      "subtract the row's maximum first",
                      (unsigned long long)(base + r), row[0]);
    }
  }
  return CLM_OK;
}

clm_status clm_multiclass_scores_from_f64(const double *in, uint64_t n,
                                          uint32_t k, clm_scores_kind kind,
                                          float *out, clm_error *err) {
  return clm_multiclass_scores_from_f64_at(in, n, 0, k, kind, out, err);
}

clm_status clm_multiclass_merge(clm_multiclass_state *dst,
                                const clm_multiclass_state *src) {
  if (!dst || !src)
    return CLM_ERR_INVALID_ARGUMENT;
  if (dst->n_classes != src->n_classes || dst->top_k != src->top_k ||
      (dst->has_scores && src->has_scores && dst->kind != src->kind))
    return CLM_ERR_STATE_MISMATCH;
  const uint64_t cells = (uint64_t)dst->n_classes * dst->n_classes;
  for (uint64_t c = 0; c < cells; ++c)
    dst->confusion[c] += src->confusion[c];
  dst->n += src->n;
  if (src->has_scores) {
    dst->has_scores = 1;
    dst->kind = src->kind;
  }
  dst->n_scored += src->n_scored;
  dst->ce_sum += src->ce_sum;
  dst->top_k_hits += src->top_k_hits;
  return CLM_OK;
}

/* Local-memory budget for privatized counters. */
static uint64_t local_budget(const clm_context *ctx) {
  uint64_t budget = ctx->info.local_mem_bytes / 2;
  return budget > 256 * 1024 ? 256 * 1024 : budget;
}

/* CPU devices, matrices too large for local memory: this many groups each
 * count into a private K x K slice of global scratch, within a budget. */
#define PRIVATE_BUDGET ((uint64_t)256 << 20)
static uint64_t private_groups(const clm_context *ctx) {
  return 4 * (uint64_t)(ctx->info.compute_units ? ctx->info.compute_units : 1);
}

/* A confusion-matrix count in progress: per-launch uint32 counts accumulate
 * in the device matrix across chunks and are added to the caller's uint64
 * matrix once at the end, or into `spill` first when a single update passes
 * 2^32 samples (so that an error later leaves the caller's state as it
 * was). */
struct cm_run {
  uint32_t k;
  int mode;
  uint32_t replicas;
  uint64_t pending; /* samples counted on the device since the last flush */
  uint64_t *spill;  /* NULL until needed */
};

static clm_status cm_zero(clm_context *ctx, uint64_t cells, clm_error *err) {
  const cl_uint zero = 0;
  cl_int rc =
      clEnqueueFillBuffer(ctx->queue, ctx->ws.cm, &zero, sizeof zero, 0,
                          (size_t)cells * sizeof(cl_uint), 0, NULL, NULL);
  return rc == CL_SUCCESS
             ? CLM_OK
             : clm_fail_cl(err, rc, "clEnqueueFillBuffer(confusion)");
}

/* Fails unless the K x K counts of an update of n samples fit: on the
 * device the uint32 counters (and the per-group slices of the private
 * strategy), on the host the state's uint64 matrix, the counters again
 * (mapped to flush them, or the device's memory itself where it is the
 * host's) and the uint64 spill of an update past flush_samples. */
static clm_status cm_check_memory(const clm_context *ctx, uint32_t k, int mode,
                                  uint32_t replicas, uint64_t n,
                                  clm_error *err) {
  const double cells = (double)k * (double)k;
  const double counters = cells * sizeof(cl_uint);
  const double slices =
      mode == CM_PRIVATE
          ? (double)private_groups(ctx) * cells * replicas * sizeof(cl_uint)
          : 0.0;
  const double device = counters + slices;
  const double state = cells * sizeof(uint64_t);
  const double spill = n > ctx->flush_samples ? state : 0.0;
  const double host =
      state + counters + spill + (ctx->info.host_unified_memory ? slices : 0.0);
  const double host_limit = host_memory_bytes();
  const double device_limit = (double)ctx->info.global_mem_bytes;
  if ((device_limit > 0 && device > device_limit) ||
      (host_limit > 0 && host > host_limit))
    return clm_fail(
        err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
        "not enough memory for %u classes: the %u x %u confusion matrix "
        "needs %.2f GB of host memory (%.2f GB of uint64 counts%s + %.2f GB "
        "of uint32 device counters%s) and %.2f GB of device memory; this "
        "host has %.2f GB, the device %.2f GB",
        k, k, k, host / 1e9, state / 1e9, spill > 0 ? ", twice" : "",
        (counters + (ctx->info.host_unified_memory ? slices : 0.0)) / 1e9,
        slices > 0 ? " and per-group slices" : "", device / 1e9,
        host_limit / 1e9, device_limit / 1e9);
  return CLM_OK;
}

static clm_status cm_begin(clm_context *ctx, struct cm_run *run, uint32_t k,
                           uint64_t n, clm_error *err) {
  memset(run, 0, sizeof *run);
  run->k = k;
  const uint64_t cells = (uint64_t)k * k, budget = local_budget(ctx);
  const uint64_t local = ctx->info.local_mem_bytes;
  int mode = ctx->cm_force_mode;
  if (mode < 0) {
    /* CPUs (one work-item per group): private slices without atomics, as
     * an OpenMP loop would; GPUs: local memory while the matrix fits. */
    if (ctx->cm_local_size == 1 &&
        private_groups(ctx) * cells * sizeof(cl_uint) <= PRIVATE_BUDGET)
      mode = CM_PRIVATE;
    else if (cells * sizeof(cl_uint) <= budget)
      mode = CM_LOCAL;
    else
      mode = k * sizeof(cl_uint) <= budget ? CM_DIAG : CM_GLOBAL;
  }
  /* A forced private strategy runs anywhere (launched one work-item per
   * group); automatically it is only chosen for CPUs. */
  if (mode == CM_LOCAL && cells * sizeof(cl_uint) > local)
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "the local confusion strategy needs %llu bytes of local "
                    "memory for K = %u; the device has %llu",
                    (unsigned long long)(cells * sizeof(cl_uint)), k,
                    (unsigned long long)local);
  if (mode == CM_DIAG && k * sizeof(cl_uint) > local)
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "the diagonal confusion strategy needs %llu bytes of "
                    "local memory for K = %u; the device has %llu",
                    (unsigned long long)(k * sizeof(cl_uint)), k,
                    (unsigned long long)local);
  run->mode = mode;
  /* Small matrices get replicas, so runs of one cell do not serialize. */
  run->replicas = 1;
  if (mode == CM_LOCAL && k <= 32 && 4 * cells * sizeof(cl_uint) <= budget)
    run->replicas = 4;
  if (mode == CM_PRIVATE && k <= 32)
    run->replicas = 4;
  clm_status st = cm_check_memory(ctx, k, mode, run->replicas, n, err);
  if (st != CLM_OK)
    return st;
  if (cells * sizeof(cl_uint) > ctx->info.max_alloc_bytes)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "a %u x %u confusion matrix needs %.2f GB in one device "
                    "buffer; the device's largest is %.2f GB",
                    k, k, (double)(cells * sizeof(cl_uint)) / 1e9,
                    (double)ctx->info.max_alloc_bytes / 1e9);
  struct clm_workspace *ws = &ctx->ws;
  st = clm_ensure_buffer(ctx, &ws->cm, &ws->cm_cap,
                         (size_t)cells * sizeof(cl_uint), CL_MEM_READ_WRITE,
                         err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &ws->mstatus, &ws->mstatus_cap,
                           4 * sizeof(cl_uint), CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = cm_zero(ctx, cells, err);
  return st;
}

/* Adds the device matrix into `dst` and zeroes it on the device. */
static clm_status cm_flush(clm_context *ctx, struct cm_run *run, uint64_t *dst,
                           clm_error *err) {
  const uint64_t cells = (uint64_t)run->k * run->k;
  cl_int rc;
  /* Mapping avoids a fresh host copy of K^2 counts (zero-copy on devices
   * that share host memory). */
  cl_uint *counts =
      clEnqueueMapBuffer(ctx->queue, ctx->ws.cm, CL_TRUE, CL_MAP_READ, 0,
                         (size_t)cells * sizeof(cl_uint), 0, NULL, NULL, &rc);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueMapBuffer(confusion)");
  for (uint64_t c = 0; c < cells; ++c)
    dst[c] += counts[c];
  rc = clEnqueueUnmapMemObject(ctx->queue, ctx->ws.cm, counts, 0, NULL, NULL);
  if (rc != CL_SUCCESS) {
    /* A mapped buffer is never freed: try once more before failing. */
    clEnqueueUnmapMemObject(ctx->queue, ctx->ws.cm, counts, 0, NULL, NULL);
    return clm_fail_cl(err, rc, "clEnqueueUnmapMemObject(confusion)");
  }
  run->pending = 0;
  return cm_zero(ctx, cells, err);
}

/* Counts n (yt, yp) pairs already on the device. On a label outside
 * [0, K), returns CLM_ERR_BAD_LABEL with the chunk-relative index. */
static clm_status cm_count(clm_context *ctx, struct cm_run *run, cl_mem yt,
                           cl_mem yp, uint32_t n, uint64_t *first_bad,
                           clm_error *err) {
  struct clm_workspace *ws = &ctx->ws;
  const uint32_t k = run->k;
  const uint64_t cells = (uint64_t)k * k;
  clm_status st;
  if (run->pending + n > ctx->flush_samples) {
    if (!run->spill &&
        !(run->spill = clm_calloc((size_t)cells, sizeof(uint64_t))))
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "cannot allocate %llu confusion cells",
                      (unsigned long long)cells);
    if ((st = cm_flush(ctx, run, run->spill, err)) != CLM_OK)
      return st;
  }
  const size_t ls = run->mode == CM_PRIVATE ? 1 : ctx->cm_local_size;
  const uint64_t slots = run->mode == CM_LOCAL  ? cells * run->replicas
                         : run->mode == CM_DIAG ? k
                                                : 1;
  /* Few large groups: enough work to amortize zeroing and flushing each
   * group's counters, and still several groups per compute unit. */
  const uint64_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  const uint64_t spread_groups =
      run->mode == CM_PRIVATE ? private_groups(ctx) : 8 * cu;
  uint64_t per_group = ((uint64_t)n + spread_groups - 1) / spread_groups;
  if (run->mode != CM_PRIVATE) {
    const uint64_t floor_ = ls * 256 > 4 * slots ? ls * 256 : 4 * slots;
    if (per_group < floor_)
      per_group = floor_;
  }
  if (per_group == 0)
    per_group = 1;
  const size_t groups = n ? (size_t)((n + per_group - 1) / per_group) : 0;
  static const cl_uint init[2] = {0, CLM_NO_BAD}; /* outlives the queue */
  cl_int rc = clEnqueueWriteBuffer(ctx->queue, ws->mstatus, CL_FALSE, 0,
                                   sizeof init, init, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueWriteBuffer(status)");
  if (run->mode == CM_PRIVATE) {
    st = clm_ensure_buffer(ctx, &ws->cm_scratch, &ws->cm_scratch_cap,
                           (size_t)(groups ? groups : 1) * cells *
                               run->replicas * sizeof(cl_uint),
                           CL_MEM_READ_WRITE, err);
    if (st != CLM_OK)
      return st;
    cl_kernel kp = ctx->k_confusion_private;
    const cl_uint n_arg = n, k_arg = k, pg_arg = (cl_uint)per_group,
                  rep_arg = run->replicas;
    rc = clSetKernelArg(kp, 0, sizeof(cl_mem), &yt);
    rc |= clSetKernelArg(kp, 1, sizeof(cl_mem), &yp);
    rc |= clSetKernelArg(kp, 2, sizeof n_arg, &n_arg);
    rc |= clSetKernelArg(kp, 3, sizeof k_arg, &k_arg);
    rc |= clSetKernelArg(kp, 4, sizeof pg_arg, &pg_arg);
    rc |= clSetKernelArg(kp, 5, sizeof rep_arg, &rep_arg);
    rc |= clSetKernelArg(kp, 6, sizeof(cl_mem), &ws->cm);
    rc |= clSetKernelArg(kp, 7, sizeof(cl_mem), &ws->mstatus);
    rc |= clSetKernelArg(kp, 8, sizeof(cl_mem), &ws->cm_scratch);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clSetKernelArg(clm_confusion_private)");
    if (groups > 0) {
      rc = clEnqueueNDRangeKernel(ctx->queue, kp, 1, NULL, &groups, &ls, 0,
                                  NULL, NULL);
      if (rc != CL_SUCCESS)
        return clm_fail_cl(err, rc,
                           "clEnqueueNDRangeKernel(clm_confusion_private)");
    }
    goto read_status;
  }
  cl_kernel kc = ctx->k_confusion;
  const cl_uint n_arg = n, k_arg = k, pg_arg = (cl_uint)per_group,
                rep_arg = run->replicas;
  const cl_int mode_arg = run->mode;
  rc = clSetKernelArg(kc, 0, sizeof(cl_mem), &yt);
  rc |= clSetKernelArg(kc, 1, sizeof(cl_mem), &yp);
  rc |= clSetKernelArg(kc, 2, sizeof n_arg, &n_arg);
  rc |= clSetKernelArg(kc, 3, sizeof k_arg, &k_arg);
  rc |= clSetKernelArg(kc, 4, sizeof pg_arg, &pg_arg);
  rc |= clSetKernelArg(kc, 5, sizeof mode_arg, &mode_arg);
  rc |= clSetKernelArg(kc, 6, sizeof rep_arg, &rep_arg);
  rc |= clSetKernelArg(kc, 7, sizeof(cl_mem), &ws->cm);
  rc |= clSetKernelArg(kc, 8, sizeof(cl_mem), &ws->mstatus);
  rc |= clSetKernelArg(kc, 9, (size_t)slots * sizeof(cl_uint), NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clSetKernelArg(clm_confusion)");
  if (groups > 0) {
    const size_t global = groups * ls;
    rc = clEnqueueNDRangeKernel(ctx->queue, kc, 1, NULL, &global, &ls, 0, NULL,
                                NULL);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(clm_confusion)");
  }
read_status:;
  cl_uint status[2];
  rc = clEnqueueReadBuffer(ctx->queue, ws->mstatus, CL_TRUE, 0, sizeof status,
                           status, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(status)");
  if (status[0] > 0) {
    *first_bad = status[1];
    return CLM_ERR_BAD_LABEL;
  }
  run->pending += n;
  return CLM_OK;
}

/* Adds everything counted into the state (only called when no error). */
static clm_status cm_finish(clm_context *ctx, struct cm_run *run,
                            clm_multiclass_state *state, clm_error *err) {
  const uint64_t cells = (uint64_t)run->k * run->k;
  if (!run->spill)
    return cm_flush(ctx, run, state->confusion, err);
  clm_status st = cm_flush(ctx, run, run->spill, err);
  if (st == CLM_OK)
    for (uint64_t c = 0; c < cells; ++c)
      state->confusion[c] += run->spill[c];
  return st;
}

static void cm_end(struct cm_run *run) {
  free(run->spill);
  run->spill = NULL;
}

static clm_status report_bad_pair(const int32_t *yt, const int32_t *yp,
                                  uint32_t k, uint64_t i, uint64_t offset,
                                  clm_error *err) {
  const unsigned long long at = (unsigned long long)(offset + i);
  const int true_bad = yt[i] < 0 || (uint32_t)yt[i] >= k;
  const int32_t v = true_bad ? yt[i] : yp[i];
  return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, v,
                  "index %llu: %s label %d is outside [0, %u)", at,
                  true_bad ? "true" : "predicted", (int)v, (unsigned)k);
}

/* Rows per launch: the context's chunk (times `scale` unless the caller set
 * it), within one device allocation and 2^30 rows (uint32 counts). */
static uint64_t chunk_rows(const clm_context *ctx, uint64_t row_bytes,
                           uint64_t scale) {
  uint64_t chunk = ctx->chunk_samples * (ctx->chunk_forced ? 1 : scale);
  if (chunk > ((uint64_t)1 << 30))
    chunk = (uint64_t)1 << 30;
  uint64_t by_alloc = ctx->info.max_alloc_bytes / row_bytes;
  if (by_alloc && chunk > by_alloc)
    chunk = by_alloc;
  return chunk ? chunk : 1;
}

static clm_status update_labels(clm_context *ctx, clm_multiclass_state *state,
                                uint64_t base, const int32_t *y_true,
                                const int32_t *y_pred, uint64_t n,
                                clm_error *err) {
  if (!ctx || !state || !state->confusion || (n > 0 && (!y_true || !y_pred)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multiclass_update_labels: NULL argument");
  struct cm_run run;
  clm_status st = cm_begin(ctx, &run, state->n_classes, n, err);
  if (st != CLM_OK)
    return st;
  /* Labels are light (8 bytes a sample) while each launch zeroes and
   * flushes its groups' counters: launch over larger chunks. */
  const uint64_t chunk = chunk_rows(ctx, sizeof(int32_t), 8);
  struct clm_workspace *ws = &ctx->ws;
  for (uint64_t off = 0; off < n; off += chunk) {
    const uint32_t m = (uint32_t)(n - off < chunk ? n - off : chunk);
    const size_t bytes = (size_t)m * sizeof(int32_t);
    cl_mem w_yt = NULL, w_yp = NULL;
    cl_int rc = CL_SUCCESS;
    if (clm_can_wrap(ctx, y_true + off) && clm_can_wrap(ctx, y_pred + off)) {
      /* Host-unified device: count the caller's arrays in place. */
      w_yt = clm_wrap_host(ctx, CL_MEM_READ_ONLY, y_true + off, bytes, &rc);
      if (rc == CL_SUCCESS)
        w_yp = clm_wrap_host(ctx, CL_MEM_READ_ONLY, y_pred + off, bytes, &rc);
      if (rc != CL_SUCCESS)
        st = clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR labels)");
    } else {
      st = clm_ensure_buffer(ctx, &ws->yt, &ws->yt_cap, bytes, CL_MEM_READ_ONLY,
                             err);
      if (st == CLM_OK)
        st = clm_ensure_buffer(ctx, &ws->yp, &ws->yp_cap, bytes,
                               CL_MEM_READ_WRITE, err);
      if (st == CLM_OK)
        rc = clEnqueueWriteBuffer(ctx->queue, ws->yt, CL_FALSE, 0, bytes,
                                  y_true + off, 0, NULL, NULL);
      if (st == CLM_OK && rc == CL_SUCCESS)
        rc = clEnqueueWriteBuffer(ctx->queue, ws->yp, CL_FALSE, 0, bytes,
                                  y_pred + off, 0, NULL, NULL);
      if (st == CLM_OK && rc != CL_SUCCESS)
        st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(labels)");
    }
    uint64_t bad = 0;
    if (st == CLM_OK)
      st = cm_count(ctx, &run, w_yt ? w_yt : ws->yt, w_yp ? w_yp : ws->yp, m,
                    &bad, err);
    if (st == CLM_ERR_BAD_LABEL)
      st = report_bad_pair(y_true + off, y_pred + off, run.k, bad, base + off,
                           err);
    if (st != CLM_OK)
      clFinish(ctx->queue);
    clm_release_mem(&w_yp);
    clm_release_mem(&w_yt);
    if (st != CLM_OK)
      goto done;
    clm_progress(ctx, off + m, n);
  }
  st = cm_finish(ctx, &run, state, err);
  if (st == CLM_OK)
    state->n += n;
done:
  if (st != CLM_OK)
    clFinish(ctx->queue); /* nothing may still use the caller's memory */
  cm_end(&run);
  return st;
}

/* The first bad score of a row the kernel flagged (flagged column `col`),
 * found again on the host: NaN, a probability outside [0, 1], or a logit
 * row whose scores are all -inf or all +inf. */
static clm_status report_bad_row(const float *row, uint32_t k,
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

static clm_status update_scores(clm_context *ctx, clm_multiclass_state *state,
                                uint64_t base, const int32_t *y_true,
                                const float *scores, uint64_t n,
                                clm_scores_kind kind, int32_t *pred_out,
                                clm_error *err) {
  if (!ctx || !state || !state->confusion || (n > 0 && (!y_true || !scores)))
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
  const uint32_t k = state->n_classes;
  struct cm_run run;
  clm_status st = cm_begin(ctx, &run, k, n, err);
  if (st != CLM_OK)
    return st;
  double ce_sum = 0;
  uint64_t top_k_hits = 0;
  /* Rows per launch: the score block fits one allocation and its flat
   * indices fit in 32 bits. */
  uint64_t chunk = chunk_rows(ctx, (uint64_t)k * sizeof(float), 1);
  if (chunk > 0x7fffffffu / k)
    chunk = 0x7fffffffu / k;
  struct clm_workspace *ws = &ctx->ws;
  const size_t ls = ctx->local_size;
  /* Wide rows on CPUs: each work-item walks whole rows with vector loads
   * along the columns; otherwise rows are interleaved across lanes. */
  const int by_rows = !ctx->strided && k >= 2 * ctx->vec_width;
  const size_t tile =
      by_rows ? ls * CLM_ROWS_PER_ITEM : ls * ctx->items * ctx->vec_width;
  const size_t max_groups =
      (size_t)((chunk < n ? chunk : n) + tile - 1) / tile + 1;
  float *partials = clm_malloc(max_groups * sizeof(float));
  cl_uint *hits = clm_malloc(max_groups * sizeof(cl_uint));
  if (!partials || !hits) {
    st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                  "cannot allocate host scratch");
    goto done;
  }
  for (uint64_t off = 0; off < n; off += chunk) {
    const uint32_t m = (uint32_t)(n - off < chunk ? n - off : chunk);
    const size_t groups = (m + tile - 1) / tile;
    st =
        clm_ensure_buffer(ctx, &ws->scores, &ws->scores_cap,
                          (size_t)m * k * sizeof(float), CL_MEM_READ_ONLY, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &ws->yt, &ws->yt_cap, m * sizeof(int32_t),
                             CL_MEM_READ_ONLY, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &ws->yp, &ws->yp_cap, m * sizeof(int32_t),
                             CL_MEM_READ_WRITE, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &ws->partials, &ws->partials_cap,
                             groups * sizeof(float), CL_MEM_READ_WRITE, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &ws->mhits, &ws->mhits_cap,
                             groups * sizeof(cl_uint), CL_MEM_READ_WRITE, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &ws->mstatus, &ws->mstatus_cap,
                             4 * sizeof(cl_uint), CL_MEM_READ_WRITE, err);
    if (st != CLM_OK)
      goto done;
    cl_int rc = clEnqueueWriteBuffer(ctx->queue, ws->scores, CL_FALSE, 0,
                                     (size_t)m * k * sizeof(float),
                                     scores + off * k, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
      rc = clEnqueueWriteBuffer(ctx->queue, ws->yt, CL_FALSE, 0,
                                m * sizeof(int32_t), y_true + off, 0, NULL,
                                NULL);
    static const cl_uint init[4] = {0, CLM_NO_BAD, 0, CLM_NO_BAD};
    if (rc == CL_SUCCESS)
      rc = clEnqueueWriteBuffer(ctx->queue, ws->mstatus, CL_FALSE, 0,
                                sizeof init, init, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(scores)");
      goto done;
    }
    cl_kernel ka = by_rows ? ctx->k_argmax_ce_rows : ctx->k_argmax_ce;
    const cl_uint n_arg = m, k_arg = k, topk_arg = state->top_k;
    const cl_int probs = kind == CLM_SCORES_PROBS;
    rc = clSetKernelArg(ka, 0, sizeof(cl_mem), &ws->scores);
    rc |= clSetKernelArg(ka, 1, sizeof(cl_mem), &ws->yt);
    rc |= clSetKernelArg(ka, 2, sizeof n_arg, &n_arg);
    rc |= clSetKernelArg(ka, 3, sizeof k_arg, &k_arg);
    rc |= clSetKernelArg(ka, 4, sizeof probs, &probs);
    rc |= clSetKernelArg(ka, 5, sizeof topk_arg, &topk_arg);
    rc |= clSetKernelArg(ka, 6, sizeof(cl_mem), &ws->yp);
    rc |= clSetKernelArg(ka, 7, sizeof(cl_mem), &ws->partials);
    rc |= clSetKernelArg(ka, 8, sizeof(cl_mem), &ws->mhits);
    rc |= clSetKernelArg(ka, 9, sizeof(cl_mem), &ws->mstatus);
    rc |= clSetKernelArg(ka, 10, ls * sizeof(cl_float), NULL);
    rc |= clSetKernelArg(ka, 11, ls * sizeof(cl_uint), NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clSetKernelArg(clm_argmax_ce)");
      goto done;
    }
    const size_t global = groups * ls;
    rc = clEnqueueNDRangeKernel(ctx->queue, ka, 1, NULL, &global, &ls, 0, NULL,
                                NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(clm_argmax_ce)");
      goto done;
    }
    cl_uint status[4];
    rc = clEnqueueReadBuffer(ctx->queue, ws->mstatus, CL_TRUE, 0, sizeof status,
                             status, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueReadBuffer(status)");
      goto done;
    }
    if (status[2] > 0) {
      const uint64_t r = off + status[3];
      st =
          clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)(base + r), y_true[r],
                   "index %llu: true label %d is outside [0, %u)",
                   (unsigned long long)(base + r), (int)y_true[r], (unsigned)k);
      goto done;
    }
    if (status[0] > 0) {
      st = report_bad_row(scores + (off + status[1] / k) * k, k, kind,
                          base + off + status[1] / k, status[1] % k, err);
      goto done;
    }
    rc = clEnqueueReadBuffer(ctx->queue, ws->partials, CL_TRUE, 0,
                             groups * sizeof(float), partials, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
      rc = clEnqueueReadBuffer(ctx->queue, ws->mhits, CL_TRUE, 0,
                               groups * sizeof(cl_uint), hits, 0, NULL, NULL);
    if (rc == CL_SUCCESS && pred_out)
      rc = clEnqueueReadBuffer(ctx->queue, ws->yp, CL_TRUE, 0,
                               m * sizeof(int32_t), pred_out + off, 0, NULL,
                               NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueReadBuffer(partials)");
      goto done;
    }
    for (size_t g = 0; g < groups; ++g) {
      ce_sum += partials[g];
      top_k_hits += hits[g];
    }
    uint64_t bad = 0;
    st = cm_count(ctx, &run, ws->yt, ws->yp, m, &bad, err);
    if (st == CLM_ERR_BAD_LABEL) /* cannot happen: both were checked */
      st = clm_fail(err, st, (int64_t)(base + off + bad), 0,
                    "index %llu: label outside [0, %u)",
                    (unsigned long long)(base + off + bad), (unsigned)k);
    if (st != CLM_OK)
      goto done;
    clm_progress(ctx, off + m, n);
  }
  st = cm_finish(ctx, &run, state, err);
  if (st == CLM_OK) {
    state->n += n;
    state->has_scores = 1;
    state->kind = kind;
    state->n_scored += n;
    state->ce_sum += ce_sum;
    state->top_k_hits += top_k_hits;
  }
done:
  if (st != CLM_OK)
    clFinish(ctx->queue); /* nothing may still use the caller's memory */
  free(hits);
  free(partials);
  cm_end(&run);
  return st;
}

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
  clm_status st = update_labels(ctx, state, base, y_true, y_pred, n, err);
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
  clm_status st =
      update_scores(ctx, state, base, y_true, scores, n, kind, pred_out, err);
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
