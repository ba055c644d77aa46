/* Multi-class kernels and metrics against a double-precision reference. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clmetrics.h"
#include "reference.h"

static clm_context *ctx;

static void open_ctx(size_t local_size, uint64_t chunk, int strategy) {
  clm_context_options o;
  clm_context_options_init(&o);
  o.local_size = local_size;
  o.chunk_samples = chunk;
  o.confusion_strategy = strategy;
  clm_error err;
  clm_status st = clm_context_create(&o, &ctx, &err);
  if (st == CLM_ERR_NO_PLATFORM || st == CLM_ERR_NO_DEVICE)
    cr_skip_test("no OpenCL device: %s", err.message);
  cr_assert_eq(st, CLM_OK, "context: %s", err.message);
}
static void setup(void) {
  open_ctx(0, 0, CLM_CONFUSION_AUTO);
}
static void teardown(void) {
  clm_context_free(ctx);
  ctx = NULL;
}

static clm_rng rng;

/* Labels with a skewed prior (class c with weight ~ 1/(c+1)^skew) and some
 * classes never drawn. */
static int32_t draw(uint32_t k, double skew) {
  if (skew == 0)
    return (int32_t)clm_rng_below(&rng, k);
  double u = clm_rng_uniform(&rng);
  return (int32_t)((double)k * pow(u, 1.0 + skew)) % (int32_t)k;
}

/* ---- the origin notes' Q2 ---- */

static const uint64_t q2[3][3] = {{50, 5, 10}, {7, 60, 8}, {4, 6, 80}};

static void check_q2(const clm_multiclass_result *r) {
  const double p[3] = {0.819672, 0.845070, 0.816327};
  const double rc[3] = {0.769231, 0.800000, 0.888889};
  const double f1[3] = {0.793651, 0.821918, 0.851064};
  const uint64_t support[3] = {65, 75, 90};
  for (int c = 0; c < 3; ++c) {
    cr_assert(fabs(r->per_class[c].precision - p[c]) < 1e-6, "P%d %.9f", c,
              r->per_class[c].precision);
    cr_assert(fabs(r->per_class[c].recall - rc[c]) < 1e-6);
    cr_assert(fabs(r->per_class[c].f1 - f1[c]) < 1e-6, "F1%d %.9f", c,
              r->per_class[c].f1);
    cr_assert_eq(r->per_class[c].support, support[c]);
  }
  /* The notes print F1_A = 0.74: a typo, their formula gives 0.79. */
  cr_assert(fabs(r->per_class[0].f1 - 0.74) > 0.05);
  cr_assert(fabs(r->accuracy - 0.826087) < 1e-6);
  cr_assert(fabs(r->weighted.f1 - 0.825334) < 1e-6, "%.9f", r->weighted.f1);
  cr_assert(fabs(r->macro.f1 - 0.822211) < 1e-6, "%.9f", r->macro.f1);
  cr_assert_eq(r->n, 230u);
}

Test(multiclass, origin_q2_pure_metrics) {
  clm_multiclass_state s;
  cr_assert_eq(clm_multiclass_state_init(&s, 3, 0), CLM_OK);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      s.confusion[i * 3 + j] = q2[i][j];
      s.n += q2[i][j];
    }
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_OK);
  check_q2(&r);
  clm_multiclass_result_release(&r);
  clm_multiclass_state_release(&s);
}

Test(multiclass, origin_q2_on_device, .init = setup, .fini = teardown) {
  /* The 230 predictions reconstructed from the matrix. */
  int32_t yt[230], yp[230];
  int n = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (uint64_t c = 0; c < q2[i][j]; ++c, ++n) {
        yt[n] = i;
        yp[n] = j;
      }
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, 3, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, 230, &err), CLM_OK,
               "%s", err.message);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      cr_assert_eq(s.confusion[i * 3 + j], q2[i][j]);
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_OK);
  check_q2(&r);
  clm_multiclass_result_release(&r);
  clm_multiclass_state_release(&s);
}

/* ---- confusion matrix: sizes x classes x strategies ---- */

struct cm_case {
  uint32_t k;
  uint64_t n;
  int strategy;
  size_t local_size;
  double skew;
};

ParameterizedTestParameters(multiclass, confusion_vs_reference) {
  static struct cm_case cases[120];
  size_t m = 0;
  const uint32_t ks[] = {2, 3, 10, 100, 1000, 5000};
  const uint64_t ns[] = {1, 255, 257, 100003};
  for (size_t a = 0; a < 6; ++a)
    for (int strategy = CLM_CONFUSION_AUTO; strategy <= CLM_CONFUSION_PRIVATE;
         ++strategy) {
      /* The whole matrix in local memory only where it fits (PoCL: 1 MiB
       * here). */
      if (strategy == CLM_CONFUSION_LOCAL && ks[a] > 250)
        continue;
      /* Private slices: K^2 counters per group in global memory. */
      if (strategy == CLM_CONFUSION_PRIVATE && ks[a] > 1000)
        continue;
      for (size_t b = 0; b < 4; b += (ks[a] >= 1000 ? 3 : 1)) {
        cases[m].k = ks[a];
        cases[m].n = ns[b];
        cases[m].strategy = strategy;
        cases[m].local_size = (b % 2) ? 64 : 0;
        cases[m].skew = (b % 2) ? 2.0 : 0.0;
        ++m;
      }
    }
  return cr_make_param_array(struct cm_case, cases, m);
}

