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
#include "../kernels/clm_shared.h" /* CLM_CM_NARROW_MIN_K, CLM_AM_PACKED_MAX_K */
#include "ref_multiclass_options.h"
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

/* The private strategy's 16-bit counters (K >= CLM_CM_NARROW_MIN_K) and
 * 8-bit ones (K >= CLM_CM_BYTE_MIN_K) wrap many times per group here: one
 * cell takes ~90% of 1.5 M samples, another ~3%. Each side of both
 * thresholds runs the same data. */
ParameterizedTestParameters(multiclass, private_counters_wrap_exactly) {
  static uint32_t ks[] = {CLM_CM_NARROW_MIN_K - 1, CLM_CM_NARROW_MIN_K,
                          CLM_CM_BYTE_MIN_K - 1, CLM_CM_BYTE_MIN_K, 1000};
  return cr_make_param_array(uint32_t, ks, sizeof ks / sizeof ks[0]);
}

ParameterizedTest(uint32_t *kp, multiclass, private_counters_wrap_exactly) {
  const uint32_t k = *kp;
  const uint64_t n = 3 * 8 * 65536 + 11;
  open_ctx(0, 0, CLM_CONFUSION_PRIVATE);
  clm_rng_seed(&rng, 4242 + k);
  int32_t *yt = malloc(n * sizeof(int32_t));
  int32_t *yp = malloc(n * sizeof(int32_t));
  cr_assert(yt && yp);
  for (uint64_t i = 0; i < n; ++i) {
    const double u = clm_rng_uniform(&rng);
    yt[i] = u < 0.95 ? 5 : (int32_t)draw(k, 0.0);
    yp[i] = u < 0.9 ? 5 : u < 0.93 ? 7 : (int32_t)draw(k, 0.0);
  }
  uint64_t *want = malloc((size_t)k * k * sizeof(uint64_t));
  clm_ref_confusion(yt, yp, n, k, want);
  cr_assert_gt(want[5 * k + 5], 16 * 65536ULL, "the hot cell must wrap");
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init(&s, k, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, n, &err), CLM_OK,
               "%s", err.message);
  for (uint64_t c = 0; c < (uint64_t)k * k; ++c)
    cr_assert_eq(s.confusion[c], want[c], "K=%u cell (%llu, %llu)", k,
                 (unsigned long long)(c / k), (unsigned long long)(c % k));
  clm_multiclass_state_release(&s);
  free(want);
  free(yt);
  free(yp);
  teardown();
}

/* K <= 3: the private strategy counts blocks of rows in 7-bit fields of two
 * registers. Runs of one cell far longer than a field holds (all rows one
 * cell, then alternating cells, then random with bad and ignored labels),
 * at sizes around the 254-row block. */
ParameterizedTestParameters(multiclass, private_packed_small_k) {
  static uint32_t ks[] = {2, 3, 4};
  return cr_make_param_array(uint32_t, ks, sizeof ks / sizeof ks[0]);
}

ParameterizedTest(uint32_t *kp, multiclass, private_packed_small_k) {
  const uint32_t k = *kp;
  static const uint64_t sizes[] = {1, 127, 128, 253, 254, 255, 509, 100003};
  open_ctx(0, 0, CLM_CONFUSION_PRIVATE);
  clm_rng_seed(&rng, 777 + k);
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; ++si) {
    const uint64_t n = sizes[si];
    int32_t *yt = malloc(n * sizeof(int32_t));
    int32_t *yp = malloc(n * sizeof(int32_t));
    cr_assert(yt && yp);
    for (int pattern = 0; pattern < 3; ++pattern) {
      for (uint64_t i = 0; i < n; ++i) {
        if (pattern == 0) {
          yt[i] = yp[i] = (int32_t)(k - 1);
        } else if (pattern == 1) {
          yt[i] = (int32_t)(i & 1 ? 0 : k - 1);
          yp[i] = 0;
        } else {
          yt[i] = (int32_t)draw(k, 0.0);
          yp[i] = (int32_t)draw(k, 0.0);
        }
      }
      for (int ig = 0; ig < 2; ++ig) {
        const int32_t ignore = ig ? (int32_t)(k - 1) : 0;
        uint64_t *want = calloc((size_t)k * k, sizeof(uint64_t));
        uint64_t skipped = 0;
        for (uint64_t i = 0; i < n; ++i) {
          if (ig && yt[i] == ignore)
            ++skipped;
          else
            ++want[(uint64_t)yt[i] * k + (uint64_t)yp[i]];
        }
        clm_multiclass_options o;
        clm_multiclass_options_init(&o);
        o.n_classes = k;
        o.has_ignore_index = ig;
        o.ignore_index = ignore;
        clm_multiclass_state s;
        clm_error err;
        cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
        cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, n, &err),
                     CLM_OK, "%s", err.message);
        cr_assert_eq(s.n_ignored, skipped);
        for (uint64_t c = 0; c < (uint64_t)k * k; ++c)
          cr_assert_eq(s.confusion[c], want[c],
                       "K=%u n=%llu pattern %d ignore %d cell %llu", k,
                       (unsigned long long)n, pattern, ig,
                       (unsigned long long)c);
        clm_multiclass_state_release(&s);
        free(want);
      }
    }
    free(yt);
    free(yp);
  }
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

static int wide_rows(uint32_t k);

/* Ties across vector lanes, in the tail past the last full vector, and the
 * +-inf limits, at K columns (K >= 40). */
static void ties_and_extremes(const int K) {
  enum { R = 9 };
  float *z = malloc((size_t)R * K * sizeof(float));
  cr_assert(z);
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
  r0[K - 5] = 50.0f, r0[3] = 50.0f;       /* first max in another lane */
  r1[K - 7] = 50.0f, r1[17] = 50.0f;      /* equal lanes, lower wins */
  r6[K - 1] = INFINITY, r6[5] = INFINITY; /* two +inf, one in the tail */
  r7[K - 2] = -INFINITY;                  /* -inf in the tail */
  r3[K - 3] = INFINITY;
  r8[20] = 1e4f;
  for (int32_t t = 0; t < K; t += 3) {
    int32_t yt[R];
    for (int i = 0; i < R; ++i)
      yt[i] = (t + 5 * i) % K;
    for (int i = 0; i < R; ++i)
      for (uint32_t top = 1; top <= 5; top += 2)
        check_scores(z + i * K, yt + i, 1, (uint32_t)K, 0, top);
  }
  free(z);
}

