/* The multilabel family on the device against the double-precision
 * reference (src/reference/ref_multilabel.c, itself checked against
 * scikit-learn in test_ref_multilabel.c).
 *
 * Bounds, in units of u = 2^-24:
 * - Counts, and everything the host derives from per-row counts in double
 *   (samples averages, subset accuracy, Hamming loss, coverage, ranking
 *   loss, samples ROC-AUC), equal the reference up to double rounding of
 *   the folds: 1e-12 relative.
 * - Cells are decided as z > logit(t) rounded down to float, the reference
 *   as sigma(z) > t in double: the inputs keep every logit at least 1e-4
 *   away from its label's logit(t) (and exactly at it for some cells at
 *   t = 0.5, where both say negative), so decisions agree.
 * - Per-label BCE sums: each float32 term within 8u relative (softplus
 *   from exp within 1 ulp, log1p 2 ulp, the add), a band of at most 16
 *   rows summed in float (16u), Kahan into the slice (2u), slices in
 *   double: 26u of the sum of the (non-negative) terms; weighted: one more
 *   product (27u).
 * - Weighted cells: a band sum of at most 16 float weights (16u), Kahan
 *   (2u): 18u of the sum of the weights.
 * - LRAP: each row's term is a float Kahan sum of t quotients (each within
 *   2.5 ulp as OpenCL allows), so within 5u relative; the mean 5u.
 * - Gradients sigma(z) - y: 1e-6 absolute per cell (the self-test's). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmetrics.h"
#include "ref_multilabel.h"
#include "reference.h"

#define U 0x1p-24

static clm_context *ctx;

static void open_ctx(size_t local_size, uint64_t chunk) {
  clm_context_options o;
  clm_context_options_init(&o);
  o.local_size = local_size;
  o.chunk_samples = chunk;
  clm_error err;
  clm_status st = clm_context_create(&o, &ctx, &err);
  if (st == CLM_ERR_NO_PLATFORM || st == CLM_ERR_NO_DEVICE)
    cr_skip_test("no OpenCL device: %s", err.message);
  cr_assert_eq(st, CLM_OK, "context: %s", err.message);
}
static void setup(void) {
  open_ctx(0, 0);
}
static void teardown(void) {
  clm_context_free(ctx);
  ctx = NULL;
}

/* ---- inputs ---- */

struct data {
  uint64_t n;
  uint32_t L;
  uint8_t *y, *p;
  float *z, *w;
  double *thr;
};

static void data_free(struct data *d) {
  free(d->thr);
  free(d->w);
  free(d->z);
  free(d->p);
  free(d->y);
  memset(d, 0, sizeof *d);
}

static double logit(double t) {
  return log(t) - log1p(-t);
}

/* Random labels (density `dens`), logits around +-y, extremes in the first
 * rows, per-label thresholds when `per_label`, ties when `ties`, weights
 * with zeros. Logits stay 1e-4 away from their label's logit(t). */
