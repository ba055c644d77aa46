/* clm_multiclass_gradient: per-row gradients of PyTorch's CrossEntropyLoss
 * (class weights, ignore_index, label smoothing, sample weights) against
 * the double-precision reference clm_ref_ce_option_grad.
 *
 * Tolerance. Each element is compared with |g - g_ref| <= u * mag, u =
 * 2^-24, mag the reference's first-order bound, derived here for the
 * device's evaluation (kernels/multiclass.cl, clm_mc_grad), with
 * x_c = z_c - max, e_c = exp(x_c), S = sum e_c, S_r = sum_{c != t} e_c,
 * p_j = e_j / S, q = S_r / S = 1 - p_t:
 *  - x_c = fl(z_c - max) has relative error u, which exp turns into a
 *    relative error |x_c| u of e_c; clm_exp_nonpos adds <= 1 ulp (<= 2u,
 *    tests/test_math.c): delta e_c <= (|x_c| + 2) u.
 *  - S (and S_r) summed in float32 in any order: (K - 1) u of the sum plus
 *    the e_c errors, sum e_c |x_c| u + 2u S: delta S <= (xb + K + 1) u, xb
 *    the exp-weighted mean of |x_c| (xr over c != t for S_r).
 *  - OpenCL's float division is within 2.5 ulp (<= 5u): delta p_j <=
 *    (|x_j| + xb + K + 8) u, delta q <= (xr + xb + 2K + 7) u.
 *  - c1 = (1 - e) w_t + (e/K) W from 1 - e, e/K, w_t, W each rounded once
 *    from double, two products and a sum: <= 4u; c1 p_j one more u.
 *  - (e/K) w_j and (e/K)(W - w_t): three roundings, 3u.
 *  - The difference and the product with s: 2u more on each side.
 *  So |err_j| <= s u [c1 p_j (|x_j| + xb + K + 15) + 5 (e/K) w_j] for
 * j != t and s u [c1 q (xr + xb + 2K + 14) + 5 (e/K)(W - w_t)] for j = t,
 * plus a few subnormal steps (2^-144 (s (c1 + 1) + 1)) where results
 * underflow. For probabilities and rows with +inf logits x = 0 and e_c is
 * exact. With e = 0 and no weights this is a few ulps times K of p_j, and
 * the true class keeps q's relative accuracy however confident the row. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clmetrics.h"
#include "ref_multiclass_options.h"
#include "reference.h"

static const double U = 0x1p-24;

static clm_context *ctx;
static clm_rng rng;

static clm_context *open_ctx(size_t local_size, uint64_t chunk) {
  clm_context_options o;
  clm_context_options_init(&o);
  o.local_size = local_size;
  o.chunk_samples = chunk;
  clm_context *c = NULL;
  clm_error err;
  const clm_status st = clm_context_create(&o, &c, &err);
  if (st == CLM_ERR_NO_PLATFORM || st == CLM_ERR_NO_DEVICE)
    cr_skip_test("no OpenCL device: %s", err.message);
  cr_assert_eq(st, CLM_OK, "context: %s", err.message);
  return c;
}
static void setup(void) {
  ctx = open_ctx(0, 0);
}
static void teardown(void) {
  clm_context_free(ctx);
  ctx = NULL;
}

TestSuite(multiclass_grad, .init = setup, .fini = teardown);

/* A state with the loss options (class weights may be NULL). */
static void make_state(clm_multiclass_state *s, uint32_t k, const double *cw,
                       int has_ignore, int32_t ignore, double e) {
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = k;
  o.class_weight = cw;
  o.has_ignore_index = has_ignore;
  o.ignore_index = ignore;
  o.label_smoothing = e;
  cr_assert_eq(clm_multiclass_state_init_ex(s, &o), CLM_OK);
}

struct gcase {
  uint32_t k;
  uint64_t n;
  int probs;
  int cw;     /* class weights: 0 none, 1 random with a zero */
  int ignore; /* 0 none, 1 a class in [0, K), 2 -100 */
  double e;   /* smoothing */
  int sw;     /* sample weights */
};

/* Random rows with the extremes: logits N(0, 3) plus, on some rows, +-100,
 * 0, -inf and +inf (one or two at a time, never a whole row), a true class
 * at -inf, a row that is confident far beyond float32's 1 - p; or
 * probabilities (a softmax rounded to float32, some exact 0 and 1, an
 * all-zero row). */
