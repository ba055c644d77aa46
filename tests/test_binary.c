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
                         "calibration.cl"};
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
