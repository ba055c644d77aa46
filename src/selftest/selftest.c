/* Device self-test: every kernel, every launch shape the engine may pick,
 * fixed inputs, compared with the double-precision CPU reference that the
 * tests use (src/reference). Evaluations go through the public API, so it
 * checks exactly what users run. */
#include "internal.h" /* only for clm_malloc (fault injection) and clm_fail */
#include "reference/ref_calibration.h"
#include "reference/ref_multilabel.h"
#include "reference/reference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tolerances: a few ulp per float32 term (OpenCL allows 2.5-4 ulp for
 * division, exp and log1p), float partials summed in double. */
#define TOL_GRAD 1e-6 /* per-sample gradient, absolute */
#define TOL_SUM 1e-5  /* sums, relative to the sum of |terms| */

struct st_ctx {
  clm_selftest_row *rows;
  size_t capacity, count;
  int failed;
};

static clm_selftest_row *new_row(struct st_ctx *t, const char *kernel,
                                 const char *fmt, ...) CLM_PRINTF(3, 4);
static clm_selftest_row *new_row(struct st_ctx *t, const char *kernel,
                                 const char *fmt, ...) {
  static clm_selftest_row scratch;
  clm_selftest_row *r = t->count < t->capacity ? &t->rows[t->count] : &scratch;
  ++t->count;
  memset(r, 0, sizeof *r);
  snprintf(r->kernel, sizeof r->kernel, "%s", kernel);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->config, sizeof r->config, fmt, ap);
  va_end(ap);
  r->passed = 1;
  return r;
}

/* Records one comparison: `err_units` is the error over its tolerance. */
static void record(struct st_ctx *t, clm_selftest_row *r, double err_units,
                   const char *what) {
  if (!(err_units <= r->worst))
    r->worst = isnan(err_units) ? INFINITY : err_units;
  if ((!(err_units <= 1.0)) && r->passed) {
    r->passed = 0;
    t->failed = 1;
    snprintf(r->detail, sizeof r->detail, "%.150s", what);
  }
}

/* ---- binary ---- */

/* One evaluation of n samples against the reference; `gref` holds n
 * doubles of scratch (the reference's per-sample gradients). */
static void binary_case(struct st_ctx *t, clm_selftest_row *row,
                        clm_context *ctx, const uint8_t *y, const float *s,
                        uint64_t n, clm_scores_kind kind, double thr,
                        float *grad, const float *x, uint64_t d, double *gref) {
  char what[160];
  clm_binary_state st;
  clm_error err;
  if (clm_binary_state_init(&st, kind, thr, d) != CLM_OK) {
    record(t, row, INFINITY, "state init failed");
    return;
  }
  clm_status rc = clm_binary_update(ctx, &st, y, s, n, x, grad, &err);
  ++row->cases;
  if (rc != CLM_OK) {
    snprintf(what, sizeof what, "n=%llu: %.120s", (unsigned long long)n,
             err.message);
    record(t, row, INFINITY, what);
    clm_binary_state_release(&st);
    return;
  }
  clm_ref_binary ref;
  clm_ref_binary_eval(y, s, n, kind == CLM_SCORES_PROBS, thr, gref, &ref);
  const uint64_t tp = ref.tp, fp = ref.fp, tn = ref.tn, fn = ref.fn;
  const double loss = ref.loss_sum, labs = ref.loss_abs;
  const double g = ref.grad_sum, gabs = ref.grad_abs;
  double gmax = 0;
  for (uint64_t i = 0; grad && i < n; ++i)
    if (fabs(grad[i] - gref[i]) > gmax)
      gmax = fabs(grad[i] - gref[i]);
  double *wref = d ? clm_calloc(d, sizeof(double)) : NULL;
  double *wabs = d ? clm_calloc(d, sizeof(double)) : NULL;
  if (wref && wabs)
    clm_ref_weight_grad(gref, x, n, d, wref, wabs);
  const uint64_t wrong = (st.tp != tp) + (st.fp != fp) + (st.tn != tn) +
                         (st.fn != fn) + (st.n != n);
  snprintf(what, sizeof what,
           "n=%llu: counts tp/fp/tn/fn %llu/%llu/%llu/%llu, expected "
           "%llu/%llu/%llu/%llu",
           (unsigned long long)n, (unsigned long long)st.tp,
           (unsigned long long)st.fp, (unsigned long long)st.tn,
           (unsigned long long)st.fn, (unsigned long long)tp,
           (unsigned long long)fp, (unsigned long long)tn,
           (unsigned long long)fn);
  record(t, row, wrong ? INFINITY : 0.0, what);
  double e = isinf(loss) ? (st.bce_sum == loss ? 0 : INFINITY)
                         : fabs(st.bce_sum - loss) / (TOL_SUM * labs + 1e-30);
  snprintf(what, sizeof what, "n=%llu: loss sum %.9g, expected %.9g",
           (unsigned long long)n, st.bce_sum, loss);
  record(t, row, e, what);
  e = fabs(st.grad_sum - g) / (TOL_SUM * gabs + 1e-30);
  snprintf(what, sizeof what, "n=%llu: gradient sum %.9g, expected %.9g",
           (unsigned long long)n, st.grad_sum, g);
  record(t, row, e, what);
  if (grad) {
    snprintf(what, sizeof what, "n=%llu: per-sample gradient off by %.3g",
             (unsigned long long)n, gmax);
    record(t, row, gmax / TOL_GRAD, what);
  }
  if (d && wref && wabs) {
    clm_binary_result res;
    double *w = clm_calloc(d, sizeof(double));
    if (w &&
        clm_binary_finalize(&st, CLM_ZERO_DIVISION_ZERO, &res, w) == CLM_OK) {
      for (uint64_t j = 0; j < d; ++j) {
        e = fabs(w[j] - wref[j]) / (TOL_SUM * wabs[j] + 1e-30);
        snprintf(what, sizeof what,
                 "n=%llu d=%llu: dL/dW[%llu] %.9g, expected %.9g",
                 (unsigned long long)n, (unsigned long long)d,
                 (unsigned long long)j, w[j], wref[j]);
        record(t, row, e, what);
      }
    } else {
      record(t, row, INFINITY, "weight gradient unavailable");
    }
    free(w);
  }
  free(wref);
  free(wabs);
  clm_binary_state_release(&st);
}

