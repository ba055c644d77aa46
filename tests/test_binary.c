/* The binary kernels against a double-precision CPU reference. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clmetrics.h"
#include "reference.h"

/* ---- fixture: the OpenCL context lives only in the test's process ---- */

static clm_context *ctx;

static void open_ctx(size_t local_size, uint64_t chunk) {
  clm_context_options o;
  clm_context_options_init(&o);
  o.local_size = local_size;
  o.chunk_samples = chunk;
  clm_error err;
  clm_status st = clm_context_create(&o, &ctx, &err);
  if (st == CLM_ERR_NO_PLATFORM || st == CLM_ERR_NO_DEVICE) {
    /* Only where no OpenCL device exists at all; CI installs PoCL. */
    cr_skip_test("no OpenCL device: %s", err.message);
  }
  cr_assert_eq(st, CLM_OK, "context: %s", err.message);
}

static void setup(void) {
  open_ctx(0, 0);
}
static void teardown(void) {
  clm_context_free(ctx);
  ctx = NULL;
}

/* ---- reference (src/reference) ---- */

struct ref {
  clm_ref_binary r;
  double *g; /* per-sample gradient */
};

static void reference(const uint8_t *y, const float *s, uint64_t n,
                      clm_scores_kind kind, double t, struct ref *r) {
  r->g = calloc(n ? n : 1, sizeof(double));
  cr_assert_not_null(r->g);
  clm_ref_binary_eval(y, s, n, kind == CLM_SCORES_PROBS, t, r->g, &r->r);
}

/* ---- data ---- */

static clm_rng rng; /* the rest of the stream after random_data */

static void random_data(uint64_t n, uint64_t seed, clm_scores_kind kind,
                        uint8_t **y, float **s) {
  clm_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ULL + 1);
  *y = malloc(n ? n : 1);
  *s = malloc((n ? n : 1) * sizeof(float));
  for (uint64_t i = 0; i < n; ++i) {
    (*y)[i] = clm_rng_uniform(&rng) < 0.35;
    if (kind == CLM_SCORES_LOGITS)
      (*s)[i] = (float)((clm_rng_uniform(&rng) - 0.5) * 16.0 +
                        ((*y)[i] ? 1.0 : -1.0));
    else
      (*s)[i] = (float)clm_rng_uniform(&rng);
  }
}

/* Runs one update; asserts it succeeded. */
static void evaluate(const uint8_t *y, const float *s, uint64_t n,
                     clm_scores_kind kind, double t, const float *x, uint64_t d,
                     float *grad, clm_binary_state *st) {
  cr_assert_eq(clm_binary_state_init(st, kind, t, d), CLM_OK);
  clm_error err;
  clm_status rc = clm_binary_update(ctx, st, y, s, n, x, grad, &err);
  cr_assert_eq(rc, CLM_OK, "update: %s", err.message);
}

static void check_against_reference(const uint8_t *y, const float *s,
                                    uint64_t n, clm_scores_kind kind,
                                    double t) {
  struct ref r;
  reference(y, s, n, kind, t, &r);
  float *grad = malloc((n ? n : 1) * sizeof(float));
  clm_binary_state st;
  evaluate(y, s, n, kind, t, NULL, 0, grad, &st);
  cr_assert_eq(st.n, n);
  cr_assert_eq(st.tp, r.r.tp, "n=%llu tp %llu vs %llu", (unsigned long long)n,
               (unsigned long long)st.tp, (unsigned long long)r.r.tp);
  cr_assert_eq(st.fp, r.r.fp);
  cr_assert_eq(st.tn, r.r.tn);
  cr_assert_eq(st.fn, r.r.fn);
  cr_assert_eq(st.tp + st.fp + st.tn + st.fn, n);
  /* float per-sample terms and float partials: a few ulp per term. */
  cr_assert(fabs(st.bce_sum - r.r.loss_sum) <= 1e-5 * r.r.loss_abs + 1e-30,
            "n=%llu loss %.17g vs %.17g", (unsigned long long)n, st.bce_sum,
            r.r.loss_sum);
  cr_assert(fabs(st.grad_sum - r.r.grad_sum) <= 1e-5 * r.r.grad_abs + 1e-30,
            "n=%llu grad %.17g vs %.17g", (unsigned long long)n, st.grad_sum,
            r.r.grad_sum);
  for (uint64_t i = 0; i < n; ++i)
    cr_assert(fabs(grad[i] - r.g[i]) <= 3e-7,
              "grad[%llu] = %.9g, reference %.17g (score %.9g, label %u)",
              (unsigned long long)i, grad[i], r.g[i], s[i], y[i]);
  clm_binary_state_release(&st);
  free(grad);
  free(r.g);
}

/* ---- sizes x work-group sizes ---- */

struct size_case {
  size_t local_size;
  uint64_t n;
  int kind;
};

ParameterizedTestParameters(binary, random_vs_reference) {
  /* Tile = local size x 32 vectors x 16 floats on this CPU; a GPU tile is
   * 256 x 8 x 4. Sizes straddle work-group and tile edges. */
  static struct size_case cases[64];
  static const size_t ls[] = {1, 8, 64, 256};
  size_t k = 0;
  for (size_t i = 0; i < 4; ++i) {
    const uint64_t tile = ls[i] * 32 * 16;
    const uint64_t ns[] = {0,         1,        ls[i] - 1 ? ls[i] - 1 : 2,
                           ls[i] + 1, tile - 1, tile,
                           tile + 1,  1000003};
    for (size_t j = 0; j < 8; ++j) {
      cases[k].local_size = ls[i];
      cases[k].n = ns[j];
      cases[k].kind = (int)(j % 2);
      ++k;
    }
  }
  return cr_make_param_array(struct size_case, cases, k);
}

ParameterizedTest(struct size_case *c, binary, random_vs_reference) {
  open_ctx(c->local_size, 0);
  uint8_t *y;
  float *s;
  random_data(c->n, c->n + 17, c->kind, &y, &s);
  check_against_reference(y, s, c->n, c->kind, 0.5);
  check_against_reference(y, s, c->n, c->kind, 0.3);
  free(y);
  free(s);
  teardown();
}

/* ---- extremes ---- */

Test(binary, extreme_logits, .init = setup, .fini = teardown) {
  const float vals[] = {100.0f,  -100.0f, 88.7f,  -88.7f, 0.0f,  -0.0f, 1e-30f,
                        -1e-30f, 17.0f,   -17.0f, 1e-45f, 1e30f, -1e30f};
  const size_t nv = sizeof vals / sizeof vals[0];
  uint8_t y[2 * sizeof vals / sizeof vals[0]];
  float s[2 * sizeof vals / sizeof vals[0]];
  for (size_t i = 0; i < nv; ++i) {
    y[2 * i] = 0, s[2 * i] = vals[i];
    y[2 * i + 1] = 1, s[2 * i + 1] = vals[i];
  }
  check_against_reference(y, s, 2 * nv, CLM_SCORES_LOGITS, 0.5);
}

Test(binary, float_max_logits, .init = setup, .fini = teardown) {
  /* Each loss is finite; a work-group's float partial of two FLT_MAX-sized
   * losses overflows to +inf (documented), so only one such sample. */
  const uint8_t y[3] = {0, 1, 1};
  const float s[3] = {FLT_MAX, FLT_MAX, -FLT_MAX};
  float g[3];
  clm_binary_state st;
  evaluate(y, s, 1, CLM_SCORES_LOGITS, 0.5, NULL, 0, g, &st);
  cr_assert(st.bce_sum == (double)FLT_MAX, "%.17g", st.bce_sum);
  clm_binary_state_release(&st);
  evaluate(y, s, 3, CLM_SCORES_LOGITS, 0.5, NULL, 0, g, &st);
  cr_assert(g[0] == 1.0f && g[1] == 0.0f && g[2] == -1.0f);
  cr_assert_eq(st.fp, 1u);
  cr_assert_eq(st.tp, 1u);
  cr_assert_eq(st.fn, 1u);
  cr_assert(!isnan(st.bce_sum));
  clm_binary_state_release(&st);
}