static void data_make(struct data *d, uint64_t n, uint32_t L, double dens,
                      int per_label, int ties, int probs, uint64_t seed) {
  memset(d, 0, sizeof *d);
  d->n = n;
  d->L = L;
  const size_t cells = (size_t)(n * L) + 1;
  d->y = malloc(cells);
  d->p = malloc(cells);
  d->z = malloc(cells * sizeof(float));
  d->w = malloc((n + 1) * sizeof(float));
  d->thr = malloc(L * sizeof(double));
  cr_assert(d->y && d->p && d->z && d->w && d->thr);
  clm_rng rng;
  clm_rng_seed(&rng, seed);
  for (uint32_t c = 0; c < L; ++c)
    d->thr[c] = per_label ? 0.1 + 0.8 * clm_rng_uniform(&rng) : 0.5;
  static const float ext[] = {INFINITY, -INFINITY, 100.0f,
                              -100.0f,  0.0f,      -0.0f};
  for (uint64_t i = 0; i < n; ++i) {
    d->w[i] = (float)(clm_rng_uniform(&rng) * 3.0);
    if (i % 13 == 5)
      d->w[i] = 0.0f;
    for (uint32_t c = 0; c < L; ++c) {
      const size_t e = (size_t)(i * L + c);
      d->y[e] = clm_rng_uniform(&rng) < dens;
      d->p[e] = clm_rng_uniform(&rng) < 0.4;
      if (probs) {
        double v = clm_rng_uniform(&rng);
        if (ties)
          v = floor(v * 8) / 8;
        if (fabs(v - d->thr[c]) < 1e-4)
          v = d->thr[c]; /* exactly at it: negative both ways */
        d->z[e] = (float)v;
        continue;
      }
      const double t = logit(d->thr[c]);
      double v = (clm_rng_uniform(&rng) - 0.5) * 8 + (d->y[e] ? 1 : -1);
      if (ties)
        v = round(v);
      if (fabs(v - t) < 1e-4 || fabs((float)v - t) < 1e-4)
        v = t + 0.5;
      if (i < 6 && c % 3 == 0)
        v = ext[i];
      d->z[e] = (float)v;
    }
  }
  /* Dense data: every row has a true and a false label (L >= 2), so the
   * samples ROC-AUC, which counts tied pairs, is defined. Sparse data: a
   * row with no true label and one with every label. */
  if (dens > 0.5 && L >= 2)
    for (uint64_t i = 0; i < n; ++i) {
      d->y[i * L] = 1;
      d->y[i * L + 1] = 0;
    }
  else if (n > 8)
    for (uint32_t c = 0; c < L; ++c) {
      d->y[7 * L + c] = 0;
      d->y[8 * L + c] = 1;
    }
}

/* ---- comparison ---- */

static void near_rel(double got, double want, double tol, const char *what) {
  if (isnan(want)) {
    cr_expect(isnan(got), "%s: %.17g, expected NaN", what, got);
    return;
  }
  if (isinf(want)) {
    cr_expect(got == want, "%s: %.17g, expected %g", what, got, want);
    return;
  }
  cr_expect(fabs(got - want) <= tol * fmax(1.0, fabs(want)),
            "%s: %.17g, expected %.17g (tol %.3g)", what, got, want, tol);
}

/* Compares a device result with the reference; `bsum_abs` the sums of the
 * BCE terms per label (for the loss tolerance). */
