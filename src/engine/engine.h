/* The one chunk driver every task family runs its device work through.
 *
 * An update call over n rows becomes chunks of at most `chunk` rows. On
 * host-unified devices a family reads the caller's memory in place and the
 * chunks run one by one; on discrete devices (`pipelined`) two chunks are
 * in flight: chunk i + 1 uploads on the context's upload queue while chunk
 * i computes. Counters that live on the device across chunks (uint32) are
 * flushed into the family's uint64 accumulator before they could overflow.
 * The first error wins: the driver stops submitting, waits until the
 * device no longer touches the caller's memory and releases both slots;
 * the family then drops its accumulator, so the caller's state is left as
 * it was. */
#ifndef CLM_ENGINE_H
#define CLM_ENGINE_H

#include "internal.h"

typedef struct clm_task {
  void *self;
  uint64_t n;     /* rows of this update call */
  uint64_t chunk; /* rows per launch, >= 1 */
  int pipelined;  /* two chunks in flight (slots 0 and 1) */
  /* Enqueues rows [first, first + count) on `slot` without waiting. */
  clm_status (*submit)(void *self, int slot, uint64_t first, uint32_t count,
                       clm_error *err);
  /* Waits for `slot`'s chunk and folds its results into the accumulator. */
  clm_status (*collect)(void *self, int slot, clm_error *err);
  /* Moves device-resident counts into the family's scratch before a chunk
   * would pass the context's flush_samples since the last flush; NULL when
   * a family keeps none across chunks. The counts of the last chunks stay
   * on the device: the family adds them to the state after a successful
   * run. */
  clm_status (*flush)(void *self, clm_error *err);
  /* Releases what a slot's chunk holds (zero-copy wrappers, events). */
  void (*release)(void *self, int slot);
} clm_task;

/* Runs every chunk of `task`; reports progress to the context's callback. */
clm_status clm_engine_run(clm_context *ctx, const clm_task *task,
                          clm_error *err);

/* One host-to-device copy of a chunk's input. */
typedef struct clm_upload {
  const void *src;
  cl_mem dst;
  size_t bytes;
} clm_upload;

/* Enqueues the copies on the context's upload queue without waiting;
 * *uploaded is the event the chunk's kernels wait for (NULL when `count`
 * is 0). */
clm_status clm_engine_upload(clm_context *ctx, const clm_upload *copies,
                             int count, cl_event *uploaded, clm_error *err);

/* Makes a kernel's writes to `wrapped` (a USE_HOST_PTR buffer over `host`)
 * visible in the caller's memory: maps and unmaps it on ctx->queue (no
 * copy on PoCL, where the pointers are equal; a copy when the driver kept
 * its own). `what` names the buffer in messages. */
clm_status clm_engine_map_back(clm_context *ctx, cl_mem wrapped, void *host,
                               size_t bytes, const char *what, clm_error *err);

/* Rows per launch: the context's chunk (times `scale` unless the caller set
 * it), at most `cap` and within one device allocation of `row_bytes` a row;
 * at least 1. */
uint64_t clm_engine_chunk_rows(const clm_context *ctx, uint64_t row_bytes,
                               uint64_t scale, uint64_t cap);

#endif