static clm_status run_binary(struct st_ctx *t, const clm_context_options *base,
                             size_t ls, clm_error *err) {
  clm_context_options o = *base;
  o.local_size = ls;
  clm_context *ctx = NULL;
  clm_status rc = clm_context_create(&o, &ctx, err);
  if (rc != CLM_OK)
    return rc;
  clm_selftest_row *row = new_row(t, "binary", "work-group %zu", ls);
  clm_selftest_row *wrow = new_row(t, "weight_grad", "work-group %zu", ls);
  const uint64_t big = 100003;
  uint8_t *y = clm_malloc(big);
  float *s = clm_malloc(big * sizeof(float));
  float *g = clm_malloc(big * sizeof(float));
  float *x = clm_malloc(big * 3 * sizeof(float));
  double *gref = clm_malloc(big * sizeof(double));
  if (!y || !s || !g || !x || !gref) {
    free(y), free(s), free(g), free(x), free(gref);
    clm_context_free(ctx);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "self-test buffers");
  }
  clm_rng rng;
  clm_rng_seed(&rng, 0x5E1F7E57ULL);
  for (uint64_t i = 0; i < big; ++i) {
    y[i] = clm_rng_uniform(&rng) < 0.4;
    s[i] = (float)((clm_rng_uniform(&rng) - 0.5) * 20.0);
  }
  for (uint64_t i = 0; i < big * 3; ++i)
    x[i] = (float)(clm_rng_uniform(&rng) * 2 - 1);
  /* Sizes around the work-group and tile edges, and a large odd one. */
  const uint64_t tile_cpu = ls * 32 * 16, tile_gpu = ls * 8 * 4;
  const uint64_t sizes[] = {1,
                            ls > 1 ? ls - 1 : 2,
                            ls + 1,
                            tile_gpu - 1,
                            tile_gpu + 1,
                            tile_cpu - 1,
                            tile_cpu + 1,
                            big};
  for (size_t q = 0; q < sizeof sizes / sizeof sizes[0]; ++q) {
    const uint64_t n = sizes[q] < big ? sizes[q] : big;
    binary_case(t, row, ctx, y, s, n, CLM_SCORES_LOGITS, 0.5, g, NULL, 0, gref);
    binary_case(t, wrow, ctx, y, s, n, CLM_SCORES_LOGITS, 0.3, NULL, x, 3,
                gref);
  }
  /* Extremes: +-inf, +-100, +-88.7, 0, -0, denormal-sized results. */
  const float ext[] = {INFINITY, -INFINITY, 100.0f, -100.0f, 88.7f,  -88.7f,
                       0.0f,     -0.0f,     1e-45f, 17.0f,   -17.0f, 1e30f};
  uint8_t ey[24];
  float es[24];
  for (int i = 0; i < 12; ++i) {
    ey[2 * i] = 0, es[2 * i] = ext[i];
    ey[2 * i + 1] = 1, es[2 * i + 1] = ext[i];
  }
  binary_case(t, row, ctx, ey, es, 24, CLM_SCORES_LOGITS, 0.5, g, NULL, 0,
              gref);
  /* One finite-loss set (infinite losses hide the others in a sum). */
  binary_case(t, row, ctx, ey + 4, es + 4, 20, CLM_SCORES_LOGITS, 0.5, g, NULL,
              0, gref);
  /* Probabilities, thresholds hit exactly. */
  const float pr[] = {0.0f, 1.0f, 0.5f, 0.25f, 0.7f, 1e-8f, 0.999f, -0.0f};
  uint8_t py[16];
  float ps[16];
  for (int i = 0; i < 8; ++i) {
    py[2 * i] = 0, ps[2 * i] = pr[i];
    py[2 * i + 1] = 1, ps[2 * i + 1] = pr[i];
  }
  binary_case(t, row, ctx, py, ps, 16, CLM_SCORES_PROBS, 0.5, g, NULL, 0, gref);
  binary_case(t, row, ctx, py, ps, 16, CLM_SCORES_PROBS, 0.25, g, NULL, 0,
              gref);
  if (row->passed)
    snprintf(row->detail, sizeof row->detail,
             "counts, loss, gradients; n 1..100003, +-inf, probs");
  if (wrow->passed)
    snprintf(wrow->detail, sizeof wrow->detail, "dL/dW, D=3, vs double");
  free(y), free(s), free(g), free(x), free(gref);
  clm_context_free(ctx);
  return CLM_OK;
}