static void compare(const clm_multilabel_result *g,
                    const clm_multilabel_result *r, int weighted) {
  cr_assert_eq(g->n, r->n);
  cr_assert_eq(g->n_labels, r->n_labels);
  const double exact = 1e-12;
  const double cell_tol = weighted ? 18 * U : 0.0;
  char what[96];
  for (uint32_t c = 0; c < g->n_labels; ++c) {
    const clm_multilabel_label *a = &g->labels[c], *b = &r->labels[c];
    cr_expect_eq(a->tp, b->tp, "label %u tp %llu vs %llu", c,
                 (unsigned long long)a->tp, (unsigned long long)b->tp);
    cr_expect_eq(a->fp, b->fp, "label %u fp", c);
    cr_expect_eq(a->fn, b->fn, "label %u fn", c);
    cr_expect_eq(a->tn, b->tn, "label %u tn", c);
    const double wsum = g->weight_sum;
    snprintf(what, sizeof what, "label %u w_tp", c);
    cr_expect(fabs(a->w_tp - b->w_tp) <= cell_tol * wsum + 1e-300,
              "%s %.17g %.17g", what, a->w_tp, b->w_tp);
    cr_expect(fabs(a->w_fp - b->w_fp) <= cell_tol * wsum + 1e-300,
              "label %u w_fp", c);
    cr_expect(fabs(a->w_fn - b->w_fn) <= cell_tol * wsum + 1e-300,
              "label %u w_fn", c);
    cr_expect(fabs(a->w_tn - b->w_tn) <= cell_tol * wsum + 1e-300,
              "label %u w_tn", c);
    cr_expect_eq(a->undefined, b->undefined, "label %u undefined %x vs %x", c,
                 a->undefined, b->undefined);
    /* Ratios of cells: exact unweighted; weighted within the cells' error
     * (a ratio of two sums each within cell_tol * wsum). */
    const double rt = weighted ? 1e-5 : exact;
    snprintf(what, sizeof what, "label %u precision", c);
    near_rel(a->precision, b->precision, rt, what);
    snprintf(what, sizeof what, "label %u recall", c);
    near_rel(a->recall, b->recall, rt, what);
    snprintf(what, sizeof what, "label %u f1", c);
    near_rel(a->f1, b->f1, rt, what);
    snprintf(what, sizeof what, "label %u bce_mean", c);
    near_rel(a->bce_mean, b->bce_mean, 27 * U, what);
  }
  const double rt = weighted ? 1e-5 : exact;
  near_rel(g->micro.precision, r->micro.precision, rt, "micro precision");
  near_rel(g->micro.recall, r->micro.recall, rt, "micro recall");
  near_rel(g->micro.f1, r->micro.f1, rt, "micro f1");
  near_rel(g->macro.precision, r->macro.precision, rt, "macro precision");
  near_rel(g->macro.recall, r->macro.recall, rt, "macro recall");
  near_rel(g->macro.f1, r->macro.f1, rt, "macro f1");
  near_rel(g->weighted_avg.precision, r->weighted_avg.precision, rt,
           "weighted precision");
  near_rel(g->weighted_avg.recall, r->weighted_avg.recall, rt,
           "weighted recall");
  near_rel(g->weighted_avg.f1, r->weighted_avg.f1, rt, "weighted f1");
  near_rel(g->jaccard_micro, r->jaccard_micro, rt, "jaccard micro");
  near_rel(g->jaccard_macro, r->jaccard_macro, rt, "jaccard macro");
  /* Per-row folds: double in both. */
  near_rel(g->samples.precision, r->samples.precision, exact,
           "samples precision");
  near_rel(g->samples.recall, r->samples.recall, exact, "samples recall");
  near_rel(g->samples.f1, r->samples.f1, exact, "samples f1");
  near_rel(g->jaccard_samples, r->jaccard_samples, exact, "jaccard samples");
  cr_expect_eq(g->samples_undefined, r->samples_undefined,
               "samples undefined %x vs %x", g->samples_undefined,
               r->samples_undefined);
  near_rel(g->subset_accuracy, r->subset_accuracy, exact, "subset accuracy");
  near_rel(g->hamming_loss, r->hamming_loss, exact, "hamming loss");
  near_rel(g->weight_sum, r->weight_sum, exact, "weight sum");
  near_rel(g->bce_mean, r->bce_mean, 27 * U, "bce mean");
  near_rel(g->coverage_error, r->coverage_error, exact, "coverage error");
  near_rel(g->label_ranking_loss, r->label_ranking_loss, exact,
           "label ranking loss");
  near_rel(g->roc_auc_samples, r->roc_auc_samples, exact, "samples roc_auc");
  near_rel(g->label_ranking_average_precision,
           r->label_ranking_average_precision, 5 * U, "LRAP");
}

/* Runs one configuration on the device and the reference, with or
 * without label ranking. */
static void check_case_ranking(const struct data *d, int weighted, int probs,
                               int from_pred, int per_label,
                               clm_zero_division zd, int ranking) {
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.label_ranking = ranking;
  o.n_labels = d->L;
  o.kind = probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS;
  o.from_predictions = from_pred;
  o.thresholds = per_label ? d->thr : NULL;
  o.weighted = weighted;
  clm_multilabel_state st;
  cr_assert_eq(clm_multilabel_state_init(&st, &o), CLM_OK);
  clm_error err;
  const float *w = weighted ? d->w : NULL;
  float *grad = from_pred ? NULL : malloc(((size_t)(d->n * d->L) + 1) * 4);
  clm_status rc =
      from_pred
          ? clm_multilabel_update_predictions(ctx, &st, 0, d->y, d->p, w, d->n,
                                              &err)
          : clm_multilabel_update(ctx, &st, 0, d->y, d->z, w, d->n, grad, &err);
  cr_assert_eq(rc, CLM_OK, "update: %s", err.message);
  clm_multilabel_result got, want;
  const clm_status fr = clm_multilabel_finalize(&st, zd, &got);
  const clm_status rr =
      clm_ref_multilabel(d->y, from_pred ? NULL : d->z, d->p, w, d->n, d->L,
                         o.kind, per_label ? d->thr : NULL, ranking, zd, &want);
  if (d->n == 0) {
    cr_expect_eq(fr, CLM_ERR_EMPTY);
  } else {
    cr_assert_eq(fr, CLM_OK);
    cr_assert_eq(rr, CLM_OK);
    compare(&got, &want, weighted);
    clm_multilabel_result_release(&want);
  }
  for (uint64_t e = 0; grad && e < d->n * d->L; ++e) {
    const double z = d->z[e], y = d->y[e];
    const double s = probs ? z : 1.0 / (1.0 + exp(-z));
    const double g = (weighted ? d->w[e / d->L] : 1.0) * (s - y);
    if (!(fabs(grad[e] - g) <= 1e-6 * (weighted ? 3.0 : 1.0))) {
      cr_expect(0, "grad[%llu] = %.9g, expected %.9g", (unsigned long long)e,
                grad[e], g);
      break;
    }
  }
  free(grad);
  clm_multilabel_result_release(&got);
  clm_multilabel_state_release(&st);
}