static void make_data(const struct gcase *c, float *z, int32_t *yt, float *w,
                      double *cw, int32_t ignore) {
  const uint32_t k = c->k;
  for (uint64_t i = 0; i < c->n; ++i) {
    float *row = z + i * k;
    yt[i] = (int32_t)clm_rng_below(&rng, k);
    double total = 0;
    for (uint32_t j = 0; j < k; ++j) {
      const double a = clm_rng_uniform(&rng), b = clm_rng_uniform(&rng);
      const double g = sqrt(-2 * log(a + 1e-300)) * cos(6.283185307179586 * b);
      row[j] = (float)(c->probs ? exp(g) : 3 * g);
      total += row[j];
    }
    if (c->probs) {
      for (uint32_t j = 0; j < k; ++j)
        row[j] = (float)(row[j] / total);
      if (i % 7 == 2)
        row[clm_rng_below(&rng, k)] = 0.0f;
      if (i % 13 == 5) { /* one-hot */
        memset(row, 0, k * sizeof *row);
        row[clm_rng_below(&rng, k)] = 1.0f;
      }
      if (i % 29 == 11) /* all zero: 1/K each */
        memset(row, 0, k * sizeof *row);
    } else {
      static const float ext[5] = {100.0f, -100.0f, 0.0f, -INFINITY, INFINITY};
      switch (i % 9) {
      case 1: /* one or two extremes */
        row[clm_rng_below(&rng, k)] = ext[clm_rng_below(&rng, 5)];
        row[clm_rng_below(&rng, k)] = ext[clm_rng_below(&rng, 4)];
        break;
      case 3: /* several +inf: 1/m each */
        row[clm_rng_below(&rng, k)] = INFINITY;
        row[clm_rng_below(&rng, k)] = INFINITY;
        if (clm_rng_below(&rng, 2))
          row[yt[i]] = INFINITY;
        break;
      case 5: /* the true class at -inf */
        row[yt[i]] = -INFINITY;
        break;
      case 7: /* confident and right: 1 - p_t ~ e^-40 */
        row[yt[i]] += 40.0f;
        break;
      case 8: /* a constant row */
        for (uint32_t j = 0; j < k; ++j)
          row[j] = i % 2 ? 0.0f : -100.0f;
        break;
      }
      /* Never a whole row at -inf or at +inf (those are errors). */
      uint32_t neg = 0, pos = 0;
      for (uint32_t j = 0; j < k; ++j) {
        neg += row[j] == -INFINITY;
        pos += row[j] == INFINITY;
      }
      if (neg == k || pos == k)
        row[clm_rng_below(&rng, k)] = 0.5f;
    }
    if (c->ignore && clm_rng_uniform(&rng) < 0.1)
      yt[i] = ignore;
    if (w)
      w[i] =
          clm_rng_uniform(&rng) < 0.1 ? 0.0f : (float)clm_rng_uniform(&rng) * 4;
  }
  if (cw) {
    for (uint32_t j = 0; j < k; ++j)
      cw[j] = 0.2 + clm_rng_uniform(&rng) * 2;
    cw[clm_rng_below(&rng, k)] = 0.0;
  }
}

