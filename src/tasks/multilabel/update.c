/* Multilabel evaluation on the device: one pass of clm_multilabel per
 * chunk of rows, driven by the engine.
 *
 * Per-label counts and sums: every work-item owns a slice (uint32 counts,
 * Kahan-compensated float32 sums) in global memory; the host adds a
 * chunk's slices in double, in slice order. Per-row statistics come back
 * as words per row and are folded in row order, in double, so the
 * samples-averaged and label-ranking metrics are exact to double rounding
 * of each row's ratio; or, unweighted without label ranking for L up to
 * CLM_ML_HIST_MAX_L, as counts of the rows' (tp, fp, fn) classes, from
 * which the update's per-row sums follow (a class's count times its
 * ratio, in class order: independent of the chunking). Memory: the slices of a
 * launch take at most ML_SLICE_BYTES (or one work-group's slices when L is
 * larger); a chunk is at most ML_CHUNK_CELLS cells and ML_CHUNK_ROWS rows. */
#include "tasks/multilabel/multilabel.h"

#include "clm_shared.h"
#include "engine/engine.h"
#include "tasks/binary/binary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ML_SLICE_BYTES ((uint64_t)64 << 20)
#define ML_CHUNK_CELLS ((uint64_t)1 << 25)
#define ML_CHUNK_ROWS ((uint64_t)1 << 20)
#define ML_GROUPS_PER_CU 4
/* Up to this L the row ratios come from a table of quotients (at most
 * 129 x 129 doubles): four divisions per row were most of the host's fold
 * for small L. */
#define ML_QUOT_MAX_L 64

struct slot {
  cl_mem scores, labels, pred, weights, grad, counts, sums, rows, status,
      scratch;
  size_t scores_cap, labels_cap, pred_cap, weights_cap, grad_cap, counts_cap,
      sums_cap, rows_cap, status_cap, scratch_cap;
  /* Host copies of a chunk's slices and rows, kept across update calls:
   * allocated per call, the row words (12-36 bytes a row) were fresh pages
   * to fault in every time, on the thread that folds them. */
  void *h_counts, *h_sums, *h_rows;
  size_t h_counts_cap, h_sums_cap, h_rows_cap;
};

struct ml_ws {
  cl_kernel k_ml;
  cl_mem thr;
  size_t thr_cap;
  struct slot slot[2];
};

static clm_status ws_init(clm_context *ctx, void *p, clm_error *err) {
  struct ml_ws *ws = p;
  return clm_kernel_create(ctx, "clm_multilabel", &ws->k_ml, err);
}

static void ws_release(void *p) {
  struct ml_ws *ws = p;
  for (int i = 1; i >= 0; --i) {
    struct slot *b = &ws->slot[i];
    clm_release_mem(&b->scratch);
    clm_release_mem(&b->status);
    clm_release_mem(&b->rows);
    clm_release_mem(&b->sums);
    clm_release_mem(&b->counts);
    clm_release_mem(&b->grad);
    clm_release_mem(&b->weights);
    clm_release_mem(&b->pred);
    clm_release_mem(&b->labels);
    clm_release_mem(&b->scores);
    free(b->h_rows);
    free(b->h_sums);
    free(b->h_counts);
  }
  clm_release_mem(&ws->thr);
  clm_release_kernel(&ws->k_ml);
}

const clm_family clm_family_multilabel = {"multilabel", sizeof(struct ml_ws),
                                          ws_init, ws_release};

/* One update call: its inputs, the launch shape and the accumulator. */
struct ml_run {
  clm_context *ctx;
  struct ml_ws *ws;
  clm_multilabel_state acc;
  const uint8_t *labels, *pred;
  const float *scores, *weights;
  float *grad_out;
  uint64_t base;
  uint32_t L;
  cl_uint flags;
  uint32_t slices, row_words, nsums;
  /* Row classes (CLM_ML_HIST): (L + 1)^3 bins, the words of a launch's
   * histograms (every slice's copies), and the chunks' histograms added
   * up, folded into the per-row sums once the update's rows are in. */
  uint32_t bins;
  size_t hist_words;
  uint64_t *hist;
  /* Small L: quot[den * (2L + 1) + num] = num / den for the row ratios
   * (every num, den <= 2L), the same doubles a division gives, and +0.0
   * for den = 0; NULL: divide. */
  double *quot;
  struct job {
    struct slot *slot;
    uint64_t first; /* row within the update call */
    uint32_t n;
    cl_mem w_scores, w_labels, w_pred, w_weights, w_grad;
    cl_event done;
    cl_uint *counts, *rows;
    float *sums;
    cl_uint status;
  } job[2];
};

static void job_release(struct job *j) {
  if (j->done)
    clReleaseEvent(j->done);
  j->done = NULL;
  clm_release_mem(&j->w_grad);
  clm_release_mem(&j->w_weights);
  clm_release_mem(&j->w_pred);
  clm_release_mem(&j->w_labels);
  clm_release_mem(&j->w_scores);
}