static void check_case(const struct data *d, int weighted, int probs,
                       int from_pred, int per_label, clm_zero_division zd) {
  check_case_ranking(d, weighted, probs, from_pred, per_label, zd, 1);
}

struct mlcase {
  uint64_t n;
  uint32_t L;
};

ParameterizedTestParameters(multilabel, vs_reference) {
  static struct mlcase cases[] = {{0, 3},    {1, 1},    {1, 9},     {15, 8},
                                  {16, 7},   {17, 9},   {255, 1},   {257, 33},
                                  {1000, 5}, {600, 64}, {129, 300}, {20, 2049}};
  return cr_make_param_array(struct mlcase, cases,
                             sizeof cases / sizeof *cases);
}

ParameterizedTest(struct mlcase *c, multilabel, vs_reference, .init = setup,
                  .fini = teardown) {
  struct data d;
  data_make(&d, c->n, c->L, 0.3, 0, 0, 0, 11 + c->n * 7 + c->L);
  check_case(&d, 0, 0, 0, 0, CLM_ZERO_DIVISION_ZERO);
  check_case(&d, 1, 0, 0, 0, CLM_ZERO_DIVISION_ONE);
  check_case(&d, 0, 0, 1, 0, CLM_ZERO_DIVISION_NAN);
  check_case(&d, 1, 0, 1, 0, CLM_ZERO_DIVISION_ZERO);
  data_free(&d);
  /* Per-label thresholds, ties, dense labels (many true per row: the
   * sorted label-ranking path), probabilities. */
  data_make(&d, c->n, c->L, 0.7, 1, 1, 0, 99 + c->n + c->L);
  check_case(&d, 0, 0, 0, 1, CLM_ZERO_DIVISION_ZERO);
  check_case(&d, 1, 0, 0, 1, CLM_ZERO_DIVISION_NAN);
  data_free(&d);
  data_make(&d, c->n, c->L, 0.2, 1, 1, 1, 5 + c->n + c->L);
  check_case(&d, 0, 1, 0, 1, CLM_ZERO_DIVISION_ONE);
  check_case(&d, 1, 1, 0, 0, CLM_ZERO_DIVISION_ZERO);
  data_free(&d);
}

/* Small L: rows shorter than a vector share vectors with the next rows,
 * and unweighted without label ranking the rows are counted in classes on
 * the device (CLM_ML_HIST) once there are enough of them for the
 * histograms (rows >= slices * copies * classes / 4: work-groups of one
 * work-item keep the slices few, these sizes are above that for up to 8
 * compute units). Also small sizes (row words), label ranking, and the
 * default work-group size. */
struct small_case {
  uint64_t n;
  uint32_t L;
  size_t local;
};

ParameterizedTestParameters(multilabel, small_l_vs_reference) {
  static struct small_case cases[] = {
      {1031, 1, 1},   {3461, 2, 1},  {8209, 3, 1},   {27653, 5, 1},
      {32771, 7, 1},  {23333, 8, 1}, {21299, 10, 1}, {65539, 15, 1},
      {78611, 16, 1}, {17, 10, 1},   {1, 3, 1},      {33, 15, 1},
      {100003, 1, 0}, {60001, 3, 0}, {300007, 10, 0}};
  return cr_make_param_array(struct small_case, cases,
                             sizeof cases / sizeof *cases);
}