Test(multiclass, wide_rows_ties_and_extremes, .init = setup, .fini = teardown) {
  /* K = 40: rows packed one per lane on CPUs (transposed into column
   * vectors); K = 168: wide enough for the column-vectorized kernel on
   * CPUs, with a tail past the last full vector. Both must follow the same
   * rules. */
  ties_and_extremes(40);
  ties_and_extremes(168);
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  cr_assert(!wide_rows(40) && wide_rows(168) == !sh.strided,
            "K = 40 packed, K = 168 wide (strided shape: %d)", sh.strided);
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
  return !sh.strided && k > CLM_AM_PACKED_MAX_K && k >= 2 * sh.vector_width;
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
  integer_ce(40, 100003, 0, 0); /* packed rows, transposed on CPUs */
  integer_ce(40, 100003, 16, 30011);
  integer_ce(168, 30011, 0, 0); /* wide rows on every CPU */
  integer_ce(168, 30011, 16, 7001);
}

/* ---- probabilities clipped at FLT_EPSILON on both kernels ---- */

Test(multiclass, zero_true_probability_costs_log_of_epsilon, .init = setup,
     .fini = teardown) {
  /* p_t = 0, tiny, denormal or just below FLT_EPSILON is clipped to
   * FLT_EPSILON: the row costs -log(2^-23) = 23 ln 2 ~ 15.94, not
   * -log(FLT_MIN) ~ 87.3 or -log(p). At K = 3, 16, 17, 32, 33, 40 (rows
   * packed one per lane on CPUs), 129 and 168 (wide rows on every CPU). */
  const double want = -log((double)FLT_EPSILON);
  const float tiny[] = {
      0.0f,        -0.0f,           1e-30f,
      1e-45f,      FLT_MIN,         FLT_MIN / 4,
      FLT_EPSILON, FLT_EPSILON / 2, nextafterf(FLT_EPSILON, 0.0f)};
  const size_t nt = sizeof tiny / sizeof tiny[0];
  const uint32_t ks[] = {3, 16, 17, 32, 33, 40, 129, 168};
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
  /* The strided (GPU) shape has no wide-row kernel: there it must not be
   * reached; elsewhere some K here must reach it. */
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  cr_assert(sh.strided ? !wide : wide,
            "the wide-row kernel was %sreached (strided shape: %d)",
            wide ? "" : "not ", sh.strided);
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

/* ==== loss options and sample weights ===================================
 *
 * Precision bound of the float partials (scores path). With u = 2^-24 and
 * R the rows of one work-group (the kernel's tile), every row's loss is a
 * float expression of at most ~2K + 10 roundings on non-negative terms
 * (the smoothing sum over K classes, the K-term softmax denominator whose
 * absolute error in log1p is at most (K + 2) u, the weights rounded to
 * float), and the group partial a float sum of R non-negative row terms;
 * the host adds the partials in double. So
 *   |ce_sum - exact| <= (R + 2K + 16) u * M,
 * M = sum_n s_n [(1-e) w_y (L_y + 1) + (e/K) sum_c w_c (L_c + 1)] (the "+1"
 * covering the absolute error of log1p), which the reference returns as
 * ce_mag. The weighted top-k hits are a float sum of R weights per group:
 * |w_top_k_hits - exact| <= R u * exact. The weighted matrix, w_sum and
 * ce_norm are host sums in row order, equal to the reference's bits. */

static double tile_rows(void) {
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  const double narrow = (double)sh.local_size * sh.items * sh.vector_width;
  const double wide = (double)sh.local_size * 4; /* CLM_ROWS_PER_ITEM */
  return narrow > wide ? narrow : wide;
}

static double ce_bound(uint32_t k, double mag) {
  return (tile_rows() + 2.0 * k + 16.0) * 0x1p-24 * mag;
}

static void opts_from(clm_multiclass_options *o, const clm_ref_mc_options *ro,
                      uint32_t top_k) {
  clm_multiclass_options_init(o);
  o->n_classes = ro->k;
  o->top_k = top_k;
  o->weighted = ro->weights != NULL;
  o->class_weight = ro->class_weight;
  o->has_ignore_index = ro->has_ignore;
  o->ignore_index = ro->ignore;
  o->label_smoothing = ro->smoothing;
}

struct opt_case {
  uint32_t k;
  uint64_t n;
  int probs, strategy, weighted, cw; /* cw: 0 none, 1 random, 2 zeros */
  int ignore;                        /* 0 none, 1 in [0, K), 2 -100 */
  double e;                          /* smoothing */
  int extremes;                      /* +-inf, +-100 logits */
  size_t local_size;
};

/* Random rows: logits (uniform, some +-100 and +-inf when `extremes`, never
 * a row of all -inf or all +inf) or normalised probabilities; labels with
 * ~10% ignored; weights with ~10% zeros. */
static void opt_data(const struct opt_case *c, float *z, int32_t *yt, float *w,
                     double *cw, int32_t ignore) {
  const uint32_t k = c->k;
  for (uint64_t i = 0; i < c->n; ++i) {
    float *row = z + i * k;
    double total = 0;
    for (uint32_t j = 0; j < k; ++j) {
      const double u = clm_rng_uniform(&rng);
      row[j] = (float)(c->probs ? u : (u - 0.5) * 12);
      total += row[j];
    }
    if (c->probs) {
      for (uint32_t j = 0; j < k; ++j)
        row[j] = (float)(row[j] / total);
      if (c->extremes && i % 11 == 3)
        row[clm_rng_below(&rng, k)] = 0.0f; /* clipped to epsilon */
    } else if (c->extremes && i % 5 == 1) {
      const float ext[4] = {100.0f, -100.0f, INFINITY, -INFINITY};
      row[clm_rng_below(&rng, k)] = ext[clm_rng_below(&rng, 4)];
      row[clm_rng_below(&rng, k)] = ext[clm_rng_below(&rng, 2)];
    }
    yt[i] = (int32_t)clm_rng_below(&rng, k);
    if (c->ignore && clm_rng_uniform(&rng) < 0.1)
      yt[i] = ignore;
    if (w)
      w[i] =
          clm_rng_uniform(&rng) < 0.1 ? 0.0f : (float)clm_rng_uniform(&rng) * 4;
  }
  if (w && c->n > 100)
    w[17] = 1e30f; /* one huge weight */
  if (cw)
    for (uint32_t j = 0; j < k; ++j)
      cw[j] = c->cw == 2 ? 0.0 : clm_rng_uniform(&rng) * 3;
}

static void check_ce(const clm_multiclass_state *s,
                     const clm_ref_mc_weighted *ref, uint32_t k,
                     const char *what) {
  if (isinf(ref->ce_sum) || isnan(ref->ce_sum)) {
    cr_assert(s->ce_sum == ref->ce_sum ||
                  (isnan(s->ce_sum) && isnan(ref->ce_sum)),
              "%s: ce %g vs %g", what, s->ce_sum, ref->ce_sum);
    return;
  }
  const double tol = ce_bound(k, ref->ce_mag);
  cr_assert(fabs(s->ce_sum - ref->ce_sum) <= tol,
            "%s: ce %.17g vs %.17g (bound %g)", what, s->ce_sum, ref->ce_sum,
            tol);
}

/* The device's state against the reference, for scores or labels. */
static void check_opt_state(const clm_multiclass_state *s,
                            const clm_ref_mc_weighted *ref, const uint64_t *cm,
                            const double *w_cm, uint32_t k, int scored,
                            const char *what) {
  const size_t cells = (size_t)k * k;
  cr_assert_eq(s->n, ref->n, "%s: n", what);
  cr_assert_eq(s->n_ignored, ref->n_ignored, "%s: n_ignored", what);
  cr_assert(memcmp(s->confusion, cm, cells * 8) == 0, "%s: matrix", what);
  if (s->weighted) {
    cr_assert(memcmp(s->w_confusion, w_cm, cells * 8) == 0,
              "%s: weighted matrix", what);
    cr_assert(s->w_sum == ref->w_sum, "%s: w_sum %.17g vs %.17g", what,
              s->w_sum, ref->w_sum);
    cr_assert(s->w_ignored == ref->w_ignored, "%s: w_ignored", what);
  }
  if (!scored)
    return;
  cr_assert_eq(s->n_scored, ref->n, "%s: n_scored", what);
  cr_assert_eq(s->top_k_hits, ref->top_k_hits, "%s: hits", what);
  cr_assert(s->ce_norm == ref->ce_norm, "%s: ce_norm %.17g vs %.17g", what,
            s->ce_norm, ref->ce_norm);
  check_ce(s, ref, k, what);
  if (s->weighted) {
    cr_assert(s->w_scored == ref->w_scored, "%s: w_scored", what);
    cr_assert(fabs(s->w_top_k_hits - ref->w_top_k_hits) <=
                  tile_rows() * 0x1p-24 * ref->w_top_k_hits,
              "%s: weighted hits %.17g vs %.17g", what, s->w_top_k_hits,
              ref->w_top_k_hits);
  }
}

static void run_opt_case(const struct opt_case *c) {
  open_ctx(c->local_size, 0, c->strategy);
  clm_rng_seed(&rng, c->k * 1000003ULL + c->n * 31 + c->ignore * 7 + c->cw * 3 +
                         (uint64_t)(c->e * 10) + c->probs);
  const uint32_t k = c->k;
  const int32_t ignore = c->ignore == 1 ? (int32_t)(k / 2) : -100;
  float *z = malloc(c->n * k * sizeof(float));
  int32_t *yt = malloc(c->n * 4), *pred = malloc(c->n * 4);
  float *w = c->weighted ? malloc(c->n * 4) : NULL;
  double *cw = c->cw ? malloc(k * sizeof(double)) : NULL;
  uint64_t *cm = malloc((size_t)k * k * 8);
  double *w_cm = malloc((size_t)k * k * 8);
  cr_assert(z && yt && pred && cm && w_cm);
  opt_data(c, z, yt, w, cw, ignore);
  const clm_ref_mc_options ro = {k, cw, c->ignore != 0, ignore, c->e, w};
  const uint32_t top_k = k > 3 ? 3 : 1;
  clm_ref_mc_weighted ref;
  clm_ref_mc_weighted_eval(yt, NULL, z, c->n, c->probs, top_k, &ro, cm, w_cm,
                           &ref);
  clm_multiclass_options o;
  opts_from(&o, &ro, top_k);
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
  /* pred_out given on odd sizes only: the weighted matrix then needs the
   * internal prediction buffer. */
  int32_t *po = c->n % 2 ? pred : NULL;
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, &s, 0, yt, z, w, c->n,
                   c->probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS, po, &err),
               CLM_OK, "%s", err.message);
  char what[160];
  snprintf(what, sizeof what,
           "K=%u n=%llu probs=%d strategy=%d weighted=%d cw=%d ignore=%d "
           "e=%g extremes=%d",
           k, (unsigned long long)c->n, c->probs, c->strategy, c->weighted,
           c->cw, c->ignore, c->e, c->extremes);
  if (po)
    for (uint64_t i = 0; i < c->n; ++i)
      cr_assert_eq((uint32_t)pred[i], clm_ref_argmax(z + i * k, k),
                   "%s: row %llu", what, (unsigned long long)i);
  check_opt_state(&s, &ref, cm, w_cm, k, 1, what);
  clm_multiclass_result r;
  const clm_status fs = clm_multiclass_finalize(&s, 0, &r);
  if (ref.n == 0 || (c->weighted && ref.w_sum == 0)) {
    cr_assert_eq(fs, CLM_ERR_EMPTY, "%s", what);
  } else {
    cr_assert_eq(fs, CLM_OK, "%s", what);
    cr_assert_eq(r.n_ignored, ref.n_ignored);
    cr_assert_eq(r.sample_weighted, c->weighted);
    cr_assert(r.cross_entropy_sum == s.ce_sum &&
              r.cross_entropy_norm == s.ce_norm);
    if (ref.ce_norm == 0)
      cr_assert(isnan(r.cross_entropy_mean), "%s: 0/0 mean is NaN", what);
    else
      cr_assert(r.cross_entropy_mean == s.ce_sum / s.ce_norm, "%s", what);
    if (c->weighted) {
      double *p = malloc(k * 8), *rc = malloc(k * 8), *f = malloc(k * 8);
      clm_ref_mc_metrics m;
      clm_ref_mc_metrics_from(w_cm, k, p, rc, f, &m);
      cr_assert(fabs(r.accuracy - m.accuracy) <= 1e-12, "%s", what);
      cr_assert(fabs(r.top_k_accuracy - ref.w_top_k_hits / ref.w_scored) <=
                    tile_rows() * 0x1p-24 + 1e-15,
                "%s: top-k", what);
      for (uint32_t j = 0; j < k; ++j)
        cr_assert(fabs(r.per_class[j].f1 - f[j]) <= 1e-12, "%s: F1 %u", what,
                  j);
      free(p);
      free(rc);
      free(f);
    }
    clm_multiclass_result_release(&r);
  }
  clm_multiclass_state_release(&s);
  free(z);
  free(yt);
  free(pred);
  free(w);
  free(cw);
  free(cm);
  free(w_cm);
  teardown();
}