/* ---- multi-class ---- */

static clm_status run_confusion(struct st_ctx *t,
                                const clm_context_options *base, int strategy,
                                uint32_t k, clm_error *err) {
  static const char *const names[] = {"auto", "local", "diagonal-local",
                                      "global", "private"};
  clm_context_options o = *base;
  o.confusion_strategy = strategy;
  clm_context *ctx = NULL;
  clm_status rc = clm_context_create(&o, &ctx, err);
  if (rc != CLM_OK)
    return rc;
  clm_selftest_row *row =
      new_row(t, "confusion", "%s, K=%u", names[strategy], k);
  const uint64_t n = 65537;
  int32_t *yt = clm_malloc(n * sizeof(int32_t)),
          *yp = clm_malloc(n * sizeof(int32_t));
  uint64_t *want = clm_calloc((size_t)k * k, sizeof(uint64_t));
  if (!yt || !yp || !want) {
    free(yt), free(yp), free(want);
    clm_context_free(ctx);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "self-test buffers");
  }
  clm_rng rng;
  clm_rng_seed(&rng, k * 31 + (uint64_t)strategy);
  for (uint64_t i = 0; i < n; ++i) {
    yt[i] = (int32_t)clm_rng_below(&rng, k);
    yp[i] =
        clm_rng_uniform(&rng) < 0.6 ? yt[i] : (int32_t)clm_rng_below(&rng, k);
  }
  const uint64_t sizes[] = {1, 255, 257, n};
  for (size_t q = 0; q < 4; ++q) {
    clm_ref_confusion(yt, yp, sizes[q], k, want);
    clm_multiclass_state st;
    ++row->cases;
    if (clm_multiclass_state_init(&st, k, 0) != CLM_OK) {
      record(t, row, INFINITY, "state init failed");
      continue;
    }
    rc = clm_multiclass_update_labels(ctx, &st, yt, yp, sizes[q], err);
    char what[160];
    if (rc != CLM_OK) {
      snprintf(what, sizeof what, "n=%llu: %.120s",
               (unsigned long long)sizes[q], err->message);
      record(t, row, INFINITY, what);
    } else {
      uint64_t wrong = 0;
      for (uint64_t c = 0; c < (uint64_t)k * k; ++c)
        wrong += st.confusion[c] != want[c];
      snprintf(what, sizeof what, "n=%llu: %llu of %llu cells wrong",
               (unsigned long long)sizes[q], (unsigned long long)wrong,
               (unsigned long long)k * k);
      record(t, row, wrong ? INFINITY : 0.0, what);
    }
    clm_multiclass_state_release(&st);
  }
  if (row->passed)
    snprintf(row->detail, sizeof row->detail, "exact K x K counts, n 1..%llu",
             (unsigned long long)n);
  free(yt), free(yp), free(want);
  clm_context_free(ctx);
  return CLM_OK;
}