ParameterizedTest(struct small_case *c, multilabel, small_l_vs_reference) {
  open_ctx(c->local, 0);
  struct data d;
  data_make(&d, c->n, c->L, 0.3, 0, 0, 0, 7 + c->n * 3 + c->L);
  check_case_ranking(&d, 0, 0, 0, 0, CLM_ZERO_DIVISION_ZERO, 0);
  check_case_ranking(&d, 0, 0, 1, 0, CLM_ZERO_DIVISION_NAN, 0);
  data_free(&d);
  data_make(&d, c->n, c->L, 0.7, 1, 1, 0, 17 + c->n + c->L);
  check_case_ranking(&d, 0, 0, 0, 1, CLM_ZERO_DIVISION_ONE, 0);
  if (c->n * c->L <= 400000)
    check_case_ranking(&d, 0, 0, 0, 1, CLM_ZERO_DIVISION_ZERO, 1);
  data_free(&d);
  data_make(&d, c->n, c->L, 0.1, 1, 1, 1, 27 + c->n + c->L);
  check_case_ranking(&d, 0, 1, 0, 1, CLM_ZERO_DIVISION_ZERO, 0);
  data_free(&d);
  teardown();
}

/* Chunks of any size and other work-group sizes give the same counts and
 * per-row sums (these fold in row order whatever the chunking). */
Test(multilabel, chunk_and_local_size_invariance) {
  struct data d;
  data_make(&d, 301, 19, 0.4, 1, 1, 0, 4242);
  static const size_t locals[] = {0, 1, 2, 8};
  static const uint64_t chunks[] = {0, 1, 7, 64};
  clm_multilabel_result first = {0};
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = 0; j < 4; ++j) {
      open_ctx(locals[i], chunks[j]);
      clm_multilabel_options o;
      clm_multilabel_options_init(&o);
      o.n_labels = d.L;
      o.thresholds = d.thr;
      o.weighted = 1;
      clm_multilabel_state st;
      cr_assert_eq(clm_multilabel_state_init(&st, &o), CLM_OK);
      clm_error err;
      cr_assert_eq(
          clm_multilabel_update(ctx, &st, 0, d.y, d.z, d.w, d.n, NULL, &err),
          CLM_OK, "%s", err.message);
      clm_multilabel_result r;
      cr_assert_eq(clm_multilabel_finalize(&st, CLM_ZERO_DIVISION_ZERO, &r),
                   CLM_OK);
      if (i == 0 && j == 0) {
        first = r;
      } else {
        for (uint32_t c = 0; c < d.L; ++c) {
          cr_expect_eq(r.labels[c].tp, first.labels[c].tp);
          cr_expect_eq(r.labels[c].fp, first.labels[c].fp);
          cr_expect_eq(r.labels[c].fn, first.labels[c].fn);
        }
        cr_expect_eq(r.samples.f1, first.samples.f1, "local %zu chunk %llu",
                     locals[i], (unsigned long long)chunks[j]);
        cr_expect_eq(r.hamming_loss, first.hamming_loss);
        cr_expect_eq(r.coverage_error, first.coverage_error);
        cr_expect_eq(r.label_ranking_loss, first.label_ranking_loss);
        near_rel(r.bce_mean, first.bce_mean, 2 * 27 * U, "bce across shapes");
        clm_multilabel_result_release(&r);
      }
      clm_multilabel_state_release(&st);
      teardown();
    }
  clm_multilabel_result_release(&first);
  data_free(&d);
}

/* Two updates and a merge equal one update over all rows; the same run
 * twice gives the same bits. */