/* The device's gradients of one case against the reference. */
static void run_case(const struct gcase *c, uint64_t seed) {
  const uint32_t k = c->k;
  const uint64_t n = c->n;
  clm_rng_seed(&rng, seed);
  float *z = malloc((n * k + 1) * sizeof *z);
  float *g = malloc((n * k + 1) * sizeof *g);
  int32_t *yt = malloc((n + 1) * sizeof *yt);
  float *w = c->sw ? malloc((n + 1) * sizeof *w) : NULL;
  double *cw = c->cw ? malloc(k * sizeof *cw) : NULL;
  double *ref = malloc(k * sizeof *ref), *mag = malloc(k * sizeof *mag);
  cr_assert(z && g && yt && ref && mag && (!c->sw || w) && (!c->cw || cw));
  const int32_t ignore = c->ignore == 1 ? (int32_t)(k > 3 ? 3 : 1) : -100;
  make_data(c, z, yt, w, cw, ignore);
  clm_multiclass_state s;
  make_state(&s, k, cw, c->ignore != 0, ignore, c->e);
  for (uint64_t i = 0; i < n * k; ++i)
    g[i] = NAN; /* every element must be written */
  clm_error err;
  const clm_scores_kind kind = c->probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS;
  const clm_status st =
      clm_multiclass_gradient(ctx, &s, 0, yt, z, w, n, kind, g, &err);
  cr_assert_eq(st, CLM_OK, "K %u n %llu: %s", (unsigned)k,
               (unsigned long long)n, err.message);
  const clm_ref_mc_options ro = {k, cw, c->ignore != 0, ignore, c->e, NULL};
  double worst = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const double sw = w ? (double)w[i] : 1.0;
    cr_assert_eq(clm_ref_ce_option_grad(z + i * k, k, c->probs, yt[i], sw, &ro,
                                        ref, mag),
                 0, "row %llu has no probabilities", (unsigned long long)i);
    const int ignored = c->ignore && yt[i] == ignore;
    for (uint32_t j = 0; j < k; ++j) {
      const double got = g[i * k + j];
      const double tol = U * mag[j];
      if (ignored)
        cr_assert_eq(got, 0.0, "ignored row %llu col %u: %g",
                     (unsigned long long)i, (unsigned)j, got);
      cr_assert(fabs(got - ref[j]) <= tol,
                "K %u n %llu probs %d cw %d ignore %d e %g sw %d: row %llu "
                "(label %d) col %u: got %.9g, want %.17g, tol %.3g (z %g)",
                (unsigned)k, (unsigned long long)n, c->probs, c->cw, c->ignore,
                c->e, c->sw, (unsigned long long)i, (int)yt[i], (unsigned)j,
                got, ref[j], tol, (double)z[i * k + j]);
      if (tol > 0 && fabs(got - ref[j]) / tol > worst)
        worst = fabs(got - ref[j]) / tol;
    }
  }
  /* The bound is not vacuous: the worst element uses a visible part of
   * it on the larger cases (float32 rounding is seen). */
  if (n * k >= 1000)
    cr_expect(worst > 1e-3, "K %u n %llu: worst error %.3g of the bound",
              (unsigned)k, (unsigned long long)n, worst);
  clm_multiclass_state_release(&s);
  free(mag);
  free(ref);
  free(cw);
  free(w);
  free(yt);
  free(g);
  free(z);
}

/* Sizes around the work-group and the column vector, K from 2 to 257, and
 * every option alone and together. */
Test(multiclass_grad, matches_reference) {
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  const uint64_t wg = sh.local_size;
  const uint32_t vw = sh.vector_width;
  const uint64_t ns[] = {0, 1, wg - 1, wg, wg + 1, 1237};
  const uint32_t ks[] = {2, 3, 10, 257, vw > 2 ? vw - 1 : 2, vw, vw + 1};
  uint64_t seed = 1;
  for (size_t a = 0; a < sizeof ks / sizeof ks[0]; ++a)
    for (size_t b = 0; b < sizeof ns / sizeof ns[0]; ++b) {
      const uint32_t k = ks[a];
      const uint64_t n = k == 257 && ns[b] > 300 ? 331 : ns[b];
      if (n == 0 && b != 0)
        continue;
      /* plain; every option; each option alone on the larger sizes */
      const struct gcase plain = {k, n, 0, 0, 0, 0.0, 0};
      const struct gcase all = {k, n, 0, 1, 2, 0.15, 1};
      run_case(&plain, seed++);
      run_case(&all, seed++);
      if (n < wg)
        continue;
      const struct gcase alone[] = {
          {k, n, 0, 1, 0, 0.0, 0}, {k, n, 0, 0, 1, 0.0, 0},
          {k, n, 0, 0, 0, 0.3, 0}, {k, n, 0, 0, 0, 1.0, 0},
          {k, n, 0, 0, 0, 0.0, 1}, {k, n, 1, 0, 0, 0.0, 0},
          {k, n, 1, 1, 1, 0.2, 1}};
      for (size_t q = 0; q < sizeof alone / sizeof alone[0]; ++q)
        run_case(&alone[q], seed++);
    }
}

/* A large batch that is no multiple of anything, over several launches. */
Test(multiclass_grad, large_batch_over_chunks) {
  clm_context_free(ctx);
  ctx = open_ctx(0, 4099); /* chunk boundaries inside the batch */
  const struct gcase c1 = {7, 50021, 0, 1, 2, 0.1, 1};
  run_case(&c1, 77);
  const struct gcase c2 = {33, 9001, 1, 1, 1, 0.05, 1};
  run_case(&c2, 78);
}

