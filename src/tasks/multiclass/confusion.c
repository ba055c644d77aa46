/* Confusion matrices on the device: strategy choice, memory checks,
 * counting launches, flushing uint32 device counts into uint64. */
#include "tasks/multiclass/multiclass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Local-memory budget for privatized counters. */
static uint64_t local_budget(const clm_context *ctx) {
  uint64_t budget = ctx->info.local_mem_bytes / 2;
  return budget > 256 * 1024 ? 256 * 1024 : budget;
}

/* CPU devices: this many groups each count into a private K x K slice of
 * global scratch (CLM_CM_WIDTH-byte counters), within a
 * budget. */
#define PRIVATE_BUDGET ((uint64_t)256 << 20)
static uint64_t private_counter_bytes(uint32_t k) {
  return CLM_CM_WIDTH(k);
}
/* Four groups per compute unit (balance when a core is busy elsewhere),
 * or one where four slices would not fit the budget. */
static uint64_t private_groups(const clm_context *ctx, uint32_t k) {
  const uint64_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  const uint64_t slice = (uint64_t)k * k * private_counter_bytes(k);
  return 4 * cu * slice <= PRIVATE_BUDGET ? 4 * cu : cu;
}

static clm_status cm_zero(clm_context *ctx, struct mc_ws *ws, uint64_t cells,
                          clm_error *err) {
  const cl_uint zero = 0;
  cl_int rc =
      clEnqueueFillBuffer(ctx->queue, ws->cm, &zero, sizeof zero, 0,
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
  const double slices = mode == CLM_CM_PRIVATE
                            ? (double)private_groups(ctx, k) * cells *
                                  replicas * private_counter_bytes(k)
                            : 0.0;
  const double device = counters + slices;
  const double state = cells * sizeof(uint64_t);
  const double spill = n > ctx->flush_samples ? state : 0.0;
  const double host =
      state + counters + spill + (ctx->info.host_unified_memory ? slices : 0.0);
  const double host_limit = clm_host_memory_bytes();
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

clm_status clm_cm_begin(clm_context *ctx, struct mc_ws *ws, struct cm_run *run,
                        uint32_t k, uint64_t n, clm_error *err) {
  memset(run, 0, sizeof *run);
  run->ctx = ctx;
  run->ws = ws;
  run->k = k;
  const uint64_t cells = (uint64_t)k * k, budget = local_budget(ctx);
  const uint64_t local = ctx->info.local_mem_bytes;
  int mode = ctx->cm_force_mode;
  if (mode < 0) {
    /* CPUs (one work-item per group): private slices without atomics, as
     * an OpenMP loop would; GPUs: local memory while the matrix fits. */
    if (ctx->cm_local_size == 1 &&
        private_groups(ctx, k) * cells * private_counter_bytes(k) <=
            PRIVATE_BUDGET)
      mode = CLM_CM_PRIVATE;
    else if (cells * sizeof(cl_uint) <= budget)
      mode = CLM_CM_LOCAL;
    else
      mode = k * sizeof(cl_uint) <= budget ? CLM_CM_DIAG : CLM_CM_GLOBAL;
  }
  /* A forced private strategy runs anywhere (launched one work-item per
   * group); automatically it is only chosen for CPUs. */
  if (mode == CLM_CM_LOCAL && cells * sizeof(cl_uint) > local)
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "the local confusion strategy needs %llu bytes of local "
                    "memory for K = %u; the device has %llu",
                    (unsigned long long)(cells * sizeof(cl_uint)), k,
                    (unsigned long long)local);
  if (mode == CLM_CM_DIAG && k * sizeof(cl_uint) > local)
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "the diagonal confusion strategy needs %llu bytes of "
                    "local memory for K = %u; the device has %llu",
                    (unsigned long long)(k * sizeof(cl_uint)), k,
                    (unsigned long long)local);
  run->mode = mode;
  /* Small matrices get replicas, so runs of one cell do not serialize. */
  run->replicas = 1;
  if (mode == CLM_CM_LOCAL && k <= 32 && 4 * cells * sizeof(cl_uint) <= budget)
    run->replicas = 4;
  if (mode == CLM_CM_PRIVATE && k <= 32)
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
  st = clm_ensure_buffer(ctx, &ws->cm, &ws->cm_cap,
                         (size_t)cells * sizeof(cl_uint), CL_MEM_READ_WRITE,
                         err);
  if (st == CLM_OK)
    st = cm_zero(ctx, ws, cells, err);
  return st;
}