static clm_status run_argmax(struct st_ctx *t, const clm_context_options *base,
                             uint32_t k, clm_error *err) {
  clm_context *ctx = NULL;
  clm_status rc = clm_context_create(base, &ctx, err);
  if (rc != CLM_OK)
    return rc;
  clm_selftest_row *row = new_row(t, "argmax_ce", "K=%u, logits, top-2", k);
  const uint64_t n = 4099;
  float *z = clm_malloc(n * k * sizeof(float));
  int32_t *yt = clm_malloc(n * sizeof(int32_t)), *pred = clm_malloc(n * 4);
  if (!z || !yt || !pred) {
    free(z), free(yt), free(pred);
    clm_context_free(ctx);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "self-test buffers");
  }
  clm_rng rng;
  clm_rng_seed(&rng, 77 + k);
  for (uint64_t i = 0; i < n; ++i) {
    yt[i] = (int32_t)clm_rng_below(&rng, k);
    for (uint32_t c = 0; c < k; ++c)
      z[i * k + c] = (float)((clm_rng_uniform(&rng) - 0.5) * 30);
  }
  /* Ties and extremes in the first rows. */
  for (uint32_t c = 0; c < k; ++c) {
    z[0 * k + c] = 1.0f;
    z[1 * k + c] = c == 1 ? 1e4f : -1e4f;
    z[2 * k + c] = -1e4f;
  }
  clm_ref_multiclass ref;
  clm_ref_multiclass_eval(yt, z, n, k, 0, 2, NULL, &ref);
  const double ce = ref.ce_sum, ceabs = ref.ce_abs;
  const uint64_t hits = ref.top_k_hits;
  uint64_t argmax_wrong = 0;
  clm_multiclass_state st;
  ++row->cases;
  char what[160];
  if (clm_multiclass_state_init(&st, k, 2) != CLM_OK) {
    record(t, row, INFINITY, "state init failed");
  } else {
    rc = clm_multiclass_update_scores(ctx, &st, yt, z, n, CLM_SCORES_LOGITS,
                                      pred, err);
    if (rc != CLM_OK) {
      record(t, row, INFINITY, err->message);
    } else {
      for (uint64_t i = 0; i < n; ++i)
        argmax_wrong += (uint32_t)pred[i] != clm_ref_argmax(z + i * k, k);
      snprintf(what, sizeof what, "%llu of %llu argmax rows wrong",
               (unsigned long long)argmax_wrong, (unsigned long long)n);
      record(t, row, argmax_wrong ? INFINITY : 0.0, what);
      snprintf(what, sizeof what, "top-2 hits %llu, expected %llu",
               (unsigned long long)st.top_k_hits, (unsigned long long)hits);
      record(t, row, st.top_k_hits == hits ? 0.0 : INFINITY, what);
      snprintf(what, sizeof what, "cross-entropy sum %.9g, expected %.9g",
               st.ce_sum, ce);
      record(t, row, fabs(st.ce_sum - ce) / (TOL_SUM * ceabs + 1e-30), what);
    }
    clm_multiclass_state_release(&st);
  }
  if (row->passed)
    snprintf(row->detail, sizeof row->detail,
             "argmax (ties), cross-entropy, top-2 vs double");
  free(z), free(yt), free(pred);
  clm_context_free(ctx);
  return CLM_OK;
}

/* ---- ranking ---- */

/* Exact AUC and AP of n samples (float32 or float64 scores, with ties,
 * +-inf and -0.0) under a memory budget, and the full curve, against the
 * sort-based reference. */
static void ranking_case(struct st_ctx *t, clm_selftest_row *row,
                         clm_context *ctx, const uint8_t *y, const void *s,
                         const double *sd, clm_dtype dtype, uint64_t n,
                         uint64_t budget) {
  clm_ref_ranking ref;
  clm_ref_ranking_eval(y, sd, n, &ref);
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.memory_budget = budget;
  o.curve_points = n + 1;
  clm_ranking_result res;
  clm_error err;
  char what[160];
  ++row->cases;
  if (clm_ranking_compute_arrays(ctx, y, s, dtype, n, 1, 0, &o, &res, &err) !=
      CLM_OK) {
    record(t, row, INFINITY, err.message);
    clm_ref_ranking_free(&ref);
    return;
  }
  const clm_ranking_class *c = &res.classes[0];
  snprintf(what, sizeof what, "ROC-AUC %.17g, expected %.17g (%s)", c->roc_auc,
           ref.roc_auc, clm_dtype_name(dtype));
  record(t, row, fabs(c->roc_auc - ref.roc_auc) / 1e-12, what);
  snprintf(what, sizeof what, "AP %.17g, expected %.17g (%s)",
           c->average_precision, ref.average_precision, clm_dtype_name(dtype));
  record(t, row, fabs(c->average_precision - ref.average_precision) / 1e-12,
         what);
  uint64_t wrong = c->curve_len != ref.curve_len;
  for (uint64_t i = 0; !wrong && i < ref.curve_len; ++i)
    wrong += c->curve[i].threshold != ref.curve[i].threshold ||
             c->curve[i].tp != ref.curve[i].tp ||
             c->curve[i].fp != ref.curve[i].fp;
  snprintf(what, sizeof what, "curve of %llu points differs (%llu expected)",
           (unsigned long long)c->curve_len, (unsigned long long)ref.curve_len);
  record(t, row, wrong ? INFINITY : 0.0, what);
  clm_ranking_result_release(&res);
  clm_ref_ranking_free(&ref);
}