ParameterizedTest(struct cm_case *c, multiclass, confusion_vs_reference) {
  open_ctx(c->local_size, 0, c->strategy);
  clm_rng_seed(&rng, c->k * 1000003ULL + c->n);
  int32_t *yt = malloc(c->n * sizeof(int32_t));
  int32_t *yp = malloc(c->n * sizeof(int32_t));
  for (uint64_t i = 0; i < c->n; ++i) {
    yt[i] = draw(c->k, c->skew);
    /* Mostly right, as real classifiers: exercises the diagonal. */
    yp[i] = clm_rng_uniform(&rng) < 0.7 ? yt[i] : draw(c->k, 0.0);
  }
  uint64_t *want = malloc((size_t)c->k * c->k * sizeof(uint64_t));
  clm_ref_confusion(yt, yp, c->n, c->k, want);
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, c->k, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, c->n, &err),
               CLM_OK, "%s", err.message);
  cr_assert_eq(s.n, c->n);
  cr_assert(memcmp(s.confusion, want, (size_t)c->k * c->k * 8) == 0,
            "K=%u n=%llu strategy %d: matrices differ", c->k,
            (unsigned long long)c->n, c->strategy);
  clm_multiclass_state_release(&s);
  free(want);
  free(yt);
  free(yp);
  teardown();
}

Test(multiclass, chunked_counts_and_merge) {
  open_ctx(0, 1000, CLM_CONFUSION_AUTO); /* many launches, flushed to u64 */
  const uint32_t k = 10;
  const uint64_t n = 54321;
  clm_rng_seed(&rng, 99);
  int32_t *yt = malloc(n * 4), *yp = malloc(n * 4);
  for (uint64_t i = 0; i < n; ++i) {
    yt[i] = draw(k, 1.0);
    yp[i] = draw(k, 0.0);
  }
  uint64_t want[100];
  clm_ref_confusion(yt, yp, n, k, want);
  clm_multiclass_state a, b;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&a, k, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_state_init(&b, k, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &a, yt, yp, 20000, &err),
               CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &b, yt + 20000, yp + 20000,
                                            n - 20000, &err),
               CLM_OK);
  cr_assert_eq(clm_multiclass_merge(&a, &b), CLM_OK);
  cr_assert(memcmp(a.confusion, want, sizeof want) == 0);
  cr_assert_eq(a.n, n);
  clm_multiclass_state_release(&a);
  clm_multiclass_state_release(&b);
  free(yt);
  free(yp);
  teardown();
}

Test(multiclass, counter_flush_and_untouched_state_on_late_error) {
  /* Flush the uint32 device counts every 1000 samples, 300 per launch:
   * the spill path that N > 2^32 takes. */
  clm_context_options o;
  clm_context_options_init(&o);
  o.chunk_samples = 300;
  o.flush_samples = 1000;
  clm_error err;
  clm_status cst = clm_context_create(&o, &ctx, &err);
  if (cst == CLM_ERR_NO_PLATFORM || cst == CLM_ERR_NO_DEVICE)
    cr_skip_test("no OpenCL device: %s", err.message);
  cr_assert_eq(cst, CLM_OK, "%s", err.message);
  const uint32_t k = 6;
  const uint64_t n = 10007;
  clm_rng_seed(&rng, 1234);
  int32_t *yt = malloc(n * 4), *yp = malloc(n * 4);
  for (uint64_t i = 0; i < n; ++i) {
    yt[i] = draw(k, 1.0);
    yp[i] = draw(k, 0.0);
  }
  uint64_t want[36];
  clm_ref_confusion(yt, yp, n, k, want);
  clm_multiclass_state s;
  cr_assert_eq(clm_multiclass_state_init(&s, k, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, n, &err), CLM_OK,
               "%s", err.message);
  cr_assert(memcmp(s.confusion, want, sizeof want) == 0);
  /* An error after several flushes leaves the state as it was. */
  yp[9000] = 6;
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, n, &err),
               CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 9000);
  cr_assert(memcmp(s.confusion, want, sizeof want) == 0);
  cr_assert_eq(s.n, n);
  /* A second flushed update adds to what the state holds. */
  yp[9000] = 0;
  uint64_t again[36];
  clm_ref_confusion(yt, yp, n, k, again);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, n, &err), CLM_OK,
               "%s", err.message);
  for (int c = 0; c < 36; ++c)
    cr_assert_eq(s.confusion[c], want[c] + again[c], "cell %d", c);
  cr_assert_eq(s.n, 2 * n);
  clm_multiclass_state_release(&s);
  free(yt);
  free(yp);
  teardown();
}

Test(multiclass, forced_strategy_beyond_local_memory_is_an_error) {
  open_ctx(0, 0, CLM_CONFUSION_LOCAL);
  clm_multiclass_state s;
  clm_error err;
  const uint32_t k = 5000; /* 100 MB of counters: no device's local memory */
  cr_assert_eq(clm_multiclass_state_init(&s, k, 0), CLM_OK);
  int32_t y[2] = {1, 2};
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, y, y, 2, &err),
               CLM_ERR_UNSUPPORTED);
  cr_assert(strstr(err.message, "local memory"), "%s", err.message);
  clm_multiclass_state_release(&s);
  teardown();
}

/* Labels just outside [0, K) (-1 and exactly K) in every strategy. */
static void out_of_range_labels(int strategy) {
  open_ctx(0, 0, strategy);
  const uint64_t n = 5000;
  int32_t *yt = calloc(n, 4), *yp = calloc(n, 4);
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, 4, 0), CLM_OK);
  yp[4000] = 4;
  yt[3000] = -1;
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, n, &err),
               CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 3000);
  cr_assert_eq(err.value, -1);
  cr_assert(strstr(err.message, "true label -1"), "%s", err.message);
  yt[3000] = 0;
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, n, &err),
               CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 4000);
  cr_assert(strstr(err.message, "predicted label 4"), "%s", err.message);
  cr_assert_eq(s.n, 0u, "state must be unchanged");
  for (int c = 0; c < 16; ++c)
    cr_assert_eq(s.confusion[c], 0u);
  /* Exactly K as the true label, in the last row. */
  yp[4000] = 0;
  yt[n - 1] = 4;
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, n, &err),
               CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, (int64_t)n - 1);
  cr_assert(strstr(err.message, "true label 4"), "%s", err.message);
  clm_multiclass_state_release(&s);
  free(yt);
  free(yp);
  teardown();
}