Test(binary, f64_float_max_stays_finite, .init = setup, .fini = teardown) {
  /* float64 -> float32: +-FLT_MAX as a double is float32's largest finite
   * value and stays it, as does the double just below it (to nearest); only
   * magnitudes past FLT_MAX become +-inf (at thresholds 0 and 1 the cut is
   * +-inf itself, and finite values keep their side of it: the first four
   * do at every threshold). */
  const double fm = (double)FLT_MAX; /* 3.4028234663852886e38 */
  const double in[] = {fm,
                       -fm,
                       nextafter(fm, 0.0),
                       -nextafter(fm, 0.0),
                       nextafter(fm, INFINITY),
                       -nextafter(fm, INFINITY),
                       3.4028235677973366e38, /* FLT_MAX + half a step */
                       1e300,
                       -INFINITY};
  const float want[] = {FLT_MAX,   -FLT_MAX, FLT_MAX,  -FLT_MAX, INFINITY,
                        -INFINITY, INFINITY, INFINITY, -INFINITY};
  const size_t n = sizeof in / sizeof in[0];
  const double thresholds[] = {0.25, 0.5, 0.75, 0.0, 1.0};
  for (size_t t = 0; t < 5; ++t) {
    float out[sizeof in / sizeof in[0]];
    clm_error err;
    cr_assert_eq(clm_binary_scores_from_f64(in, n, CLM_SCORES_LOGITS,
                                            thresholds[t], out, &err),
                 CLM_OK, "%s", err.message);
    for (size_t i = 0; i < (t < 3 ? n : 4); ++i)
      cr_assert(out[i] == want[i], "threshold %g: %.17g -> %a, want %a",
                thresholds[t], in[i], (double)out[i], (double)want[i]);
  }
  /* On the device: FLT_MAX against its label costs FLT_MAX (finite), an
   * inf would cost inf. One such sample per update (a work-group's float
   * partial of two would overflow, as documented). */
  const uint8_t y[2] = {0, 1};
  float z[2];
  clm_error err;
  cr_assert_eq(
      clm_binary_scores_from_f64(in, 2, CLM_SCORES_LOGITS, 0.5, z, &err),
      CLM_OK);
  for (int i = 0; i < 2; ++i) {
    clm_binary_state st;
    float g;
    evaluate(&y[i], &z[i], 1, CLM_SCORES_LOGITS, 0.5, NULL, 0, &g, &st);
    cr_assert(st.bce_sum == fm, "y=%u z=%a: loss %.17g", y[i], (double)z[i],
              st.bce_sum);
    cr_assert(g == (y[i] ? -1.0f : 1.0f));
    clm_binary_state_release(&st);
  }
}

Test(binary, infinite_logits_are_exact, .init = setup, .fini = teardown) {
  /* softplus form: +inf with y=1 costs exactly 0, never NaN. */
  const struct {
    uint8_t y;
    float z;
    double loss, grad;
  } c[] = {{1, INFINITY, 0.0, 0.0},
           {0, -INFINITY, 0.0, 0.0},
           {1, -INFINITY, INFINITY, -1.0},
           {0, INFINITY, INFINITY, 1.0}};
  for (size_t i = 0; i < 4; ++i) {
    clm_binary_state st;
    float g = NAN;
    evaluate(&c[i].y, &c[i].z, 1, CLM_SCORES_LOGITS, 0.5, NULL, 0, &g, &st);
    cr_assert(st.bce_sum == c[i].loss, "case %zu loss %g", i, st.bce_sum);
    cr_assert(g == c[i].grad, "case %zu grad %g", i, (double)g);
    cr_assert(st.grad_sum == c[i].grad);
    cr_assert_eq(st.tp + st.fp, c[i].z > 0 ? 1u : 0u);
    clm_binary_state_release(&st);
  }
}

Test(binary, extreme_probabilities, .init = setup, .fini = teardown) {
  const float vals[] = {
      0.0f,        1.0f,  -0.0f, 1e-30f, 1e-8f,
      FLT_EPSILON, 0.5f,  0.25f, 0.7f,   1.0f - FLT_EPSILON / 4,
      0.999f,      1e-45f};
  const size_t nv = sizeof vals / sizeof vals[0];
  uint8_t y[2 * sizeof vals / sizeof vals[0]];
  float s[2 * sizeof vals / sizeof vals[0]];
  for (size_t i = 0; i < nv; ++i) {
    y[2 * i] = 0, s[2 * i] = vals[i];
    y[2 * i + 1] = 1, s[2 * i + 1] = vals[i];
  }
  check_against_reference(y, s, 2 * nv, CLM_SCORES_PROBS, 0.5);
  /* Clipping at float32 epsilon: p = 0 with y = 1 costs -log(eps). */
  clm_binary_state st;
  const uint8_t one = 1;
  const float zero = 0.0f;
  evaluate(&one, &zero, 1, CLM_SCORES_PROBS, 0.5, NULL, 0, NULL, &st);
  cr_assert(fabs(st.bce_sum - -log((double)FLT_EPSILON)) < 1e-5);
  clm_binary_state_release(&st);
}

/* ---- thresholds hit exactly: positive iff strictly above ---- */

static uint64_t predicted_positives(const float *s, uint64_t n,
                                    clm_scores_kind kind, double t) {
  uint8_t *y = calloc(n, 1);
  clm_binary_state st;
  evaluate(y, s, n, kind, t, NULL, 0, NULL, &st);
  uint64_t pp = st.fp;
  clm_binary_state_release(&st);
  free(y);
  return pp;
}

Test(binary, thresholds_exact, .init = setup, .fini = teardown) {
  const float p[] = {0.25f, 0.5f, 0.7f, nextafterf(0.7f, 1.0f), 0.0f, 1.0f};
  /* 0.7 is not a float: 0.7f < 0.7 < nextafter(0.7f). */
  cr_assert_eq(predicted_positives(p, 1, CLM_SCORES_PROBS, 0.25), 0u);
  cr_assert_eq(predicted_positives(p + 1, 1, CLM_SCORES_PROBS, 0.5), 0u);
  cr_assert_eq(predicted_positives(p + 2, 1, CLM_SCORES_PROBS, 0.7), 0u);
  cr_assert_eq(predicted_positives(p + 3, 1, CLM_SCORES_PROBS, 0.7), 1u);
  cr_assert_eq(predicted_positives(p, 6, CLM_SCORES_PROBS, 0.0), 5u);
  cr_assert_eq(predicted_positives(p, 6, CLM_SCORES_PROBS, 1.0), 0u);
  /* Logits: sigma(0) = 0.5 is not above 0.5, the smallest positive float
   * is (sigma(1e-45) > 0.5 in real arithmetic). */
  const float z[] = {0.0f, -0.0f, 1e-45f, -1e-45f, INFINITY, -INFINITY};
  cr_assert_eq(predicted_positives(z, 2, CLM_SCORES_LOGITS, 0.5), 0u);
  cr_assert_eq(predicted_positives(z + 2, 1, CLM_SCORES_LOGITS, 0.5), 1u);
  cr_assert_eq(predicted_positives(z + 3, 1, CLM_SCORES_LOGITS, 0.5), 0u);
  cr_assert_eq(predicted_positives(z, 6, CLM_SCORES_LOGITS, 0.0), 5u);
  cr_assert_eq(predicted_positives(z, 6, CLM_SCORES_LOGITS, 1.0), 0u);
  /* logit(0.25) = -ln 3: floats on either side of it. */
  const double l = -log(3.0);
  float below = (float)l, above;
  if ((double)below > l)
    below = nextafterf(below, -INFINITY);
  above = nextafterf(below, INFINITY);
  cr_assert_eq(predicted_positives(&below, 1, CLM_SCORES_LOGITS, 0.25), 0u);
  cr_assert_eq(predicted_positives(&above, 1, CLM_SCORES_LOGITS, 0.25), 1u);
}

/* ---- invariants ---- */

Test(binary, deterministic_bits, .init = setup, .fini = teardown) {
  const uint64_t n = 777777;
  uint8_t *y;
  float *s;
  random_data(n, 5, CLM_SCORES_LOGITS, &y, &s);
  float *g1 = malloc(n * sizeof(float)), *g2 = malloc(n * sizeof(float));
  clm_binary_state a, b;
  evaluate(y, s, n, CLM_SCORES_LOGITS, 0.5, NULL, 0, g1, &a);
  evaluate(y, s, n, CLM_SCORES_LOGITS, 0.5, NULL, 0, g2, &b);
  cr_assert(memcmp(&a.bce_sum, &b.bce_sum, sizeof(double)) == 0);
  cr_assert(memcmp(&a.grad_sum, &b.grad_sum, sizeof(double)) == 0);
  cr_assert(memcmp(g1, g2, n * sizeof(float)) == 0);
  cr_assert_eq(a.tp, b.tp);
  cr_assert_eq(a.fp, b.fp);
  clm_binary_state_release(&a);
  clm_binary_state_release(&b);
  free(g1);
  free(g2);
  free(y);
  free(s);
}