static clm_status run_ranking(struct st_ctx *t, const clm_context_options *base,
                              uint64_t budget, clm_error *err) {
  clm_context *ctx = NULL;
  clm_status rc = clm_context_create(base, &ctx, err);
  if (rc != CLM_OK)
    return rc;
  clm_selftest_row *row =
      new_row(t, "rank_hist/refine", "budget %llu KiB, f32 and f64",
              (unsigned long long)(budget >> 10));
  const uint64_t n = 20011;
  uint8_t *y = clm_malloc(n);
  float *z = clm_malloc(n * sizeof *z);
  double *d = clm_malloc(n * sizeof *d), *zd = clm_malloc(n * sizeof *zd);
  if (!y || !z || !d || !zd) {
    free(y), free(z), free(d), free(zd);
    clm_context_free(ctx);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "self-test buffers");
  }
  clm_rng rng;
  clm_rng_seed(&rng, 4242);
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = clm_rng_uniform(&rng) < 0.3;
    const double u = clm_rng_uniform(&rng);
    /* A third of the scores on a coarse grid (ties), the rest spread. */
    z[i] =
        i % 3 == 0 ? (float)floor(u * 8) / 8 : (float)((u - 0.5) * 12 + y[i]);
    zd[i] = (double)z[i] + (i % 3 == 0 ? 0.0 : 1e-12 * (double)(i % 7));
  }
  z[0] = INFINITY, z[1] = -INFINITY, z[2] = -0.0f, z[3] = 0.0f;
  for (int i = 0; i < 4; ++i)
    zd[i] = z[i];
  for (uint64_t i = 0; i < n; ++i)
    d[i] = z[i];
  ranking_case(t, row, ctx, y, z, d, CLM_DTYPE_F32, n, budget);
  ranking_case(t, row, ctx, y, zd, zd, CLM_DTYPE_F64, n, budget);
  if (row->passed)
    snprintf(row->detail, sizeof row->detail,
             "exact AUC, AP and curve (ties, +-inf, -0) vs sort");
  free(y), free(z), free(d), free(zd);
  clm_context_free(ctx);
  return CLM_OK;
}

/* ---- calibration ---- */

/* Bins of one table against the reference: counts exact but for the rows
 * the reference finds within `near` of an edge (a float32 p may bin either
 * way), sums within `tol` per unit weight plus their moved weight. */
static void calibration_table(struct st_ctx *t, clm_selftest_row *row,
                              const char *what, uint32_t nb,
                              const uint64_t *count, const double *conf,
                              const double *hits, const uint64_t *rcount,
                              const double *rweight, const double *rconf,
                              const double *rhits, uint64_t near,
                              double near_weight, double tol) {
  char msg[160];
  uint64_t moved = 0;
  for (uint32_t b = 0; b < nb; ++b) {
    moved += count[b] > rcount[b] ? count[b] - rcount[b] : rcount[b] - count[b];
    const double lim = tol * rweight[b] + near_weight + 1e-300;
    snprintf(msg, sizeof msg, "%s bin %u: confidence sum %.9g, expected %.9g",
             what, b, conf[b], rconf[b]);
    record(t, row, fabs(conf[b] - rconf[b]) / lim, msg);
    snprintf(msg, sizeof msg, "%s bin %u: hit sum %.9g, expected %.9g", what, b,
             hits[b], rhits[b]);
    record(t, row, fabs(hits[b] - rhits[b]) / lim, msg);
  }
  snprintf(msg, sizeof msg, "%s: %llu rows binned elsewhere, %llu near edges",
           what, (unsigned long long)moved, (unsigned long long)near);
  record(t, row, moved <= 2 * near ? 0.0 : INFINITY, msg);
}

/* One update (binary when k == 1) against ref_calibration.c. Tolerances
 * (tests/test_calibration.c derives them): p within 10u (binary sigma) or
 * (3.4 K + 8)u absolute (softmax), u = 2^-24; sums add 3u. */
static void calibration_case(struct st_ctx *t, clm_selftest_row *row,
                             clm_context *ctx, uint32_t k, const void *y,
                             const float *s, const float *w, uint64_t n,
                             int probs) {
  const double u = 0x1p-24;
  const double tol = probs ? 3 * u : k == 1 ? 13 * u : (3.4 * k + 11) * u;
  /* How close to an edge a p may be binned either way: its own error
   * bound; probabilities are exact. */
  const double near = probs ? 0.0 : k == 1 ? 12 * u : (3.4 * k + 8) * u;
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = k;
  o.weighted = w != NULL;
  clm_calibration_state st;
  clm_ref_calibration ref;
  clm_error err;
  ++row->cases;
  if (clm_calibration_state_init(&st, &o) != CLM_OK) {
    record(t, row, INFINITY, "state init failed");
    return;
  }
  const clm_scores_kind kind = probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS;
  const clm_status rc =
      k == 1
          ? clm_calibration_update_binary(ctx, &st, 0, y, s, w, n, kind, &err)
          : clm_calibration_update_multiclass(ctx, &st, 0, y, s, w, n, kind,
                                              &err);
  const int bad =
      k == 1 ? clm_ref_calibration_binary(y, s, w, n, probs, st.edges,
                                          st.n_bins, near, &ref)
             : clm_ref_calibration_multiclass(y, s, w, n, k, probs, 0, 0, 1,
                                              st.edges, st.n_bins, near, &ref);
  if (rc != CLM_OK || bad) {
    record(t, row, INFINITY, rc != CLM_OK ? err.message : "reference failed");
  } else {
    char msg[160];
    snprintf(msg, sizeof msg, "K=%u: %llu rows, expected %llu", k,
             (unsigned long long)st.n, (unsigned long long)ref.n);
    record(t, row, st.n == ref.n ? 0.0 : INFINITY, msg);
    const double btol = (k == 1 ? 2.5 : 4.0) * tol * ref.weight_sum + 1e-300;
    snprintf(msg, sizeof msg, "K=%u: Brier sum %.9g, expected %.9g", k,
             st.brier_sum, ref.brier_sum);
    record(t, row, fabs(st.brier_sum - ref.brier_sum) / btol, msg);
    calibration_table(t, row, "top-label", st.n_bins, st.count, st.confidence,
                      st.hits, ref.count, ref.weight, ref.conf, ref.hits,
                      ref.near, ref.near_weight, tol);
    for (uint32_t c = 0; st.classwise && c < k; ++c) {
      const size_t off = (size_t)c * st.n_bins;
      calibration_table(t, row, "class-wise", st.n_bins, st.cw_count + off,
                        st.cw_confidence + off, st.cw_hits + off,
                        ref.cw_count + off, ref.cw_weight + off,
                        ref.cw_conf + off, ref.cw_hits + off, ref.cw_near,
                        ref.cw_near_weight, tol);
    }
  }
  clm_ref_calibration_free(&ref);
  clm_calibration_state_release(&st);
}

