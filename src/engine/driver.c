/* The chunk driver (see engine.h). */
#include "engine/engine.h"

#include <stdio.h>
#include <string.h>

uint64_t clm_engine_chunk_rows(const clm_context *ctx, uint64_t row_bytes,
                               uint64_t scale, uint64_t cap) {
  uint64_t chunk = ctx->chunk_samples * (ctx->chunk_forced ? 1 : scale);
  if (chunk > cap)
    chunk = cap;
  const uint64_t by_alloc =
      row_bytes ? ctx->info.max_alloc_bytes / row_bytes : chunk;
  if (by_alloc && chunk > by_alloc)
    chunk = by_alloc;
  return chunk ? chunk : 1;
}

/* Collects a live slot; the slot is released whatever the outcome. */
static clm_status collect(const clm_task *t, int *live, int slot,
                          clm_error *err) {
  if (!live[slot])
    return CLM_OK;
  live[slot] = 0;
  clm_status st = t->collect(t->self, slot, err);
  t->release(t->self, slot);
  return st;
}

clm_status clm_engine_run(clm_context *ctx, const clm_task *t, clm_error *err) {
  int live[2] = {0, 0};
  int turn = 0;
  uint64_t since_flush = 0;
  clm_status st = CLM_OK;
  for (uint64_t first = 0; first < t->n && st == CLM_OK; first += t->chunk) {
    const uint32_t m =
        (uint32_t)(t->n - first < t->chunk ? t->n - first : t->chunk);
    if (t->flush && since_flush + m > ctx->flush_samples) {
      /* Every chunk counted so far must be in before the flush reads. */
      st = collect(t, live, turn ^ 1, err);
      if (st == CLM_OK)
        st = t->flush(t->self, err);
      since_flush = 0;
      if (st != CLM_OK)
        break;
    }
    live[turn] = 1;
    st = t->submit(t->self, turn, first, m, err);
    since_flush += m;
    if (st != CLM_OK)
      break;
    /* Pipelined: collect the previous chunk while this one runs. */
    const int other = t->pipelined ? turn ^ 1 : turn;
    if (live[other]) {
      st = collect(t, live, other, err);
      if (st == CLM_OK)
        clm_progress(ctx, other == turn ? first + m : first, t->n);
    }
    turn ^= t->pipelined;
  }
  for (int s = 0; s < 2 && st == CLM_OK; ++s) /* a pipelined run's last */
    if (live[s]) {
      st = collect(t, live, s, err);
      if (st == CLM_OK)
        clm_progress(ctx, t->n, t->n);
    }
  if (st != CLM_OK) {
    /* Nothing may still use the caller's memory or the slots. */
    clFinish(ctx->upload_queue);
    clFinish(ctx->queue);
    for (int s = 0; s < 2; ++s)
      if (live[s]) {
        live[s] = 0;
        t->release(t->self, s);
      }
  }
  return st;
}

clm_status clm_engine_upload(clm_context *ctx, const clm_upload *copies,
                             int count, cl_event *uploaded, clm_error *err) {
  *uploaded = NULL;
  if (count == 0)
    return CLM_OK;
  cl_int rc = CL_SUCCESS;
  for (int i = 0; i < count && rc == CL_SUCCESS; ++i)
    rc = clEnqueueWriteBuffer(ctx->upload_queue, copies[i].dst, CL_FALSE, 0,
                              copies[i].bytes, copies[i].src, 0, NULL, NULL);
  /* The queue is in order: a marker completes after every write. */
  if (rc == CL_SUCCESS)
    rc = clEnqueueMarkerWithWaitList(ctx->upload_queue, 0, NULL, uploaded);
  if (rc == CL_SUCCESS)
    rc = clFlush(ctx->upload_queue);
  if (rc != CL_SUCCESS) {
    if (*uploaded)
      clReleaseEvent(*uploaded);
    *uploaded = NULL;
    return clm_fail_cl(err, rc, "clEnqueueWriteBuffer(inputs)");
  }
  return CLM_OK;
}

clm_status clm_engine_map_back(clm_context *ctx, cl_mem wrapped, void *host,
                               size_t bytes, const char *what, clm_error *err) {
  char where[96];
  cl_int rc;
  void *p = clEnqueueMapBuffer(ctx->queue, wrapped, CL_FALSE, CL_MAP_READ, 0,
                               bytes, 0, NULL, NULL, &rc);
  if (rc != CL_SUCCESS) {
    snprintf(where, sizeof where, "clEnqueueMapBuffer(%s)", what);
    return clm_fail_cl(err, rc, where);
  }
  if (p != host) {
    /* The driver kept a copy after all: bring it over after the map. */
    rc = clFinish(ctx->queue);
    if (rc == CL_SUCCESS)
      memcpy(host, p, bytes);
  }
  cl_int urc = clEnqueueUnmapMemObject(ctx->queue, wrapped, p, 0, NULL, NULL);
  if (urc != CL_SUCCESS) /* a mapped buffer is never freed: try once more */
    clEnqueueUnmapMemObject(ctx->queue, wrapped, p, 0, NULL, NULL);
  if (rc == CL_SUCCESS)
    rc = urc;
  if (rc != CL_SUCCESS) {
    snprintf(where, sizeof where, "clFinish/clEnqueueUnmapMemObject(%s)", what);
    return clm_fail_cl(err, rc, where);
  }
  return CLM_OK;
}
