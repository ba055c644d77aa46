/* Multi-class family internals shared by its files. */
#ifndef CLM_TASKS_MULTICLASS_H
#define CLM_TASKS_MULTICLASS_H

#include "clm_shared.h"
#include "internal.h"

/* Device buffers of one chunk in flight (two on the copy path). */
struct mc_slot {
  cl_mem yt, yp, scores, partials, hits, am_status, cm_status, sw;
  cl_mem grad; /* clm_multiclass_gradient's output on the copy path */
  cl_mem wsl;  /* clm_confusion_private_w's per-group float64 slices */
  size_t yt_cap, yp_cap, scores_cap, partials_cap, hits_cap, am_status_cap,
      cm_status_cap, sw_cap, grad_cap, wsl_cap; /* bytes */
};

/* The family's workspace: its kernels, the device confusion matrix (and
 * the private strategy's per-group slices), and two chunk slots. */
struct mc_ws {
  cl_kernel k_confusion, k_confusion_private, k_argmax_ce, k_argmax_ce_rows;
  cl_kernel k_argmax_ce_opt, k_argmax_ce_rows_opt; /* with loss options */
  cl_kernel k_confusion_ignore, k_confusion_private_ignore;
  cl_kernel k_confusion_private_sum; /* adds the private slices */
  /* Weighted private counts; NULL on devices without float64. */
  cl_kernel k_confusion_private_w, k_confusion_private_w_ignore;
  cl_kernel k_grad; /* clm_mc_grad (gradient.c) */
  cl_mem cm, cm_scratch;
  cl_mem class_weight; /* K floats for the option kernels */
  cl_mem grad_weight;  /* 2K floats for clm_mc_grad */
  size_t cm_cap, cm_scratch_cap, class_weight_cap, grad_weight_cap;
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
  int has_ignore;  /* rows whose true label is `ignore` are skipped */
  int32_t ignore;
  /* Weighted private counts (clm_cm_weighted_fits): the chunk's weights and
   * its float64 slices, set before each clm_cm_enqueue; `groups` is the
   * last launch's. */
  cl_mem weights, wslices;
  size_t groups;
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

/* Whether this run can sum sample weights on the device: the private
 * strategy, a float64 device and at most 64 MiB of slices. */
int clm_cm_weighted_fits(const struct cm_run *run);

/* Bytes of float64 slices a weighted launch of n pairs needs. */
size_t clm_cm_wslice_bytes(const struct cm_run *run, uint32_t n);

/* The engine's flush: device counts into the spill, device zeroed. */
clm_status clm_cm_flush(struct cm_run *run, clm_error *err);

/* Adds everything counted into the state (only after a successful run). */
clm_status clm_cm_finish(struct cm_run *run, clm_multiclass_state *state,
                         clm_error *err);

void clm_cm_end(struct cm_run *run);

/* ---- loss options and sample weights (weighted.c) ---- */

/* Whether the state has any option beyond K and top_k (the option kernels
 * run then; option-less states keep the original kernels). */
int clm_mc_has_options(const clm_multiclass_state *s);

/* Whether true label `t` is the state's ignored one. */
static inline int clm_mc_ignored(const clm_multiclass_state *s, int32_t t) {
  return s->has_ignore_index && t == s->ignore_index;
}

/* Checks n sample weights (finite, >= 0; CLM_ERR_BAD_WEIGHT naming the
 * first bad index base + i, err->input = CLM_INPUT_WEIGHTS). */
clm_status clm_mc_check_weight_values(const float *weights, uint64_t n,
                                      uint64_t base, clm_error *err);

/* Checks the weights argument against the state (non-NULL iff weighted)
 * and every weight (finite, >= 0; CLM_ERR_BAD_WEIGHT naming the first bad
 * index base + i, err->input = CLM_INPUT_WEIGHTS). */
clm_status clm_mc_check_weights(const clm_multiclass_state *s,
                                const float *weights, uint64_t n, uint64_t base,
                                clm_error *err);

/* Host sums of sample weights, in row order, in float64: the weighted
 * confusion cells (into `w_cm`, K x K, when not NULL), the weights of
 * counted and ignored rows and, for scored rows, the loss denominator
 * sum s_i w_{y_i} and the scored weight. Labels must be valid. */
struct mc_wsums {
  double w_sum, w_ignored, ce_norm, w_scored;
};
void clm_mc_weight_rows(const clm_multiclass_state *s, const int32_t *yt,
                        const int32_t *yp, const float *weights, uint64_t n,
                        int scored, double *w_cm, struct mc_wsums *acc);

/* The error for a score row a kernel flagged (flagged column `col`), found
 * again on the host: NaN, a probability outside [0, 1], or a logit row all
 * -inf or all +inf (update.c). r: the row's index in the caller's input. */
clm_status clm_mc_report_bad_row(const float *row, uint32_t k,
                                 clm_scores_kind kind, uint64_t r, uint64_t col,
                                 clm_error *err);

/* The workspace's kernels and buffers (update.c). */
extern const clm_family clm_family_multiclass;

/* A chunk's scores, true labels and weights on the device (update.c). */
clm_status clm_mc_chunk_inputs(clm_context *ctx, struct mc_slot *b, uint64_t n,
                               uint32_t k, const float *s, const int32_t *yt,
                               const float *w, cl_mem *w_scores, cl_mem *w_yt,
                               cl_mem *w_sw, cl_event *uploaded,
                               clm_error *err);

#endif