ParameterizedTestParameters(multiclass, options_scores_vs_reference) {
  static struct opt_case cases[200];
  size_t m = 0;
  const uint32_t ks[] = {2, 3, 10, 1000};
  const uint64_t ns[] = {1, 63, 64, 65, 100003};
  const double es[] = {0.0, 0.1, 1.0};
  unsigned v = 0;
  for (size_t a = 0; a < 4; ++a)
    for (size_t b = 0; b < 5; ++b) {
      const uint64_t n = ks[a] == 1000 && ns[b] == 100003 ? 2049 : ns[b];
      for (int rep = 0; rep < 3; ++rep, ++v) {
        struct opt_case *c = &cases[m++];
        c->k = ks[a];
        c->n = n;
        c->probs = v % 4 == 3;
        c->strategy = (int)(v % 5); /* AUTO, LOCAL, DIAG, GLOBAL, PRIVATE */
        if (c->strategy == CLM_CONFUSION_LOCAL && c->k > 250)
          c->strategy = CLM_CONFUSION_DIAG;
        c->weighted = v % 3 != 1;
        c->cw = (int)(v % 3);
        c->ignore = (int)((v / 3) % 3);
        c->e = es[(v / 2) % 3];
        c->extremes = v % 2;
        c->local_size = n >= 63 && n <= 65 ? 64 : 0;
      }
    }
  return cr_make_param_array(struct opt_case, cases, m);
}