/* Wraps one input zero-copy, or sizes the slot's buffer and queues its
 * copy. */
static clm_status input_buffer(clm_context *ctx, int wrap, const void *src,
                               size_t bytes, cl_mem *wrapped, cl_mem *buf,
                               size_t *cap, clm_upload *copies, int *count,
                               cl_mem *use, clm_error *err) {
  if (!src || bytes == 0) {
    *use = NULL;
    return CLM_OK;
  }
  if (wrap) {
    cl_int rc = CL_SUCCESS;
    *wrapped = clm_wrap_host(ctx, CL_MEM_READ_ONLY, src, bytes, &rc);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR inputs)");
    *use = *wrapped;
    return CLM_OK;
  }
  clm_status st =
      clm_ensure_buffer(ctx, buf, cap, bytes, CL_MEM_READ_ONLY, err);
  if (st != CLM_OK)
    return st;
  copies[(*count)++] = (clm_upload){src, *buf, bytes};
  *use = *buf;
  return CLM_OK;
}

static clm_status job_submit(struct ml_run *r, struct job *j, clm_error *err) {
  clm_context *ctx = r->ctx;
  struct slot *b = j->slot;
  const size_t n = j->n, L = r->L, cells = n * L;
  const float *scores = r->scores ? r->scores + j->first * L : NULL;
  const uint8_t *labels = r->labels + j->first * L;
  const uint8_t *pred = r->pred ? r->pred + j->first * L : NULL;
  const float *weights = r->weights ? r->weights + j->first : NULL;
  float *grad = r->grad_out ? r->grad_out + j->first * L : NULL;
  const int wrap = clm_can_wrap(ctx, labels) &&
                   (!scores || clm_can_wrap(ctx, scores)) &&
                   (!pred || clm_can_wrap(ctx, pred)) &&
                   (!weights || clm_can_wrap(ctx, weights));
  clm_upload copies[4];
  int count = 0;
  cl_mem m_scores = NULL, m_labels = NULL, m_pred = NULL, m_weights = NULL,
         m_grad = NULL;
  clm_status st =
      input_buffer(ctx, wrap, labels, cells, &j->w_labels, &b->labels,
                   &b->labels_cap, copies, &count, &m_labels, err);
  if (st == CLM_OK)
    st = input_buffer(ctx, wrap, scores, cells * sizeof(float), &j->w_scores,
                      &b->scores, &b->scores_cap, copies, &count, &m_scores,
                      err);
  if (st == CLM_OK)
    st = input_buffer(ctx, wrap, pred, cells, &j->w_pred, &b->pred,
                      &b->pred_cap, copies, &count, &m_pred, err);
  if (st == CLM_OK)
    st = input_buffer(ctx, wrap, weights, n * sizeof(float), &j->w_weights,
                      &b->weights, &b->weights_cap, copies, &count, &m_weights,
                      err);
  const int zc_grad = grad && clm_can_wrap(ctx, grad);
  if (st == CLM_OK && zc_grad) {
    cl_int rc = CL_SUCCESS;
    j->w_grad =
        clm_wrap_host(ctx, CL_MEM_READ_WRITE, grad, cells * sizeof(float), &rc);
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR gradient)");
    m_grad = j->w_grad;
  } else if (st == CLM_OK && grad) {
    st = clm_ensure_buffer(ctx, &b->grad, &b->grad_cap, cells * sizeof(float),
                           CL_MEM_READ_WRITE, err);
    m_grad = b->grad;
  }
  const size_t count_bytes =
      (size_t)r->slices * CLM_ML_COUNTS * L * sizeof(cl_uint);
  const size_t sum_bytes = (size_t)r->slices * r->nsums * 2 * L * sizeof(float);
  const size_t row_bytes = r->hist ? r->hist_words * sizeof(cl_uint)
                                   : n * r->row_words * sizeof(cl_uint);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->counts, &b->counts_cap, count_bytes,
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->sums, &b->sums_cap, sum_bytes,
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->rows, &b->rows_cap, row_bytes,
                           CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->status, &b->status_cap, sizeof(cl_uint),
                           CL_MEM_READ_WRITE, err);
  /* Label ranking of rows with many true labels sorts them in scratch. */
  const size_t scratch_bytes =
      (r->flags & CLM_ML_RANK)
          ? (size_t)r->slices * (3 * L + 2) * sizeof(cl_uint)
          : sizeof(cl_uint);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &b->scratch, &b->scratch_cap, scratch_bytes,
                           CL_MEM_READ_WRITE, err);
  if (st != CLM_OK)
    return st;
  cl_event uploaded = NULL;
  st = clm_engine_upload(ctx, copies, count, &uploaded, err);
  if (st != CLM_OK)
    return st;
  /* Outlives the queue (a non-blocking write reads it later). */
  static const cl_uint no_bad = CLM_NO_BAD;
  cl_int rc = clEnqueueWriteBuffer(ctx->queue, b->status, CL_FALSE, 0,
                                   sizeof no_bad, &no_bad, 0, NULL, NULL);
  if (rc != CL_SUCCESS) {
    if (uploaded)
      clReleaseEvent(uploaded);
    return clm_fail_cl(err, rc, "clEnqueueWriteBuffer(multilabel status)");
  }
  /* Unused inputs get a buffer that is there, never read. */
  if (!m_scores)
    m_scores = b->sums;
  if (!m_pred)
    m_pred = m_labels;
  if (!m_weights)
    m_weights = b->sums;
  if (!m_grad)
    m_grad = b->sums;
  const cl_uint n_arg = j->n, l_arg = r->L;
  clm_kargs ka = {r->ws->k_ml, CL_SUCCESS, 0};
  clm_karg(&ka, CLM_ML_ARG_SCORES, sizeof(cl_mem), &m_scores);
  clm_karg(&ka, CLM_ML_ARG_LABELS, sizeof(cl_mem), &m_labels);
  clm_karg(&ka, CLM_ML_ARG_PRED, sizeof(cl_mem), &m_pred);
  clm_karg(&ka, CLM_ML_ARG_WEIGHTS, sizeof(cl_mem), &m_weights);
  clm_karg(&ka, CLM_ML_ARG_N, sizeof n_arg, &n_arg);
  clm_karg(&ka, CLM_ML_ARG_L, sizeof l_arg, &l_arg);
  clm_karg(&ka, CLM_ML_ARG_THR, sizeof(cl_mem), &r->ws->thr);
  clm_karg(&ka, CLM_ML_ARG_FLAGS, sizeof r->flags, &r->flags);
  clm_karg(&ka, CLM_ML_ARG_GRAD, sizeof(cl_mem), &m_grad);
  clm_karg(&ka, CLM_ML_ARG_COUNTS, sizeof(cl_mem), &b->counts);
  clm_karg(&ka, CLM_ML_ARG_SUMS, sizeof(cl_mem), &b->sums);
  clm_karg(&ka, CLM_ML_ARG_ROWS, sizeof(cl_mem), &b->rows);
  clm_karg(&ka, CLM_ML_ARG_STATUS, sizeof(cl_mem), &b->status);
  clm_karg(&ka, CLM_ML_ARG_SCRATCH, sizeof(cl_mem), &b->scratch);
  st = clm_kargs_status(&ka, "clm_multilabel", err);
  if (st == CLM_OK) {
    const size_t global = r->slices, local = ctx->local_size;
    rc = clEnqueueNDRangeKernel(ctx->queue, r->ws->k_ml, 1, NULL, &global,
                                &local, uploaded ? 1 : 0,
                                uploaded ? &uploaded : NULL, NULL);
    if (rc != CL_SUCCESS)
      st = clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(clm_multilabel)");
  }
  if (uploaded)
    clReleaseEvent(uploaded);
  if (st != CLM_OK)
    return st;
  rc = clEnqueueReadBuffer(ctx->queue, b->counts, CL_FALSE, 0, count_bytes,
                           j->counts, 0, NULL, NULL);
  if (rc == CL_SUCCESS)
    rc = clEnqueueReadBuffer(ctx->queue, b->sums, CL_FALSE, 0, sum_bytes,
                             j->sums, 0, NULL, NULL);
  if (rc == CL_SUCCESS)
    rc = clEnqueueReadBuffer(ctx->queue, b->rows, CL_FALSE, 0, row_bytes,
                             j->rows, 0, NULL, NULL);
  if (rc == CL_SUCCESS && grad && !zc_grad)
    rc = clEnqueueReadBuffer(ctx->queue, b->grad, CL_FALSE, 0,
                             cells * sizeof(float), grad, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(multilabel results)");
  if (zc_grad) {
    st = clm_engine_map_back(ctx, j->w_grad, grad, cells * sizeof(float),
                             "gradient", err);
    if (st != CLM_OK)
      return st;
  }
  rc = clEnqueueReadBuffer(ctx->queue, b->status, CL_FALSE, 0, sizeof j->status,
                           &j->status, 0, NULL, &j->done);
  if (rc == CL_SUCCESS)
    rc = clFlush(ctx->queue);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clEnqueueReadBuffer(multilabel status)");
  return CLM_OK;
}