Test(multiclass, out_of_range_labels) {
  for (int strategy = CLM_CONFUSION_AUTO; strategy <= CLM_CONFUSION_PRIVATE;
       ++strategy)
    out_of_range_labels(strategy);
}

/* ---- scores: argmax, cross-entropy, top-k ---- */

/* The device against the reference (src/reference): argmax per row, the
 * (true, argmax) matrix, top-k hits and the cross-entropy with the kernel's
 * limits at +-inf. */
static void check_scores(const float *z, const int32_t *yt, uint64_t n,
                         uint32_t k, int probs, uint32_t top_k) {
  uint64_t *want = calloc((size_t)k * k, 8);
  cr_assert_not_null(want);
  clm_ref_multiclass ref;
  clm_ref_multiclass_eval(yt, z, n, k, probs, top_k, want, &ref);
  const double ce = ref.ce_sum, ce_abs = ref.ce_abs;
  const uint64_t hits = ref.top_k_hits;
  cr_assert(!isnan(ce), "a row of all -inf or all +inf logits is an error, "
                        "not a loss");
  clm_multiclass_state s;
  clm_error err;
  int32_t *pred = malloc((n ? n : 1) * 4);
  cr_assert_eq(clm_multiclass_state_init(&s, k, top_k), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores(
                   ctx, &s, yt, z, n,
                   probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS, pred, &err),
               CLM_OK, "%s", err.message);
  for (uint64_t i = 0; i < n; ++i)
    cr_assert_eq((uint32_t)pred[i], clm_ref_argmax(z + i * k, k), "row %llu",
                 (unsigned long long)i);
  cr_assert(memcmp(s.confusion, want, (size_t)k * k * 8) == 0);
  cr_assert_eq(s.top_k_hits, hits);
  if (isinf(ce))
    cr_assert(s.ce_sum == ce, "ce %g vs %g", s.ce_sum, ce);
  else
    cr_assert(fabs(s.ce_sum - ce) <= 1e-5 * ce_abs + 1e-6 * k,
              "K=%u n=%llu ce %.12g vs %.12g", k, (unsigned long long)n,
              s.ce_sum, ce);
  clm_multiclass_state_release(&s);
  free(pred);
  free(want);
}

struct sc_case {
  uint32_t k;
  uint64_t n;
  int probs;
};

ParameterizedTestParameters(multiclass, scores_vs_reference) {
  static struct sc_case cases[] = {{2, 1, 0},      {3, 17, 0},    {10, 1000, 0},
                                   {10, 4097, 1},  {100, 513, 0}, {7, 8193, 1},
                                   {1000, 300, 0}, {1000, 77, 1}};
  return cr_make_param_array(struct sc_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct sc_case *c, multiclass, scores_vs_reference) {
  setup();
  clm_rng_seed(&rng, c->k * 7919ULL + c->n);
  float *z = malloc(c->n * c->k * sizeof(float));
  int32_t *yt = malloc(c->n * 4);
  for (uint64_t i = 0; i < c->n; ++i) {
    yt[i] = (int32_t)clm_rng_below(&rng, c->k);
    double total = 0;
    for (uint32_t j = 0; j < c->k; ++j) {
      const double u = clm_rng_uniform(&rng);
      z[i * c->k + j] = (float)(c->probs ? u : (u - 0.5) * 12);
      total += z[i * c->k + j];
    }
    if (c->probs)
      for (uint32_t j = 0; j < c->k; ++j)
        z[i * c->k + j] = (float)(z[i * c->k + j] / total);
  }
  check_scores(z, yt, c->n, c->k, c->probs, c->k > 3 ? 3 : 1);
  free(z);
  free(yt);
  teardown();
}

Test(multiclass, argmax_ties_and_extreme_logits, .init = setup,
     .fini = teardown) {
  const uint32_t k = 4;
  const float rows[][4] = {
      {1, 3, 3, 0},                 /* tie: lowest index wins */
      {5, 5, 5, 5},                 /* all equal */
      {1e4f, -1e4f, 0, 1e4f},       /* large, tied */
      {-1e4f, -1e4f, -1e4f, -1e4f}, /* large negative, equal */
      {INFINITY, 0, 1, 2},          /* +inf: loss 0 or inf */
      {INFINITY, INFINITY, 0, 1},   /* two +inf: log 2 for them */
      {-INFINITY, 0, 1, 2},         /* true class -inf: inf */
      {INFINITY, -INFINITY, -INFINITY, -INFINITY}, /* 0 or inf */
      {-INFINITY, -INFINITY, -INFINITY, 5},        /* 0 or inf */
      {INFINITY, INFINITY, INFINITY, -INFINITY},   /* log 3 or inf */
      {-0.0f, 0.0f, -1, -2},  /* -0 == 0: tie, lowest index */
      {1e38f, -1e38f, 0, 1}}; /* a loss past FLT_MAX would saturate */
  const size_t nr = sizeof rows / sizeof rows[0];
  for (int32_t t = 0; t < (int32_t)k; ++t) {
    int32_t yt[sizeof rows / sizeof rows[0]];
    for (size_t i = 0; i < nr; ++i)
      yt[i] = (t + (int32_t)i) % (int32_t)k;
    /* One row at a time: an infinite loss must not hide the others. */
    for (size_t i = 0; i < nr; ++i)
      for (uint32_t top = 1; top <= k; ++top)
        check_scores(rows[i], yt + i, 1, k, 0, top);
  }
}

Test(multiclass, wide_rows_ties_and_extremes, .init = setup, .fini = teardown) {
  /* K = 40: wide enough for the column-vectorized kernel on CPUs, with a
   * tail past the last full vector. Ties across vector lanes, in the tail,
   * and the +-inf limits must follow the same rules as the narrow kernel. */
  enum { K = 40, R = 9 };
  static float z[R * K];
  for (int i = 0; i < R * K; ++i)
    z[i] = (float)((i * 7919) % 13) - 6.0f; /* max 6 repeats */
  float *r0 = z, *r1 = z + K, *r2 = z + 2 * K, *r3 = z + 3 * K;
  float *r4 = z + 4 * K, *r5 = z + 5 * K, *r6 = z + 6 * K, *r7 = z + 7 * K;
  float *r8 = z + 8 * K;
  for (int c = 0; c < K; ++c) {
    r2[c] = 1.0f;      /* all tied: class 0 */
    r3[c] = -INFINITY; /* all -inf but one +inf in the tail: 0 or inf */
    r4[c] = (float)c;  /* increasing: the tail's last column */
    r5[c] = -1e4f;     /* large, equal */
    r6[c] = 0.0f;
    r7[c] = 0.5f;
    r8[c] = -(float)c;
  }
  r0[35] = 50.0f, r0[3] = 50.0f;       /* first max in another lane */
  r1[33] = 50.0f, r1[17] = 50.0f;      /* equal lanes, lower wins */
  r6[39] = INFINITY, r6[5] = INFINITY; /* two +inf, one in the tail */
  r7[38] = -INFINITY;                  /* -inf in the tail */
  r3[37] = INFINITY;
  r8[20] = 1e4f;
  for (int32_t t = 0; t < K; t += 3) {
    int32_t yt[R];
    for (int i = 0; i < R; ++i)
      yt[i] = (t + 5 * i) % K;
    for (int i = 0; i < R; ++i)
      for (uint32_t top = 1; top <= 5; top += 2)
        check_scores(z + i * K, yt + i, 1, K, 0, top);
  }
}

Test(multiclass, loss_averages_over_scored_rows_only, .init = setup,
     .fini = teardown) {
  /* Rows added from labels carry no loss: the mean and top-k accuracy are
   * over the rows that came with scores. */
  const float z[8] = {2, 0, 0, 1, 3, 0, 0, 4};
  const int32_t yt[4] = {0, 1, 0, 1}, yp[4] = {0, 1, 0, 1};
  double want = 0;
  for (int i = 0; i < 4; ++i)
    want += clm_ref_ce_logits(z + 2 * i, 2, (uint32_t)yt[i]);
  want /= 4;
  clm_multiclass_state s, t;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, 2, 1), CLM_OK);
  cr_assert_eq(clm_multiclass_state_init(&t, 2, 1), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt, z, 4,
                                            CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, 4, &err), CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &t, yt, yp, 4, &err), CLM_OK);
  cr_assert_eq(clm_multiclass_merge(&s, &t), CLM_OK);
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_OK);
  cr_assert_eq(r.n, 12u);
  cr_assert(fabs(r.cross_entropy_mean - want) < 1e-6, "%g vs %g",
            r.cross_entropy_mean, want);
  cr_assert(fabs(r.top_k_accuracy - 1.0) < 1e-15);
  clm_multiclass_result_release(&r);
  clm_multiclass_state_release(&s);
  clm_multiclass_state_release(&t);
}