Test(multilabel, merge_and_determinism, .init = setup, .fini = teardown) {
  struct data d;
  data_make(&d, 500, 21, 0.3, 0, 0, 0, 77);
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = d.L;
  o.weighted = 1;
  clm_multilabel_state all, a, b, again;
  cr_assert_eq(clm_multilabel_state_init(&all, &o), CLM_OK);
  cr_assert_eq(clm_multilabel_state_init(&a, &o), CLM_OK);
  cr_assert_eq(clm_multilabel_state_init(&b, &o), CLM_OK);
  cr_assert_eq(clm_multilabel_state_init(&again, &o), CLM_OK);
  clm_error err;
  cr_assert_eq(
      clm_multilabel_update(ctx, &all, 0, d.y, d.z, d.w, d.n, NULL, &err),
      CLM_OK);
  cr_assert_eq(
      clm_multilabel_update(ctx, &again, 0, d.y, d.z, d.w, d.n, NULL, &err),
      CLM_OK);
  cr_assert_eq(
      clm_multilabel_update(ctx, &a, 0, d.y, d.z, d.w, 200, NULL, &err),
      CLM_OK);
  cr_assert_eq(clm_multilabel_update(ctx, &b, 200, d.y + 200 * d.L,
                                     d.z + 200 * d.L, d.w + 200, 300, NULL,
                                     &err),
               CLM_OK);
  cr_assert_eq(clm_multilabel_merge(&a, &b), CLM_OK);
  cr_expect_eq(a.n, all.n);
  for (uint32_t c = 0; c < d.L; ++c) {
    cr_expect_eq(a.tp[c], all.tp[c]);
    cr_expect_eq(a.fp[c], all.fp[c]);
    cr_expect_eq(a.fn[c], all.fn[c]);
    cr_expect_eq(all.loss_sum[c], again.loss_sum[c], "run-to-run bits");
    cr_expect_eq(all.w_tp[c], again.w_tp[c], "run-to-run bits");
  }
  /* Per-row sums: two partial sums added, against one running sum. */
  near_rel(a.f1_sum, all.f1_sum, 1e-13, "merged f1 sum");
  near_rel(a.lrap_sum, all.lrap_sum, 1e-13, "merged LRAP sum");
  near_rel(a.coverage_sum, all.coverage_sum, 1e-13, "merged coverage sum");
  cr_expect_eq(all.exact_w, again.exact_w);
  /* Incompatible states refuse to merge. */
  clm_multilabel_options o2 = o;
  o2.n_labels = d.L + 1;
  clm_multilabel_state other;
  cr_assert_eq(clm_multilabel_state_init(&other, &o2), CLM_OK);
  cr_expect_eq(clm_multilabel_merge(&a, &other), CLM_ERR_STATE_MISMATCH);
  clm_multilabel_state_release(&other);
  o2 = o;
  o2.threshold = 0.3;
  cr_assert_eq(clm_multilabel_state_init(&other, &o2), CLM_OK);
  cr_expect_eq(clm_multilabel_merge(&a, &other), CLM_ERR_STATE_MISMATCH);
  clm_multilabel_state_release(&other);
  clm_multilabel_state_release(&again);
  clm_multilabel_state_release(&b);
  clm_multilabel_state_release(&a);
  clm_multilabel_state_release(&all);
  data_free(&d);
}

/* Bad inputs name the flat index (or the row for a weight), and the state
 * is left as it was. */