/* Names the input at a flat index the device flagged: the label, then the
 * score or prediction of that cell, else its row's weight. */
static clm_status report_bad(const struct ml_run *r, uint64_t flat,
                             clm_error *err) {
  const uint64_t L = r->L, row = flat / L, col = flat % L;
  const unsigned long long at = (unsigned long long)(r->base * L + flat),
                           grow = (unsigned long long)(r->base + row);
  clm_status st;
  clm_input input = CLM_INPUT_SCORES;
  const double v = r->scores ? r->scores[flat] : 0.0;
  if (r->labels[flat] > 1) {
    st = clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, r->labels[flat],
                  "row %llu, label %llu: label %u is not 0 or 1", grow,
                  (unsigned long long)col, (unsigned)r->labels[flat]);
    input = CLM_INPUT_LABELS;
  } else if (r->pred && r->pred[flat] > 1) {
    st = clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, r->pred[flat],
                  "row %llu, label %llu: prediction %u is not 0 or 1", grow,
                  (unsigned long long)col, (unsigned)r->pred[flat]);
    input = CLM_INPUT_PRED;
  } else if (r->scores && isnan(v)) {
    st = clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                  "row %llu, label %llu: score is NaN", grow,
                  (unsigned long long)col);
  } else if (r->scores && r->acc.kind == CLM_SCORES_PROBS &&
             (v < 0.0 || v > 1.0)) {
    st = clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                  "row %llu, label %llu: probability %.9g is outside [0, 1]",
                  grow, (unsigned long long)col, v);
  } else if (r->weights) {
    const double w = r->weights[row];
    st = clm_fail(err, CLM_ERR_BAD_WEIGHT, (int64_t)grow, w,
                  "row %llu: weight %.9g is not finite and >= 0", grow, w);
    input = CLM_INPUT_WEIGHTS;
  } else {
    st = clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                  "row %llu, label %llu: invalid value", grow,
                  (unsigned long long)col);
  }
  if (err)
    err->input = input;
  return st;
}