Test(binary, counts_independent_of_local_and_chunk_size) {
  const uint64_t n = 300007;
  uint8_t *y;
  float *s;
  random_data(n, 9, CLM_SCORES_LOGITS, &y, &s);
  const size_t ls[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  const uint64_t chunks[] = {0, 1000, 4097, 65536};
  clm_binary_state first = {0};
  for (size_t i = 0; i < 10; ++i) {
    open_ctx(ls[i], chunks[i % 4]);
    clm_binary_state st;
    evaluate(y, s, n, CLM_SCORES_LOGITS, 0.5, NULL, 0, NULL, &st);
    if (i == 0) {
      first = st;
    } else {
      cr_assert_eq(st.tp, first.tp, "local size %zu", ls[i]);
      cr_assert_eq(st.fp, first.fp);
      cr_assert_eq(st.tn, first.tn);
      cr_assert_eq(st.fn, first.fn);
      cr_assert(fabs(st.bce_sum - first.bce_sum) <= 1e-5 * first.bce_sum);
      clm_binary_state_release(&st);
    }
    teardown();
  }
  clm_binary_state_release(&first);
  free(y);
  free(s);
}

Test(binary, tiny_chunks_match_reference) {
  /* Forces many launches: per-launch counters flushed into uint64. */
  open_ctx(8, 1000);
  uint8_t *y;
  float *s;
  random_data(123457, 3, CLM_SCORES_PROBS, &y, &s);
  check_against_reference(y, s, 123457, CLM_SCORES_PROBS, 0.5);
  free(y);
  free(s);
  teardown();
}

Test(binary, merge_of_parts_equals_whole, .init = setup, .fini = teardown) {
  const uint64_t n = 100000, cut = 37311;
  uint8_t *y;
  float *s;
  random_data(n, 11, CLM_SCORES_LOGITS, &y, &s);
  clm_binary_state whole, a, b;
  evaluate(y, s, n, CLM_SCORES_LOGITS, 0.5, NULL, 0, NULL, &whole);
  evaluate(y, s, cut, CLM_SCORES_LOGITS, 0.5, NULL, 0, NULL, &a);
  evaluate(y + cut, s + cut, n - cut, CLM_SCORES_LOGITS, 0.5, NULL, 0, NULL,
           &b);
  cr_assert_eq(clm_binary_merge(&a, &b), CLM_OK);
  cr_assert_eq(a.n, whole.n);
  cr_assert_eq(a.tp, whole.tp);
  cr_assert_eq(a.fp, whole.fp);
  cr_assert_eq(a.tn, whole.tn);
  cr_assert_eq(a.fn, whole.fn);
  cr_assert(fabs(a.bce_sum - whole.bce_sum) <= 1e-6 * whole.bce_sum);
  clm_binary_state_release(&whole);
  clm_binary_state_release(&a);
  clm_binary_state_release(&b);
  free(y);
  free(s);
}

/* ---- host sums in double: exact integer losses ---- */

/* Logits of magnitude 1000 + (i mod 7) on the wrong side of their label
 * (z > 0 with y = 0, z < 0 with y = 1) cost exactly |z| in float32
 * (exp(-|z|) is 0) and have gradients of exactly +-1. A work-group's float
 * partial sums at most 8192 such losses here (local size <= 16 x 32 x 16 on
 * CPUs, 256 x 8 x 4 in the GPU shape), below 2^23, so it is exact, and the
 * double sum of the partials is the exact sum: bce_sum and grad_sum must
 * equal it to the bit. A chunk's loss is far above 2^24 (a float step is 64
 * at 10^9), so partials added in float round off. */
static void integer_sums(const uint8_t *y, const float *s, uint64_t n,
                         double *loss, double *grad) {
  *loss = *grad = 0; /* exact: integers below 2^53 */
  for (uint64_t i = 0; i < n; ++i) {
    *loss += fabs((double)s[i]);
    *grad += y[i] ? -1.0 : 1.0;
  }
}

static void exact_integer_sums(size_t local_size, uint64_t chunk,
                               const uint8_t *y, const float *s, uint64_t n) {
  double want_loss, want_grad;
  integer_sums(y, s, n, &want_loss, &want_grad);
  open_ctx(local_size, chunk);
  clm_binary_state st;
  evaluate(y, s, n, CLM_SCORES_LOGITS, 0.5, NULL, 0, NULL, &st);
  cr_assert_eq(st.n, n);
  cr_assert(st.bce_sum == want_loss,
            "local size %zu, chunk %llu: loss %.17g, exact %.17g (off by %g)",
            local_size, (unsigned long long)chunk, st.bce_sum, want_loss,
            st.bce_sum - want_loss);
  cr_assert(st.grad_sum == want_grad,
            "local size %zu, chunk %llu: gradient %.17g, exact %.17g",
            local_size, (unsigned long long)chunk, st.grad_sum, want_grad);
  clm_binary_state_release(&st);
  teardown();
}

Test(binary, integer_losses_sum_exactly) {
  const uint64_t n = 1000003;
  uint8_t *y = malloc(n);
  float *s = malloc(n * sizeof(float));
  cr_assert(y && s);
  for (uint64_t i = 0; i < n; ++i) {
    const float m = 1000.0f + (float)(i % 7);
    y[i] = i % 3 == 0;
    s[i] = y[i] ? -m : m;
  }
  /* The reference agrees: softplus(1000) is 1000 in double too. */
  struct ref r;
  reference(y, s, n, CLM_SCORES_LOGITS, 0.5, &r);
  double want_loss, want_grad;
  integer_sums(y, s, n, &want_loss, &want_grad);
  cr_assert(r.r.loss_sum == want_loss && r.r.grad_sum == want_grad,
            "reference %.17g %.17g", r.r.loss_sum, r.r.grad_sum);
  free(r.g);
  /* One chunk (partials of ~4 * 10^6 each); chunks of 300007 and 65537
   * samples, each far above 2^24 in loss, over many work-groups; chunks of
   * 1000, whose sums would stay exact even in float. */
  exact_integer_sums(0, 0, y, s, n);
  exact_integer_sums(1, 300007, y, s, n);
  exact_integer_sums(8, 65537, y, s, n);
  exact_integer_sums(16, 0, y, s, n);
  exact_integer_sums(8, 1000, y, s, 200000);
  free(y);
  free(s);
}

/* ---- bad input: first offending index, state untouched ---- */

Test(binary, bad_inputs_name_first_index) {
  open_ctx(8, 50000); /* the faults sit in different chunks */
  const uint64_t n = 200003;
  uint8_t *y;
  float *s;
  random_data(n, 4, CLM_SCORES_PROBS, &y, &s);
  clm_binary_state st;
  clm_error err;
  cr_assert_eq(clm_binary_state_init(&st, CLM_SCORES_PROBS, 0.5, 0), CLM_OK);

  y[150001] = 2;
  y[190000] = 7;
  cr_assert_eq(clm_binary_update(ctx, &st, y, s, n, NULL, NULL, &err),
               CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 150001);
  cr_assert_eq(err.value, 2.0);
  cr_assert(strstr(err.message, "150001") && strstr(err.message, "2"));
  cr_assert_eq(st.n, 0u, "state must be unchanged after an error");
  y[150001] = 0;
  y[190000] = 1;

  s[60000] = NAN;
  s[70000] = 1.5f;
  cr_assert_eq(clm_binary_update(ctx, &st, y, s, n, NULL, NULL, &err),
               CLM_ERR_BAD_SCORE);
  cr_assert_eq(err.index, 60000);
  s[60000] = 0.5f;
  cr_assert_eq(clm_binary_update(ctx, &st, y, s, n, NULL, NULL, &err),
               CLM_ERR_BAD_SCORE);
  cr_assert_eq(err.index, 70000);
  cr_assert(strstr(err.message, "1.5"), "%s", err.message);
  s[70000] = -1e-3f;
  cr_assert_eq(clm_binary_update(ctx, &st, y, s, n, NULL, NULL, &err),
               CLM_ERR_BAD_SCORE);
  cr_assert_eq(err.index, 70000);
  s[70000] = -0.0f; /* -0 is a valid probability */
  cr_assert_eq(clm_binary_update(ctx, &st, y, s, n, NULL, NULL, &err), CLM_OK,
               "%s", err.message);
  cr_assert_eq(st.n, n);
  clm_binary_state_release(&st);

  /* Logits: NaN is rejected, infinities are fine. */
  cr_assert_eq(clm_binary_state_init(&st, CLM_SCORES_LOGITS, 0.5, 0), CLM_OK);
  s[5] = INFINITY;
  s[6] = -INFINITY;
  s[n - 1] = NAN;
  cr_assert_eq(clm_binary_update(ctx, &st, y, s, n, NULL, NULL, &err),
               CLM_ERR_BAD_SCORE);
  cr_assert_eq(err.index, (int64_t)n - 1);
  clm_binary_state_release(&st);
  free(y);
  free(s);
  teardown();
}

/* ---- weight gradient and the origin notes' Q1 ---- */

static void check_weight_grad(uint64_t n, uint64_t d, size_t ls,
                              uint64_t chunk) {
  open_ctx(ls, chunk);
  uint8_t *y;
  float *s;
  random_data(n, n * 31 + d, CLM_SCORES_LOGITS, &y, &s);
  float *x = malloc((n * d > 0 ? n * d : 1) * sizeof(float));
  for (uint64_t i = 0; i < n * d; ++i)
    x[i] = (float)(clm_rng_uniform(&rng) * 4.0 - 2.0);
  struct ref r;
  reference(y, s, n, CLM_SCORES_LOGITS, 0.5, &r);
  clm_binary_state st;
  evaluate(y, s, n, CLM_SCORES_LOGITS, 0.5, x, d, NULL, &st);
  clm_binary_result res;
  double *w = malloc(d * sizeof(double));
  double *want = malloc(d * sizeof(double)),
         *scale = malloc(d * sizeof(double));
  cr_assert(w && want && scale);
  clm_ref_weight_grad(r.g, x, n, d, want, scale);
  cr_assert_eq(clm_binary_finalize(&st, 0, &res, w), CLM_OK);
  for (uint64_t j = 0; j < d; ++j)
    cr_assert(fabs(w[j] - want[j]) <= 1e-5 * scale[j] + 1e-12,
              "n=%llu d=%llu j=%llu: %.12g vs %.12g", (unsigned long long)n,
              (unsigned long long)d, (unsigned long long)j, w[j], want[j]);
  cr_assert(fabs(res.grad_bias - r.r.grad_sum / (double)n) <=
            1e-5 * r.r.grad_abs / (double)n + 1e-12);
  clm_binary_state_release(&st);
  free(scale);
  free(want);
  free(w);
  free(x);
  free(r.g);
  free(y);
  free(s);
  teardown();
}

Test(binary, weight_gradient_vs_reference) {
  check_weight_grad(1, 1, 0, 0);
  check_weight_grad(255, 3, 1, 0);
  check_weight_grad(257, 7, 64, 0);
  check_weight_grad(10001, 16, 8, 0);
  check_weight_grad(20000, 5, 8, 3001); /* across chunks */
  check_weight_grad(5000, 129, 256, 0);
}

Test(binary, origin_q1_gradient_table, .init = setup, .fini = teardown) {
  /* The notes' table: small gradient when the prediction agrees with the
   * label, near -1 for y=1 and y_hat -> 0, near +1 for y=0 and y_hat -> 1. */
  const uint8_t y[4] = {1, 1, 0, 0};
  const float z[4] = {6.0f, -6.0f, 6.0f, -6.0f};
  float g[4];
  clm_binary_state st;
  evaluate(y, z, 4, CLM_SCORES_LOGITS, 0.5, NULL, 0, g, &st);
  cr_assert(g[0] < 0 && g[0] > -0.01, "y=1, y_hat~1: %g", g[0]);
  cr_assert(g[1] < -0.99, "y=1, y_hat~0: %g", g[1]);
  cr_assert(g[2] > 0.99, "y=0, y_hat~1: %g", g[2]);
  cr_assert(g[3] > 0 && g[3] < 0.01, "y=0, y_hat~0: %g", g[3]);
  clm_binary_state_release(&st);
}

/* Loss of one sample y with z = w.x, from the device. */
static double device_loss(uint8_t y, const double *w, const float *x, int d) {
  double z = 0;
  for (int j = 0; j < d; ++j)
    z += w[j] * x[j];
  const float zf = (float)z;
  clm_binary_state st;
  evaluate(&y, &zf, 1, CLM_SCORES_LOGITS, 0.5, NULL, 0, NULL, &st);
  double l = st.bce_sum;
  clm_binary_state_release(&st);
  return l;
}

Test(binary, origin_q1_weight_grad_finite_difference, .init = setup,
     .fini = teardown) {
  /* dL/dW = (y_hat - y) x against a central difference of the loss. */
  const float x[3] = {0.5f, -1.5f, 2.0f};
  for (int y = 0; y <= 1; ++y) {
    double w[3] = {0.2, 0.4, -0.3};
    float z = 0;
    for (int j = 0; j < 3; ++j)
      z += (float)w[j] * x[j];
    const uint8_t yy = (uint8_t)y;
    clm_binary_state st;
    evaluate(&yy, &z, 1, CLM_SCORES_LOGITS, 0.5, x, 3, NULL, &st);
    clm_binary_result r;
    double dw[3];
    cr_assert_eq(clm_binary_finalize(&st, 0, &r, dw), CLM_OK);
    clm_binary_state_release(&st);
    const double h = 1e-2;
    for (int j = 0; j < 3; ++j) {
      double wp[3] = {w[0], w[1], w[2]}, wm[3] = {w[0], w[1], w[2]};
      wp[j] += h;
      wm[j] -= h;
      const double fd =
          (device_loss(yy, wp, x, 3) - device_loss(yy, wm, x, 3)) / (2 * h);
      cr_assert(fabs(dw[j] - fd) < 2e-3 * (1 + fabs(fd)),
                "y=%d j=%d: analytic %.8g, finite difference %.8g", y, j, dw[j],
                fd);
      cr_assert(fabs(dw[j] - ((double)(r.grad_bias) * x[j])) < 1e-6);
    }
  }
}

Test(binary, empty_update_is_a_no_op, .init = setup, .fini = teardown) {
  clm_binary_state st;
  evaluate(NULL, NULL, 0, CLM_SCORES_LOGITS, 0.5, NULL, 0, NULL, &st);
  cr_assert_eq(st.n, 0u);
  clm_binary_result r;
  cr_assert_eq(clm_binary_finalize(&st, 0, &r, NULL), CLM_ERR_EMPTY);
  clm_binary_state_release(&st);
}

static void skip_without_device(void) {
  size_t count = 0;
  clm_error err;
  if (clm_devices_list(NULL, 0, &count, &err) != CLM_OK)
    cr_skip_test("no OpenCL device: %s", err.message);
}

Test(binary, device_selection_errors) {
  skip_without_device();
  clm_context_options o;
  clm_context_options_init(&o);
  o.device = "no-such-device-xyz";
  clm_context *c = NULL;
  clm_error err;
  cr_assert_eq(clm_context_create(&o, &c, &err), CLM_ERR_NO_DEVICE);
  cr_assert_null(c);
  cr_assert(strstr(err.message, "no-such-device-xyz"));
  o.device = "99";
  cr_assert_eq(clm_context_create(&o, &c, &err), CLM_ERR_NO_DEVICE);
  o.device = "0";
  o.local_size = 6;
  cr_assert_eq(clm_context_create(&o, &c, &err), CLM_ERR_INVALID_ARGUMENT);
  clm_context_free(NULL);
}

Test(binary, kernel_dir_override_and_build_failure) {
  skip_without_device();
  char dir[] = "/tmp/clm_kdir_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  clm_context_options o;
  clm_context_options_init(&o);
  o.kernel_dir = dir;
  clm_context *c = NULL;
  clm_error err;
  /* Missing sources: a clear status naming the file. */
  cr_assert_eq(clm_context_create(&o, &c, &err), CLM_ERR_KERNEL_SOURCE);
  cr_assert(strstr(err.message, "clm_shared.h"), "%s", err.message);
  /* A broken kernel: CLM_ERR_BUILD with the options and the log. */
  char path[256];
  const char *names[] = {"clm_shared.h",   "common.cl",     "binary.cl",
                         "weight_grad.cl", "multiclass.cl", "ranking.cl",
                         "calibration.cl", "multilabel.cl"};
  enum { NAMES = sizeof names / sizeof names[0] };
  for (int i = 0; i < NAMES; ++i) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(i == 2 ? "__kernel void clm_binary(void) { this is not C; }\n" : "\n",
          f);
    fclose(f);
  }
  cr_assert_eq(clm_context_create(&o, &c, &err), CLM_ERR_BUILD);
  cr_assert_null(c);
  cr_assert(strstr(err.message, "-DCLM_VW="), "%s", err.message);
  for (int i = 0; i < NAMES; ++i) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    remove(path);
  }
  rmdir(dir);
}