ParameterizedTest(struct opt_case *c, multiclass, options_scores_vs_reference) {
  run_opt_case(c);
}

/* Labels: every strategy, ignore_index in and outside [0, K), weighted or
 * not; the matrix and the weighted matrix exactly as the reference. */
struct lab_case {
  uint32_t k;
  uint64_t n;
  int strategy, ignore, weighted;
};

ParameterizedTestParameters(multiclass, options_labels_vs_reference) {
  static struct lab_case cases[200];
  size_t m = 0;
  const uint32_t ks[] = {2, 3, 10, 1000, 5000};
  const uint64_t ns[] = {1, 255, 256, 257, 100003};
  unsigned v = 0;
  for (size_t a = 0; a < 5; ++a)
    for (int strategy = CLM_CONFUSION_AUTO; strategy <= CLM_CONFUSION_PRIVATE;
         ++strategy) {
      if (strategy == CLM_CONFUSION_LOCAL && ks[a] > 250)
        continue;
      if (strategy == CLM_CONFUSION_PRIVATE && ks[a] > 1000)
        continue;
      for (size_t b = 0; b < 5; b += (ks[a] >= 1000 ? 2 : 1), ++v) {
        cases[m].k = ks[a];
        cases[m].n = ns[b];
        cases[m].strategy = strategy;
        cases[m].ignore = 1 + (int)(v % 2);
        cases[m].weighted = v % 3 != 2;
        ++m;
      }
    }
  return cr_make_param_array(struct lab_case, cases, m);
}

ParameterizedTest(struct lab_case *c, multiclass, options_labels_vs_reference) {
  open_ctx(0, 0, c->strategy);
  clm_rng_seed(&rng, c->k * 7ULL + c->n + (uint64_t)c->strategy * 131);
  const uint32_t k = c->k;
  const int32_t ignore = c->ignore == 1 ? (int32_t)(k - 1) : -100;
  int32_t *yt = malloc(c->n * 4), *yp = malloc(c->n * 4);
  float *w = c->weighted ? malloc(c->n * 4) : NULL;
  uint64_t *cm = malloc((size_t)k * k * 8);
  double *w_cm = malloc((size_t)k * k * 8);
  for (uint64_t i = 0; i < c->n; ++i) {
    yt[i] = draw(k, 1.0);
    yp[i] = clm_rng_uniform(&rng) < 0.7 ? yt[i] : draw(k, 0.0);
    if (clm_rng_uniform(&rng) < 0.15)
      yt[i] = ignore;
    if (w)
      w[i] =
          clm_rng_uniform(&rng) < 0.1 ? 0.0f : (float)clm_rng_uniform(&rng) * 2;
  }
  if (w && c->n > 100)
    w[17] = 1e30f; /* one huge weight */
  const clm_ref_mc_options ro = {k, NULL, 1, ignore, 0.0, w};
  clm_ref_mc_weighted ref;
  clm_ref_mc_weighted_eval(yt, yp, NULL, c->n, 0, 0, &ro, cm, w_cm, &ref);
  clm_multiclass_options o;
  opts_from(&o, &ro, 0);
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
  cr_assert_eq(
      clm_multiclass_update_labels_weighted(ctx, &s, 0, yt, yp, w, c->n, &err),
      CLM_OK, "%s", err.message);
  char what[96];
  snprintf(what, sizeof what, "K=%u n=%llu strategy=%d ignore=%d weighted=%d",
           k, (unsigned long long)c->n, c->strategy, ignore, c->weighted);
  check_opt_state(&s, &ref, cm, w_cm, k, 0, what);
  clm_multiclass_state_release(&s);
  free(yt);
  free(yp);
  free(w);
  free(cm);
  free(w_cm);
  teardown();
}

/* Hand-computed: K = 3, class weights (1, 2, 0.5), smoothing 0.3, sample
 * weights (1, 2, 0.5), rows p = (1/2, 1/4, 1/4) rotated so that the true
 * class has 1/2. With L = ln 2, -log p is L for the true class, 2L for the
 * others:
 *   row 0 (y=0): 0.7*1*L   + 0.1*(1*L + 2*2L + 0.5*2L)   = 1.3L,  s = 1
 *   row 1 (y=1): 0.7*2*L   + 0.1*(1*2L + 2*L + 0.5*2L)   = 1.9L,  s = 2
 *   row 2 (y=2): 0.7*0.5*L + 0.1*(1*2L + 2*2L + 0.5*L)   = 1.0L,  s = 0.5
 * ce_sum = (1.3 + 3.8 + 0.5) L = 5.6L, ce_norm = 1*1 + 2*2 + 0.5*0.5 = 5.25,
 * mean = (16/15) L. A fourth row with label -100 is ignored. As logits,
 * (ln 2, 0, 0) rotated gives the same probabilities. */
static void known_smoothed(int probs) {
  const double cw[3] = {1, 2, 0.5};
  const float l2 = (float)M_LN2;
  float z[12];
  for (int i = 0; i < 4; ++i)
    for (int c = 0; c < 3; ++c)
      z[i * 3 + c] =
          probs ? (c == i % 3 ? 0.5f : 0.25f) : (c == i % 3 ? l2 : 0.0f);
  const int32_t yt[4] = {0, 1, 2, -100};
  const float w[4] = {1, 2, 0.5f, 3};
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = 3;
  o.top_k = 1;
  o.weighted = 1;
  o.class_weight = cw;
  o.has_ignore_index = 1;
  o.ignore_index = -100;
  o.label_smoothing = 0.3;
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, &s, 0, yt, z, w, 4,
                   probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK, "%s", err.message);
  const double L = M_LN2;
  /* Bound as above, with K = 3 and M = ce_mag of the reference (<= 20). */
  const double tol = ce_bound(3, 20.0);
  cr_assert(fabs(s.ce_sum - 5.6 * L) <= tol, "ce_sum %.17g vs %.17g", s.ce_sum,
            5.6 * L);
  cr_assert(s.ce_norm == 5.25);
  cr_assert_eq(s.n, 3u);
  cr_assert_eq(s.n_ignored, 1u);
  cr_assert(s.w_ignored == 3.0 && s.w_sum == 3.5);
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_OK);
  cr_assert(fabs(r.cross_entropy_mean - 16.0 / 15.0 * L) <= tol / 5.25);
  cr_assert(r.accuracy == 1.0 && r.top_k_accuracy == 1.0);
  clm_multiclass_result_release(&r);
  clm_multiclass_state_release(&s);
}