/* Adds a chunk's slices to the per-label accumulators, in slice order. */
static void fold_slices(struct ml_run *r, const struct job *j) {
  clm_multilabel_state *a = &r->acc;
  const size_t L = r->L;
  for (size_t s = 0; s < r->slices; ++s) {
    const cl_uint *c = j->counts + s * CLM_ML_COUNTS * L;
    const float *f = j->sums + s * r->nsums * 2 * L;
    for (size_t l = 0; l < L; ++l) {
      a->tp[l] += c[CLM_ML_TP * L + l];
      a->fp[l] += c[CLM_ML_FP * L + l];
      a->fn[l] += c[CLM_ML_FN * L + l];
    }
    for (size_t q = 0; q < r->nsums; ++q) {
      double *dst = q == CLM_ML_LOSS  ? a->loss_sum
                    : q == CLM_ML_WTP ? a->w_tp
                    : q == CLM_ML_WFP ? a->w_fp
                    : q == CLM_ML_WFN ? a->w_fn
                                      : a->w_tn;
      const float *sum = f + 2 * q * L, *comp = sum + L;
      for (size_t l = 0; l < L; ++l)
        dst[l] += (double)sum[l] - (double)comp[l];
    }
  }
}

/* A ratio over a row (from the table when there is one), or its weight
 * added to the undefined ones. Branch-free: which rows are undefined is
 * data-dependent. Adding +0.0 leaves these sums (all >= +0.0) unchanged,
 * so the result is the branchy version's. */
static inline void row_ratio(double w, uint64_t num, uint64_t den,
                             const double *quot, uint64_t stride, double *sum,
                             double *undef_w) {
  const int def = den > 0;
  const double q = !def   ? 0.0
                   : quot ? quot[(size_t)den * stride + num]
                          : (double)num / (double)den;
  *sum += def ? w * q : 0.0;
  *undef_w += def ? 0.0 : w;
}

/* The per-row sums, as locals while a chunk's rows are folded: kept in the
 * state, the compiler must store every one of them after each row (the
 * state could alias the rows), a chain of store-to-load round trips. */
struct row_acc {
  double w_sum, exact_w, diff_w, prec_sum, rec_sum, f1_sum, jac_sum;
  double prec_undef_w, rec_undef_w, f1_undef_w, jac_undef_w;
  double coverage_sum, lrap_sum, rank_loss_sum, auc_sum, auc_undef_w;
};

/* fold_rows for unweighted rows without label ranking, the common case,
 * with the same results: every w_r is 1, so the weight, exact-match,
 * wrong-cell and undefined-row sums are integers (exact in double below
 * 2^53, whatever the order) and count in uint64; w * q is q. Only the four
 * ratio sums stay double, added in row order. */