Test(multilabel, bad_inputs, .init = setup, .fini = teardown) {
  struct data d;
  data_make(&d, 40, 6, 0.3, 0, 0, 0, 5);
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = d.L;
  clm_multilabel_state st;
  cr_assert_eq(clm_multilabel_state_init(&st, &o), CLM_OK);
  clm_error err;
  cr_assert_eq(
      clm_multilabel_update(ctx, &st, 0, d.y, d.z, NULL, 10, NULL, &err),
      CLM_OK);
  const uint64_t n_before = st.n, tp0 = st.tp[0];
  d.y[33 * 6 + 4] = 2;
  d.y[35 * 6 + 1] = 3;
  cr_expect_eq(
      clm_multilabel_update(ctx, &st, 1000, d.y, d.z, NULL, d.n, NULL, &err),
      CLM_ERR_BAD_LABEL);
  cr_expect_eq(err.index, 1000 * 6 + 33 * 6 + 4, "flat index %lld",
               (long long)err.index);
  cr_expect_eq(err.input, CLM_INPUT_LABELS);
  cr_expect(strstr(err.message, "row 1033, label 4"), "%s", err.message);
  d.y[33 * 6 + 4] = 1;
  d.y[35 * 6 + 1] = 0;
  d.z[21 * 6 + 5] = NAN;
  cr_expect_eq(
      clm_multilabel_update(ctx, &st, 0, d.y, d.z, NULL, d.n, NULL, &err),
      CLM_ERR_BAD_SCORE);
  cr_expect_eq(err.index, 21 * 6 + 5);
  cr_expect_eq(err.input, CLM_INPUT_SCORES);
  d.z[21 * 6 + 5] = 0.5f;
  cr_expect_eq(st.n, n_before, "state unchanged after errors");
  cr_expect_eq(st.tp[0], tp0);
  clm_multilabel_state_release(&st);
  /* Probabilities outside [0, 1]; a negative weight names the row. */
  o.kind = CLM_SCORES_PROBS;
  o.weighted = 1;
  cr_assert_eq(clm_multilabel_state_init(&st, &o), CLM_OK);
  for (size_t e = 0; e < 40 * 6; ++e)
    d.z[e] = 0.25f;
  d.z[9 * 6 + 2] = 1.5f;
  cr_expect_eq(
      clm_multilabel_update(ctx, &st, 0, d.y, d.z, d.w, d.n, NULL, &err),
      CLM_ERR_BAD_SCORE);
  cr_expect_eq(err.index, 9 * 6 + 2);
  d.z[9 * 6 + 2] = 0.5f;
  d.w[17] = -1.0f;
  cr_expect_eq(
      clm_multilabel_update(ctx, &st, 0, d.y, d.z, d.w, d.n, NULL, &err),
      CLM_ERR_BAD_WEIGHT);
  cr_expect_eq(err.index, 17);
  cr_expect_eq(err.input, CLM_INPUT_WEIGHTS);
  d.w[17] = NAN;
  cr_expect_eq(
      clm_multilabel_update(ctx, &st, 0, d.y, d.z, d.w, d.n, NULL, &err),
      CLM_ERR_BAD_WEIGHT);
  /* Weights given to an unweighted state, scores to a predictions state. */
  o.weighted = 0;
  clm_multilabel_state plain;
  cr_assert_eq(clm_multilabel_state_init(&plain, &o), CLM_OK);
  cr_expect_eq(
      clm_multilabel_update(ctx, &plain, 0, d.y, d.z, d.w, d.n, NULL, &err),
      CLM_ERR_INVALID_ARGUMENT);
  cr_expect_eq(clm_multilabel_update_predictions(ctx, &plain, 0, d.y, d.p, NULL,
                                                 d.n, &err),
               CLM_ERR_INVALID_ARGUMENT);
  clm_multilabel_state_release(&plain);
  clm_multilabel_state_release(&st);
  /* Bad options. */
  clm_multilabel_options_init(&o);
  cr_expect_eq(clm_multilabel_state_init(&st, &o), CLM_ERR_INVALID_ARGUMENT,
               "L = 0");
  o.n_labels = 2;
  o.threshold = 1.5;
  cr_expect_eq(clm_multilabel_state_init(&st, &o), CLM_ERR_INVALID_ARGUMENT);
  clm_multilabel_state_release(NULL);
  clm_multilabel_result_release(NULL);
  data_free(&d);
}

/* float64 scores are rounded without crossing a label's threshold. */
Test(multilabel, scores_from_f64) {
  const double thr[2] = {0.5, 0.3};
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = 2;
  o.thresholds = thr;
  clm_multilabel_state st;
  cr_assert_eq(clm_multilabel_state_init(&st, &o), CLM_OK);
  const double t1 = log(0.3) - log1p(-0.3);
  const double in[6] = {1e-300, nextafter(t1, 1), -1e-300, t1, 1e300, 0.0};
  float out[6];
  clm_error err;
  cr_assert_eq(clm_multilabel_scores_from_f64(&st, in, 3, 0, out, &err),
               CLM_OK);
  const float tf1 =
      (float)t1 > t1 ? nextafterf((float)t1, -INFINITY) : (float)t1;
  cr_expect(out[0] > 0.0f, "tiny positive logit stays positive");
  cr_expect(out[1] > tf1, "just above logit(0.3) stays above");
  cr_expect(!(out[2] > 0.0f));
  cr_expect(!(out[3] > tf1), "at logit(0.3) stays at or below");
  cr_expect(isinf(out[4]) && out[4] > 0);
  const double bad[2] = {0.1, NAN};
  cr_expect_eq(clm_multilabel_scores_from_f64(&st, bad, 1, 7, out, &err),
               CLM_ERR_BAD_SCORE);
  cr_expect_eq(err.index, 7 * 2 + 1);
  cr_expect(strstr(err.message, "row 7, label 1"), "%s", err.message);
  clm_multilabel_state_release(&st);
}