Test(multiclass, options_known_smoothed_weighted_loss, .init = setup,
     .fini = teardown) {
  known_smoothed(1);
  known_smoothed(0);
}

Test(multiclass, options_q2_with_unit_weights, .init = setup,
     .fini = teardown) {
  int32_t yt[230], yp[230];
  float w[230];
  int n = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (uint64_t c = 0; c < q2[i][j]; ++c, ++n) {
        yt[n] = i;
        yp[n] = j;
        w[n] = 1.0f;
      }
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = 3;
  o.weighted = 1;
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
  cr_assert_eq(
      clm_multiclass_update_labels_weighted(ctx, &s, 0, yt, yp, w, 230, &err),
      CLM_OK, "%s", err.message);
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_OK);
  cr_assert(r.sample_weighted && r.weight_sum == 230.0);
  check_q2(&r);
  for (int c = 0; c < 3; ++c)
    cr_assert(r.per_class[c].support_weight == (double)r.per_class[c].support);
  /* The same numbers as the unweighted state, to the bit where the
   * formulas coincide. */
  clm_multiclass_state u;
  cr_assert_eq(clm_multiclass_state_init(&u, 3, 0), CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels(ctx, &u, yt, yp, 230, &err),
               CLM_OK);
  clm_multiclass_result ru;
  cr_assert_eq(clm_multiclass_finalize(&u, 0, &ru), CLM_OK);
  cr_assert(fabs(r.mcc - ru.mcc) < 1e-15 &&
            fabs(r.cohen_kappa - ru.cohen_kappa) < 1e-15);
  cr_assert(r.balanced_accuracy == ru.balanced_accuracy);
  clm_multiclass_result_release(&ru);
  clm_multiclass_state_release(&u);
  clm_multiclass_result_release(&r);
  clm_multiclass_state_release(&s);
}

/* scikit-learn's formulas on a weighted matrix set by hand. */
Test(multiclass, options_weighted_metrics_formulas) {
  const uint32_t k = 5;
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = k;
  o.weighted = 1;
  clm_multiclass_state s;
  cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
  clm_rng_seed(&rng, 5);
  for (uint32_t i = 0; i < k * k; ++i) {
    s.confusion[i] = 1 + clm_rng_below(&rng, 9);
    s.w_confusion[i] = clm_rng_uniform(&rng) * (i % (k + 1) == 0 ? 10 : 1);
    s.n += s.confusion[i];
    s.w_sum += s.w_confusion[i];
  }
  s.w_confusion[1 * k + 1] = 0; /* one class never right */
  double p[5], rc[5], f[5];
  clm_ref_mc_metrics m;
  clm_ref_mc_metrics_from(s.w_confusion, k, p, rc, f, &m);
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_OK);
  for (uint32_t c = 0; c < k; ++c) {
    cr_assert(fabs(r.per_class[c].precision - p[c]) < 1e-14);
    cr_assert(fabs(r.per_class[c].recall - rc[c]) < 1e-14);
    cr_assert(fabs(r.per_class[c].f1 - f[c]) < 1e-14);
  }
  cr_assert(fabs(r.accuracy - m.accuracy) < 1e-14);
  cr_assert(fabs(r.balanced_accuracy - m.balanced_accuracy) < 1e-14);
  cr_assert(fabs(r.mcc - m.mcc) < 1e-13, "mcc %.17g vs %.17g", r.mcc, m.mcc);
  cr_assert(fabs(r.cohen_kappa - m.kappa) < 1e-13);
  cr_assert(fabs(r.macro.f1 - m.macro_f1) < 1e-14);
  cr_assert(fabs(r.weighted.f1 - m.weighted_f1) < 1e-14);
  cr_assert(r.micro.f1 == r.accuracy);
  clm_multiclass_result_release(&r);
  clm_multiclass_state_release(&s);
}

/* A state with every option set, for the tests below. */
static void full_options(clm_multiclass_options *o, uint32_t k,
                         const double *cw) {
  clm_multiclass_options_init(o);
  o->n_classes = k;
  o->top_k = 2;
  o->weighted = 1;
  o->class_weight = cw;
  o->has_ignore_index = 1;
  o->ignore_index = -100;
  o->label_smoothing = 0.1;
}

/* Compares everything two states hold. */
static void assert_same_state(const clm_multiclass_state *a,
                              const clm_multiclass_state *b, int exact_ce,
                              double ce_tol, const char *what) {
  const size_t cells = (size_t)a->n_classes * a->n_classes;
  cr_assert(a->n == b->n && a->n_ignored == b->n_ignored &&
                a->n_scored == b->n_scored && a->top_k_hits == b->top_k_hits,
            "%s: counts", what);
  cr_assert(memcmp(a->confusion, b->confusion, cells * 8) == 0, "%s", what);
  if (a->weighted) {
    cr_assert(memcmp(a->w_confusion, b->w_confusion, cells * 8) == 0,
              "%s: weighted matrix", what);
    cr_assert(a->w_sum == b->w_sum && a->w_ignored == b->w_ignored &&
                  a->w_scored == b->w_scored,
              "%s: weight sums", what);
  }
  cr_assert(a->ce_norm == b->ce_norm, "%s: ce_norm", what);
  if (exact_ce)
    cr_assert(a->ce_sum == b->ce_sum && a->w_top_k_hits == b->w_top_k_hits,
              "%s: ce %.17g vs %.17g", what, a->ce_sum, b->ce_sum);
  else
    cr_assert(fabs(a->ce_sum - b->ce_sum) <= ce_tol, "%s: ce %.17g vs %.17g",
              what, a->ce_sum, b->ce_sum);
}

/* Data whose weights are multiples of 1/64 below 4, so that every double
 * sum of them is exact whatever the order (merge and chunking compare
 * exactly). */
static void dyadic_data(uint64_t n, uint32_t k, float *z, int32_t *yt,
                        float *w) {
  for (uint64_t i = 0; i < n; ++i) {
    for (uint32_t j = 0; j < k; ++j)
      z[i * k + j] = (float)((clm_rng_uniform(&rng) - 0.5) * 10);
    yt[i] =
        clm_rng_uniform(&rng) < 0.1 ? -100 : (int32_t)clm_rng_below(&rng, k);
    w[i] = (float)clm_rng_below(&rng, 256) / 64.0f;
  }
}