static void fold_rows_plain(struct ml_run *r, const struct job *j) {
  clm_multilabel_state *a = &r->acc;
  const cl_uint *rows = j->rows;
  const double *quot = r->quot;
  const uint64_t stride = 2 * (uint64_t)r->L + 1;
  uint64_t exact = 0, diff = 0, pu = 0, ru = 0, fu = 0, ju = 0;
  double prec = a->prec_sum, rec = a->rec_sum, f1 = a->f1_sum, jac = a->jac_sum;
#define ML_Q(num, den)                                                         \
  (quot ? quot[(size_t)(den)*stride + (num)] : (double)(num) / (double)(den))
  for (uint32_t i = 0; i < j->n; ++i) {
    const cl_uint *rw = rows + (size_t)i * CLM_ML_ROW_WORDS_PLAIN;
    const uint64_t tp = rw[CLM_ML_ROW_TP], fp = rw[CLM_ML_ROW_FP],
                   fn = rw[CLM_ML_ROW_FN];
    exact += fp + fn == 0;
    diff += fp + fn;
    /* tp + fp + fn = 0 leaves every ratio undefined; then tp = 0 too. */
    pu += tp + fp == 0;
    ru += tp + fn == 0;
    fu += tp + fp + fn == 0;
    ju += tp + fp + fn == 0;
    if (quot) { /* row den = 0 of the table holds +0.0: no branches */
      prec += quot[(tp + fp) * stride + tp];
      rec += quot[(tp + fn) * stride + tp];
      f1 += quot[(2 * tp + fp + fn) * stride + 2 * tp];
      jac += quot[(tp + fp + fn) * stride + tp];
    } else {
      prec += tp + fp ? ML_Q(tp, tp + fp) : 0.0;
      rec += tp + fn ? ML_Q(tp, tp + fn) : 0.0;
      f1 += tp + fp + fn ? ML_Q(2 * tp, 2 * tp + fp + fn) : 0.0;
      jac += tp + fp + fn ? ML_Q(tp, tp + fp + fn) : 0.0;
    }
  }
#undef ML_Q
  a->w_sum += (double)j->n;
  a->exact_w += (double)exact;
  a->diff_w += (double)diff;
  a->prec_undef_w += (double)pu;
  a->rec_undef_w += (double)ru;
  a->f1_undef_w += (double)fu;
  a->jac_undef_w += (double)ju;
  a->prec_sum = prec;
  a->rec_sum = rec;
  a->f1_sum = f1;
  a->jac_sum = jac;
  a->n += j->n;
}

/* Adds a chunk's row classes (every work-item's histogram) to the
 * update's. */
static void fold_classes(struct ml_run *r, const struct job *j) {
  for (size_t s = 0; s < r->hist_words; s += r->bins)
    for (uint32_t b = 0; b < r->bins; ++b)
      r->hist[b] += j->rows[s + b];
  r->acc.n += j->n;
  r->acc.w_sum += (double)j->n;
}

/* The per-row sums from the update's row classes: every row of a class
 * has the same counts, so a class adds its count times the row's ratio
 * (in class order: the result does not depend on the chunking). */
static void sums_from_classes(struct ml_run *r) {
  clm_multilabel_state *a = &r->acc;
  const uint64_t side = (uint64_t)r->L + 1;
  if (r->L == 1) { /* the kernel leaves them: a row's class is its cell's */
    r->hist[(1 * side + 0) * side + 0] = a->tp[0];
    r->hist[(0 * side + 1) * side + 0] = a->fp[0];
    r->hist[(0 * side + 0) * side + 1] = a->fn[0];
    r->hist[0] = a->n - a->tp[0] - a->fp[0] - a->fn[0];
  }
  for (uint64_t tp = 0; tp < side; ++tp)
    for (uint64_t fp = 0; tp + fp < side; ++fp)
      for (uint64_t fn = 0; tp + fn < side; ++fn) {
        const uint64_t c = r->hist[(tp * side + fp) * side + fn];
        if (c == 0)
          continue;
        const double w = (double)c;
        a->diff_w += w * (double)(fp + fn);
        if (fp + fn == 0)
          a->exact_w += w;
        row_ratio(w, tp, tp + fp, NULL, 0, &a->prec_sum, &a->prec_undef_w);
        row_ratio(w, tp, tp + fn, NULL, 0, &a->rec_sum, &a->rec_undef_w);
        row_ratio(w, 2 * tp, 2 * tp + fp + fn, NULL, 0, &a->f1_sum,
                  &a->f1_undef_w);
        row_ratio(w, tp, tp + fp + fn, NULL, 0, &a->jac_sum, &a->jac_undef_w);
      }
}