/* ==== sample weights and pos_weight ==================================== */

#include "ref_binary_weighted.h"

static const double U = 0x1p-24; /* float32 unit roundoff */

/* D of clm_binary_update_weighted's error bound: float32 additions on any
 * term's way into its group's partial, from the context's launch shape. */
static double bound_depth(void) {
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  double d = (double)sh.items - 1;
  for (size_t v = sh.vector_width; v > 1; v >>= 1)
    d += 1;
  for (size_t l = sh.local_size; l > 1; l >>= 1)
    d += 1;
  return d;
}

/* Absolute slack of the bound: double sums on the host and subnormal
 * terms (n * 2^-52 relative, 2^-148 (1 + s_i) per term). */
static double host_slack(uint64_t n, double abs_sum, double scale_sum) {
  return (double)n * 0x1p-52 * abs_sum + 0x1p-148 * ((double)n + scale_sum);
}

/* Weights in [0, 3], about one in eight exactly 0. */
static float *random_weights(uint64_t n, uint64_t seed) {
  clm_rng r;
  clm_rng_seed(&r, clm_rng_splitmix64(seed));
  float *w = malloc((n ? n : 1) * sizeof(float));
  cr_assert_not_null(w);
  for (uint64_t i = 0; i < n; ++i)
    w[i] =
        clm_rng_below(&r, 8) == 0 ? 0.0f : (float)(clm_rng_uniform(&r) * 3.0);
  return w;
}

static void init_state(clm_binary_state *st, clm_scores_kind kind, double t,
                       uint64_t d, double pos_weight, int weighted) {
  clm_binary_options o;
  clm_binary_options_init(&o);
  o.kind = kind;
  o.threshold = t;
  o.n_features = d;
  o.pos_weight = pos_weight;
  o.weighted = weighted;
  cr_assert_eq(clm_binary_state_init_ex(st, &o), CLM_OK);
}

/* |got - want| within tol; an infinite reference must be matched exactly. */
static void near(double got, double want, double tol, const char *what,
                 uint64_t n, double p) {
  if (isinf(want)) {
    cr_assert(got == want, "n=%llu P=%g %s: %.17g, want %.17g",
              (unsigned long long)n, p, what, got, want);
    return;
  }
  cr_assert(fabs(got - want) <= tol,
            "n=%llu P=%g %s: %.17g, want %.17g (off %.3g, bound %.3g)",
            (unsigned long long)n, p, what, got, want, fabs(got - want), tol);
}

/* One weighted (w != NULL) or pos_weight-only update against the
 * reference, every output within the documented bound. */