Test(multiclass, confident_rows_keep_tiny_losses, .init = setup,
     .fini = teardown) {
  /* log-sum-exp minus the max is log1p of the rest: a confident, correct
   * row costs exp(-20) ~ 2.06e-9, not 0. */
  const float z[2] = {20.0f, 0.0f};
  const int32_t t = 0;
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, 2, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores(ctx, &s, &t, z, 1,
                                            CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK);
  const double want = log1p(exp(-20.0));
  cr_assert(fabs(s.ce_sum - want) <= 1e-6 * want, "%.9g vs %.9g", s.ce_sum,
            want);
  clm_multiclass_state_release(&s);
  /* The same on the wide-row kernel. */
  float w[64];
  for (int c = 0; c < 64; ++c)
    w[c] = c == 7 ? 30.0f : 0.0f;
  const int32_t t7 = 7;
  cr_assert_eq(clm_multiclass_state_init(&s, 64, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores(ctx, &s, &t7, w, 1,
                                            CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK);
  const double want64 = log1p(63 * exp(-30.0));
  cr_assert(fabs(s.ce_sum - want64) <= 1e-6 * want64, "%.9g vs %.9g", s.ce_sum,
            want64);
  clm_multiclass_state_release(&s);
}

/* Whether clm_argmax_ce_rows (whole rows per work-item, vectors along the
 * columns) evaluates K-wide rows on this context; else clm_argmax_ce. */
static int wide_rows(uint32_t k) {
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  return !sh.strided && k >= 2 * sh.vector_width;
}

/* ---- host sums in double: exact integer cross-entropies ---- */

/* Row i: the argmax class at logit 0, the true class at -(1000 + i mod 7),
 * every other class at -2000: exp of each non-maximum is exactly 0 in
 * float, so the row's cross-entropy is exactly 1000 + i mod 7. A
 * work-group's float partial stays below 2^24 (at most 8192 rows), so it
 * is exact and ce_sum must equal the exact sum to the bit; partials added
 * in float (above 2^24 a float step is 2 or more) would round off. */
static uint32_t argmax_of(uint64_t i, uint32_t k) {
  return (uint32_t)((i % k + 1 + i % (k - 1)) % k); /* never i mod k */
}

static void integer_ce(uint32_t k, uint64_t n, size_t local_size,
                       uint64_t chunk) {
  open_ctx(local_size, chunk, CLM_CONFUSION_AUTO);
  float *z = malloc(n * k * sizeof(float));
  int32_t *yt = malloc(n * sizeof(int32_t)), *pred = malloc(n * 4);
  cr_assert(z && yt && pred);
  double want = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint32_t t = (uint32_t)(i % k), a = argmax_of(i, k);
    const float m = 1000.0f + (float)(i % 7);
    for (uint32_t c = 0; c < k; ++c)
      z[i * k + c] = c == a ? 0.0f : c == t ? -m : -2000.0f;
    yt[i] = (int32_t)t;
    want += m;
  }
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, k, 2), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt, z, n,
                                            CLM_SCORES_LOGITS, pred, &err),
               CLM_OK, "%s", err.message);
  cr_assert(s.ce_sum == want,
            "K=%u n=%llu (%s rows), local size %zu, chunk %llu: ce %.17g, "
            "exact %.17g (off by %g)",
            k, (unsigned long long)n, wide_rows(k) ? "wide" : "narrow",
            local_size, (unsigned long long)chunk, s.ce_sum, want,
            s.ce_sum - want);
  cr_assert_eq(s.top_k_hits, n); /* the true class ranks second */
  cr_assert_eq(s.n_scored, n);
  for (uint64_t i = 0; i < n; ++i)
    cr_assert_eq((uint32_t)pred[i], argmax_of(i, k));
  clm_multiclass_state_release(&s);
  free(pred);
  free(yt);
  free(z);
  teardown();
}