/* Adds a chunk's rows to the per-row sums, in row order. */
static void fold_rows(struct ml_run *r, const struct job *j) {
  if (!r->weights && !r->acc.label_ranking) {
    fold_rows_plain(r, j);
    return;
  }
  clm_multilabel_state *a = &r->acc;
  const double L = r->L;
  const int rank = a->label_ranking;
  const uint32_t words = r->row_words;
  const cl_uint *rows = j->rows;
  const double *quot = r->quot;
  const uint64_t stride = 2 * (uint64_t)r->L + 1;
  const float *weights = r->weights ? r->weights + j->first : NULL;
  struct row_acc x = {
      a->w_sum,       a->exact_w,       a->diff_w,      a->prec_sum,
      a->rec_sum,     a->f1_sum,        a->jac_sum,     a->prec_undef_w,
      a->rec_undef_w, a->f1_undef_w,    a->jac_undef_w, a->coverage_sum,
      a->lrap_sum,    a->rank_loss_sum, a->auc_sum,     a->auc_undef_w};
  for (uint32_t i = 0; i < j->n; ++i) {
    const cl_uint *rw = rows + (size_t)i * words;
    const double w = weights ? (double)weights[i] : 1.0;
    /* Each count is at most L < 2^32, so the sums below do not wrap. */
    const uint64_t tp = rw[CLM_ML_ROW_TP], fp = rw[CLM_ML_ROW_FP],
                   fn = rw[CLM_ML_ROW_FN];
    x.w_sum += w;
    x.exact_w += fp + fn == 0 ? w : 0.0;
    x.diff_w += w * (double)(fp + fn);
    if (quot) {
      row_ratio(w, tp, tp + fp, quot, stride, &x.prec_sum, &x.prec_undef_w);
      row_ratio(w, tp, tp + fn, quot, stride, &x.rec_sum, &x.rec_undef_w);
      row_ratio(w, 2 * tp, 2 * tp + fp + fn, quot, stride, &x.f1_sum,
                &x.f1_undef_w);
      row_ratio(w, tp, tp + fp + fn, quot, stride, &x.jac_sum, &x.jac_undef_w);
    } else {
      row_ratio(w, tp, tp + fp, NULL, 0, &x.prec_sum, &x.prec_undef_w);
      row_ratio(w, tp, tp + fn, NULL, 0, &x.rec_sum, &x.rec_undef_w);
      row_ratio(w, 2 * tp, 2 * tp + fp + fn, NULL, 0, &x.f1_sum, &x.f1_undef_w);
      row_ratio(w, tp, tp + fp + fn, NULL, 0, &x.jac_sum, &x.jac_undef_w);
    }
    if (!rank)
      continue;
    const double t = (double)(tp + fn);
    x.coverage_sum += w * rw[CLM_ML_ROW_COV];
    if (t == 0 || t == L) {
      x.lrap_sum += w; /* scikit-learn scores such rows 1 */
      x.auc_undef_w += w;
      continue;
    }
    const double pairs = t * (L - t);
    const double bad = (double)((uint64_t)rw[CLM_ML_ROW_BAD] |
                                (uint64_t)rw[CLM_ML_ROW_BAD + 1] << 32);
    const double tie = (double)((uint64_t)rw[CLM_ML_ROW_TIE] |
                                (uint64_t)rw[CLM_ML_ROW_TIE + 1] << 32);
    float lr;
    memcpy(&lr, &rw[CLM_ML_ROW_LRAP], sizeof lr);
    x.lrap_sum += w * ((double)lr / t);
    x.rank_loss_sum += w * (bad / pairs);
    x.auc_sum += w * ((pairs - bad + 0.5 * tie) / pairs);
  }
  a->w_sum = x.w_sum;
  a->exact_w = x.exact_w;
  a->diff_w = x.diff_w;
  a->prec_sum = x.prec_sum;
  a->rec_sum = x.rec_sum;
  a->f1_sum = x.f1_sum;
  a->jac_sum = x.jac_sum;
  a->prec_undef_w = x.prec_undef_w;
  a->rec_undef_w = x.rec_undef_w;
  a->f1_undef_w = x.f1_undef_w;
  a->jac_undef_w = x.jac_undef_w;
  a->coverage_sum = x.coverage_sum;
  a->lrap_sum = x.lrap_sum;
  a->rank_loss_sum = x.rank_loss_sum;
  a->auc_sum = x.auc_sum;
  a->auc_undef_w = x.auc_undef_w;
  a->n += j->n;
}

static clm_status run_submit(void *self, int slot, uint64_t first,
                             uint32_t count, clm_error *err) {
  struct ml_run *r = self;
  struct job *j = &r->job[slot];
  j->slot = &r->ws->slot[slot];
  j->first = first;
  j->n = count;
  return job_submit(r, j, err);
}

static clm_status run_collect(void *self, int slot, clm_error *err) {
  struct ml_run *r = self;
  struct job *j = &r->job[slot];
  cl_int rc = clWaitForEvents(1, &j->done);
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clWaitForEvents(multilabel chunk)");
  if (j->status != CLM_NO_BAD)
    return report_bad(r, j->first * r->L + j->status, err);
  fold_slices(r, j);
  if (r->hist)
    fold_classes(r, j);
  else
    fold_rows(r, j);
  return CLM_OK;
}

static void run_release(void *self, int slot) {
  struct ml_run *r = self;
  job_release(&r->job[slot]);
}

static void run_free(struct ml_run *r) {
  for (int i = 0; i < 2; ++i)
    job_release(&r->job[i]); /* the host scratch stays in the slots */
  free(r->hist);
  free(r->quot);
  clm_multilabel_state_release(&r->acc);
}