static void check_weighted(const uint8_t *y, const float *s, const float *w,
                           uint64_t n, clm_scores_kind kind, double t, double p,
                           const float *x, uint64_t d) {
  const int probs = kind == CLM_SCORES_PROBS;
  double *g_ref = malloc((n ? n : 1) * sizeof(double));
  float *grad = malloc((n ? n : 1) * sizeof(float));
  cr_assert(g_ref && grad);
  clm_ref_binary_weighted r;
  clm_ref_binary_weighted_eval(y, s, w, n, probs, t, p, g_ref, NULL, &r);
  clm_binary_state st;
  init_state(&st, kind, t, d, p, w != NULL);
  clm_error err;
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &st, 0, y, s, w, n, x, grad, &err),
      CLM_OK, "update: %s", err.message);
  cr_assert_eq(st.n, n);
  cr_assert_eq(st.tp, r.tp, "n=%llu tp", (unsigned long long)n);
  cr_assert_eq(st.fp, r.fp);
  cr_assert_eq(st.tn, r.tn);
  cr_assert_eq(st.fn, r.fn);
  const double D = bound_depth();
  if (w) {
    const double c[4][2] = {{st.w_tp, r.w_tp},
                            {st.w_fp, r.w_fp},
                            {st.w_tn, r.w_tn},
                            {st.w_fn, r.w_fn}};
    for (int k = 0; k < 4; ++k)
      near(c[k][0], c[k][1], D * U * c[k][1] + host_slack(n, c[k][1], 0),
           "weight cell", n, p);
    near(st.w_sum, r.w_sum, D * U * r.w_sum + host_slack(n, r.w_sum, 0),
         "w_sum", n, p);
  } else {
    cr_assert(st.w_sum == 0 && st.w_tp == 0, "unweighted: no weight sums");
  }
  near(st.bce_sum, r.loss_sum,
       (D + 12) * U * r.loss_abs + host_slack(n, r.loss_abs, r.scale_sum),
       "bce_sum", n, p);
  near(st.grad_sum, r.grad_sum,
       (D + 16) * U * r.scale_sum + host_slack(n, r.scale_sum, r.scale_sum),
       "grad_sum", n, p);
  for (uint64_t i = 0; i < n; ++i) {
    const double si = (w ? (double)w[i] : 1.0) * (y[i] ? p : 1.0);
    cr_assert(fabs(grad[i] - g_ref[i]) <= 16 * U * si + 0x1p-148 * (1 + si),
              "grad[%llu] = %.9g, reference %.17g (score %.9g, label %u, "
              "weight %.9g, P %g)",
              (unsigned long long)i, grad[i], g_ref[i], s[i], y[i],
              w ? w[i] : 1.0f, p);
  }
  if (d > 0) {
    double *want = malloc(d * sizeof(double)),
           *scale = malloc(d * sizeof(double));
    double *wg = malloc(d * sizeof(double));
    cr_assert(want && scale && wg);
    /* s_i |x_ij| = |g_i x_ij| / |sigma - y|: use the reference's scale. */
    for (uint64_t j = 0; j < d; ++j) {
      want[j] = scale[j] = 0;
      for (uint64_t i = 0; i < n; ++i) {
        const double si = (w ? (double)w[i] : 1.0) * (y[i] ? p : 1.0);
        want[j] += g_ref[i] * x[i * d + j];
        scale[j] += si * fabs((double)x[i * d + j]);
      }
    }
    clm_binary_result res;
    if (clm_binary_finalize(&st, 0, &res, wg) == CLM_OK) {
      for (uint64_t j = 0; j < d; ++j) {
        const double den = w ? r.w_sum : (double)n;
        /* The state's sum, then the division (one more rounding). */
        near(wg[j] * den, want[j],
             (256 + 17) * U * scale[j] + host_slack(n, scale[j], scale[j]) +
                 0x1p-52 * fabs(want[j]) * 2,
             "weight gradient", n, p);
      }
    }
    free(wg);
    free(scale);
    free(want);
  }
  clm_binary_state_release(&st);
  free(grad);
  free(g_ref);
}

struct wcase {
  size_t local_size;
  uint64_t n;
  int kind;
  double pos_weight;
};

ParameterizedTestParameters(binary_weighted, random_vs_reference) {
  static struct wcase cases[64];
  static const size_t ls[] = {1, 8, 64, 256};
  static const double pw[] = {0.25, 1.0, 3.0};
  size_t k = 0;
  for (size_t i = 0; i < 4; ++i) {
    const uint64_t wg = ls[i];
    const uint64_t ns[] = {1,      wg > 1 ? wg - 1 : 2, wg,
                           wg + 1, wg * 32 * 16 + 1,    100003};
    for (size_t j = 0; j < 6; ++j) {
      cases[k].local_size = ls[i];
      cases[k].n = ns[j];
      cases[k].kind = (int)((i + j) % 2);
      cases[k].pos_weight = pw[(i + j) % 3];
      ++k;
    }
  }
  return cr_make_param_array(struct wcase, cases, k);
}

ParameterizedTest(struct wcase *c, binary_weighted, random_vs_reference) {
  open_ctx(c->local_size, 0);
  uint8_t *y;
  float *s;
  random_data(c->n, c->n + 101, c->kind, &y, &s);
  float *w = random_weights(c->n, c->n + 7);
  check_weighted(y, s, w, c->n, c->kind, 0.5, c->pos_weight, NULL, 0);
  check_weighted(y, s, w, c->n, c->kind, 0.3, c->pos_weight, NULL, 0);
  /* pos_weight alone (unweighted state). */
  check_weighted(y, s, NULL, c->n, c->kind, 0.5, c->pos_weight, NULL, 0);
  free(w);
  free(y);
  free(s);
  teardown();
}

/* Logits at +-inf, +-100, 0 and in between, both labels, every P: each
 * sample's loss alone (n = 1: the state's bce_sum is the float32 term) and
 * all of them together. */
Test(binary_weighted, pos_weight_extreme_logits, .init = setup,
     .fini = teardown) {
  const float vals[] = {INFINITY, -INFINITY, 100.0f, -100.0f, 0.0f,
                        -0.0f,    17.0f,     -17.0f, 0.75f,   -3.5f};
  const double pws[] = {0.25, 1.0, 3.0};
  enum { NV = sizeof vals / sizeof vals[0] };
  uint8_t y[2 * NV];
  float s[2 * NV], w[2 * NV];
  for (size_t i = 0; i < NV; ++i) {
    y[2 * i] = 0, s[2 * i] = vals[i], w[2 * i] = 1.5f;
    y[2 * i + 1] = 1, s[2 * i + 1] = vals[i], w[2 * i + 1] = 0.5f;
  }
  for (size_t k = 0; k < 3; ++k) {
    const double p = pws[k];
    for (size_t i = 0; i < 2 * NV; ++i) {
      for (int weighted = 0; weighted <= 1; ++weighted) {
        const float *wi = weighted ? &w[i] : NULL;
        double t_ref, g_ref;
        clm_ref_binary_weighted r;
        clm_ref_binary_weighted_eval(&y[i], &s[i], wi, 1, 0, 0.5, p, &g_ref,
                                     &t_ref, &r);
        clm_binary_state st;
        init_state(&st, CLM_SCORES_LOGITS, 0.5, 0, p, weighted);
        float g = NAN;
        clm_error err;
        cr_assert_eq(clm_binary_update_weighted(ctx, &st, 0, &y[i], &s[i], wi,
                                                1, NULL, &g, &err),
                     CLM_OK, "%s", err.message);
        const double si = (weighted ? w[i] : 1.0) * (y[i] ? p : 1.0);
        /* Infinite where the math says so: y = 1 at -inf, y = 0 at +inf. */
        cr_assert_eq(isinf(st.bce_sum) != 0,
                     (y[i] == 1 && s[i] == -INFINITY) ||
                         (y[i] == 0 && s[i] == INFINITY));
        near(st.bce_sum, t_ref, 12 * U * fabs(t_ref) + 0x1p-148 * (1 + si),
             "single loss", 1, p);
        cr_assert(fabs(g - g_ref) <= 16 * U * si + 0x1p-148 * (1 + si),
                  "y=%u z=%g P=%g w=%d: grad %.9g, reference %.17g", y[i],
                  (double)s[i], p, weighted, (double)g, g_ref);
        cr_assert(st.grad_sum == (double)g);
        clm_binary_state_release(&st);
      }
    }
    /* Finite values together (an infinite loss makes the sum +inf). */
    check_weighted(y + 4, s + 4, w + 4, 2 * NV - 4, CLM_SCORES_LOGITS, 0.5, p,
                   NULL, 0);
    check_weighted(y, s, w, 2 * NV, CLM_SCORES_LOGITS, 0.5, p, NULL, 0);
    check_weighted(y, s, NULL, 2 * NV, CLM_SCORES_LOGITS, 0.5, p, NULL, 0);
  }
}

Test(binary_weighted, probabilities_with_pos_weight, .init = setup,
     .fini = teardown) {
  const float vals[] = {0.0f, 1.0f,  1e-30f, FLT_EPSILON,
                        0.5f, 0.25f, 0.999f, 1.0f - FLT_EPSILON / 4};
  enum { NV = sizeof vals / sizeof vals[0] };
  uint8_t y[2 * NV];
  float s[2 * NV], w[2 * NV];
  for (size_t i = 0; i < NV; ++i) {
    y[2 * i] = 0, s[2 * i] = vals[i], w[2 * i] = (float)(i % 3);
    y[2 * i + 1] = 1, s[2 * i + 1] = vals[i], w[2 * i + 1] = 2.5f;
  }
  const double pws[] = {0.25, 1.0, 3.0};
  for (size_t k = 0; k < 3; ++k) {
    check_weighted(y, s, w, 2 * NV, CLM_SCORES_PROBS, 0.5, pws[k], NULL, 0);
    check_weighted(y, s, NULL, 2 * NV, CLM_SCORES_PROBS, 0.5, pws[k], NULL, 0);
  }
}