Test(multiclass, options_merge_of_halves_equals_one_run, .init = setup,
     .fini = teardown) {
  const uint32_t k = 7;
  const uint64_t n = 30011, half = 12345;
  const double cw[7] = {1, 0.5, 2, 0, 1.5, 1, 3};
  clm_rng_seed(&rng, 42);
  float *z = malloc(n * k * 4), *w = malloc(n * 4);
  int32_t *yt = malloc(n * 4);
  dyadic_data(n, k, z, yt, w);
  clm_multiclass_options o;
  full_options(&o, k, cw);
  clm_multiclass_state one, a, b;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(&one, &o), CLM_OK);
  cr_assert_eq(clm_multiclass_state_init_ex(&a, &o), CLM_OK);
  cr_assert_eq(clm_multiclass_state_init_ex(&b, &o), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, &one, 0, yt, z, w, n, CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK, "%s", err.message);
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, &a, 0, yt, z, w, half, CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, &b, half, yt + half, z + half * k, w + half, n - half,
                   CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK);
  cr_assert_eq(clm_multiclass_merge(&a, &b), CLM_OK);
  clm_ref_mc_weighted ref;
  const clm_ref_mc_options ro = {k, cw, 1, -100, 0.1, w};
  clm_ref_mc_weighted_eval(yt, NULL, z, n, 0, 2, &ro, NULL, NULL, &ref);
  /* The halves' partials group rows differently: both within the bound. */
  assert_same_state(&a, &one, 0, 2 * ce_bound(k, ref.ce_mag), "merged");
  clm_multiclass_state_release(&one);
  clm_multiclass_state_release(&a);
  clm_multiclass_state_release(&b);
  free(z);
  free(w);
  free(yt);
}

static void invariance_run(size_t local_size, uint64_t chunk,
                           clm_multiclass_state *s, const float *z,
                           const int32_t *yt, const float *w, uint64_t n,
                           uint32_t k, const double *cw) {
  open_ctx(local_size, chunk, CLM_CONFUSION_AUTO);
  clm_multiclass_options o;
  full_options(&o, k, cw);
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(s, &o), CLM_OK);
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, s, 0, yt, z, w, n, CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK, "%s", err.message);
  teardown();
}

Test(multiclass, options_invariant_to_chunks_and_local_size) {
  const uint64_t n = 20011;
  const double cw[168] = {
      [0] = 2, [3] = 0.5, [5] = 1, [7] = 4, [39] = 1, [167] = 3};
  const uint32_t ks[] = {5, 40, 168}; /* packed (two) and wide rows */
  for (size_t ki = 0; ki < 3; ++ki) {
    const uint32_t k = ks[ki];
    clm_rng_seed(&rng, k);
    float *z = malloc(n * k * 4), *w = malloc(n * 4);
    int32_t *yt = malloc(n * 4);
    dyadic_data(n, k, z, yt, w);
    clm_ref_mc_weighted ref;
    const clm_ref_mc_options ro = {k, cw, 1, -100, 0.1, w};
    clm_ref_mc_weighted_eval(yt, NULL, z, n, 0, 2, &ro, NULL, NULL, &ref);
    clm_multiclass_state base, s;
    invariance_run(0, 0, &base, z, yt, w, n, k, cw);
    const size_t ls[] = {1, 16, 64};
    const uint64_t chunks[] = {1000, 4099, 0};
    for (int i = 0; i < 3; ++i) {
      invariance_run(ls[i], chunks[i], &s, z, yt, w, n, k, cw);
      assert_same_state(&s, &base, 0, 2 * ce_bound(k, ref.ce_mag),
                        "chunks/local size");
      clm_multiclass_state_release(&s);
    }
    /* Same settings: the same bits. */
    invariance_run(0, 0, &s, z, yt, w, n, k, cw);
    assert_same_state(&s, &base, 1, 0, "repeat");
    clm_multiclass_state_release(&s);
    clm_multiclass_state_release(&base);
    free(z);
    free(w);
    free(yt);
  }
}

/* States without options give the old API's bits, through either call. */
Test(multiclass, options_optionless_bit_identical, .init = setup,
     .fini = teardown) {
  const uint32_t ks[] = {3, 40};
  for (int a = 0; a < 2; ++a) {
    const uint32_t k = ks[a];
    const uint64_t n = 10007;
    clm_rng_seed(&rng, 77 + k);
    float *z = malloc(n * k * 4), *w = malloc(n * 4);
    int32_t *yt = malloc(n * 4), *p1 = malloc(n * 4), *p2 = malloc(n * 4);
    dyadic_data(n, k, z, yt, w);
    for (uint64_t i = 0; i < n; ++i)
      yt[i] = yt[i] < 0 ? 0 : yt[i];
    clm_multiclass_options o;
    clm_multiclass_options_init(&o);
    o.n_classes = k;
    o.top_k = 2;
    clm_multiclass_state old, ex;
    clm_error err;
    cr_assert_eq(clm_multiclass_state_init(&old, k, 2), CLM_OK);
    cr_assert_eq(clm_multiclass_state_init_ex(&ex, &o), CLM_OK);
    cr_assert_eq(clm_multiclass_update_scores(ctx, &old, yt, z, n,
                                              CLM_SCORES_LOGITS, p1, &err),
                 CLM_OK);
    cr_assert_eq(clm_multiclass_update_scores_weighted(
                     ctx, &ex, 0, yt, z, NULL, n, CLM_SCORES_LOGITS, p2, &err),
                 CLM_OK);
    cr_assert_eq(clm_multiclass_update_labels_weighted(ctx, &ex, n, yt, p1,
                                                       NULL, n, &err),
                 CLM_OK);
    cr_assert_eq(clm_multiclass_update_labels(ctx, &old, yt, p1, n, &err),
                 CLM_OK);
    cr_assert(memcmp(p1, p2, n * 4) == 0);
    assert_same_state(&old, &ex, 1, 0, "option-less");
    cr_assert(old.ce_norm == (double)n);
    clm_multiclass_result r1, r2;
    cr_assert_eq(clm_multiclass_finalize(&old, 0, &r1), CLM_OK);
    cr_assert_eq(clm_multiclass_finalize(&ex, 0, &r2), CLM_OK);
    cr_assert(r1.cross_entropy_mean == old.ce_sum / (double)n);
    cr_assert(
        memcmp(r1.per_class, r2.per_class, k * sizeof(clm_class_metrics)) == 0);
    clm_class_metrics *keep = r2.per_class;
    r2.per_class = r1.per_class;
    cr_assert(memcmp(&r1, &r2, sizeof r1) == 0);
    r2.per_class = keep;
    clm_multiclass_result_release(&r2);
    cr_assert(r1.weight_sum == (double)(2 * n) && !r1.sample_weighted);
    /* A state restored without ce_norm (older files) keeps its mean. */
    old.ce_norm = 0;
    cr_assert_eq(clm_multiclass_finalize(&old, 0, &r2), CLM_OK);
    cr_assert(r2.cross_entropy_mean == r1.cross_entropy_mean);
    clm_multiclass_result_release(&r2);
    clm_multiclass_result_release(&r1);
    clm_multiclass_state_release(&old);
    clm_multiclass_state_release(&ex);
    free(z);
    free(w);
    free(yt);
    free(p1);
    free(p2);
  }
}