/* A slot's host buffer of at least `bytes`, grown (contents dropped) when
 * smaller; NULL when it cannot be allocated. */
static void *host_scratch(void **p, size_t *cap, size_t bytes) {
  if (*p && *cap >= bytes)
    return *p;
  free(*p);
  *cap = 0;
  *p = clm_malloc(bytes ? bytes : 1);
  if (*p)
    *cap = bytes;
  return *p;
}

static uint64_t round_up(uint64_t x, uint64_t m) {
  return (x + m - 1) / m * m;
}

/* Slices (work-items) for a chunk of `rows`: a few groups per compute unit,
 * no more than the bands, within ML_SLICE_BYTES unless one group's slices
 * are larger. */
static uint32_t slice_count(const clm_context *ctx, uint64_t rows, uint32_t L,
                            uint32_t nsums, int rank) {
  const uint64_t ls = ctx->local_size;
  const uint64_t per =
      (uint64_t)L * (CLM_ML_COUNTS + 2 * nsums + (rank ? 3 : 0)) * 4;
  uint64_t cap = ML_SLICE_BYTES / per / ls * ls;
  if (cap < ls)
    cap = ls;
  const uint64_t units = ctx->info.compute_units ? ctx->info.compute_units : 1;
  uint64_t want = units * ML_GROUPS_PER_CU * ls;
  const uint64_t bands = round_up((rows + 15) / 16, ls);
  if (want > bands)
    want = bands;
  if (want < ls)
    want = ls;
  return (uint32_t)(want < cap ? want : cap);
}

/* Uploads the thresholds in the score's domain, rounded as the binary
 * family's so the float comparison is the exact one. */
static clm_status upload_thresholds(clm_context *ctx, struct ml_ws *ws,
                                    const clm_multilabel_state *s,
                                    clm_error *err) {
  const uint32_t L = s->n_labels;
  float *thr = clm_malloc((size_t)L * sizeof(float));
  if (!thr)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "thresholds");
  for (uint32_t c = 0; c < L; ++c)
    thr[c] = clm_binary_device_threshold(s->kind, s->thresholds[c]);
  clm_status st =
      clm_ensure_buffer(ctx, &ws->thr, &ws->thr_cap, (size_t)L * sizeof(float),
                        CL_MEM_READ_ONLY, err);
  if (st == CLM_OK) {
    const cl_int rc =
        clEnqueueWriteBuffer(ctx->queue, ws->thr, CL_TRUE, 0,
                             (size_t)L * sizeof(float), thr, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
      st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(thresholds)");
  }
  free(thr);
  return st;
}