/* P = 1 without weights is the plain update, bit for bit; weights all 1
 * give the same sums bit for bit too (w * x = x, same summation order). */
Test(binary_weighted, plain_bce_bit_identical, .init = setup,
     .fini = teardown) {
  const uint64_t n = 300007;
  for (int kind = 0; kind <= 1; ++kind) {
    uint8_t *y;
    float *s;
    random_data(n, 77 + kind, kind, &y, &s);
    float *g1 = malloc(n * sizeof(float)), *g2 = malloc(n * sizeof(float)),
          *g3 = malloc(n * sizeof(float)), *ones = malloc(n * sizeof(float));
    cr_assert(g1 && g2 && g3 && ones);
    for (uint64_t i = 0; i < n; ++i)
      ones[i] = 1.0f;
    clm_binary_state a, b, c;
    clm_error err;
    cr_assert_eq(clm_binary_state_init(&a, kind, 0.5, 0), CLM_OK);
    cr_assert(a.pos_weight == 1.0 && a.weighted == 0);
    cr_assert_eq(clm_binary_update_at(ctx, &a, 0, y, s, n, NULL, g1, &err),
                 CLM_OK);
    init_state(&b, kind, 0.5, 0, 1.0, 0);
    cr_assert_eq(
        clm_binary_update_weighted(ctx, &b, 0, y, s, NULL, n, NULL, g2, &err),
        CLM_OK);
    init_state(&c, kind, 0.5, 0, 1.0, 1);
    cr_assert_eq(
        clm_binary_update_weighted(ctx, &c, 0, y, s, ones, n, NULL, g3, &err),
        CLM_OK);
    cr_assert(memcmp(&a.bce_sum, &b.bce_sum, sizeof(double)) == 0);
    cr_assert(memcmp(&a.grad_sum, &b.grad_sum, sizeof(double)) == 0);
    cr_assert(memcmp(g1, g2, n * sizeof(float)) == 0);
    cr_assert(memcmp(&a.bce_sum, &c.bce_sum, sizeof(double)) == 0);
    cr_assert(memcmp(&a.grad_sum, &c.grad_sum, sizeof(double)) == 0);
    cr_assert(memcmp(g1, g3, n * sizeof(float)) == 0);
    cr_assert(a.tp == b.tp && a.fp == b.fp && a.tn == b.tn && a.fn == b.fn);
    cr_assert(a.tp == c.tp && a.fp == c.fp && a.tn == c.tn && a.fn == c.fn);
    /* Unit weights: cells are the counts exactly (integers < 2^24 per
     * partial). */
    cr_assert(c.w_tp == (double)a.tp && c.w_fp == (double)a.fp &&
              c.w_tn == (double)a.tn && c.w_fn == (double)a.fn &&
              c.w_sum == (double)n);
    clm_binary_result ra, rb, rc;
    cr_assert_eq(clm_binary_finalize(&a, 0, &ra, NULL), CLM_OK);
    cr_assert_eq(clm_binary_finalize(&b, 0, &rb, NULL), CLM_OK);
    cr_assert_eq(clm_binary_finalize(&c, 0, &rc, NULL), CLM_OK);
    cr_assert(ra.weighted == 0 && ra.pos_weight == 1.0 &&
              ra.weight_sum == (double)n && ra.w_tp == (double)ra.tp &&
              ra.w_fn == (double)ra.fn);
    cr_assert(ra.bce_mean == a.bce_sum / (double)n);
    const double m[][3] = {
        {ra.accuracy, rb.accuracy, rc.accuracy},
        {ra.precision, rb.precision, rc.precision},
        {ra.recall, rb.recall, rc.recall},
        {ra.f1, rb.f1, rc.f1},
        {ra.specificity, rb.specificity, rc.specificity},
        {ra.balanced_accuracy, rb.balanced_accuracy, rc.balanced_accuracy},
        {ra.bce_mean, rb.bce_mean, rc.bce_mean},
        {ra.grad_bias, rb.grad_bias, rc.grad_bias}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; ++i) {
      cr_assert(m[i][0] == m[i][1], "metric %zu", i);
      cr_assert(fabs(m[i][0] - m[i][2]) <= 1e-15 * fabs(m[i][0]),
                "metric %zu: %.17g vs %.17g", i, m[i][0], m[i][2]);
    }
    cr_assert(fabs(ra.mcc - rc.mcc) <= 1e-14);
    clm_binary_state_release(&a);
    clm_binary_state_release(&b);
    clm_binary_state_release(&c);
    free(ones);
    free(g3);
    free(g2);
    free(g1);
    free(y);
    free(s);
  }
}

/* One huge weight: its sample dominates every sum and ratio. */
Test(binary_weighted, huge_weight, .init = setup, .fini = teardown) {
  const uint64_t n = 10007;
  uint8_t *y;
  float *s;
  random_data(n, 31, CLM_SCORES_LOGITS, &y, &s);
  float *w = random_weights(n, 32);
  const uint64_t big = 4321;
  w[big] = 1e30f;
  y[big] = 1;
  s[big] = 2.0f; /* a true positive */
  check_weighted(y, s, w, n, CLM_SCORES_LOGITS, 0.5, 3.0, NULL, 0);
  clm_binary_state st;
  init_state(&st, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 1);
  clm_error err;
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &st, 0, y, s, w, n, NULL, NULL, &err),
      CLM_OK);
  clm_binary_result r;
  cr_assert_eq(clm_binary_finalize(&st, 0, &r, NULL), CLM_OK);
  /* The other weights sum to < 3 n = 3e4: 1e-26 of the total. */
  cr_assert(fabs(r.accuracy - 1.0) < 1e-20, "%.17g", r.accuracy);
  cr_assert(fabs(r.recall - 1.0) < 1e-20);
  cr_assert(fabs(r.precision - 1.0) < 1e-20);
  /* bce_mean ~ P * softplus(-2) * 1e30 / 1e30. */
  near(r.bce_mean, 3.0 * clm_ref_softplus(-2.0),
       1e-5 * 3.0 * clm_ref_softplus(-2.0), "bce_mean", n, 3.0);
  clm_binary_state_release(&st);
  free(w);
  free(y);
  free(s);
}

Test(binary_weighted, all_zero_weights_are_empty, .init = setup,
     .fini = teardown) {
  const uint64_t n = 1000;
  uint8_t *y;
  float *s;
  random_data(n, 8, CLM_SCORES_LOGITS, &y, &s);
  s[3] = INFINITY, y[3] = 0; /* an infinite loss with weight 0: dropped */
  float *w = calloc(n, sizeof(float));
  w[10] = -0.0f; /* -0 is a valid (zero) weight */
  clm_binary_state st;
  init_state(&st, CLM_SCORES_LOGITS, 0.5, 2, 3.0, 1);
  float *x = calloc(2 * n, sizeof(float));
  clm_error err;
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &st, 0, y, s, w, n, x, NULL, &err),
      CLM_OK, "%s", err.message);
  cr_assert_eq(st.n, n);
  cr_assert_eq(st.tp + st.fp + st.tn + st.fn, n);
  cr_assert(st.w_sum == 0 && st.bce_sum == 0 && st.grad_sum == 0);
  clm_binary_result r;
  double wg[2];
  cr_assert_eq(clm_binary_finalize(&st, 0, &r, wg), CLM_ERR_EMPTY);
  clm_binary_state_release(&st);
  free(x);
  free(w);
  free(y);
  free(s);
}

/* A bad weight: CLM_ERR_BAD_WEIGHT naming the first index and value, input
 * CLM_INPUT_WEIGHTS, state unchanged; zero-copy (page-aligned arrays) and
 * copy (misaligned weights) paths, faults in different chunks. */
static void bad_weight_case(const uint8_t *y, const float *s, float *w,
                            uint64_t n) {
  const float bad[] = {NAN, INFINITY, -INFINITY, -1.0f, -1e-45f};
  for (size_t k = 0; k < 5; ++k) {
    const uint64_t at = 50000 + 30011 * k;
    const float keep = w[at];
    w[at] = bad[k];
    w[n - 1] = NAN; /* a later bad weight must not win */
    clm_binary_state st;
    init_state(&st, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 1);
    clm_error err;
    cr_assert_eq(clm_binary_update_weighted(ctx, &st, 1000, y, s, w, n, NULL,
                                            NULL, &err),
                 CLM_ERR_BAD_WEIGHT, "value %g", (double)bad[k]);
    cr_assert_eq(err.index, (int64_t)(1000 + at));
    cr_assert_eq(err.input, CLM_INPUT_WEIGHTS);
    cr_assert(isnan(bad[k]) ? isnan(err.value) : err.value == bad[k]);
    char idx[32];
    snprintf(idx, sizeof idx, "%llu", (unsigned long long)(1000 + at));
    cr_assert(strstr(err.message, idx), "%s", err.message);
    cr_assert(st.n == 0 && st.w_sum == 0 && st.bce_sum == 0,
              "state must be unchanged after an error");
    clm_binary_state_release(&st);
    w[at] = keep;
    w[n - 1] = 1.0f;
  }
}

