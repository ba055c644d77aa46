/* Multi-class family internals shared by its files. */
#ifndef CLM_TASKS_MULTICLASS_H
#define CLM_TASKS_MULTICLASS_H

#include "clm_shared.h"
#include "internal.h"

/* Device buffers of one chunk in flight (two on the copy path). */
struct mc_slot {
  cl_mem yt, yp, scores, partials, hits, am_status, cm_status;
  size_t yt_cap, yp_cap, scores_cap, partials_cap, hits_cap, am_status_cap,
      cm_status_cap; /* bytes */
};

/* The family's workspace: its kernels, the device confusion matrix (and
 * the private strategy's per-group slices), and two chunk slots. */
struct mc_ws {
  cl_kernel k_confusion, k_confusion_private, k_argmax_ce, k_argmax_ce_rows;
  cl_mem cm, cm_scratch;
  size_t cm_cap, cm_scratch_cap;
  struct mc_slot slot[2];
};

/* Bytes of physical memory on this host, or 0 when unknown. */
double clm_host_memory_bytes(void);

/* A confusion-matrix count in progress (confusion.c): per-launch uint32
 * counts accumulate in the device matrix across chunks; the engine's flush
 * moves them into `spill` before they could overflow, and clm_cm_finish
 * adds everything to the state once the whole update succeeded. */
struct cm_run {
  clm_context *ctx;
  struct mc_ws *ws;
  uint32_t k;
  int mode; /* CLM_CM_* */
  uint32_t replicas;
  uint64_t *spill; /* NULL until needed */
};

/* Chooses the strategy, checks memory, zeroes the device matrix. */
clm_status clm_cm_begin(clm_context *ctx, struct mc_ws *ws, struct cm_run *run,
                        uint32_t k, uint64_t n, clm_error *err);

/* Enqueues the count of n (true, predicted) pairs already on the device
 * (after `wait`); bad labels are counted in `status` (CLM_CM_STATUS words,
 * initialised here). Does not wait. */
clm_status clm_cm_enqueue(struct cm_run *run, cl_mem yt, cl_mem yp,
                          cl_mem status, uint32_t n, cl_event wait,
                          clm_error *err);

/* The engine's flush: device counts into the spill, device zeroed. */
clm_status clm_cm_flush(struct cm_run *run, clm_error *err);

/* Adds everything counted into the state (only after a successful run). */
clm_status clm_cm_finish(struct cm_run *run, clm_multiclass_state *state,
                         clm_error *err);

void clm_cm_end(struct cm_run *run);

/* The workspace's kernels and buffers (update.c). */
extern const clm_family clm_family_multiclass;

#endif