Test(multiclass, integer_cross_entropies_sum_exactly) {
  integer_ce(3, 300007, 0, 0);
  integer_ce(3, 300007, 1, 65537); /* many chunks and work-groups */
  integer_ce(20, 100003, 0, 0);
  integer_ce(40, 100003, 0, 0); /* wide rows on every CPU */
  integer_ce(40, 100003, 16, 30011);
}

/* ---- probabilities clipped at FLT_EPSILON on both kernels ---- */

Test(multiclass, zero_true_probability_costs_log_of_epsilon, .init = setup,
     .fini = teardown) {
  /* p_t = 0, tiny, denormal or just below FLT_EPSILON is clipped to
   * FLT_EPSILON: the row costs -log(2^-23) = 23 ln 2 ~ 15.94, not
   * -log(FLT_MIN) ~ 87.3 or -log(p). At K = 16 and 17 (wide rows where a
   * vector holds 8 floats), 32, 33 and 40 (wide on every CPU), 3. */
  const double want = -log((double)FLT_EPSILON);
  const float tiny[] = {
      0.0f,        -0.0f,           1e-30f,
      1e-45f,      FLT_MIN,         FLT_MIN / 4,
      FLT_EPSILON, FLT_EPSILON / 2, nextafterf(FLT_EPSILON, 0.0f)};
  const size_t nt = sizeof tiny / sizeof tiny[0];
  const uint32_t ks[] = {3, 16, 17, 32, 33, 40};
  int wide = 0;
  for (size_t a = 0; a < sizeof ks / sizeof ks[0]; ++a) {
    const uint32_t k = ks[a];
    wide |= wide_rows(k);
    /* One row per (tiny value, position of the true class): first, middle,
     * last column (the wide kernel's tail). */
    const uint32_t at[3] = {0, k / 2, k - 1};
    const size_t n = nt * 3;
    float *p = malloc(n * k * sizeof(float));
    int32_t *yt = malloc(n * sizeof(int32_t));
    cr_assert(p && yt);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t t = at[i % 3];
      const float pt = tiny[i / 3];
      for (uint32_t c = 0; c < k; ++c)
        p[i * k + c] = c == t ? pt : (1.0f - pt) / (float)(k - 1);
      yt[i] = (int32_t)t;
    }
    for (size_t i = 0; i < n; ++i) {
      clm_multiclass_state s;
      clm_error err;
      cr_assert_eq(clm_multiclass_state_init(&s, k, 1), CLM_OK);
      cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt + i, p + i * k, 1,
                                                CLM_SCORES_PROBS, NULL, &err),
                   CLM_OK, "%s", err.message);
      cr_assert(fabs(s.ce_sum - want) <= 2e-6 * want,
                "K=%u (%s rows) p_t=%a at column %d: loss %.9g, want %.9g", k,
                wide_rows(k) ? "wide" : "narrow", (double)tiny[i / 3], yt[i],
                s.ce_sum, want);
      cr_assert_eq(s.top_k_hits, 0u);
      clm_multiclass_state_release(&s);
    }
    /* All rows at once, against the reference. */
    check_scores(p, yt, n, k, 1, 2);
    free(yt);
    free(p);
  }
  cr_assert(wide || getenv("CLMETRICS_SHAPE"),
            "no K here reached the wide-row kernel");
}

/* ---- float64 argmax: an exact tie plus a column that rounds onto it ---- */

Test(multiclass, f64_exact_tie_keeps_the_first_maximum, .init = setup,
     .fini = teardown) {
  /* 1 - 1e-12 rounds to 1.0f, onto the two exact maxima: the first of them
   * (NumPy's argmax) must stay the float32 argmax, whichever column holds
   * the near value. Logits lift the maximum one step; probabilities cannot
   * rise above 1, so the others step down. */
  const double a = 1.0 - 1e-12;
  const double in[] = {1.0, 1.0, a,   /* 0 */
                       1.0, a,   1.0, /* 0 */
                       a,   1.0, 1.0, /* 1 */
                       a,   a,   1.0, /* 2 */
                       0.5, 1.0, a,   /* 1 */
                       a,   1.0, a};  /* 1 */
  const uint32_t want[] = {0, 0, 1, 2, 1, 1};
  const size_t n = sizeof want / sizeof want[0];
  int32_t yt[sizeof want / sizeof want[0]];
  for (size_t r = 0; r < n; ++r)
    yt[r] = (int32_t)(r % 3);
  for (int probs = 0; probs <= 1; ++probs) {
    const clm_scores_kind kind = probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS;
    float out[sizeof in / sizeof in[0]];
    clm_error err;
    cr_assert_eq(clm_multiclass_scores_from_f64(in, n, 3, kind, out, &err),
                 CLM_OK, "%s", err.message);
    for (size_t r = 0; r < n; ++r) {
      cr_assert_eq(clm_ref_argmax(out + r * 3, 3), want[r],
                   "%s row %zu: [%a %a %a]", probs ? "probs" : "logits", r,
                   (double)out[r * 3], (double)out[r * 3 + 1],
                   (double)out[r * 3 + 2]);
      for (int c = 0; c < 3; ++c) /* one float32 step at most */
        cr_assert(fabs((double)out[r * 3 + c] - in[r * 3 + c]) <= 0x1p-23);
    }
    /* The device's predictions and confusion matrix. */
    int32_t pred[sizeof want / sizeof want[0]];
    clm_multiclass_state s;
    cr_assert_eq(clm_multiclass_state_init(&s, 3, 1), CLM_OK);
    cr_assert_eq(
        clm_multiclass_update_scores(ctx, &s, yt, out, n, kind, pred, &err),
        CLM_OK, "%s", err.message);
    uint64_t cm[9] = {0};
    for (size_t r = 0; r < n; ++r) {
      cr_assert_eq((uint32_t)pred[r], want[r], "%s row %zu: predicted %d",
                   probs ? "probs" : "logits", r, pred[r]);
      ++cm[yt[r] * 3 + want[r]];
    }
    cr_assert(memcmp(s.confusion, cm, sizeof cm) == 0);
    clm_multiclass_state_release(&s);
  }
}