static void expect_bad_weight(clm_status st, const clm_error *err,
                              int64_t index) {
  cr_assert_eq(st, CLM_ERR_BAD_WEIGHT, "%s", err->message);
  cr_assert_eq(err->index, index);
  cr_assert_eq(err->input, CLM_INPUT_WEIGHTS);
}

/* The device's weighted count (private strategy): weights checked in
 * blocks of rows, -0.0 and denormals valid, the first bad weight named
 * wherever it is (block edges, group edges, the last row), and a valid run
 * equal to the float64 reference. */
Test(multiclass, weighted_labels_check_every_block, .init = setup,
     .fini = teardown) {
  const uint32_t k = 7;
  const uint64_t n = 3 * 4096 + 7;
  clm_rng_seed(&rng, 77);
  int32_t *yt = malloc(n * 4), *yp = malloc(n * 4);
  float *w = malloc(n * 4);
  cr_assert(yt && yp && w);
  for (uint64_t i = 0; i < n; ++i) {
    yt[i] = draw(k, 1.0);
    yp[i] = clm_rng_uniform(&rng) < 0.6 ? yt[i] : draw(k, 0.0);
    w[i] = (float)clm_rng_uniform(&rng);
  }
  w[5] = -0.0f;
  w[9] = 1e-45f; /* the smallest denormal */
  w[4096] = 0.0f;
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = k;
  o.weighted = 1;
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
  const clm_ref_mc_options ro = {k, NULL, 0, 0, 0.0, w};
  uint64_t *cm = malloc((size_t)k * k * 8);
  double *w_cm = malloc((size_t)k * k * 8);
  clm_ref_mc_weighted ref;
  clm_ref_mc_weighted_eval(yt, yp, NULL, n, 0, 0, &ro, cm, w_cm, &ref);
  cr_assert_eq(
      clm_multiclass_update_labels_weighted(ctx, &s, 0, yt, yp, w, n, &err),
      CLM_OK, "%s", err.message);
  check_opt_state(&s, &ref, cm, w_cm, k, 0, "valid weights");
  const uint64_t at[] = {0, 4095, 4096, 8191, n / 2, n - 1};
  const float bad[] = {NAN, -INFINITY, INFINITY, -1e-45f, -1.0f};
  for (size_t a = 0; a < sizeof at / sizeof at[0]; ++a)
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; ++b) {
      const float keep = w[at[a]];
      const float keep2 = at[a] + 100 < n ? w[at[a] + 100] : 0.0f;
      w[at[a]] = bad[b];
      if (at[a] + 100 < n)
        w[at[a] + 100] = -5.0f; /* a later bad weight: the first is named */
      expect_bad_weight(clm_multiclass_update_labels_weighted(ctx, &s, 1000, yt,
                                                              yp, w, n, &err),
                        &err, (int64_t)(1000 + at[a]));
      w[at[a]] = keep;
      if (at[a] + 100 < n)
        w[at[a] + 100] = keep2;
    }
  /* Failed updates left the state as it was. */
  check_opt_state(&s, &ref, cm, w_cm, k, 0, "after errors");
  clm_multiclass_state_release(&s);
  free(cm);
  free(w_cm);
  free(yt);
  free(yp);
  free(w);
}

Test(multiclass, options_bad_weights_name_the_index, .init = setup,
     .fini = teardown) {
  const uint32_t k = 4;
  const uint64_t n = 300;
  clm_rng_seed(&rng, 3);
  float *z = malloc(n * k * 4), *w = malloc(n * 4);
  int32_t *yt = malloc(n * 4), *yp = malloc(n * 4);
  dyadic_data(n, k, z, yt, w);
  for (uint64_t i = 0; i < n; ++i)
    yp[i] = (int32_t)(i % k);
  clm_multiclass_options o;
  full_options(&o, k, NULL);
  clm_multiclass_state s, before;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
  cr_assert_eq(clm_multiclass_state_init_ex(&before, &o), CLM_OK);
  const float bad[3] = {NAN, -1.0f, INFINITY};
  for (int b = 0; b < 3; ++b) {
    const float keep = w[211], keep2 = w[250];
    w[211] = bad[b];
    w[250] = -2.0f; /* a later bad weight: the first is named */
    expect_bad_weight(
        clm_multiclass_update_scores_weighted(ctx, &s, 1000, yt, z, w, n,
                                              CLM_SCORES_LOGITS, NULL, &err),
        &err, 1211);
    expect_bad_weight(clm_multiclass_update_labels_weighted(ctx, &s, 1000, yt,
                                                            yp, w, n, &err),
                      &err, 1211);
    w[211] = keep;
    w[250] = keep2;
  }
  assert_same_state(&s, &before, 1, 0, "unchanged after errors");
  /* Weights iff the state is weighted. */
  cr_assert_eq(clm_multiclass_update_labels(ctx, &s, yt, yp, n, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt, z, n,
                                            CLM_SCORES_LOGITS, NULL, &err),
               CLM_ERR_INVALID_ARGUMENT);
  clm_multiclass_state u;
  cr_assert_eq(clm_multiclass_state_init(&u, k, 0), CLM_OK);
  cr_assert_eq(
      clm_multiclass_update_labels_weighted(ctx, &u, 0, yp, yp, w, n, &err),
      CLM_ERR_INVALID_ARGUMENT);
  clm_multiclass_state_release(&u);
  /* All weights zero: nothing to average. */
  for (uint64_t i = 0; i < n; ++i)
    w[i] = 0.0f;
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, &s, 0, yt, z, w, n, CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK);
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_ERR_EMPTY);
  clm_multiclass_state_release(&s);
  clm_multiclass_state_release(&before);
  free(z);
  free(w);
  free(yt);
  free(yp);
}