/* Adds the device matrix into `dst` and zeroes it on the device. */
static clm_status cm_drain(struct cm_run *run, uint64_t *dst, clm_error *err) {
  clm_context *ctx = run->ctx;
  cl_mem cm = run->ws->cm;
  const uint64_t cells = (uint64_t)run->k * run->k;
  cl_int rc;
  /* Mapping avoids a fresh host copy of K^2 counts (zero-copy on devices
   * that share host memory). */
  cl_uint *counts =
      clEnqueueMapBuffer(ctx->queue, cm, CL_TRUE, CL_MAP_READ, 0,
                         (size_t)cells * sizeof(cl_uint), 0, NULL, NULL, &rc);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueMapBuffer(confusion)");
  for (uint64_t c = 0; c < cells; ++c)
    dst[c] += counts[c];
  rc = clEnqueueUnmapMemObject(ctx->queue, cm, counts, 0, NULL, NULL);
  if (rc != CL_SUCCESS) {
    /* A mapped buffer is never freed: try once more before failing. */
    clEnqueueUnmapMemObject(ctx->queue, cm, counts, 0, NULL, NULL);
    return clm_fail_cl(err, rc, "clEnqueueUnmapMemObject(confusion)");
  }
  return cm_zero(ctx, run->ws, cells, err);
}

clm_status clm_cm_flush(struct cm_run *run, clm_error *err) {
  const uint64_t cells = (uint64_t)run->k * run->k;
  if (!run->spill &&
      !(run->spill = clm_calloc((size_t)cells, sizeof(uint64_t))))
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate %llu confusion cells",
                    (unsigned long long)cells);
  return cm_drain(run, run->spill, err);
}

/* Work-groups for n pairs and the pairs each counts: few large groups, to
 * amortize zeroing and flushing each group's counters, and still several
 * groups per compute unit. */
static size_t cm_groups(const struct cm_run *run, uint32_t n, size_t ls,
                        uint64_t slots, uint64_t *per_group) {
  const clm_context *ctx = run->ctx;
  const uint64_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
  const uint64_t spread =
      run->mode == CLM_CM_PRIVATE ? private_groups(ctx, run->k) : 8 * cu;
  uint64_t pg = ((uint64_t)n + spread - 1) / spread;
  if (run->mode != CLM_CM_PRIVATE) {
    const uint64_t floor_ = ls * 256 > 4 * slots ? ls * 256 : 4 * slots;
    if (pg < floor_)
      pg = floor_;
  }
  *per_group = pg ? pg : 1;
  return n ? (size_t)((n + *per_group - 1) / *per_group) : 0;
}

/* The groups a launch of n pairs uses in the private strategy. */
static size_t private_launch_groups(const struct cm_run *run, uint32_t n) {
  uint64_t per_group;
  return cm_groups(run, n, 1, 1, &per_group);
}

size_t clm_cm_wslice_bytes(const struct cm_run *run, uint32_t n) {
  const uint64_t cells = (uint64_t)run->k * run->k;
  return private_launch_groups(run, n) * (size_t)(cells * run->replicas + 1) *
         sizeof(double);
}

int clm_cm_weighted_fits(const struct cm_run *run) {
  const uint64_t cells = (uint64_t)run->k * run->k;
  const double bytes = (double)private_groups(run->ctx, run->k) *
                       (double)(cells * run->replicas + 1) * sizeof(double);
  return run->mode == CLM_CM_PRIVATE && run->ws->k_confusion_private_w &&
         bytes <= (double)((uint64_t)64 << 20);
}

/* Adds the slices of a private count's `groups` groups into the device
 * matrix (clm_confusion_private_sum), a span of cells per work-item; the
 * in-order queue runs it after the count and before the next one. */