Test(binary_weighted, bad_weights_name_first_index) {
  open_ctx(8, 50000); /* the faults sit in different chunks */
  const uint64_t n = 200003;
  uint8_t *y0;
  float *s0;
  random_data(n, 4, CLM_SCORES_LOGITS, &y0, &s0);
  uint8_t *y = aligned_alloc(4096, 204800);
  float *s = aligned_alloc(4096, 819200);
  float *wbuf = aligned_alloc(4096, 819200 + 4096);
  cr_assert(y && s && wbuf);
  memcpy(y, y0, n);
  memcpy(s, s0, n * sizeof(float));
  for (int misaligned = 0; misaligned <= 1; ++misaligned) {
    float *w = wbuf + misaligned;
    for (uint64_t i = 0; i < n; ++i)
      w[i] = (float)(i % 5);
    bad_weight_case(y, s, w, n);
  }
  float *w = wbuf;
  /* A bad label or score at a lower index wins; at the same index too. */
  w[70000] = NAN;
  y[60000] = 3;
  clm_binary_state st;
  init_state(&st, CLM_SCORES_LOGITS, 0.5, 0, 1.0, 1);
  clm_error err;
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &st, 0, y, s, w, n, NULL, NULL, &err),
      CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 60000);
  cr_assert_eq(err.input, CLM_INPUT_LABELS);
  y[60000] = 0;
  s[70000] = NAN;
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &st, 0, y, s, w, n, NULL, NULL, &err),
      CLM_ERR_BAD_SCORE);
  cr_assert_eq(err.index, 70000);
  cr_assert_eq(err.input, CLM_INPUT_SCORES);
  s[70000] = 0.5f;
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &st, 0, y, s, w, n, NULL, NULL, &err),
      CLM_ERR_BAD_WEIGHT);
  cr_assert_eq(err.index, 70000);
  w[70000] = 1.0f;
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &st, 0, y, s, w, n, NULL, NULL, &err),
      CLM_OK, "%s", err.message);
  cr_assert_eq(st.n, n);
  /* Weights iff the state is weighted. */
  cr_assert_eq(clm_binary_update_at(ctx, &st, 0, y, s, n, NULL, NULL, &err),
               CLM_ERR_INVALID_ARGUMENT);
  clm_binary_state plain;
  init_state(&plain, CLM_SCORES_LOGITS, 0.5, 0, 1.0, 0);
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &plain, 0, y, s, w, n, NULL, NULL, &err),
      CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(st.n, n);
  cr_assert_eq(plain.n, 0u);
  clm_binary_state_release(&plain);
  clm_binary_state_release(&st);
  free(wbuf);
  free(s);
  free(y);
  free(y0);
  free(s0);
  teardown();
}

Test(binary_weighted, options_and_merge_mismatch) {
  clm_binary_options o;
  clm_binary_options_init(&o);
  cr_assert(o.kind == CLM_SCORES_LOGITS && o.threshold == 0.5 &&
            o.n_features == 0 && o.pos_weight == 1.0 && o.weighted == 0);
  clm_binary_state a, b;
  const double bad_pw[] = {0.0, -1.0, NAN, INFINITY, 1e300, 1e-300};
  for (size_t i = 0; i < 6; ++i) {
    o.pos_weight = bad_pw[i];
    cr_assert_eq(clm_binary_state_init_ex(&a, &o), CLM_ERR_INVALID_ARGUMENT,
                 "pos_weight %g", bad_pw[i]);
  }
  o.pos_weight = 1.0;
  o.threshold = 1.5;
  cr_assert_eq(clm_binary_state_init_ex(&a, &o), CLM_ERR_INVALID_ARGUMENT);
  o.threshold = 0.5;
  init_state(&a, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 1);
  init_state(&b, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 0);
  cr_assert_eq(clm_binary_merge(&a, &b), CLM_ERR_STATE_MISMATCH);
  clm_binary_state_release(&b);
  init_state(&b, CLM_SCORES_LOGITS, 0.5, 0, 2.0, 1);
  cr_assert_eq(clm_binary_merge(&a, &b), CLM_ERR_STATE_MISMATCH);
  clm_binary_state_release(&b);
  init_state(&b, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 1);
  cr_assert_eq(clm_binary_merge(&a, &b), CLM_OK);
  clm_binary_state_release(&b);
  clm_binary_state_release(&a);
}

Test(binary_weighted, merge_of_halves_equals_one_run, .init = setup,
     .fini = teardown) {
  const uint64_t n = 100003, cut = 41117;
  uint8_t *y;
  float *s;
  random_data(n, 12, CLM_SCORES_LOGITS, &y, &s);
  float *w = random_weights(n, 13);
  clm_ref_binary_weighted r;
  clm_ref_binary_weighted_eval(y, s, w, n, 0, 0.5, 3.0, NULL, NULL, &r);
  clm_binary_state whole, a, b;
  clm_error err;
  init_state(&whole, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 1);
  init_state(&a, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 1);
  init_state(&b, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 1);
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &whole, 0, y, s, w, n, NULL, NULL, &err),
      CLM_OK);
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &a, 0, y, s, w, cut, NULL, NULL, &err),
      CLM_OK);
  cr_assert_eq(clm_binary_update_weighted(ctx, &b, cut, y + cut, s + cut,
                                          w + cut, n - cut, NULL, NULL, &err),
               CLM_OK);
  cr_assert_eq(clm_binary_merge(&a, &b), CLM_OK);
  cr_assert(a.n == whole.n && a.tp == whole.tp && a.fp == whole.fp &&
            a.tn == whole.tn && a.fn == whole.fn);
  /* Both within the bound of the reference: twice the bound apart. */
  const double D = bound_depth();
  const double cw[4][2] = {{a.w_tp, whole.w_tp},
                           {a.w_fp, whole.w_fp},
                           {a.w_tn, whole.w_tn},
                           {a.w_fn, whole.w_fn}};
  const double cr[4] = {r.w_tp, r.w_fp, r.w_tn, r.w_fn};
  for (int k = 0; k < 4; ++k)
    near(cw[k][0], cw[k][1], 2 * (D * U * cr[k] + host_slack(n, cr[k], 0)),
         "merged cell", n, 3.0);
  near(a.w_sum, whole.w_sum, 2 * (D * U * r.w_sum + host_slack(n, r.w_sum, 0)),
       "merged w_sum", n, 3.0);
  near(a.bce_sum, whole.bce_sum,
       2 * ((D + 12) * U * r.loss_abs + host_slack(n, r.loss_abs, r.scale_sum)),
       "merged bce_sum", n, 3.0);
  near(a.grad_sum, whole.grad_sum,
       2 * ((D + 16) * U * r.scale_sum +
            host_slack(n, r.scale_sum, r.scale_sum)),
       "merged grad_sum", n, 3.0);
  clm_binary_state_release(&whole);
  clm_binary_state_release(&a);
  clm_binary_state_release(&b);
  free(w);
  free(y);
  free(s);
}

/* Counts exact and sums within the bound for any chunk and local size;
 * the bound's D follows the local size. */
Test(binary_weighted, independent_of_chunk_and_local_size) {
  const uint64_t n = 250007;
  uint8_t *y;
  float *s;
  random_data(n, 21, CLM_SCORES_LOGITS, &y, &s);
  float *w = random_weights(n, 22);
  const size_t ls[] = {1, 4, 16, 64, 256};
  const uint64_t chunks[] = {0, 1000, 4097, 65536, 0};
  for (size_t i = 0; i < 5; ++i) {
    open_ctx(ls[i], chunks[i]);
    check_weighted(y, s, w, n, CLM_SCORES_LOGITS, 0.5, 3.0, NULL, 0);
    if (i == 1) {
      uint8_t *yp;
      float *p;
      random_data(123457, 23, CLM_SCORES_PROBS, &yp, &p);
      check_weighted(yp, p, w, 123457, CLM_SCORES_PROBS, 0.5, 0.25, NULL, 0);
      free(yp);
      free(p);
    }
    teardown();
  }
  free(w);
  free(y);
  free(s);
}

Test(binary_weighted, weight_gradient_vs_reference) {
  const struct {
    uint64_t n, d;
    size_t ls;
    uint64_t chunk;
  } c[] = {{1, 1, 0, 0},      {255, 3, 1, 0},      {257, 7, 64, 0},
           {10001, 16, 8, 0}, {20000, 5, 8, 3001}, {5000, 129, 256, 0}};
  for (size_t k = 0; k < sizeof c / sizeof c[0]; ++k) {
    open_ctx(c[k].ls, c[k].chunk);
    const uint64_t n = c[k].n, d = c[k].d;
    uint8_t *y;
    float *s;
    random_data(n, n * 31 + d, CLM_SCORES_LOGITS, &y, &s);
    float *x = malloc(n * d * sizeof(float));
    cr_assert_not_null(x);
    for (uint64_t i = 0; i < n * d; ++i)
      x[i] = (float)(clm_rng_uniform(&rng) * 4.0 - 2.0);
    float *w = random_weights(n, n + d);
    if (n == 1)
      w[0] = 2.0f; /* not all zero */
    check_weighted(y, s, w, n, CLM_SCORES_LOGITS, 0.5, 3.0, x, d);
    check_weighted(y, s, NULL, n, CLM_SCORES_LOGITS, 0.5, 0.25, x, d);
    free(w);
    free(x);
    free(y);
    free(s);
    teardown();
  }
}