Test(multiclass, options_bad_labels_still_reported_with_ignore, .init = setup,
     .fini = teardown) {
  const uint32_t k = 3;
  const uint64_t n = 100;
  const int32_t ignores[2] = {-100, 1};
  for (int a = 0; a < 2; ++a) {
    clm_multiclass_options o;
    clm_multiclass_options_init(&o);
    o.n_classes = k;
    o.has_ignore_index = 1;
    o.ignore_index = ignores[a];
    int32_t yt[100], yp[100];
    float z[300];
    uint64_t ignored = 0;
    for (uint64_t i = 0; i < n; ++i) {
      yt[i] = i % 4 == 0 ? ignores[a] : (int32_t)(i % 3);
      ignored += yt[i] == ignores[a];
      yp[i] = (int32_t)((i + 1) % 3);
      for (uint32_t c = 0; c < k; ++c)
        z[i * k + c] = (float)c;
    }
    clm_multiclass_state s;
    clm_error err;
    cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
    /* Ignored rows are fine, even with a label outside [0, K). */
    cr_assert_eq(clm_multiclass_update_labels_weighted(ctx, &s, 0, yt, yp, NULL,
                                                       n, &err),
                 CLM_OK, "%s", err.message);
    cr_assert_eq(s.n_ignored, ignored);
    cr_assert_eq(s.n, n - ignored);
    cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt, z, n,
                                              CLM_SCORES_LOGITS, NULL, &err),
                 CLM_OK, "%s", err.message);
    cr_assert_eq(s.n_ignored, 2 * ignored);
    cr_assert_eq(s.n_scored, n - ignored);
    /* Another bad true label is still an error, in both paths. */
    const int32_t bad_true[2] = {-5, 3};
    for (int b = 0; b < 2; ++b) {
      yt[42] = bad_true[b];
      cr_assert_eq(clm_multiclass_update_labels_weighted(ctx, &s, 0, yt, yp,
                                                         NULL, n, &err),
                   CLM_ERR_BAD_LABEL);
      cr_assert_eq(err.index, 42);
      cr_assert_eq(clm_multiclass_update_scores(ctx, &s, yt, z, n,
                                                CLM_SCORES_LOGITS, NULL, &err),
                   CLM_ERR_BAD_LABEL);
      cr_assert_eq(err.index, 42);
    }
    yt[42] = 0;
    /* The predicted label of an ignored row is still checked. */
    yp[40] = 7;
    cr_assert_eq(clm_multiclass_update_labels_weighted(ctx, &s, 0, yt, yp, NULL,
                                                       n, &err),
                 CLM_ERR_BAD_LABEL);
    cr_assert_eq(err.index, 40);
    cr_assert_eq(err.input, CLM_INPUT_PRED);
    cr_assert_eq(s.n, 2 * (n - ignored)); /* unchanged by the errors */
    clm_multiclass_state_release(&s);
  }
  /* Every row ignored: empty. */
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = k;
  o.has_ignore_index = 1;
  o.ignore_index = 2;
  const int32_t all2[4] = {2, 2, 2, 2}, yp[4] = {0, 1, 2, 0};
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
  cr_assert_eq(clm_multiclass_update_labels_weighted(ctx, &s, 0, all2, yp, NULL,
                                                     4, &err),
               CLM_OK);
  cr_assert_eq(s.n_ignored, 4u);
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_ERR_EMPTY);
  clm_multiclass_state_release(&s);
}

Test(multiclass, options_mismatch_and_validation) {
  const double cw[3] = {1, 2, 3}, cw2[3] = {1, 2, 3.0000000001};
  clm_multiclass_options o;
  full_options(&o, 3, cw);
  clm_multiclass_state a, b;
  cr_assert_eq(clm_multiclass_state_init_ex(&a, &o), CLM_OK);
  for (int v = 0; v < 7; ++v) {
    clm_multiclass_options p = o;
    switch (v) {
    case 0:
      p.weighted = 0;
      break;
    case 1:
      p.class_weight = NULL;
      break;
    case 2:
      p.class_weight = cw2;
      break;
    case 3:
      p.has_ignore_index = 0;
      break;
    case 4:
      p.ignore_index = 0;
      break;
    case 5:
      p.label_smoothing = 0.2;
      break;
    default:
      p.top_k = 1;
      break;
    }
    cr_assert_eq(clm_multiclass_state_init_ex(&b, &p), CLM_OK);
    cr_assert_eq(clm_multiclass_merge(&a, &b), CLM_ERR_STATE_MISMATCH,
                 "variant %d", v);
    clm_multiclass_state_release(&b);
  }
  cr_assert_eq(clm_multiclass_state_init_ex(&b, &o), CLM_OK);
  cr_assert(b.class_weight != cw && b.class_weight[2] == 3.0); /* a copy */
  cr_assert_eq(clm_multiclass_merge(&a, &b), CLM_OK);
  clm_multiclass_state_release(&b);
  clm_multiclass_state_release(&a);
  /* Bad options. */
  const double bad_w[3][3] = {{1, NAN, 1}, {1, -1, 1}, {INFINITY, 1, 1}};
  for (int i = 0; i < 3; ++i) {
    full_options(&o, 3, bad_w[i]);
    cr_assert_eq(clm_multiclass_state_init_ex(&a, &o), CLM_ERR_BAD_WEIGHT);
    cr_assert_null(a.class_weight);
  }
  const double bad_e[3] = {-0.1, 1.1, NAN};
  for (int i = 0; i < 3; ++i) {
    full_options(&o, 3, NULL);
    o.label_smoothing = bad_e[i];
    cr_assert_eq(clm_multiclass_state_init_ex(&a, &o),
                 CLM_ERR_INVALID_ARGUMENT);
  }
  full_options(&o, 1, NULL);
  o.top_k = 0;
  cr_assert_eq(clm_multiclass_state_init_ex(&a, &o), CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_multiclass_state_init_ex(&a, NULL),
               CLM_ERR_INVALID_ARGUMENT);
}

/* Label-only rows count in the matrix and w_sum but not in the loss or
 * top-k: the weighted top-k accuracy divides by the scored rows' weight. */
Test(multiclass, options_weighted_top_k_over_scored_rows, .init = setup,
     .fini = teardown) {
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = 3;
  o.top_k = 1;
  o.weighted = 1;
  clm_multiclass_state s;
  clm_error err;
  cr_assert_eq(clm_multiclass_state_init_ex(&s, &o), CLM_OK);
  const int32_t yt[2] = {0, 1}, yp[2] = {0, 0};
  const float wl[2] = {8, 8};
  cr_assert_eq(
      clm_multiclass_update_labels_weighted(ctx, &s, 0, yt, yp, wl, 2, &err),
      CLM_OK);
  /* Row 0 right (weight 1), row 1 wrong (weight 3). */
  const float z[6] = {2, 1, 0, 2, 1, 0}, ws[2] = {1, 3};
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, &s, 2, yt, z, ws, 2, CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK);
  cr_assert(s.w_sum == 20 && s.w_scored == 4 && s.w_top_k_hits == 1);
  clm_multiclass_result r;
  cr_assert_eq(clm_multiclass_finalize(&s, 0, &r), CLM_OK);
  cr_assert(r.top_k_accuracy == 0.25, "%g", r.top_k_accuracy);
  cr_assert(r.accuracy == (8.0 + 1.0) / 20.0);
  cr_assert(r.weight_sum == 20 && r.n == 4);
  cr_assert(r.per_class[0].support_weight == 9 &&
            r.per_class[0].predicted_weight == 20);
  cr_assert_eq(r.per_class[0].support, 2u);
  clm_multiclass_result_release(&r);
  clm_multiclass_state_release(&s);
}