static clm_status cm_private_sum(struct cm_run *run, size_t groups,
                                 clm_error *err) {
  clm_context *ctx = run->ctx;
  struct mc_ws *ws = run->ws;
  const cl_ulong cells = (cl_ulong)run->k * run->k;
  const uint64_t min_span = 4096; /* cells: amortizes a work-item's start */
  uint64_t items = private_groups(ctx, run->k);
  if (items > (cells + min_span - 1) / min_span)
    items = (cells + min_span - 1) / min_span;
  const cl_ulong span = (cells + items - 1) / items;
  const cl_uint slices = (cl_uint)(groups * run->replicas);
  const cl_uint width = CLM_CM_WIDTH(run->k);
  clm_kargs ka = {ws->k_confusion_private_sum, CL_SUCCESS, 0};
  clm_karg(&ka, CLM_CMS_ARG_SCRATCH, sizeof(cl_mem), &ws->cm_scratch);
  clm_karg(&ka, CLM_CMS_ARG_CELLS, sizeof cells, &cells);
  clm_karg(&ka, CLM_CMS_ARG_SLICES, sizeof slices, &slices);
  clm_karg(&ka, CLM_CMS_ARG_WIDTH, sizeof width, &width);
  clm_karg(&ka, CLM_CMS_ARG_SPAN, sizeof span, &span);
  clm_karg(&ka, CLM_CMS_ARG_CM, sizeof(cl_mem), &ws->cm);
  clm_status st = clm_kargs_status(&ka, "clm_confusion_private_sum", err);
  if (st != CLM_OK)
    return st;
  const size_t global = (size_t)((cells + span - 1) / span), one = 1;
  cl_int rc = clEnqueueNDRangeKernel(ctx->queue, ka.kernel, 1, NULL, &global,
                                     &one, 0, NULL, NULL);
  return rc == CL_SUCCESS ? CLM_OK
                          : clm_fail_cl(err, rc,
                                        "clEnqueueNDRangeKernel("
                                        "clm_confusion_private_sum)");
}