static clm_status update(clm_context *ctx, clm_multilabel_state *state,
                         uint64_t base, const uint8_t *labels,
                         const float *scores, const uint8_t *pred,
                         int from_pred, const float *weights, uint64_t n,
                         float *grad_out, clm_error *err) {
  const char *fn =
      from_pred ? "clm_multilabel_update_predictions" : "clm_multilabel_update";
  if (!state || !state->tp)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "%s: the state is not initialised", fn);
  if (n > 0 && (!labels || (!scores && !pred)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0, "%s: NULL argument",
                    fn);
  if (state->from_predictions != from_pred)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    state->from_predictions
                        ? "%s: the state takes predictions "
                          "(clm_multilabel_update_predictions)"
                        : "%s: the state takes scores (clm_multilabel_update)",
                    fn);
  if (n > 0 && (!weights) != (!state->weighted))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    state->weighted ? "%s: the state is weighted, but no "
                                      "weights were given"
                                    : "%s: weights given to an unweighted "
                                      "state",
                    fn);
  if (n == 0)
    return CLM_OK;
  const uint32_t L = state->n_labels;
  struct ml_ws *ws = clm_workspace(ctx, CLM_FAMILY_MULTILABEL, err);
  if (!ws)
    return err ? err->status : CLM_ERR_OUT_OF_MEMORY;
  clm_status st = CLM_OK;
  if (!pred)
    st = upload_thresholds(ctx, ws, state, err);
  if (st != CLM_OK)
    return st;
  struct ml_run r = {.ctx = ctx,
                     .ws = ws,
                     .labels = labels,
                     .pred = pred,
                     .scores = pred ? NULL : scores,
                     .weights = weights,
                     .grad_out = pred ? NULL : grad_out,
                     .base = base,
                     .L = L};
  r.flags = (state->kind == CLM_SCORES_PROBS ? CLM_ML_PROBS : 0) |
            (pred ? CLM_ML_FROM_PRED : 0) | (weights ? CLM_ML_WEIGHTED : 0) |
            (state->label_ranking ? CLM_ML_RANK : 0) |
            (r.grad_out ? CLM_ML_GRAD : 0);
  r.nsums = weights ? CLM_ML_SUMS_WEIGHTED : CLM_ML_SUMS_PLAIN;
  r.row_words =
      state->label_ranking ? CLM_ML_ROW_WORDS_RANK : CLM_ML_ROW_WORDS_PLAIN;
  if (clm_multilabel_state_like(&r.acc, state) != CLM_OK)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate a multilabel state of %u labels",
                    (unsigned)L);
  /* Rows per launch: flat cell indices below 2^32 - 1 (CLM_NO_BAD), the
   * cells and row words of a chunk bounded. */
  uint64_t cap = 0xfffffffeu / L;
  if (!ctx->chunk_forced) {
    uint64_t by_cells = ML_CHUNK_CELLS / L;
    if (by_cells > ML_CHUNK_ROWS)
      by_cells = ML_CHUNK_ROWS;
    if (cap > by_cells)
      cap = by_cells;
  }
  if (cap == 0)
    cap = 1;
  const uint64_t chunk =
      clm_engine_chunk_rows(ctx, (uint64_t)L * sizeof(float), 1, cap);
  const uint64_t rows = chunk < n ? chunk : n;
  r.slices = slice_count(ctx, rows, L, r.nsums, state->label_ranking);
  /* Row classes where the histograms cost less than the row words they
   * replace (not for small updates, nor for a GPU's many work-items). */
  if (!weights && !state->label_ranking && L <= CLM_ML_HIST_MAX_L &&
      (uint64_t)r.slices * CLM_ML_HIST_COPIES(L) * CLM_ML_HIST_CLASSES(L) <=
          4 * rows) {
    r.hist = clm_calloc(CLM_ML_HIST_CLASSES(L), sizeof *r.hist);
    if (r.hist) { /* without it, the row words: the same sums */
      r.bins = CLM_ML_HIST_CLASSES(L);
      r.hist_words = (size_t)r.slices * CLM_ML_HIST_COPIES(L) * r.bins;
      r.flags |= CLM_ML_HIST;
    }
  }
  if (!r.hist && L <= ML_QUOT_MAX_L &&
      n >= (uint64_t)(2 * L + 1) * (2 * L + 1)) {
    const size_t stride = 2 * (size_t)L + 1;
    r.quot = clm_malloc(stride * stride * sizeof(double));
    if (r.quot) { /* without the table the rows divide: the same values */
      memset(r.quot, 0, stride * sizeof(double)); /* den = 0: adds +0.0 */
      for (size_t den = 1; den < stride; ++den)
        for (size_t num = 0; num <= den; ++num)
          r.quot[den * stride + num] = (double)num / (double)den;
    }
  }
  for (int i = 0; i < 2 && st == CLM_OK; ++i) {
    struct job *j = &r.job[i];
    struct slot *b = &ws->slot[i];
    j->counts =
        host_scratch(&b->h_counts, &b->h_counts_cap,
                     (size_t)r.slices * CLM_ML_COUNTS * L * sizeof(cl_uint));
    j->sums = host_scratch(&b->h_sums, &b->h_sums_cap,
                           (size_t)r.slices * r.nsums * 2 * L * sizeof(float));
    j->rows =
        host_scratch(&b->h_rows, &b->h_rows_cap,
                     r.hist ? r.hist_words * sizeof(cl_uint)
                            : (size_t)rows * r.row_words * sizeof(cl_uint));
    if (!j->counts || !j->sums || !j->rows)
      st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate host scratch for %u slices of %u labels",
                    (unsigned)r.slices, (unsigned)L);
  }
  const int copies = !(clm_can_wrap(ctx, labels) &&
                       (!r.scores || clm_can_wrap(ctx, r.scores)) &&
                       (!pred || clm_can_wrap(ctx, pred)) &&
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
  if (st == CLM_OK && r.hist)
    sums_from_classes(&r);
  if (st == CLM_OK)
    st = clm_multilabel_merge(state, &r.acc);
  run_free(&r);
  return st;
}

clm_status clm_multilabel_update(clm_context *ctx, clm_multilabel_state *state,
                                 uint64_t base, const uint8_t *labels,
                                 const float *scores, const float *weights,
                                 uint64_t n, float *grad_out, clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multilabel_update: NULL context");
  if (n > 0 && !scores)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multilabel_update: NULL scores");
  pthread_mutex_lock(&ctx->lock);
  clm_status st = update(ctx, state, base, labels, scores, NULL, 0, weights, n,
                         grad_out, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

clm_status
clm_multilabel_update_predictions(clm_context *ctx, clm_multilabel_state *state,
                                  uint64_t base, const uint8_t *labels,
                                  const uint8_t *pred, const float *weights,
                                  uint64_t n, clm_error *err) {
  clm_error_clear(err);
  if (!ctx)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multilabel_update_predictions: NULL context");
  if (n > 0 && !pred)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multilabel_update_predictions: NULL predictions");
  pthread_mutex_lock(&ctx->lock);
  clm_status st =
      update(ctx, state, base, labels, NULL, pred, 1, weights, n, NULL, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}