static clm_status run_calibration(struct st_ctx *t,
                                  const clm_context_options *base,
                                  clm_error *err) {
  clm_context *ctx = NULL;
  clm_status rc = clm_context_create(base, &ctx, err);
  if (rc != CLM_OK)
    return rc;
  clm_selftest_row *row =
      new_row(t, "calibration", "binary and K=10 (class-wise), weighted");
  const uint64_t n = 4099;
  const uint32_t k = 10;
  uint8_t *y = clm_malloc(n);
  int32_t *yt = clm_malloc(n * sizeof(int32_t));
  float *s = clm_malloc(n * sizeof(float)), *w = clm_malloc(n * sizeof(float));
  float *z = clm_malloc(n * k * sizeof(float));
  if (!y || !yt || !s || !w || !z) {
    free(y), free(yt), free(s), free(w), free(z);
    clm_context_free(ctx);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "self-test buffers");
  }
  clm_rng rng;
  clm_rng_seed(&rng, 1515);
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = clm_rng_uniform(&rng) < 0.4;
    yt[i] = (int32_t)clm_rng_below(&rng, k);
    w[i] = (float)(clm_rng_uniform(&rng) * 2);
    s[i] = (float)((clm_rng_uniform(&rng) - 0.5) * 16);
    for (uint32_t c = 0; c < k; ++c)
      z[i * k + c] = (float)((clm_rng_uniform(&rng) - 0.5) * 10);
  }
  /* Extremes: +-inf, +-100, 0; a row with two +inf logits. */
  const float ext[] = {INFINITY, -INFINITY, 100, -100, 0};
  for (int i = 0; i < 5; ++i)
    s[i] = ext[i], z[i * k + 1] = ext[i];
  z[7 * k + 3] = z[7 * k + 5] = INFINITY;
  calibration_case(t, row, ctx, 1, y, s, NULL, n, 0);
  calibration_case(t, row, ctx, 1, y, s, w, n, 0);
  calibration_case(t, row, ctx, k, yt, z, w, n, 0);
  /* The same as probabilities: exact p, exact bins. */
  for (uint64_t i = 0; i < n; ++i)
    s[i] = (float)clm_rng_uniform(&rng);
  /* 0, 1, and floats on edges j/15 (the largest float <= the edge, which
   * belongs to the lower bin) and just above them */
  s[0] = 0.0f, s[1] = 1.0f;
  for (int j = 1; j < 15; ++j) {
    const double e = j / 15.0;
    float f = (float)e;
    if ((double)f > e)
      f = nextafterf(f, 0.0f);
    s[2 * j] = f;
    s[2 * j + 1] = nextafterf(f, 1.0f);
  }
  for (uint64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (uint32_t c = 0; c < k; ++c)
      sum += z[i * k + c] = (float)clm_rng_uniform(&rng);
    for (uint32_t c = 0; c < k; ++c)
      z[i * k + c] = (float)(z[i * k + c] / sum);
  }
  calibration_case(t, row, ctx, 1, y, s, w, n, 1);
  calibration_case(t, row, ctx, k, yt, z, NULL, n, 1);
  if (row->passed)
    snprintf(row->detail, sizeof row->detail,
             "bins, confidence, hits, Brier (logits, probs) vs double");
  free(y), free(yt), free(s), free(w), free(z);
  clm_context_free(ctx);
  return CLM_OK;
}

/* |got - want| over `tol`; 0 when they are equal (also at +-inf). */
static double err_units(double got, double want, double tol) {
  return got == want ? 0.0 : fabs(got - want) / (tol + 1e-300);
}

/* One multilabel configuration against the reference: exact counts and
 * per-row folds, the loss within 27u of its (non-negative) sum, LRAP 5u,
 * weighted cells 18u of the weight sum (bounds derived in
 * tests/test_multilabel.c). */