clm_status clm_cm_enqueue(struct cm_run *run, cl_mem yt, cl_mem yp,
                          cl_mem status, uint32_t n, cl_event wait,
                          clm_error *err) {
  clm_context *ctx = run->ctx;
  struct mc_ws *ws = run->ws;
  const uint32_t k = run->k;
  const uint64_t cells = (uint64_t)k * k;
  const int private_ = run->mode == CLM_CM_PRIVATE;
  const size_t ls = private_ ? 1 : ctx->cm_local_size;
  const uint64_t slots = run->mode == CLM_CM_LOCAL  ? cells * run->replicas
                         : run->mode == CLM_CM_DIAG ? k
                                                    : 1;
  uint64_t per_group;
  const size_t groups = cm_groups(run, n, ls, slots, &per_group);
  run->groups = groups;
  /* Outlives the queue. */
  static const cl_uint init[CLM_CM_STATUS] = {[CLM_CM_BAD_COUNT] = 0,
                                              [CLM_CM_FIRST_BAD] = CLM_NO_BAD,
                                              [CLM_CM_IGNORED] = 0,
                                              [CLM_CM_BAD_WEIGHTS] = 0,
                                              [CLM_CM_FIRST_BAD_WEIGHT] =
                                                  CLM_NO_BAD};
  cl_int rc = clEnqueueWriteBuffer(ctx->queue, status, CL_FALSE, 0, sizeof init,
                                   init, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueWriteBuffer(status)");
  const cl_uint n_arg = n, k_arg = k, pg_arg = (cl_uint)per_group,
                rep_arg = run->replicas;
  const cl_int ignore = run->ignore;
  const int ig = run->has_ignore; /* the _ignore kernels */
  clm_kargs ka;
  const char *name;
  if (private_) {
    clm_status st =
        clm_ensure_buffer(ctx, &ws->cm_scratch, &ws->cm_scratch_cap,
                          (size_t)(groups ? groups : 1) * cells *
                              run->replicas * private_counter_bytes(k),
                          CL_MEM_READ_WRITE, err);
    if (st != CLM_OK)
      return st;
    const int w = run->weights != NULL;
    ka = (clm_kargs){
        w ? (ig ? ws->k_confusion_private_w_ignore : ws->k_confusion_private_w)
        : ig ? ws->k_confusion_private_ignore
             : ws->k_confusion_private,
        CL_SUCCESS, 0};
    name =
        w ? (ig ? "clm_confusion_private_w_ignore" : "clm_confusion_private_w")
        : ig ? "clm_confusion_private_ignore"
             : "clm_confusion_private";
    clm_karg(&ka, CLM_CMP_ARG_YT, sizeof(cl_mem), &yt);
    clm_karg(&ka, CLM_CMP_ARG_YP, sizeof(cl_mem), &yp);
    clm_karg(&ka, CLM_CMP_ARG_N, sizeof n_arg, &n_arg);
    clm_karg(&ka, CLM_CMP_ARG_K, sizeof k_arg, &k_arg);
    clm_karg(&ka, CLM_CMP_ARG_PER_GROUP, sizeof pg_arg, &pg_arg);
    clm_karg(&ka, CLM_CMP_ARG_REPLICAS, sizeof rep_arg, &rep_arg);
    clm_karg(&ka, CLM_CMP_ARG_CM, sizeof(cl_mem), &ws->cm);
    clm_karg(&ka, CLM_CMP_ARG_STATUS, sizeof(cl_mem), &status);
    clm_karg(&ka, CLM_CMP_ARG_SCRATCH, sizeof(cl_mem), &ws->cm_scratch);
    if (w) {
      clm_karg(&ka, CLM_CMPW_ARG_WEIGHTS, sizeof(cl_mem), &run->weights);
      clm_karg(&ka, CLM_CMPW_ARG_WSLICES, sizeof(cl_mem), &run->wslices);
      if (ig)
        clm_karg(&ka, CLM_CMPW_ARG_IGNORE, sizeof ignore, &ignore);
    } else if (ig) {
      clm_karg(&ka, CLM_CMP_ARG_IGNORE, sizeof ignore, &ignore);
    }
  } else {
    const cl_int mode_arg = run->mode;
    ka = (clm_kargs){ig ? ws->k_confusion_ignore : ws->k_confusion, CL_SUCCESS,
                     0};
    name = ig ? "clm_confusion_ignore" : "clm_confusion";
    clm_karg(&ka, CLM_CM_ARG_YT, sizeof(cl_mem), &yt);
    clm_karg(&ka, CLM_CM_ARG_YP, sizeof(cl_mem), &yp);
    clm_karg(&ka, CLM_CM_ARG_N, sizeof n_arg, &n_arg);
    clm_karg(&ka, CLM_CM_ARG_K, sizeof k_arg, &k_arg);
    clm_karg(&ka, CLM_CM_ARG_PER_GROUP, sizeof pg_arg, &pg_arg);
    clm_karg(&ka, CLM_CM_ARG_MODE, sizeof mode_arg, &mode_arg);
    clm_karg(&ka, CLM_CM_ARG_REPLICAS, sizeof rep_arg, &rep_arg);
    clm_karg(&ka, CLM_CM_ARG_CM, sizeof(cl_mem), &ws->cm);
    clm_karg(&ka, CLM_CM_ARG_STATUS, sizeof(cl_mem), &status);
    clm_karg(&ka, CLM_CM_ARG_LOCAL_HIST, (size_t)slots * sizeof(cl_uint), NULL);
    if (ig)
      clm_karg(&ka, CLM_CM_ARG_IGNORE, sizeof ignore, &ignore);
  }
  clm_status st = clm_kargs_status(&ka, name, err);
  if (st != CLM_OK || groups == 0)
    return st;
  const size_t global = groups * ls;
  rc = clEnqueueNDRangeKernel(ctx->queue, ka.kernel, 1, NULL, &global, &ls,
                              wait ? 1 : 0, wait ? &wait : NULL, NULL);
  if (rc != CL_SUCCESS) {
    char what[64];
    snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s)", name);
    return clm_fail_cl(err, rc, what);
  }
  return private_ ? cm_private_sum(run, groups, err) : CLM_OK;
}

clm_status clm_cm_finish(struct cm_run *run, clm_multiclass_state *state,
                         clm_error *err) {
  const uint64_t cells = (uint64_t)run->k * run->k;
  if (!run->spill)
    return cm_drain(run, state->confusion, err);
  clm_status st = cm_drain(run, run->spill, err);
  if (st == CLM_OK)
    for (uint64_t c = 0; c < cells; ++c)
      state->confusion[c] += run->spill[c];
  return st;
}

void clm_cm_end(struct cm_run *run) {
  free(run->spill);
  run->spill = NULL;
}