Test(multiclass, f64_scores_keep_the_argmax) {
  /* Rounding to float32 would tie these rows' two largest scores. */
  const double in[] = {0.1,   0.1 + 1e-12, 0.05,  /* argmax 1 */
                       0.3,   0.3,         0.2,   /* exact tie: 0 */
                       1.0,   1 - 1e-9,    0.0,   /* max at 1.0: 0 */
                       1e300, 2e300,       0.0,   /* both +inf in float */
                       -5.0,  -5.0 - 1e-9, -1e4}; /* argmax 0 */
  const uint32_t want[] = {1, 0, 0, 1, 0};
  float out[15];
  clm_error err;
  cr_assert_eq(
      clm_multiclass_scores_from_f64(in, 5, 3, CLM_SCORES_LOGITS, out, &err),
      CLM_OK);
  for (int r = 0; r < 5; ++r) {
    uint32_t a = 0;
    for (uint32_t c = 1; c < 3; ++c)
      a = out[r * 3 + c] > out[r * 3 + a] ? c : a;
    cr_assert_eq(a, want[r], "row %d: argmax %u", r, a);
  }
  /* Probabilities stay in [0, 1]; values outside are reported as stored. */
  cr_assert_eq(
      clm_multiclass_scores_from_f64(in, 3, 3, CLM_SCORES_PROBS, out, &err),
      CLM_OK);
  for (int i = 0; i < 9; ++i)
    cr_assert(out[i] >= 0.0f && out[i] <= 1.0f);
  cr_assert_eq(out[6] > out[7], 1);
  const double bad[] = {0.2, 0.3, 1.00000001, NAN, 0.1, 0.2};
  cr_assert_eq(
      clm_multiclass_scores_from_f64(bad, 2, 3, CLM_SCORES_PROBS, out, &err),
      CLM_ERR_BAD_SCORE);
  cr_assert_eq(err.index, 0);
  cr_assert(strstr(err.message, "row 0, column 2"), "%s", err.message);
}

Test(multiclass, bad_scores_name_row_and_column, .init = setup,
     .fini = teardown) {
  const uint32_t k = 5;
  const uint64_t n = 3000;
  float *z = calloc(n * k, sizeof(float));
  int32_t *yt = calloc(n, 4);
  z[1234 * k + 3] = NAN;
  z[2000 * k + 1] = NAN;
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, k, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt, z, n,
                                            CLM_SCORES_LOGITS, NULL, &err),
               CLM_ERR_BAD_SCORE);
  cr_assert_eq(err.index, 1234);
  cr_assert(strstr(err.message, "row 1234, column 3"), "%s", err.message);
  z[1234 * k + 3] = 0;
  z[2000 * k + 1] = 0.25f;
  z[2500 * k + 4] = 1.5f;
  cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt, z, n, CLM_SCORES_PROBS,
                                            NULL, &err),
               CLM_ERR_BAD_SCORE);
  cr_assert(strstr(err.message, "row 2500, column 4"), "%s", err.message);
  z[2500 * k + 4] = 0;
  yt[10] = 5;
  cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt, z, n,
                                            CLM_SCORES_LOGITS, NULL, &err),
               CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 10);
  cr_assert_eq(s.n, 0u);
  clm_multiclass_state_release(&s);
  free(z);
  free(yt);
}

/* ---- rows without a cross-entropy: all -inf or all +inf logits ---- */

/* n x k logits, finite and random, rows 0..n-1 labelled r % k. */
static float *finite_logits(uint64_t n, uint32_t k, int32_t **yt) {
  float *z = malloc(n * k * sizeof(float));
  *yt = malloc(n * sizeof(int32_t));
  cr_assert(z && *yt);
  clm_rng_seed(&rng, 4242 + k);
  for (uint64_t i = 0; i < n; ++i) {
    (*yt)[i] = (int32_t)(i % k);
    for (uint32_t c = 0; c < k; ++c)
      z[i * k + c] = (float)((clm_rng_uniform(&rng) - 0.5) * 10);
  }
  return z;
}

static void fill_row(float *row, uint32_t k, float v) {
  for (uint32_t c = 0; c < k; ++c)
    row[c] = v;
}

/* The update fails naming row `want_row` (file-wide, from `base`) with
 * `needle` in the message, and leaves the state as it was. */
static void expect_bad_row(const float *z, const int32_t *yt, uint64_t n,
                           uint32_t k, uint64_t base, uint64_t want_row,
                           const char *needle) {
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, k, 1), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores_at(ctx, &s, base, yt, z, n,
                                               CLM_SCORES_LOGITS, NULL, &err),
               CLM_ERR_BAD_SCORE, "K=%u: not refused (%s)", k, err.message);
  cr_assert_eq(err.index, (int64_t)(base + want_row), "K=%u: index %lld", k,
               (long long)err.index);
  char row[64];
  snprintf(row, sizeof row, "row %llu", (unsigned long long)(base + want_row));
  cr_assert(strstr(err.message, row), "K=%u: %s", k, err.message);
  cr_assert(strstr(err.message, needle), "K=%u: %s", k, err.message);
  cr_assert_eq(s.n, 0u);
  cr_assert_eq(s.ce_sum, 0.0);
  clm_multiclass_state_release(&s);
}