static void multilabel_case(struct st_ctx *t, clm_selftest_row *row,
                            clm_context *ctx, const uint8_t *y, const float *z,
                            const float *w, uint64_t n, uint32_t L,
                            int ranking) {
  const double u = 0x1p-24;
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = L;
  o.label_ranking = ranking;
  o.weighted = w != NULL;
  clm_multilabel_state st;
  clm_multilabel_result got, want;
  clm_error err;
  ++row->cases;
  if (clm_multilabel_state_init(&st, &o) != CLM_OK) {
    record(t, row, INFINITY, "state init failed");
    return;
  }
  clm_status rc = clm_multilabel_update(ctx, &st, 0, y, z, w, n, NULL, &err);
  if (rc == CLM_OK)
    rc = clm_multilabel_finalize(&st, CLM_ZERO_DIVISION_ZERO, &got);
  if (rc != CLM_OK) {
    record(t, row, INFINITY, err.message);
    clm_multilabel_state_release(&st);
    return;
  }
  if (clm_ref_multilabel(y, z, NULL, w, n, L, CLM_SCORES_LOGITS, NULL, ranking,
                         CLM_ZERO_DIVISION_ZERO, &want) != CLM_OK) {
    record(t, row, INFINITY, "reference failed");
  } else {
    char msg[160];
    for (uint32_t c = 0; c < L; ++c) {
      const clm_multilabel_label *a = &got.labels[c], *b = &want.labels[c];
      snprintf(msg, sizeof msg,
               "label %u: tp/fp/fn %llu/%llu/%llu, expected "
               "%llu/%llu/%llu",
               c, (unsigned long long)a->tp, (unsigned long long)a->fp,
               (unsigned long long)a->fn, (unsigned long long)b->tp,
               (unsigned long long)b->fp, (unsigned long long)b->fn);
      record(t, row,
             a->tp == b->tp && a->fp == b->fp && a->fn == b->fn ? 0.0
                                                                : INFINITY,
             msg);
      snprintf(msg, sizeof msg, "label %u: BCE mean %.9g, expected %.9g", c,
               a->bce_mean, b->bce_mean);
      record(t, row, err_units(a->bce_mean, b->bce_mean, 27 * u * b->bce_mean),
             msg);
      snprintf(msg, sizeof msg, "label %u: weight of TP %.9g, expected %.9g", c,
               a->w_tp, b->w_tp);
      record(t, row, err_units(a->w_tp, b->w_tp, 18 * u * want.weight_sum),
             msg);
    }
    const double pairs[][2] = {
        {got.samples.f1, want.samples.f1},
        {got.subset_accuracy, want.subset_accuracy},
        {got.hamming_loss, want.hamming_loss},
        {got.coverage_error, want.coverage_error},
        {got.label_ranking_loss, want.label_ranking_loss}};
    /* The last two, and LRAP, come from label ranking. */
    const size_t npairs = sizeof pairs / sizeof *pairs - (ranking ? 0 : 2);
    for (size_t q = 0; q < npairs; ++q) {
      snprintf(msg, sizeof msg, "per-row metric %zu: %.17g, expected %.17g", q,
               pairs[q][0], pairs[q][1]);
      record(t, row,
             err_units(pairs[q][0], pairs[q][1], 1e-12 * fabs(pairs[q][1])),
             msg);
    }
    snprintf(msg, sizeof msg, "LRAP %.9g, expected %.9g",
             got.label_ranking_average_precision,
             want.label_ranking_average_precision);
    if (ranking)
      record(t, row,
             err_units(got.label_ranking_average_precision,
                       want.label_ranking_average_precision,
                       5 * u * want.label_ranking_average_precision),
             msg);
    clm_multilabel_result_release(&want);
  }
  clm_multilabel_result_release(&got);
  clm_multilabel_state_release(&st);
}