/* Known answers by hand: a tied row of K = 3 (p = 1/3), label 0:
 * plain g = (1/3 - 1, 1/3, 1/3); with e = 0.3 and class weights
 * w = (2, 1, 0) (W = 3, c1 = 0.7 * 2 + 0.1 * 3 = 1.7):
 * g = (0.1 * (3 - 2) - 1.7 * 2/3, 1.7/3 - 0.1, 1.7/3), times s = 0.5. A row
 * with +inf at classes 1 and 2, label 1: p = (0, 1/2, 1/2). */
Test(multiclass_grad, known_answers) {
  const float z[6] = {0.0f, 0.0f, 0.0f, -1.0f, INFINITY, INFINITY};
  const int32_t yt[2] = {0, 1};
  float g[6];
  clm_multiclass_state s;
  make_state(&s, 3, NULL, 0, 0, 0.0);
  clm_error err;
  cr_assert_eq(clm_multiclass_gradient(ctx, &s, 0, yt, z, NULL, 2,
                                       CLM_SCORES_LOGITS, g, &err),
               CLM_OK, "%s", err.message);
  const double want[6] = {1.0 / 3 - 1, 1.0 / 3, 1.0 / 3, 0.0, -0.5, 0.5};
  for (int j = 0; j < 6; ++j)
    cr_expect(fabs(g[j] - want[j]) <= 4 * U, "plain g[%d] = %.9g", j,
              (double)g[j]);
  cr_expect_eq(g[3], 0.0f);
  cr_expect_eq(g[4], -0.5f);
  cr_expect_eq(g[5], 0.5f);
  clm_multiclass_state_release(&s);
  const double cw[3] = {2.0, 1.0, 0.0};
  make_state(&s, 3, cw, 0, 0, 0.3);
  const float sw[2] = {0.5f, 0.0f};
  cr_assert_eq(clm_multiclass_gradient(ctx, &s, 0, yt, z, sw, 2,
                                       CLM_SCORES_LOGITS, g, &err),
               CLM_OK, "%s", err.message);
  const double c1 = 1.7;
  const double want2[3] = {0.5 * (0.1 - c1 * 2 / 3), 0.5 * (c1 / 3 - 0.1),
                           0.5 * c1 / 3};
  for (int j = 0; j < 3; ++j)
    cr_expect(fabs(g[j] - want2[j]) <= 16 * U, "smoothed g[%d] = %.9g, want %g",
              j, (double)g[j], want2[j]);
  for (int j = 3; j < 6; ++j) /* a zero sample weight: zeros */
    cr_expect_eq(g[j], 0.0f, "g[%d] = %g", j, (double)g[j]);
  clm_multiclass_state_release(&s);
}

/* A confident row keeps its true-class gradient: 1 - p_t = e^-30 is far
 * below float32's spacing at 1, yet g_t = -(1 - p_t) to a few ulps. */
Test(multiclass_grad, confident_rows_keep_small_gradients) {
  const float z[4] = {30.0f, 0.0f, 0.0f, 0.0f};
  const int32_t yt[1] = {0};
  float g[4];
  clm_multiclass_state s;
  make_state(&s, 4, NULL, 0, 0, 0.0);
  clm_error err;
  cr_assert_eq(clm_multiclass_gradient(ctx, &s, 0, yt, z, NULL, 1,
                                       CLM_SCORES_LOGITS, g, &err),
               CLM_OK, "%s", err.message);
  const double q = 3 * exp(-30.0) / (1 + 3 * exp(-30.0));
  cr_expect(fabs(g[0] + q) <= 64 * U * q, "g_t = %.9g, want %.9g", (double)g[0],
            -q);
  for (int j = 1; j < 4; ++j)
    cr_expect(fabs(g[j] - q / 3) <= 64 * U * q, "g[%d] = %.9g", j,
              (double)g[j]);
  clm_multiclass_state_release(&s);
}

/* Results do not depend on the chunk size, the work-group size or the
 * copy path: each row is computed alone, bit for bit. */