/* K < 16 and K >= 16 (the wide-row kernel on CPUs, with and without a
 * tail), rows far into the input and past a launch boundary. */
ParameterizedTestParameters(multiclass, all_inf_rows_are_errors) {
  static uint32_t ks[] = {2, 4, 15, 16, 17, 40, 64, 1000};
  return cr_make_param_array(uint32_t, ks, sizeof ks / sizeof ks[0]);
}

ParameterizedTest(uint32_t *kp, multiclass, all_inf_rows_are_errors) {
  open_ctx(0, 1000, CLM_CONFUSION_AUTO); /* several launches */
  const uint32_t k = *kp;
  const uint64_t n = 2501;
  int32_t *yt;
  float *z = finite_logits(n, k, &yt);
  /* All -inf in a later launch, all +inf after it: the first is named. */
  fill_row(z + 1777 * k, k, -INFINITY);
  fill_row(z + 2100 * k, k, INFINITY);
  expect_bad_row(z, yt, n, k, 0, 1777, "every score is -inf");
  expect_bad_row(z, yt, n, k, 5000000, 1777, "every score is -inf");
  fill_row(z + 1777 * k, k, 0.5f);
  expect_bad_row(z, yt, n, k, 0, 2100, "every score is +inf");
  /* A NaN in an otherwise all -inf row is a NaN, at its column. */
  fill_row(z + 300 * k, k, -INFINITY);
  z[300 * k + k - 1] = NAN;
  expect_bad_row(z, yt, n, k, 0, 300, "NaN");
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, k, 1), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt, z, n,
                                            CLM_SCORES_LOGITS, NULL, &err),
               CLM_ERR_BAD_SCORE);
  char col[64];
  snprintf(col, sizeof col, "row 300, column %u", k - 1);
  cr_assert(strstr(err.message, col), "%s", err.message);
  clm_multiclass_state_release(&s);
  /* The same rows are well defined short of all: one finite or +inf
   * score (loss 0 or inf; log m among m +inf scores), never NaN. */
  fill_row(z + 300 * k, k, -INFINITY);
  z[300 * k + k / 2] = 3.0f;
  z[2100 * k + 0] = 1.0f;
  fill_row(z + 5 * k, k, -INFINITY);
  z[5 * k + k - 1] = INFINITY;
  check_scores(z, yt, n, k, 0, 1);
  /* Probabilities: an all-zero row is a defined loss, -log(eps). */
  for (uint64_t i = 0; i < n; ++i)
    fill_row(z + i * k, k, 1.0f / (float)k);
  fill_row(z + 10 * k, k, 0.0f);
  check_scores(z, yt, n, k, 1, 1);
  free(z);
  free(yt);
  teardown();
}

Test(multiclass, f64_all_inf_rows_are_errors) {
  float out[9];
  clm_error err;
  const double neg[] = {1, 2, 3, -INFINITY, -INFINITY, -INFINITY, 0, 0, 0};
  cr_assert_eq(clm_multiclass_scores_from_f64_at(neg, 3, 100, 3,
                                                 CLM_SCORES_LOGITS, out, &err),
               CLM_ERR_BAD_SCORE);
  cr_assert_eq(err.index, 101);
  cr_assert(strstr(err.message, "row 101: every score is -inf"), "%s",
            err.message);
  const double pos[] = {1, 2, 3, 0, 0, 0, INFINITY, INFINITY, INFINITY};
  cr_assert_eq(
      clm_multiclass_scores_from_f64(pos, 3, 3, CLM_SCORES_LOGITS, out, &err),
      CLM_ERR_BAD_SCORE);
  cr_assert(strstr(err.message, "row 2: every score is +inf"), "%s",
            err.message);
  /* Finite in float64, all +inf as float32: said so. */
  const double big[] = {1e300, 1e300, 1e300};
  cr_assert_eq(
      clm_multiclass_scores_from_f64(big, 1, 3, CLM_SCORES_LOGITS, out, &err),
      CLM_ERR_BAD_SCORE);
  cr_assert(strstr(err.message, "float32"), "%s", err.message);
  /* Not all tied at the top: converted (the others step below +inf). */
  const double ok[] = {2e300, 1e300, 1e300};
  cr_assert_eq(
      clm_multiclass_scores_from_f64(ok, 1, 3, CLM_SCORES_LOGITS, out, &err),
      CLM_OK, "%s", err.message);
  /* Probabilities: an all-zero row is fine. */
  const double zeros[] = {0, 0, 0};
  cr_assert_eq(
      clm_multiclass_scores_from_f64(zeros, 1, 3, CLM_SCORES_PROBS, out, &err),
      CLM_OK);
}

Test(multiclass, classes_beyond_memory_fail_before_allocating, .init = setup,
     .fini = teardown) {
  /* Counts larger than the machine: refused by the state (no message). */
  clm_multiclass_state s;
  cr_assert_eq(clm_multiclass_state_init(&s, 2000000, 0),
               CLM_ERR_OUT_OF_MEMORY); /* 32 TB */
  cr_assert_eq(clm_multiclass_state_init(&s, 0x7fffffffu, 0),
               CLM_ERR_OUT_OF_MEMORY);
  /* The uint64 counts fit (0.8 of the host, reserved, never touched) but
   * not with the device counters: refused at the first update, naming the
   * sizes and the limits. */
  const double host = (double)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGE_SIZE);
  const uint32_t k = (uint32_t)ceil(sqrt(host / 10));
  clm_status st = clm_multiclass_state_init(&s, k, 0);
  if (st == CLM_ERR_OUT_OF_MEMORY)
    cr_skip_test("%u classes: calloc refused the counts", k);
  cr_assert_eq(st, CLM_OK);
  clm_error err;
  const int32_t y[2] = {0, 1};
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, y, y, 2, &err),
               CLM_ERR_OUT_OF_MEMORY);
  char want[64];
  snprintf(want, sizeof want, "%u classes", k);
  cr_assert(strstr(err.message, want), "%s", err.message);
  cr_assert(strstr(err.message, "GB of uint64 counts"), "%s", err.message);
  cr_assert(strstr(err.message, "GB of device memory"), "%s", err.message);
  cr_assert(strstr(err.message, "this host has"), "%s", err.message);
  cr_assert_eq(s.n, 0u);
  clm_multiclass_state_release(&s);
}