static clm_status run_multilabel(struct st_ctx *t,
                                 const clm_context_options *base,
                                 clm_error *err) {
  clm_context *ctx = NULL;
  clm_status rc = clm_context_create(base, &ctx, err);
  if (rc != CLM_OK)
    return rc;
  clm_selftest_row *row = new_row(
      t, "multilabel", "L=13 and L=600 (scan and sorted ranking), weighted");
  const uint64_t n = 517;
  /* L = 600 at density 0.6: about 360 true labels a row, past the scan's
   * limit (16 per vector lane), so the rows are sorted. */
  const uint32_t Ls[2] = {13, 600};
  uint8_t *y = clm_malloc(n * 600);
  float *z = clm_malloc(n * 600 * sizeof(float));
  float *w = clm_malloc(n * sizeof(float));
  if (!y || !z || !w) {
    free(y), free(z), free(w);
    clm_context_free(ctx);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "self-test buffers");
  }
  clm_rng rng;
  clm_rng_seed(&rng, 1313);
  static const float ext[] = {INFINITY, -INFINITY, 100, -100, 0, -0.0f};
  for (int q = 0; q < 2; ++q) {
    const uint32_t L = Ls[q];
    for (uint64_t i = 0; i < n; ++i) {
      w[i] = i % 11 == 3 ? 0.0f : (float)(clm_rng_uniform(&rng) * 2);
      for (uint32_t c = 0; c < L; ++c) {
        const uint64_t e = i * L + c;
        y[e] = clm_rng_uniform(&rng) < (q ? 0.6 : 0.2);
        /* Quantized logits: ties, and never within a float step of 0
         * (the decision at t = 0.5) unless exactly 0. */
        z[e] = (float)(round((clm_rng_uniform(&rng) - 0.5) * 16) / 2);
        if (i < 6 && c % 4 == 1)
          z[e] = ext[i];
      }
    }
    multilabel_case(t, row, ctx, y, z, NULL, n, L, 1);
    multilabel_case(t, row, ctx, y, z, w, n, L, 1);
  }
  if (row->passed)
    snprintf(row->detail, sizeof row->detail,
             "counts, BCE, per-row and label-ranking metrics vs double");
  free(y), free(z), free(w);
  y = NULL, z = NULL, w = NULL;
  /* Rows shorter than a vector, packed; without label ranking the rows
   * counted in classes on the device (enough rows for the histograms of
   * up to 150 work-items). */
  row = new_row(t, "multilabel",
                "L=3 and L=10 (packed rows, row classes), unweighted");
  const uint64_t n2 = 40000;
  y = clm_malloc(n2 * 10);
  z = clm_malloc(n2 * 10 * sizeof(float));
  if (!y || !z) {
    free(y), free(z);
    clm_context_free(ctx);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "self-test buffers");
  }
  for (uint64_t e = 0; e < n2 * 10; ++e) {
    y[e] = clm_rng_uniform(&rng) < 0.15;
    z[e] = (float)(round((clm_rng_uniform(&rng) - 0.5) * 16) / 2);
    if (e < 6)
      z[e] = ext[e];
  }
  multilabel_case(t, row, ctx, y, z, NULL, n2, 3, 0);
  multilabel_case(t, row, ctx, y, z, NULL, n2, 10, 0);
  multilabel_case(t, row, ctx, y, z, NULL, 1000, 10, 1);
  if (row->passed)
    snprintf(row->detail, sizeof row->detail,
             "counts, BCE and per-row metrics vs double");
  free(y), free(z);
  clm_context_free(ctx);
  return CLM_OK;
}

clm_status clm_selftest(const clm_context_options *opts, clm_selftest_row *rows,
                        size_t capacity, size_t *count, clm_error *err) {
  clm_error_clear(err);
  if (!count || (capacity && !rows))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_selftest: NULL argument");
  *count = 0;
  clm_context_options base;
  if (opts)
    base = *opts;
  else
    clm_context_options_init(&base);
  base.local_size = 0;
  base.confusion_strategy = CLM_CONFUSION_AUTO;
  struct st_ctx t = {rows, capacity, 0, 0};

  /* The device's own defaults first, then the other work-group sizes. */
  clm_context *probe = NULL;
  clm_status rc = clm_context_create(&base, &probe, err);
  if (rc != CLM_OK)
    return rc;
  clm_launch_shape shape;
  clm_context_launch_shape(probe, &shape);
  const size_t def_ls = shape.local_size, max_wg = shape.max_local_size;
  const uint64_t local_mem = clm_context_device(probe)->local_mem_bytes;
  const int one_item_groups = shape.confusion_local_size == 1;
  clm_context_free(probe);

  const size_t sizes[] = {def_ls, 1, 8, 64, 256};
  for (size_t q = 0; q < 5 && rc == CLM_OK; ++q) {
    if (sizes[q] > max_wg || (q > 0 && sizes[q] == def_ls))
      continue;
    rc = run_binary(&t, &base, sizes[q], err);
  }
  const uint32_t ks[] = {3, 100, 1000};
  for (size_t q = 0; q < 3 && rc == CLM_OK; ++q)
    for (int s = CLM_CONFUSION_LOCAL;
         s <= CLM_CONFUSION_PRIVATE && rc == CLM_OK; ++s) {
      if (s == CLM_CONFUSION_PRIVATE && !one_item_groups)
        continue;
      if (s == CLM_CONFUSION_LOCAL &&
          (uint64_t)ks[q] * ks[q] * 4 > local_mem / 2)
        continue;
      rc = run_confusion(&t, &base, s, ks[q], err);
    }
  for (size_t q = 0; q < 2 && rc == CLM_OK; ++q)
    rc = run_argmax(&t, &base, q ? 1000 : 10, err);
  /* The default budget (one refine pass) and the smallest (many passes,
   * split and dense ranges). */
  for (size_t q = 0; q < 2 && rc == CLM_OK; ++q)
    rc = run_ranking(&t, &base,
                     q ? CLM_RANKING_MIN_BUDGET : CLM_RANKING_DEFAULT_BUDGET,
                     err);
  if (rc == CLM_OK)
    rc = run_calibration(&t, &base, err);
  if (rc == CLM_OK)
    rc = run_multilabel(&t, &base, err);
  *count = t.count;
  if (rc != CLM_OK)
    return rc;
  return t.failed ? clm_fail(err, CLM_ERR_SELFTEST, -1, 0,
                             "the device computed wrong answers (see rows)")
                  : CLM_OK;
}