Test(multiclass_grad, invariant_to_chunks_and_local_size) {
  const uint32_t k = 11;
  const uint64_t n = 3001;
  float *z = malloc(n * k * sizeof *z), *w = malloc(n * sizeof *w);
  float *g0 = malloc(n * k * sizeof *g0), *g1 = malloc(n * k * sizeof *g1);
  int32_t *yt = malloc(n * sizeof *yt);
  double cw[11];
  cr_assert(z && w && g0 && g1 && yt);
  clm_rng_seed(&rng, 99);
  const struct gcase c = {k, n, 0, 1, 2, 0.2, 1};
  make_data(&c, z, yt, w, cw, -100);
  clm_multiclass_state s;
  make_state(&s, k, cw, 1, -100, 0.2);
  clm_error err;
  cr_assert_eq(clm_multiclass_gradient(ctx, &s, 0, yt, z, w, n,
                                       CLM_SCORES_LOGITS, g0, &err),
               CLM_OK, "%s", err.message);
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  const size_t locals[3] = {1, 2, sh.max_local_size >= 64 ? 64 : 1};
  const uint64_t chunks[3] = {7, 1000, 0};
  for (int q = 0; q < 3; ++q) {
    clm_context *c2 = open_ctx(locals[q], chunks[q]);
    memset(g1, 0xff, n * k * sizeof *g1);
    /* Batches of odd sizes with their base. */
    for (uint64_t first = 0; first < n; first += 977) {
      const uint64_t m = n - first < 977 ? n - first : 977;
      cr_assert_eq(clm_multiclass_gradient(
                       c2, &s, first, yt + first, z + first * k, w + first, m,
                       CLM_SCORES_LOGITS, g1 + first * k, &err),
                   CLM_OK, "%s", err.message);
    }
    clm_context_free(c2);
    cr_expect(memcmp(g0, g1, n * k * sizeof *g0) == 0,
              "local size %zu, chunk %llu: results differ", locals[q],
              (unsigned long long)chunks[q]);
  }
  clm_multiclass_state_release(&s);
  free(yt);
  free(g1);
  free(g0);
  free(w);
  free(z);
}