/* Four samples worked by hand: P = 3, weights 2, 0.5, 1, 5.
 *   i  y  z     pred  cell  w    loss term             gradient term
 *   0  1  0     no    FN    2    2 * 3 ln 2            2 * 3 (1/2 - 1) = -3
 *   1  1  +inf  yes   TP    0.5  0                     0
 *   2  0  1000  yes   FP    1    1000                  1
 *   3  0  0     no    TN    5    5 ln 2                5 / 2
 * w_sum 8.5; bce_sum 1000 + 11 ln 2; grad_sum 1/2. */
Test(binary_weighted, known_answer_four_samples, .init = setup,
     .fini = teardown) {
  const uint8_t y[4] = {1, 1, 0, 0};
  const float z[4] = {0.0f, INFINITY, 1000.0f, 0.0f};
  const float w[4] = {2.0f, 0.5f, 1.0f, 5.0f};
  float g[4];
  clm_binary_state st;
  init_state(&st, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 1);
  clm_error err;
  cr_assert_eq(
      clm_binary_update_weighted(ctx, &st, 0, y, z, w, 4, NULL, g, &err),
      CLM_OK, "%s", err.message);
  cr_assert(g[0] == -3.0f && g[1] == 0.0f && g[2] == 1.0f && g[3] == 2.5f,
            "%g %g %g %g", g[0], g[1], g[2], g[3]);
  cr_assert(st.tp == 1 && st.fn == 1 && st.fp == 1 && st.tn == 1);
  cr_assert(st.w_tp == 0.5 && st.w_fn == 2.0 && st.w_fp == 1.0 &&
            st.w_tn == 5.0 && st.w_sum == 8.5);
  cr_assert(st.grad_sum == 0.5);
  const double bce = 1000.0 + 11.0 * log(2.0);
  const double D = bound_depth();
  near(st.bce_sum, bce, (D + 12) * U * bce, "bce_sum", 4, 3.0);
  clm_binary_result r;
  cr_assert_eq(clm_binary_finalize(&st, CLM_ZERO_DIVISION_NAN, &r, NULL),
               CLM_OK);
  cr_assert(r.weighted == 1 && r.pos_weight == 3.0 && r.weight_sum == 8.5);
  cr_assert(r.n == 4 && r.tp == 1);
  const double want[][2] = {
      {r.accuracy, 5.5 / 8.5},
      {r.precision, 0.5 / 1.5},
      {r.recall, 0.5 / 2.5},
      {r.f1, 1.0 / 4.0}, /* 2 tp / (2 tp + fp + fn) */
      {r.specificity, 5.0 / 6.0},
      {r.balanced_accuracy, (0.2 + 5.0 / 6.0) / 2},
      {r.mcc, (0.5 * 5 - 1.0 * 2) / sqrt(1.5 * 2.5 * 6 * 7)},
      {r.grad_bias, 0.5 / 8.5},
      {r.bce_mean, st.bce_sum / 8.5}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; ++i)
    cr_assert(fabs(want[i][0] - want[i][1]) <= 4e-16 * fabs(want[i][1]),
              "metric %zu: %.17g, want %.17g", i, want[i][0], want[i][1]);
  cr_assert_eq(r.undefined, 0u);
  clm_binary_state_release(&st);

  /* Unweighted with P = 3: bce_mean over N (PyTorch's mean). */
  init_state(&st, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 0);
  cr_assert_eq(clm_binary_update(ctx, &st, y, z, 4, NULL, g, &err), CLM_OK);
  cr_assert(g[0] == -1.5f && g[1] == 0.0f && g[2] == 1.0f && g[3] == 0.5f);
  cr_assert(st.grad_sum == 0.0);
  const double bce1 = 1000.0 + 4.0 * log(2.0);
  near(st.bce_sum, bce1, (D + 12) * U * bce1, "bce_sum P=3", 4, 3.0);
  cr_assert_eq(clm_binary_finalize(&st, 0, &r, NULL), CLM_OK);
  cr_assert(r.bce_mean == st.bce_sum / 4 && r.weight_sum == 4.0 &&
            r.w_tp == 1.0 && r.pos_weight == 3.0 && r.weighted == 0);
  clm_binary_state_release(&st);
}

/* PyTorch's documented example: 100 positives and 300 negatives, pos_weight
 * 300 / 100 = 3, "the loss would act as if the dataset contains
 * 3 x 100 = 300 positive examples". At z = 0: bce_sum = 300 ln 2 +
 * 300 ln 2, the same as 300 positives and 300 negatives unweighted, or
 * weights 3 on the positives; the gradient is balanced, exactly 0. */
Test(binary_weighted, pytorch_pos_weight_example, .init = setup,
     .fini = teardown) {
  enum { NP = 100, NN = 300 };
  uint8_t y[3 * NP + NN];
  float z[3 * NP + NN], w[NP + NN];
  for (int i = 0; i < 3 * NP + NN; ++i) {
    y[i] = i < NN ? 0 : 1; /* negatives first, then positives */
    z[i] = 0.0f;
  }
  for (int i = 0; i < NP + NN; ++i)
    w[i] = y[i] ? 3.0f : 1.0f;
  const double want = 600.0 * log(2.0);
  const double D = bound_depth();
  clm_error err;
  clm_binary_state pw, dup, wt;
  init_state(&pw, CLM_SCORES_LOGITS, 0.5, 0, 3.0, 0);
  cr_assert_eq(clm_binary_update(ctx, &pw, y, z, NP + NN, NULL, NULL, &err),
               CLM_OK);
  init_state(&dup, CLM_SCORES_LOGITS, 0.5, 0, 1.0, 0);
  cr_assert_eq(
      clm_binary_update(ctx, &dup, y, z, 3 * NP + NN, NULL, NULL, &err),
      CLM_OK);
  init_state(&wt, CLM_SCORES_LOGITS, 0.5, 0, 1.0, 1);
  cr_assert_eq(clm_binary_update_weighted(ctx, &wt, 0, y, z, w, NP + NN, NULL,
                                          NULL, &err),
               CLM_OK);
  near(pw.bce_sum, want, (D + 12) * U * want, "P=3", 400, 3.0);
  near(dup.bce_sum, want, (D + 12) * U * want, "duplicated", 600, 1.0);
  near(wt.bce_sum, want, (D + 12) * U * want, "weights 3", 400, 1.0);
  /* Every term is exactly +-1/2 or -3/2: sums exact. */
  cr_assert(pw.grad_sum == 0.0 && dup.grad_sum == 0.0 && wt.grad_sum == 0.0,
            "%g %g %g", pw.grad_sum, dup.grad_sum, wt.grad_sum);
  clm_binary_result r;
  cr_assert_eq(clm_binary_finalize(&pw, 0, &r, NULL), CLM_OK);
  cr_assert(r.bce_mean == pw.bce_sum / 400.0);
  near(r.bce_mean, 1.5 * log(2.0), (D + 12) * U * 1.5 * log(2.0), "mean", 400,
       3.0);
  cr_assert_eq(clm_binary_finalize(&wt, 0, &r, NULL), CLM_OK);
  cr_assert(r.weight_sum == 600.0 && r.w_fn == 300.0 && r.w_tn == 300.0);
  near(r.bce_mean, log(2.0), (D + 12) * U * log(2.0), "weighted mean", 400,
       1.0);
  clm_binary_state_release(&pw);
  clm_binary_state_release(&dup);
  clm_binary_state_release(&wt);
}

/* Weighted metrics as scikit-learn computes them from a sample-weighted
 * confusion matrix, checked on states set by hand (pure C). */
Test(binary_weighted, finalize_weighted_cells) {
  clm_binary_state st;
  init_state(&st, CLM_SCORES_LOGITS, 0.5, 0, 1.0, 1);
  st.n = 10, st.tp = 3, st.fp = 2, st.tn = 4, st.fn = 1;
  st.w_tp = 1.25, st.w_fp = 0.0, st.w_tn = 0.0, st.w_fn = 0.0;
  st.w_sum = 1.25;
  clm_binary_result r;
  cr_assert_eq(clm_binary_finalize(&st, CLM_ZERO_DIVISION_NAN, &r, NULL),
               CLM_OK);
  /* No negative weight: specificity 0/0, the negative class dropped from
   * balanced accuracy, MCC undefined. */
  cr_assert(r.accuracy == 1.0 && r.precision == 1.0 && r.recall == 1.0 &&
            r.f1 == 1.0 && r.balanced_accuracy == 1.0);
  cr_assert(isnan(r.specificity) && isnan(r.mcc));
  cr_assert_eq(r.undefined, CLM_UNDEF_SPECIFICITY | CLM_UNDEF_MCC);
  st.w_tp = 0, st.w_fn = 0, st.w_tn = 2, st.w_fp = 6, st.w_sum = 8;
  cr_assert_eq(clm_binary_finalize(&st, CLM_ZERO_DIVISION_ZERO, &r, NULL),
               CLM_OK);
  cr_assert(r.balanced_accuracy == 0.25 && r.accuracy == 0.25 &&
            r.precision == 0.0 && r.f1 == 0.0);
  cr_assert_eq(r.undefined, CLM_UNDEF_RECALL | CLM_UNDEF_MCC);
  st.w_sum = 0, st.w_tn = 0, st.w_fp = 0;
  cr_assert_eq(clm_binary_finalize(&st, 0, &r, NULL), CLM_ERR_EMPTY);
  clm_binary_state_release(&st);
}