/* ---- pure metrics ---- */

Test(multiclass, absent_classes_and_zero_division) {
  /* Class 2 never occurs, class 1 is never predicted. */
  clm_multiclass_state s;
  cr_assert_eq(clm_multiclass_state_init(&s, 3, 0), CLM_OK);
  s.confusion[0] = 5; /* (0,0) */
  s.confusion[3] = 2; /* (1,0) */
  s.n = 7;
  for (int zd = 0; zd < 3; ++zd) {
    clm_multiclass_result r;
    cr_assert_eq(clm_multiclass_finalize(&s, zd, &r), CLM_OK);
    cr_assert(r.per_class[1].undefined & CLM_UNDEF_PRECISION);
    cr_assert(r.per_class[2].undefined & CLM_UNDEF_PRECISION);
    cr_assert(r.per_class[2].undefined & CLM_UNDEF_RECALL);
    cr_assert(r.per_class[2].undefined & CLM_UNDEF_F1);
    cr_assert(!(r.per_class[1].undefined & CLM_UNDEF_F1)); /* 0/(0+2) */
    cr_assert(fabs(r.per_class[0].precision - 5.0 / 7.0) < 1e-15);
    cr_assert(fabs(r.accuracy - 5.0 / 7.0) < 1e-15);
    /* Balanced accuracy: recall over the classes present (0 and 1). */
    cr_assert(fabs(r.balanced_accuracy - 0.5) < 1e-15);
    if (zd == CLM_ZERO_DIVISION_NAN) {
      cr_assert(isnan(r.per_class[2].f1));
      /* NaN entries are left out of the averages, as scikit-learn. */
      const double f0 = 2.0 * 5 / (5 + 7);
      cr_assert(fabs(r.macro.f1 - (f0 + 0.0) / 2) < 1e-15, "%g", r.macro.f1);
      cr_assert(fabs(r.macro.precision - 5.0 / 7.0) < 1e-15);
    } else {
      const double v = zd;
      cr_assert(r.per_class[2].f1 == v && r.per_class[1].precision == v);
      const double f0 = 2.0 * 5 / (5 + 7);
      cr_assert(fabs(r.macro.f1 - (f0 + 0.0 + v) / 3) < 1e-15);
      cr_assert(fabs(r.weighted.precision - (5 * 5.0 / 7.0 + 2 * v) / 7) <
                1e-15);
    }
    clm_multiclass_result_release(&r);
  }
  clm_multiclass_state_release(&s);
}

Test(multiclass, mcc_and_kappa_formulas) {
  clm_multiclass_state s;
  cr_assert_eq(clm_multiclass_state_init(&s, 3, 0), CLM_OK);
  const uint64_t m[9] = {50, 5, 10, 7, 60, 8, 4, 6, 80};
  memcpy(s.confusion, m, sizeof m);
  s.n = 230;
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_OK);
  /* Hand-computed: t = (65, 75, 90), p = (61, 71, 98), c = 190. */
  const double cov_tp = 190.0 * 230 - (65.0 * 61 + 75.0 * 71 + 90.0 * 98);
  const double cov_pp = 230.0 * 230 - (61.0 * 61 + 71.0 * 71 + 98.0 * 98);
  const double cov_tt = 230.0 * 230 - (65.0 * 65 + 75.0 * 75 + 90.0 * 90);
  cr_assert(fabs(r.mcc - cov_tp / sqrt(cov_pp * cov_tt)) < 1e-14);
  const double pe = (65.0 * 61 + 75.0 * 71 + 90.0 * 98) / (230.0 * 230);
  cr_assert(fabs(r.cohen_kappa - (190.0 / 230 - pe) / (1 - pe)) < 1e-14);
  clm_multiclass_result_release(&r);
  /* Counts near 2^62 per cell: sums of squares far past 2^64. */
  for (int c = 0; c < 9; ++c)
    s.confusion[c] = m[c] << 54;
  s.n = 230ULL << 54;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_OK);
  cr_assert(fabs(r.mcc - cov_tp / sqrt(cov_pp * cov_tt)) < 1e-12);
  cr_assert(fabs(r.weighted.f1 - 0.825334) < 1e-6);
  clm_multiclass_result_release(&r);
  /* Everything one class: MCC and kappa undefined. */
  memset(s.confusion, 0, 9 * 8);
  s.confusion[0] = 10;
  s.n = 10;
  cr_assert_eq(clm_multiclass_finalize(&s, CLM_ZERO_DIVISION_NAN, &r), CLM_OK);
  cr_assert(isnan(r.mcc) && isnan(r.cohen_kappa));
  cr_assert(r.undefined & CLM_UNDEF_MCC);
  cr_assert(r.undefined & CLM_UNDEF_KAPPA);
  clm_multiclass_result_release(&r);
  clm_multiclass_state_release(&s);
}

Test(multiclass, state_validation) {
  clm_multiclass_state s, t;
  cr_assert_eq(clm_multiclass_state_init(&s, 1, 0), CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_multiclass_state_init(&s, 3, 4), CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_multiclass_state_init(&s, 3, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_state_init(&t, 4, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_merge(&s, &t), CLM_ERR_STATE_MISMATCH);
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_ERR_EMPTY);
  clm_multiclass_state_release(&s);
  clm_multiclass_state_release(&t);
  clm_multiclass_state_release(NULL);
  clm_multiclass_result_release(NULL);
}