/* The state is only read; its own update is unaffected. */
Test(multiclass_grad, state_is_unchanged) {
  const uint32_t k = 5;
  const uint64_t n = 200;
  float z[200 * 5], g[200 * 5];
  int32_t yt[200];
  const struct gcase c = {k, n, 0, 0, 2, 0.1, 0};
  clm_rng_seed(&rng, 5);
  make_data(&c, z, yt, NULL, NULL, -100);
  clm_multiclass_state s;
  make_state(&s, k, NULL, 1, -100, 0.1);
  clm_error err;
  cr_assert_eq(clm_multiclass_update_scores_weighted(
                   ctx, &s, 0, yt, z, NULL, n, CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK, "%s", err.message);
  const double ce = s.ce_sum, norm = s.ce_norm;
  const uint64_t cnt = s.n, cm0 = s.confusion[0];
  cr_assert_eq(clm_multiclass_gradient(ctx, &s, 0, yt, z, NULL, n,
                                       CLM_SCORES_LOGITS, g, &err),
               CLM_OK, "%s", err.message);
  cr_expect(s.ce_sum == ce && s.ce_norm == norm && s.n == cnt &&
            s.confusion[0] == cm0);
  clm_multiclass_state_release(&s);
}

/* ---- errors -------------------------------------------------------------- */

static void expect_error(clm_status st, const clm_error *err, clm_status want,
                         int64_t index, clm_input input, const char *needle) {
  cr_assert_eq(st, want, "status %d (%s), want %d", st, err->message, want);
  cr_expect_eq(err->index, index, "index %lld: %s", (long long)err->index,
               err->message);
  cr_expect_eq(err->input, input, "input %d: %s", err->input, err->message);
  if (needle)
    cr_expect(strstr(err->message, needle), "'%s' not in: %s", needle,
              err->message);
}

Test(multiclass_grad, bad_labels_weights_and_scores_name_the_row) {
  enum { K = 4, M = 300 };
  float z[M * K], g[M * K], w[M];
  int32_t yt[M];
  for (int i = 0; i < M * K; ++i)
    z[i] = (float)((i * 7) % 13) - 6.0f;
  for (int i = 0; i < M; ++i) {
    yt[i] = i % K;
    w[i] = 1.0f;
  }
  clm_multiclass_state s;
  make_state(&s, K, NULL, 1, -100, 0.0);
  clm_error err;
  clm_status st;
  /* A label outside [0, K) that is not the ignored one; -100 is fine. */
  yt[10] = -100;
  yt[250] = K;
  st = clm_multiclass_gradient(ctx, &s, 1000, yt, z, NULL, M, CLM_SCORES_LOGITS,
                               g, &err);
  expect_error(st, &err, CLM_ERR_BAD_LABEL, 1250, CLM_INPUT_LABELS,
               "true label 4");
  yt[250] = 1;
  /* Weights are checked first. */
  yt[20] = -5;
  w[100] = -1.0f;
  st = clm_multiclass_gradient(ctx, &s, 0, yt, z, w, M, CLM_SCORES_LOGITS, g,
                               &err);
  expect_error(st, &err, CLM_ERR_BAD_WEIGHT, 100, CLM_INPUT_WEIGHTS,
               "negative");
  w[100] = NAN;
  st = clm_multiclass_gradient(ctx, &s, 0, yt, z, w, M, CLM_SCORES_LOGITS, g,
                               &err);
  expect_error(st, &err, CLM_ERR_BAD_WEIGHT, 100, CLM_INPUT_WEIGHTS, "NaN");
  w[100] = INFINITY;
  st = clm_multiclass_gradient(ctx, &s, 0, yt, z, w, M, CLM_SCORES_LOGITS, g,
                               &err);
  expect_error(st, &err, CLM_ERR_BAD_WEIGHT, 100, CLM_INPUT_WEIGHTS,
               "infinite");
  w[100] = 1.0f;
  yt[20] = 0;
  /* Scores: NaN (the first of two), a row all -inf, a row all +inf; an
   * ignored row's scores are checked too. */
  z[150 * K + 2] = NAN;
  z[270 * K + 1] = NAN;
  st = clm_multiclass_gradient(ctx, &s, 7, yt, z, w, M, CLM_SCORES_LOGITS, g,
                               &err);
  expect_error(st, &err, CLM_ERR_BAD_SCORE, 157, CLM_INPUT_SCORES, "column 2");
  z[150 * K + 2] = 0.0f;
  z[270 * K + 1] = 0.0f;
  for (int j = 0; j < K; ++j)
    z[33 * K + j] = -INFINITY;
  st = clm_multiclass_gradient(ctx, &s, 0, yt, z, w, M, CLM_SCORES_LOGITS, g,
                               &err);
  expect_error(st, &err, CLM_ERR_BAD_SCORE, 33, CLM_INPUT_SCORES, "-inf");
  for (int j = 0; j < K; ++j)
    z[33 * K + j] = INFINITY;
  st = clm_multiclass_gradient(ctx, &s, 0, yt, z, w, M, CLM_SCORES_LOGITS, g,
                               &err);
  expect_error(st, &err, CLM_ERR_BAD_SCORE, 33, CLM_INPUT_SCORES, "+inf");
  /* Probabilities outside [0, 1]. */
  for (int i = 0; i < M * K; ++i)
    z[i] = 0.25f;
  z[44 * K + 3] = 1.5f;
  st = clm_multiclass_gradient(ctx, &s, 0, yt, z, w, M, CLM_SCORES_PROBS, g,
                               &err);
  expect_error(st, &err, CLM_ERR_BAD_SCORE, 44, CLM_INPUT_SCORES, "column 3");
  z[44 * K + 3] = 0.25f;
  /* Arguments. */
  cr_expect_eq(clm_multiclass_gradient(NULL, &s, 0, yt, z, w, M,
                                       CLM_SCORES_PROBS, g, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_expect_eq(clm_multiclass_gradient(ctx, NULL, 0, yt, z, w, M,
                                       CLM_SCORES_PROBS, g, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_expect_eq(clm_multiclass_gradient(ctx, &s, 0, yt, z, w, M,
                                       CLM_SCORES_PROBS, NULL, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_expect_eq(clm_multiclass_gradient(ctx, &s, 0, yt, z, w, M,
                                       (clm_scores_kind)7, g, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_expect_eq(clm_multiclass_gradient(ctx, &s, 0, NULL, NULL, NULL, 0,
                                       CLM_SCORES_LOGITS, NULL, &err),
               CLM_OK, "%s", err.message);
  /* K = 1 has no state (init refuses it), so no gradient either. */
  clm_multiclass_state one;
  memset(&one, 0, sizeof one);
  cr_expect_neq(clm_multiclass_state_init(&one, 1, 0), CLM_OK);
  cr_expect_eq(clm_multiclass_gradient(ctx, &one, 0, yt, z, NULL, 1,
                                       CLM_SCORES_LOGITS, g, &err),
               CLM_ERR_INVALID_ARGUMENT);
  /* After all that the call works. */
  cr_expect_eq(clm_multiclass_gradient(ctx, &s, 0, yt, z, w, M,
                                       CLM_SCORES_PROBS, g, &err),
               CLM_OK, "%s", err.message);
  cr_expect(fabs(g[0] - (0.25 - 1)) <= 8 * U, "g[0] = %g", (double)g[0]);
  clm_multiclass_state_release(&s);
}
