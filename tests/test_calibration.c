/* Calibration (reliability bins, ECE/RMSCE/MCE, Brier) against the
 * double-precision reference (src/reference/ref_calibration.c).
 *
 * Error bounds, in units of u = 2^-24 (float32 unit roundoff):
 * - Probabilities as input: p is exact. A bin's sum of w * p carries the
 *   product's rounding (u) and the compensated sum's (2u) per slice, and
 *   the host adds slices in double: |error| <= 3u * (sum of |terms|).
 *   Counts are exact.
 * - Binary logits: sigma(z) as 1/(1+e) or e/(1+e), e = exp(-|z|) within 1
 *   ulp (2u), 1+e 2u, the division 2.5 ulp (5u) as OpenCL allows, the last
 *   product u: p within 10u relative, w * p 11u, Kahan 2u: 13u of the sum of
 *   |terms| for confidence sums; the Brier term squares a 10u value and
 *   carries w and the sum: 24u.
 * - Multi-class logits: e_c = exp(z_c - m) with z_c - m rounded (relative
 *   |z_c - m| u, and x e^-x <= 1/e) and exp's 2u: absolute 2.4u per e_c <= 1;
 *   the denominator s >= 1 sums K of them ((K - 1)u), so p_c = e_c / s is
 *   within E_K = (3.4 K + 8)u absolute. Bins sums of w * p: E_K * weight +
 *   3u * sum; Brier rows sum_c (p_c - d_c)^2 with sum_c |p_c - d_c| <= 2:
 *   4 E_K per unit weight plus (K + 3)u relative.
 * - A float32 p may fall on the other side of an edge than the double p
 *   only when the double p lies within the p error of the edge: the
 *   reference counts those samples (`near`); the tests allow exactly that
 *   many moves (and their weight in the sums), and no moves for
 *   probabilities.
 * Unweighted counts, weights (= counts) and unweighted hit sums are exact
 * integers. */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmetrics.h"
#include "ref_calibration.h"
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

/* ---- tolerances and comparison ---- */

struct tol {
  double abs_per_weight; /* absolute error of one p, per unit of weight */
  double rel;            /* relative to the sum of |terms| */
  double brier_abs;      /* per unit weight */
  double brier_rel;
  double near; /* how close to an edge a p may be binned either way */
};

static struct tol tol_for(uint32_t k, int probs) {
  struct tol t = {0};
  if (k == 1) {
    t.rel = probs ? 3 * U : 13 * U;
    t.brier_rel = probs ? 5 * U : 24 * U;
    t.near = probs ? 0.0 : 12 * U;
  } else {
    const double ek = (3.4 * k + 8) * U;
    t.abs_per_weight = probs ? 0.0 : ek;
    t.rel = 3 * U;
    t.brier_abs = probs ? 0.0 : 4 * ek;
    t.brier_rel = (k + 3) * U;
    t.near = probs ? 0.0 : ek;
  }
  return t;
}

static void check_table(const char *what, uint32_t nb, const uint64_t *count,
                        const double *weight, const double *conf,
                        const double *hits, const uint64_t *rcount,
                        const double *rweight, const double *rconf,
                        const double *rhits, int weighted, uint64_t near,
                        double near_weight, const struct tol *t) {
  uint64_t moved = 0;
  for (uint32_t b = 0; b < nb; ++b) {
    moved += count[b] > rcount[b] ? count[b] - rcount[b] : rcount[b] - count[b];
    if (!weighted) {
      cr_assert_eq(weight[b], (double)count[b], "%s bin %u: weight != count",
                   what, b);
    }
    if (near == 0) {
      cr_assert_eq(count[b], rcount[b], "%s bin %u: count %llu, expected %llu",
                   what, b, (unsigned long long)count[b],
                   (unsigned long long)rcount[b]);
      if (!weighted)
        cr_assert_eq(hits[b], rhits[b], "%s bin %u: hits %.17g, expected %.17g",
                     what, b, hits[b], rhits[b]);
    }
    const double wt = t->rel * rweight[b] + near_weight;
    cr_assert_leq(fabs(weight[b] - rweight[b]), wt,
                  "%s bin %u: weight %.17g, expected %.17g", what, b, weight[b],
                  rweight[b]);
    const double ct =
        t->abs_per_weight * rweight[b] + t->rel * rconf[b] + near_weight;
    cr_assert_leq(fabs(conf[b] - rconf[b]), ct,
                  "%s bin %u: confidence sum %.17g, expected %.17g (tol %.3g)",
                  what, b, conf[b], rconf[b], ct);
    const double ht = t->rel * rhits[b] + near_weight;
    cr_assert_leq(fabs(hits[b] - rhits[b]), ht,
                  "%s bin %u: hit sum %.17g, expected %.17g", what, b, hits[b],
                  rhits[b]);
  }
  cr_assert_leq(moved, 2 * near, "%s: %llu bin moves, %llu samples near edges",
                what, (unsigned long long)moved, (unsigned long long)near);
}

/* The state against the reference; the finalized errors too when no
 * sample lies near an edge. */
static void check_state(const clm_calibration_state *s,
                        const clm_ref_calibration *r, int probs) {
  const struct tol t = tol_for(s->n_classes, probs);
  cr_assert_eq(s->n, r->n, "n %llu, expected %llu", (unsigned long long)s->n,
               (unsigned long long)r->n);
  cr_assert_eq(s->n_ignored, r->n_ignored);
  if (!s->weighted)
    cr_assert_eq(s->weight_sum, (double)s->n);
  cr_assert_leq(fabs(s->weight_sum - r->weight_sum), 3 * U * r->weight_sum,
                "weight sum %.17g, expected %.17g", s->weight_sum,
                r->weight_sum);
  const double bt = t.brier_abs * r->weight_sum + t.brier_rel * r->brier_sum;
  cr_assert_leq(fabs(s->brier_sum - r->brier_sum), bt,
                "Brier sum %.17g, expected %.17g (tol %.3g)", s->brier_sum,
                r->brier_sum, bt);
  check_table("top", s->n_bins, s->count, s->weight, s->confidence, s->hits,
              r->count, r->weight, r->conf, r->hits, s->weighted, r->near,
              r->near_weight, &t);
  if (s->classwise) {
    cr_assert(r->classwise);
    for (uint32_t c = 0; c < s->n_classes; ++c) {
      const size_t o = (size_t)c * s->n_bins;
      char what[32];
      snprintf(what, sizeof what, "class %u", c);
      check_table(what, s->n_bins, s->cw_count + o, s->cw_weight + o,
                  s->cw_confidence + o, s->cw_hits + o, r->cw_count + o,
                  r->cw_weight + o, r->cw_conf + o, r->cw_hits + o, s->weighted,
                  r->cw_near, r->cw_near_weight, &t);
    }
  }
  clm_calibration_result res;
  clm_status st = clm_calibration_finalize(s, &res);
  if (r->n == 0 || !(r->weight_sum > 0)) {
    cr_assert_eq(st, CLM_ERR_EMPTY);
    return;
  }
  cr_assert_eq(st, CLM_OK);
  /* A gap moves by the errors of a bin's mean confidence and frequency. */
  const double gt = t.abs_per_weight + 8 * t.rel;
  cr_assert_leq(fabs(res.brier - r->brier),
                bt / r->weight_sum + 4 * U * r->brier);
  /* A row binned elsewhere (weight w) changes |hits - confidence| of two
   * bins by at most w each: ECE moves by 2 w / total. */
  const double ece_tol = gt + 2 * r->near_weight / r->weight_sum;
  cr_assert_leq(fabs(res.ece - r->ece), ece_tol, "ece %.17g, expected %.17g",
                res.ece, r->ece);
  if (r->near == 0) {
    cr_assert_leq(fabs(res.rmsce - r->rmsce), gt, "rmsce %.17g, expected %.17g",
                  res.rmsce, r->rmsce);
    cr_assert_leq(fabs(res.mce - r->mce), gt, "mce %.17g, expected %.17g",
                  res.mce, r->mce);
  }
  if (s->classwise)
    cr_assert_leq(fabs(res.classwise_ece - r->classwise_ece),
                  gt + 2 * r->cw_near_weight / r->weight_sum,
                  "classwise ece %.17g, expected %.17g", res.classwise_ece,
                  r->classwise_ece);
  if (!s->classwise)
    cr_assert(isnan(res.classwise_ece));
  clm_calibration_result_release(&res);
}

/* ---- data ---- */

static float *random_scores(clm_rng *g, uint64_t n, int probs, double spread) {
  float *s = malloc((n ? n : 1) * sizeof(float));
  cr_assert_not_null(s);
  for (uint64_t i = 0; i < n; ++i)
    s[i] = probs ? (float)clm_rng_uniform(g)
                 : (float)((clm_rng_uniform(g) - 0.5) * spread);
  return s;
}

static uint8_t *random_labels(clm_rng *g, uint64_t n) {
  uint8_t *y = malloc(n ? n : 1);
  cr_assert_not_null(y);
  for (uint64_t i = 0; i < n; ++i)
    y[i] = clm_rng_uniform(g) < 0.4;
  return y;
}

static float *random_weights(clm_rng *g, uint64_t n) {
  float *w = malloc((n ? n : 1) * sizeof(float));
  cr_assert_not_null(w);
  for (uint64_t i = 0; i < n; ++i)
    w[i] = (float)(clm_rng_uniform(g) * 3);
  return w;
}

static void init_state(clm_calibration_state *s, uint32_t k, uint32_t nb,
                       const double *edges, int classwise, int weighted) {
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = k;
  o.n_bins = nb;
  o.edges = edges;
  o.classwise = classwise;
  o.weighted = weighted;
  cr_assert_eq(clm_calibration_state_init(s, &o), CLM_OK);
}

/* One binary update against the reference. */
static void binary_case(const uint8_t *y, const float *s, const float *w,
                        uint64_t n, int probs, uint32_t nb,
                        const double *edges) {
  clm_calibration_state st;
  init_state(&st, 1, nb, edges, 0, w != NULL);
  clm_error err;
  clm_status rc = clm_calibration_update_binary(
      ctx, &st, 0, y, s, w, n, probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS,
      &err);
  cr_assert_eq(rc, CLM_OK, "n=%llu: %s", (unsigned long long)n, err.message);
  clm_ref_calibration ref;
  cr_assert_eq(clm_ref_calibration_binary(y, s, w, n, probs, st.edges, nb,
                                          tol_for(1, probs).near, &ref),
               0);
  check_state(&st, &ref, probs);
  clm_ref_calibration_free(&ref);
  clm_calibration_state_release(&st);
}

static float *mc_scores(clm_rng *g, uint64_t n, uint32_t k, int probs,
                        double spread);
static int32_t *mc_labels(clm_rng *g, uint64_t n, uint32_t k);
static void mc_case(const int32_t *y, const float *s, const float *w,
                    uint64_t n, uint32_t k, int probs, int classwise,
                    int has_ignore, int32_t ignore, uint32_t nb);

/* ---- options, init, known answers ---- */

Test(calibration, options_and_init) {
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  cr_assert_eq(o.n_classes, 1u);
  cr_assert_eq(o.n_bins, 15u);
  cr_assert_eq(o.classwise, 1);
  cr_assert_eq(o.weighted, 0);
  cr_assert_null(o.edges);
  clm_calibration_state s;
  cr_assert_eq(clm_calibration_state_init(&s, &o), CLM_OK);
  cr_assert_eq(s.n_bins, 15u);
  cr_assert_eq(s.edges[0], 0.0);
  cr_assert_eq(s.edges[15], 1.0);
  cr_assert_eq(s.edges[3], 3.0 / 15);
  cr_assert_eq(s.classwise, 0, "binary states keep no class-wise bins");
  clm_calibration_state_release(&s);
  clm_calibration_state_release(&s);
  clm_calibration_state_release(NULL);
  o.n_bins = 0;
  cr_assert_eq(clm_calibration_state_init(&s, &o), CLM_ERR_INVALID_ARGUMENT);
  o.n_bins = 3;
  o.n_classes = 0;
  cr_assert_eq(clm_calibration_state_init(&s, &o), CLM_ERR_INVALID_ARGUMENT);
  o.n_classes = 1;
  const double bad[][4] = {{0, 0.5, 0.5, 1},
                           {0.1, 0.2, 0.5, 1},
                           {0, 0.2, 0.5, 0.9},
                           {0, 0.6, 0.5, 1},
                           {0, NAN, 0.5, 1}};
  for (int i = 0; i < 5; ++i) {
    o.edges = bad[i];
    cr_assert_eq(clm_calibration_state_init(&s, &o), CLM_ERR_INVALID_ARGUMENT,
                 "edges %d", i);
  }
  const double good[] = {0, 0.25, 0.3, 1};
  o.edges = good;
  cr_assert_eq(clm_calibration_state_init(&s, &o), CLM_OK);
  cr_assert_eq(s.edges[2], 0.3);
  clm_calibration_state_release(&s);
  clm_calibration_result r = {0};
  clm_calibration_result_release(&r);
  clm_calibration_result_release(NULL);
}

/* Hand-computed: p = 0.2, 0.4, 0.7, 0.9, y = 0, 1, 0, 1, two bins.
 * Bin [0, 0.5]: confidence 0.3, frequency 0.5, gap 0.2; bin (0.5, 1]:
 * 0.8, 0.5, -0.3. ECE 0.25, RMSCE sqrt(0.065), MCE 0.3, Brier
 * (0.04 + 0.36 + 0.49 + 0.01) / 4 = 0.225. Weights 1, 3, 1, 1: bin 0
 * weight 4, confidence 1.4/4 = 0.35, frequency 0.75, gap 0.4; bin 1 gap
 * -0.3; ECE 4/6 0.4 + 2/6 0.3 = 0.3666..., Brier 1.62 / 6 = 0.27. The
 * float inputs are within 2^-25 relative of the decimals. */
Test(calibration, known_answers_binary, .init = setup, .fini = teardown) {
  const uint8_t y[] = {0, 1, 0, 1};
  const float p[] = {0.2f, 0.4f, 0.7f, 0.9f};
  const float w[] = {1, 3, 1, 1};
  const double tol = 1e-7;
  for (int weighted = 0; weighted < 2; ++weighted) {
    clm_calibration_state s;
    init_state(&s, 1, 2, NULL, 0, weighted);
    clm_error err;
    cr_assert_eq(clm_calibration_update_binary(ctx, &s, 0, y, p,
                                               weighted ? w : NULL, 4,
                                               CLM_SCORES_PROBS, &err),
                 CLM_OK, "%s", err.message);
    clm_calibration_result r;
    cr_assert_eq(clm_calibration_finalize(&s, &r), CLM_OK);
    cr_assert_eq(r.n, 4u);
    cr_assert_eq(r.bins[0].count, 2u);
    cr_assert_eq(r.bins[1].count, 2u);
    cr_assert_eq(r.bins[0].lo, 0.0);
    cr_assert_eq(r.bins[0].hi, 0.5);
    if (!weighted) {
      cr_assert_float_eq(r.bins[0].confidence, 0.3, tol);
      cr_assert_float_eq(r.bins[0].frequency, 0.5, tol);
      cr_assert_float_eq(r.bins[0].gap, 0.2, tol);
      cr_assert_float_eq(r.bins[1].gap, -0.3, tol);
      cr_assert_float_eq(r.ece, 0.25, tol);
      cr_assert_float_eq(r.rmsce, sqrt(0.065), tol);
      cr_assert_float_eq(r.mce, 0.3, tol);
      cr_assert_float_eq(r.brier, 0.225, tol);
      cr_assert_eq(r.weight_sum, 4.0);
    } else {
      cr_assert_eq(r.bins[0].weight, 4.0);
      cr_assert_float_eq(r.bins[0].confidence, 0.35, tol);
      cr_assert_float_eq(r.bins[0].frequency, 0.75, tol);
      cr_assert_float_eq(r.ece, 4.0 / 6 * 0.4 + 2.0 / 6 * 0.3, tol);
      cr_assert_float_eq(r.mce, 0.4, tol);
      cr_assert_float_eq(r.brier, 0.27, tol);
      cr_assert_eq(r.weight_sum, 6.0);
    }
    cr_assert(isnan(r.classwise_ece));
    cr_assert_null(r.classwise_ece_per_class);
    clm_calibration_result_release(&r);
    clm_calibration_state_release(&s);
  }
}

/* Hand-computed, K = 3, two bins: rows [0.7 0.2 0.1] (y 0, a hit at 0.7)
 * and [0.3 0.5 0.2] (y 2, argmax 1, a miss at 0.5, which is in [0, 0.5]).
 * Top-label: gaps -0.5 and 0.3, ECE 0.4, MCE 0.5; Brier (0.14 + 0.98)/2 =
 * 0.56. Class-wise: class 0 (0.7 hit, 0.3 miss) ECE 0.3; class 1 (0.2,
 * 0.5, no hits) 0.35; class 2 (0.1 miss, 0.2 hit) |0.5 - 0.15| = 0.35;
 * mean 1/3. */
Test(calibration, known_answers_multiclass, .init = setup, .fini = teardown) {
  const int32_t y[] = {0, 2};
  const float p[] = {0.7f, 0.2f, 0.1f, 0.3f, 0.5f, 0.2f};
  const double tol = 1e-7;
  clm_calibration_state s;
  init_state(&s, 3, 2, NULL, 1, 0);
  clm_error err;
  cr_assert_eq(clm_calibration_update_multiclass(ctx, &s, 0, y, p, NULL, 2,
                                                 CLM_SCORES_PROBS, &err),
               CLM_OK, "%s", err.message);
  clm_calibration_result r;
  cr_assert_eq(clm_calibration_finalize(&s, &r), CLM_OK);
  cr_assert_eq(r.bins[0].count, 1u);
  cr_assert_float_eq(r.bins[0].gap, -0.5, tol);
  cr_assert_float_eq(r.bins[1].gap, 0.3, tol);
  cr_assert_float_eq(r.ece, 0.4, tol);
  cr_assert_float_eq(r.mce, 0.5, tol);
  cr_assert_float_eq(r.rmsce, sqrt(0.5 * 0.25 + 0.5 * 0.09), tol);
  cr_assert_float_eq(r.brier, 0.56, tol);
  cr_assert_float_eq(r.classwise_ece_per_class[0], 0.3, tol);
  cr_assert_float_eq(r.classwise_ece_per_class[1], 0.35, tol);
  cr_assert_float_eq(r.classwise_ece_per_class[2], 0.35, tol);
  cr_assert_float_eq(r.classwise_ece, 1.0 / 3, tol);
  clm_calibration_result_release(&r);
  clm_calibration_state_release(&s);
}

/* ---- binary vs reference ---- */

Test(calibration, binary_random_sizes, .init = setup, .fini = teardown) {
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  const uint64_t wg = sh.local_size * sh.items * sh.vector_width;
  const uint64_t sizes[] = {0,
                            1,
                            7,
                            sh.local_size - 1 ? sh.local_size - 1 : 2,
                            sh.local_size,
                            sh.local_size + 1,
                            wg - 1,
                            wg,
                            wg + 1,
                            100003};
  clm_rng g;
  clm_rng_seed(&g, 2024);
  for (size_t q = 0; q < sizeof sizes / sizeof *sizes; ++q)
    for (int probs = 0; probs < 2; ++probs)
      for (int weighted = 0; weighted < 2; ++weighted) {
        const uint64_t n = sizes[q];
        uint8_t *y = random_labels(&g, n);
        float *s = random_scores(&g, n, probs, 16);
        float *w = weighted ? random_weights(&g, n) : NULL;
        binary_case(y, s, w, n, probs, 15, NULL);
        free(y), free(s), free(w);
      }
}

Test(calibration, empty_input_is_an_error_at_finalize, .init = setup,
     .fini = teardown) {
  clm_calibration_state s;
  init_state(&s, 1, 10, NULL, 0, 0);
  clm_error err;
  cr_assert_eq(clm_calibration_update_binary(ctx, &s, 0, NULL, NULL, NULL, 0,
                                             CLM_SCORES_LOGITS, &err),
               CLM_OK);
  clm_calibration_result r;
  cr_assert_eq(clm_calibration_finalize(&s, &r), CLM_ERR_EMPTY);
  clm_calibration_state_release(&s);
  /* Weighted, every weight zero: no mass. */
  init_state(&s, 1, 10, NULL, 0, 1);
  const uint8_t y[] = {0, 1, 1};
  const float p[] = {0.1f, 0.5f, 0.9f}, w[] = {0, 0, 0};
  cr_assert_eq(clm_calibration_update_binary(ctx, &s, 0, y, p, w, 3,
                                             CLM_SCORES_PROBS, &err),
               CLM_OK, "%s", err.message);
  cr_assert_eq(s.n, 3u);
  cr_assert_eq(clm_calibration_finalize(&s, &r), CLM_ERR_EMPTY);
  clm_calibration_state_release(&s);
}

Test(calibration, binary_extremes, .init = setup, .fini = teardown) {
  const float logits[] = {INFINITY, -INFINITY, 100.0f, -100.0f, 0.0f,
                          -0.0f,    17.0f,     -17.0f, 88.0f,   -88.0f,
                          1e-30f,   1e30f,     -1e30f, FLT_MAX, -FLT_MAX};
  const float probs[] = {0.0f,   1.0f, 0.5f, FLT_MIN, 1.0f - FLT_EPSILON / 2,
                         1e-45f, 0.0f, 1.0f};
  const size_t nl = sizeof logits / sizeof *logits;
  const size_t np = sizeof probs / sizeof *probs;
  uint8_t y[32];
  for (int flip = 0; flip < 2; ++flip) {
    for (size_t i = 0; i < 32; ++i)
      y[i] = (uint8_t)((i + flip) & 1);
    binary_case(y, logits, NULL, nl, 0, 15, NULL);
    binary_case(y, probs, NULL, np, 1, 15, NULL);
  }
  /* p = 0 and 1 land in the first and last bins. */
  clm_calibration_state s;
  init_state(&s, 1, 4, NULL, 0, 0);
  const float pz[] = {0.0f, 1.0f, 0.0f};
  const uint8_t yz[] = {0, 1, 1};
  clm_error err;
  cr_assert_eq(clm_calibration_update_binary(ctx, &s, 0, yz, pz, NULL, 3,
                                             CLM_SCORES_PROBS, &err),
               CLM_OK);
  cr_assert_eq(s.count[0], 2u);
  cr_assert_eq(s.count[3], 1u);
  cr_assert_eq(s.hits[0], 1.0);
  cr_assert_eq(s.brier_sum, 1.0);
  clm_calibration_state_release(&s);
  /* sigma(+-inf) = 1, 0 exactly. */
  init_state(&s, 1, 4, NULL, 0, 0);
  const float zi[] = {INFINITY, -INFINITY};
  const uint8_t yi[] = {1, 0};
  cr_assert_eq(clm_calibration_update_binary(ctx, &s, 0, yi, zi, NULL, 2,
                                             CLM_SCORES_LOGITS, &err),
               CLM_OK);
  cr_assert_eq(s.count[0], 1u);
  cr_assert_eq(s.count[3], 1u);
  cr_assert_eq(s.confidence[3], 1.0);
  cr_assert_eq(s.confidence[0], 0.0);
  cr_assert_eq(s.brier_sum, 0.0);
  clm_calibration_state_release(&s);
}

/* Probabilities on the edges k/B (the nearest float, which may lie on
 * either side of the double edge) and their float neighbours: the device's
 * bins must be the double comparison's, exactly. */
Test(calibration, probabilities_on_edges, .init = setup, .fini = teardown) {
  /* Few bins (vector compares) and many (a binary search per lane). */
  const uint32_t bins[] = {5, 10, 15, 3, 7, 100, 151};
  for (size_t q = 0; q < sizeof bins / sizeof *bins; ++q) {
    const uint32_t nb = bins[q];
    float *p = malloc(3 * (nb + 1) * sizeof(float));
    uint8_t *y = malloc(3 * (nb + 1));
    size_t n = 0;
    for (uint32_t k = 0; k <= nb; ++k) {
      const float e = (float)((double)k / nb);
      p[n++] = e;
      if (e > 0.0f)
        p[n++] = nextafterf(e, 0.0f);
      if (e < 1.0f)
        p[n++] = nextafterf(e, 1.0f);
    }
    for (size_t i = 0; i < n; ++i)
      y[i] = i % 3 == 0;
    binary_case(y, p, NULL, n, 1, nb, NULL);
    /* The same values many times over, at every lane position. */
    float *pp = malloc(4099 * sizeof(float));
    uint8_t *yy = malloc(4099);
    for (size_t i = 0; i < 4099; ++i) {
      pp[i] = p[(i * 7) % n];
      yy[i] = (uint8_t)(i % 2);
    }
    binary_case(yy, pp, NULL, 4099, 1, nb, NULL);
    free(pp), free(yy), free(p), free(y);
  }
}

Test(calibration, empty_bins_and_custom_edges, .init = setup,
     .fini = teardown) {
  /* Every p in (0.6, 0.8]: the other bins are empty, NaN, not counted. */
  float p[1000];
  uint8_t y[1000];
  clm_rng g;
  clm_rng_seed(&g, 5);
  for (int i = 0; i < 1000; ++i) {
    p[i] = (float)(0.6 + 0.2 * clm_rng_uniform(&g)) + 1e-6f;
    y[i] = clm_rng_uniform(&g) < 0.5;
  }
  binary_case(y, p, NULL, 1000, 1, 5, NULL);
  clm_calibration_state s;
  init_state(&s, 1, 5, NULL, 0, 0);
  clm_error err;
  cr_assert_eq(clm_calibration_update_binary(ctx, &s, 0, y, p, NULL, 1000,
                                             CLM_SCORES_PROBS, &err),
               CLM_OK);
  clm_calibration_result r;
  cr_assert_eq(clm_calibration_finalize(&s, &r), CLM_OK);
  for (int b = 0; b < 5; ++b)
    if (b != 3) {
      cr_assert_eq(r.bins[b].count, 0u);
      cr_assert(isnan(r.bins[b].confidence) && isnan(r.bins[b].frequency) &&
                isnan(r.bins[b].gap));
    }
  cr_assert_eq(r.bins[3].count, 1000u);
  cr_assert_float_eq(r.ece, fabs(r.bins[3].gap), 1e-15);
  cr_assert_float_eq(r.mce, fabs(r.bins[3].gap), 1e-15);
  clm_calibration_result_release(&r);
  clm_calibration_state_release(&s);
  /* Custom edges, including ones no float equals, and values on them. */
  const double edges[] = {0, 0.1, 0.15, 1.0 / 3, 0.5, 0.9, 1};
  float q[64];
  uint8_t yq[64];
  size_t n = 0;
  for (int e = 0; e < 7; ++e) {
    const float f = (float)edges[e];
    q[n++] = f;
    if (f > 0)
      q[n++] = nextafterf(f, 0);
    if (f < 1)
      q[n++] = nextafterf(f, 1);
  }
  for (size_t i = 0; i < n; ++i)
    yq[i] = i & 1;
  binary_case(yq, q, NULL, n, 1, 6, edges);
  /* Many uneven edges (more than the kernels compare as vectors: a binary
   * search per lane), with random logits and probabilities over both. */
  double many[151];
  many[0] = 0;
  for (int e = 1; e <= 150; ++e)
    many[e] = many[e - 1] + 0.1 + clm_rng_uniform(&g);
  for (int e = 1; e < 150; ++e)
    many[e] /= many[150];
  many[150] = 1;
  for (int probs = 0; probs < 2; ++probs) {
    uint8_t *yy = random_labels(&g, 30011);
    float *ss = random_scores(&g, 30011, probs, 10);
    binary_case(yy, ss, NULL, 30011, probs, 6, edges);
    binary_case(yy, ss, NULL, 30011, probs, 150, many);
    free(yy), free(ss);
  }
  int32_t *yt = mc_labels(&g, 3001, 4);
  float *st = mc_scores(&g, 3001, 4, 0, 6);
  mc_case(yt, st, NULL, 3001, 4, 0, 1, 0, 0, 150);
  free(yt), free(st);
}

Test(calibration, weights, .init = setup, .fini = teardown) {
  clm_rng g;
  clm_rng_seed(&g, 99);
  const uint64_t n = 20011;
  uint8_t *y = random_labels(&g, n);
  float *s = random_scores(&g, n, 0, 12);
  float *w = random_weights(&g, n);
  for (uint64_t i = 0; i < n; i += 3)
    w[i] = 0.0f; /* zeros count as rows without mass */
  binary_case(y, s, w, n, 0, 15, NULL);
  free(s);
  s = random_scores(&g, n, 1, 0);
  binary_case(y, s, w, n, 1, 15, NULL);
  /* One huge weight dominates; the others still count exactly. */
  w[1234] = 1e30f;
  binary_case(y, s, w, n, 1, 15, NULL);
  clm_calibration_state st;
  init_state(&st, 1, 15, NULL, 0, 1);
  clm_error err;
  cr_assert_eq(clm_calibration_update_binary(ctx, &st, 0, y, s, w, n,
                                             CLM_SCORES_PROBS, &err),
               CLM_OK);
  clm_calibration_result r;
  cr_assert_eq(clm_calibration_finalize(&st, &r), CLM_OK);
  const double p = s[1234];
  cr_assert_float_eq(r.brier, (p - y[1234]) * (p - y[1234]), 1e-6);
  cr_assert_eq(r.n, n);
  clm_calibration_result_release(&r);
  clm_calibration_state_release(&st);
  free(y), free(s), free(w);
}

/* ---- bad input ---- */

/* The update fails with `status`, naming `index` and input `input`, and
 * leaves the state as it was. */
static void expect_binary_error(const uint8_t *y, const float *s,
                                const float *w, uint64_t n, int probs,
                                uint64_t base, clm_status status, int64_t index,
                                clm_input input, const char *needle) {
  clm_calibration_state st;
  init_state(&st, 1, 10, NULL, 0, w != NULL);
  const uint8_t y0[] = {1};
  const float s0[] = {0.75f}, w0[] = {2.0f};
  clm_error err;
  cr_assert_eq(clm_calibration_update_binary(ctx, &st, 0, y0, s0, w ? w0 : NULL,
                                             1, CLM_SCORES_PROBS, &err),
               CLM_OK);
  clm_status rc = clm_calibration_update_binary(
      ctx, &st, base, y, s, w, n, probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS,
      &err);
  cr_assert_eq(rc, status, "got %s: %s", clm_status_str(rc), err.message);
  cr_assert_eq(err.index, index, "index %lld: %s", (long long)err.index,
               err.message);
  cr_assert_eq(err.input, input, "%s", err.message);
  cr_assert(strstr(err.message, needle), "message: %s", err.message);
  cr_assert_eq(st.n, 1u, "the state is unchanged");
  cr_assert_eq(st.count[7], 1u);
  cr_assert_eq(st.confidence[7], w ? 1.5 : 0.75);
  clm_calibration_state_release(&st);
}

Test(calibration, binary_bad_input, .init = setup, .fini = teardown) {
  const uint64_t n = 5000;
  uint8_t *y = calloc(n, 1);
  float *s = calloc(n, sizeof(float)), *w = calloc(n, sizeof(float));
  for (uint64_t i = 0; i < n; ++i)
    s[i] = 0.25f, w[i] = 1.0f;
  s[3001] = NAN;
  s[4000] = NAN;
  expect_binary_error(y, s, NULL, n, 0, 1000, CLM_ERR_BAD_SCORE, 4001,
                      CLM_INPUT_SCORES, "index 4001: score is NaN");
  s[3001] = 1.5f;
  expect_binary_error(y, s, NULL, n, 1, 0, CLM_ERR_BAD_SCORE, 3001,
                      CLM_INPUT_SCORES, "probability 1.5 is outside [0, 1]");
  s[3001] = -0.0625f;
  expect_binary_error(y, s, NULL, n, 1, 0, CLM_ERR_BAD_SCORE, 3001,
                      CLM_INPUT_SCORES, "-0.0625");
  s[3001] = 0.25f;
  y[2999] = 2;
  expect_binary_error(y, s, NULL, n, 1, 0, CLM_ERR_BAD_LABEL, 2999,
                      CLM_INPUT_LABELS, "label 2 is not 0 or 1");
  y[2999] = 0;
  s[4000] = 0.25f;
  w[17] = -1.0f;
  expect_binary_error(y, s, w, n, 1, 0, CLM_ERR_BAD_WEIGHT, 17,
                      CLM_INPUT_WEIGHTS, "weight -1");
  w[17] = NAN;
  expect_binary_error(y, s, w, n, 0, 0, CLM_ERR_BAD_WEIGHT, 17,
                      CLM_INPUT_WEIGHTS, "index 17: weight nan");
  w[17] = 1.0f;
  w[4998] = INFINITY;
  expect_binary_error(y, s, w, n, 0, 0, CLM_ERR_BAD_WEIGHT, 4998,
                      CLM_INPUT_WEIGHTS, "weight inf");
  /* Weights must be given iff the state is weighted. */
  clm_calibration_state st;
  clm_error err;
  init_state(&st, 1, 10, NULL, 0, 1);
  cr_assert_eq(clm_calibration_update_binary(ctx, &st, 0, y, s, NULL, n,
                                             CLM_SCORES_PROBS, &err),
               CLM_ERR_INVALID_ARGUMENT);
  clm_calibration_state_release(&st);
  init_state(&st, 1, 10, NULL, 0, 0);
  cr_assert_eq(clm_calibration_update_binary(ctx, &st, 0, y, s, w, n,
                                             CLM_SCORES_PROBS, &err),
               CLM_ERR_INVALID_ARGUMENT);
  const int32_t yt[] = {0};
  cr_assert_eq(clm_calibration_update_multiclass(ctx, &st, 0, yt, s, NULL, 1,
                                                 CLM_SCORES_PROBS, &err),
               CLM_ERR_INVALID_ARGUMENT, "a binary state takes binary data");
  clm_calibration_state_release(&st);
  free(y), free(s), free(w);
}

static void expect_mc_error(const int32_t *y, const float *s, const float *w,
                            uint64_t n, uint32_t k, int probs, int has_ignore,
                            int32_t ignore, clm_status status, int64_t index,
                            clm_input input, const char *needle) {
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = k;
  o.weighted = w != NULL;
  o.has_ignore_index = has_ignore;
  o.ignore_index = ignore;
  clm_calibration_state st;
  cr_assert_eq(clm_calibration_state_init(&st, &o), CLM_OK);
  clm_error err;
  clm_status rc = clm_calibration_update_multiclass(
      ctx, &st, 0, y, s, w, n, probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS,
      &err);
  cr_assert_eq(rc, status, "got %s: %s", clm_status_str(rc), err.message);
  cr_assert_eq(err.index, index, "index %lld: %s", (long long)err.index,
               err.message);
  cr_assert_eq(err.input, input);
  cr_assert(strstr(err.message, needle), "message: %s", err.message);
  cr_assert_eq(st.n, 0u);
  cr_assert_eq(st.cw_count[0] + st.count[0], 0u);
  clm_calibration_state_release(&st);
}

Test(calibration, multiclass_bad_input, .init = setup, .fini = teardown) {
  const uint32_t k = 5;
  const uint64_t n = 3001;
  int32_t *y = calloc(n, sizeof(int32_t));
  float *s = calloc(n * k, sizeof(float)), *w = calloc(n, sizeof(float));
  for (uint64_t i = 0; i < n * k; ++i)
    s[i] = 0.2f;
  for (uint64_t i = 0; i < n; ++i)
    w[i] = 1.0f, y[i] = (int32_t)(i % k);
  s[2000 * k + 3] = NAN;
  expect_mc_error(y, s, NULL, n, k, 0, 0, 0, CLM_ERR_BAD_SCORE, 2000,
                  CLM_INPUT_SCORES, "row 2000, column 3: score is NaN");
  s[2000 * k + 3] = 1.25f;
  expect_mc_error(y, s, NULL, n, k, 1, 0, 0, CLM_ERR_BAD_SCORE, 2000,
                  CLM_INPUT_SCORES, "row 2000, column 3: probability 1.25");
  s[2000 * k + 3] = 0.2f;
  y[1500] = (int32_t)k;
  expect_mc_error(y, s, NULL, n, k, 1, 0, 0, CLM_ERR_BAD_LABEL, 1500,
                  CLM_INPUT_LABELS, "true label 5 is outside [0, 5)");
  y[1500] = -100;
  expect_mc_error(y, s, NULL, n, k, 1, 0, 0, CLM_ERR_BAD_LABEL, 1500,
                  CLM_INPUT_LABELS, "true label -100");
  /* ... unless -100 is the ignore index; then a bad value of an ignored
   * row is not looked at. */
  s[1500 * k] = NAN;
  y[2500] = 7;
  expect_mc_error(y, s, NULL, n, k, 1, 1, -100, CLM_ERR_BAD_LABEL, 2500,
                  CLM_INPUT_LABELS, "true label 7");
  y[2500] = 0;
  s[1500 * k] = 0.2f;
  for (uint32_t c = 0; c < k; ++c)
    s[100 * k + c] = -INFINITY;
  expect_mc_error(y, s, NULL, n, k, 0, 1, -100, CLM_ERR_BAD_SCORE, 100,
                  CLM_INPUT_SCORES, "every score is -inf");
  for (uint32_t c = 0; c < k; ++c)
    s[100 * k + c] = INFINITY;
  expect_mc_error(y, s, NULL, n, k, 0, 1, -100, CLM_ERR_BAD_SCORE, 100,
                  CLM_INPUT_SCORES, "every score is +inf");
  for (uint32_t c = 0; c < k; ++c)
    s[100 * k + c] = 0.2f;
  w[2999] = -2.0f;
  expect_mc_error(y, s, w, n, k, 1, 1, -100, CLM_ERR_BAD_WEIGHT, 2999,
                  CLM_INPUT_WEIGHTS, "index 2999: weight -2");
  free(y), free(s), free(w);
}

/* ---- merge, chunks, local sizes, determinism ---- */

static void update_probs_or_logits(clm_calibration_state *st, uint64_t base,
                                   const uint8_t *y, const float *s,
                                   const float *w, uint64_t n, int probs) {
  clm_error err;
  cr_assert_eq(clm_calibration_update_binary(
                   ctx, st, base, y, s, w, n,
                   probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS, &err),
               CLM_OK, "%s", err.message);
}

Test(calibration, merge_of_halves_equals_one_run, .init = setup,
     .fini = teardown) {
  clm_rng g;
  clm_rng_seed(&g, 31);
  const uint64_t n = 70001, h = 33333;
  uint8_t *y = random_labels(&g, n);
  float *s = random_scores(&g, n, 0, 14), *w = random_weights(&g, n);
  for (int weighted = 0; weighted < 2; ++weighted) {
    const float *ww = weighted ? w : NULL;
    clm_calibration_state whole, a, b;
    init_state(&whole, 1, 15, NULL, 0, weighted);
    init_state(&a, 1, 15, NULL, 0, weighted);
    init_state(&b, 1, 15, NULL, 0, weighted);
    update_probs_or_logits(&whole, 0, y, s, ww, n, 0);
    update_probs_or_logits(&a, 0, y, s, ww, h, 0);
    update_probs_or_logits(&b, h, y + h, s + h, ww ? ww + h : NULL, n - h, 0);
    cr_assert_eq(clm_calibration_merge(&a, &b), CLM_OK);
    cr_assert_eq(a.n, whole.n);
    const struct tol t = tol_for(1, 0);
    for (uint32_t i = 0; i < 15; ++i) {
      cr_assert_eq(a.count[i], whole.count[i]);
      /* Both are within the bound of the exact sum. */
      cr_assert_leq(fabs(a.confidence[i] - whole.confidence[i]),
                    2 * t.rel * whole.confidence[i]);
      cr_assert_leq(fabs(a.weight[i] - whole.weight[i]),
                    2 * 3 * U * whole.weight[i]);
      if (!weighted)
        cr_assert_eq(a.hits[i], whole.hits[i]);
    }
    cr_assert_leq(fabs(a.brier_sum - whole.brier_sum),
                  2 * t.brier_rel * whole.brier_sum);
    clm_ref_calibration ref;
    clm_ref_calibration_binary(y, s, ww, n, 0, a.edges, 15, t.near, &ref);
    check_state(&a, &ref, 0);
    clm_ref_calibration_free(&ref);
    clm_calibration_state_release(&whole);
    clm_calibration_state_release(&b);
    /* Mismatched settings refuse to merge. */
    clm_calibration_options o;
    clm_calibration_options_init(&o);
    o.weighted = weighted;
    o.n_bins = 10;
    cr_assert_eq(clm_calibration_state_init(&b, &o), CLM_OK);
    cr_assert_eq(clm_calibration_merge(&a, &b), CLM_ERR_STATE_MISMATCH);
    clm_calibration_state_release(&b);
    o.n_bins = 15;
    o.weighted = !weighted;
    cr_assert_eq(clm_calibration_state_init(&b, &o), CLM_OK);
    cr_assert_eq(clm_calibration_merge(&a, &b), CLM_ERR_STATE_MISMATCH);
    clm_calibration_state_release(&b);
    double edges[16];
    for (int i = 0; i <= 15; ++i)
      edges[i] = i / 15.0;
    edges[7] = 0.45;
    o.weighted = weighted;
    o.edges = edges;
    cr_assert_eq(clm_calibration_state_init(&b, &o), CLM_OK);
    cr_assert_eq(clm_calibration_merge(&a, &b), CLM_ERR_STATE_MISMATCH);
    clm_calibration_state_release(&b);
    o.edges = NULL;
    o.n_classes = 3;
    cr_assert_eq(clm_calibration_state_init(&b, &o), CLM_OK);
    cr_assert_eq(clm_calibration_merge(&a, &b), CLM_ERR_STATE_MISMATCH);
    clm_calibration_state_release(&b);
    clm_calibration_state_release(&a);
  }
  free(y), free(s), free(w);
}

/* Chunk and work-group size change how the sums are split, never the
 * counts; every run is within the bound of the reference. */
Test(calibration, chunk_and_local_size_invariance) {
  clm_rng g;
  clm_rng_seed(&g, 8);
  const uint64_t n = 25013;
  const uint32_t k = 4;
  uint8_t *y = random_labels(&g, n);
  float *s = random_scores(&g, n, 0, 12), *w = random_weights(&g, n);
  int32_t *yt = malloc(n * sizeof(int32_t));
  float *z = random_scores(&g, n * k, 0, 8);
  for (uint64_t i = 0; i < n; ++i)
    yt[i] = (int32_t)clm_rng_below(&g, k);
  const size_t locals[] = {0, 1, 4, 16};
  const uint64_t chunks[] = {0, 1000, 777};
  uint64_t first_count[15] = {0}, first_cw[4 * 15] = {0};
  int have = 0;
  for (size_t a = 0; a < 4; ++a)
    for (size_t c = 0; c < 3; ++c) {
      open_ctx(locals[a], chunks[c]);
      binary_case(y, s, w, n, 0, 15, NULL);
      clm_calibration_state st;
      init_state(&st, k, 15, NULL, 1, 1);
      clm_error err;
      cr_assert_eq(clm_calibration_update_multiclass(ctx, &st, 0, yt, z, w, n,
                                                     CLM_SCORES_LOGITS, &err),
                   CLM_OK, "%s", err.message);
      clm_ref_calibration ref;
      clm_ref_calibration_multiclass(yt, z, w, n, k, 0, 0, 0, 1, st.edges, 15,
                                     tol_for(k, 0).near, &ref);
      check_state(&st, &ref, 0);
      clm_ref_calibration_free(&ref);
      if (!have) {
        memcpy(first_count, st.count, sizeof first_count);
        memcpy(first_cw, st.cw_count, sizeof first_cw);
        have = 1;
      }
      cr_assert_arr_eq(first_count, st.count, sizeof first_count);
      cr_assert_arr_eq(first_cw, st.cw_count, sizeof first_cw);
      clm_calibration_state_release(&st);
      teardown();
    }
  free(y), free(s), free(w), free(yt), free(z);
}

Test(calibration, deterministic_bits, .init = setup, .fini = teardown) {
  clm_rng g;
  clm_rng_seed(&g, 77);
  const uint64_t n = 50021;
  uint8_t *y = random_labels(&g, n);
  float *s = random_scores(&g, n, 0, 12), *w = random_weights(&g, n);
  clm_calibration_state a, b;
  init_state(&a, 1, 15, NULL, 0, 1);
  init_state(&b, 1, 15, NULL, 0, 1);
  update_probs_or_logits(&a, 0, y, s, w, n, 0);
  update_probs_or_logits(&b, 0, y, s, w, n, 0);
  cr_assert_arr_eq(a.confidence, b.confidence, 15 * sizeof(double));
  cr_assert_arr_eq(a.weight, b.weight, 15 * sizeof(double));
  cr_assert_arr_eq(a.hits, b.hits, 15 * sizeof(double));
  cr_assert_eq(memcmp(&a.brier_sum, &b.brier_sum, sizeof(double)), 0);
  clm_calibration_state_release(&a);
  clm_calibration_state_release(&b);
  free(y), free(s), free(w);
}

/* ---- multi-class ---- */

static void mc_case(const int32_t *y, const float *s, const float *w,
                    uint64_t n, uint32_t k, int probs, int classwise,
                    int has_ignore, int32_t ignore, uint32_t nb) {
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = k;
  o.n_bins = nb;
  o.classwise = classwise;
  o.weighted = w != NULL;
  o.has_ignore_index = has_ignore;
  o.ignore_index = ignore;
  clm_calibration_state st;
  cr_assert_eq(clm_calibration_state_init(&st, &o), CLM_OK);
  clm_error err;
  clm_status rc = clm_calibration_update_multiclass(
      ctx, &st, 0, y, s, w, n, probs ? CLM_SCORES_PROBS : CLM_SCORES_LOGITS,
      &err);
  cr_assert_eq(rc, CLM_OK, "K=%u n=%llu: %s", k, (unsigned long long)n,
               err.message);
  clm_ref_calibration ref;
  cr_assert_eq(clm_ref_calibration_multiclass(y, s, w, n, k, probs, has_ignore,
                                              ignore, classwise, st.edges, nb,
                                              tol_for(k, probs).near, &ref),
               0);
  check_state(&st, &ref, probs);
  clm_ref_calibration_free(&ref);
  clm_calibration_state_release(&st);
}

/* n x k scores: logits spread over `spread`, or probability rows (random
 * positive values normalized in float: not exactly summing to 1, used as
 * given). */
static float *mc_scores(clm_rng *g, uint64_t n, uint32_t k, int probs,
                        double spread) {
  float *s = malloc((n > 0 ? n * k : 1) * sizeof(float));
  cr_assert_not_null(s);
  for (uint64_t i = 0; i < n; ++i) {
    float *row = s + i * k;
    double sum = 0;
    for (uint32_t c = 0; c < k; ++c) {
      const double u = clm_rng_uniform(g);
      row[c] = probs ? (float)(u * u * u) : (float)((u - 0.5) * spread);
      sum += row[c];
    }
    if (probs)
      for (uint32_t c = 0; c < k; ++c)
        row[c] = (float)(row[c] / sum);
  }
  return s;
}

static int32_t *mc_labels(clm_rng *g, uint64_t n, uint32_t k) {
  int32_t *y = malloc((n ? n : 1) * sizeof(int32_t));
  cr_assert_not_null(y);
  for (uint64_t i = 0; i < n; ++i)
    y[i] = (int32_t)clm_rng_below(g, k);
  return y;
}

Test(calibration, multiclass_random, .init = setup, .fini = teardown) {
  const uint32_t ks[] = {2, 3, 10, 1000};
  const uint64_t ns[] = {20011, 10007, 10007, 523};
  clm_rng g;
  clm_rng_seed(&g, 4711);
  for (size_t q = 0; q < 4; ++q)
    for (int probs = 0; probs < 2; ++probs) {
      const uint32_t k = ks[q];
      const uint64_t n = ns[q];
      int32_t *y = mc_labels(&g, n, k);
      float *s = mc_scores(&g, n, k, probs, k > 10 ? 20 : 8);
      float *w = random_weights(&g, n);
      mc_case(y, s, NULL, n, k, probs, 1, 0, 0, 15);
      mc_case(y, s, w, n, k, probs, 0, 0, 0, 10);
      mc_case(y, s, w, n, k, probs, 1, 0, 0, 7);
      free(y), free(s), free(w);
    }
}

Test(calibration, multiclass_small_sizes, .init = setup, .fini = teardown) {
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  const uint64_t sizes[] = {1,
                            2,
                            sh.vector_width - 1 ? sh.vector_width - 1 : 1,
                            sh.vector_width + 1,
                            sh.local_size + 1,
                            1031};
  clm_rng g;
  clm_rng_seed(&g, 3);
  for (size_t q = 0; q < 6; ++q) {
    const uint64_t n = sizes[q];
    int32_t *y = mc_labels(&g, n, 3);
    float *s = mc_scores(&g, n, 3, 0, 10);
    mc_case(y, s, NULL, n, 3, 0, 1, 0, 0, 15);
    free(y), free(s);
  }
}

/* +inf logits split the mass evenly (the argmax is the first of them, as
 * the multi-class family's prediction), -inf ones get none; +-100 and ties. */
Test(calibration, multiclass_infinite_logits, .init = setup, .fini = teardown) {
  const uint32_t k = 4;
  const float z[] = {
      INFINITY,  0,         1,         2,         /* p = 1 at class 0 */
      0,         INFINITY,  INFINITY,  -1,        /* 1/2, 1/2, argmax 1 */
      -INFINITY, 3,         -INFINITY, 3,         /* ties: 1/2, 1/2 */
      100,       -100,      0,         100,       /* ties at 100 */
      -100,      -100,      -100,      -100,      /* uniform */
      INFINITY,  INFINITY,  INFINITY,  -INFINITY, /* 1/3 each */
      1,         -INFINITY, -INFINITY, -INFINITY, /* p = 1 */
      50,        -50,       0,         25};
  const int32_t y[] = {0, 2, 3, 0, 1, 2, 0, 1};
  const uint64_t n = 8;
  for (uint32_t nb = 2; nb <= 15; nb += 13)
    mc_case(y, z, NULL, n, k, 0, 1, 0, 0, nb);
  clm_calibration_state st;
  init_state(&st, k, 4, NULL, 1, 0);
  clm_error err;
  cr_assert_eq(clm_calibration_update_multiclass(ctx, &st, 0, y, z, NULL, 2,
                                                 CLM_SCORES_LOGITS, &err),
               CLM_OK, "%s", err.message);
  /* Row 0: confidence 1, a hit; row 1: 1/2 at class 1, label 2: a miss. */
  cr_assert_eq(st.count[3], 1u);
  cr_assert_eq(st.count[1], 1u);
  cr_assert_eq(st.confidence[3], 1.0);
  cr_assert_eq(st.confidence[1], 0.5);
  cr_assert_eq(st.hits[3], 1.0);
  cr_assert_eq(st.hits[1], 0.0);
  /* Brier: row 0 exactly 0; row 1 (1/2)^2 + (1/2 - 1)^2 = 1/2. */
  cr_assert_eq(st.brier_sum, 0.5);
  clm_calibration_state_release(&st);
}

Test(calibration, ignore_index, .init = setup, .fini = teardown) {
  clm_rng g;
  clm_rng_seed(&g, 12);
  const uint32_t k = 5;
  const uint64_t n = 9001;
  int32_t *y = mc_labels(&g, n, k);
  float *s = mc_scores(&g, n, k, 0, 8);
  float *w = random_weights(&g, n);
  int32_t *y2 = malloc(n * sizeof(int32_t));
  for (uint64_t i = 0; i < n; ++i)
    y2[i] = i % 4 == 0 ? -100 : y[i];
  mc_case(y2, s, NULL, n, k, 0, 1, 1, -100, 15);
  mc_case(y2, s, w, n, k, 0, 1, 1, -100, 15);
  /* An ignore index inside [0, K): that class's rows are skipped. */
  mc_case(y, s, w, n, k, 0, 1, 1, 2, 15);
  mc_case(y, s, NULL, n, k, 0, 0, 1, 0, 15);
  clm_calibration_state st;
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = k;
  o.has_ignore_index = 1;
  o.ignore_index = -100;
  cr_assert_eq(clm_calibration_state_init(&st, &o), CLM_OK);
  clm_error err;
  cr_assert_eq(clm_calibration_update_multiclass(ctx, &st, 0, y2, s, NULL, n,
                                                 CLM_SCORES_LOGITS, &err),
               CLM_OK);
  cr_assert_eq(st.n_ignored, (n + 3) / 4);
  cr_assert_eq(st.n + st.n_ignored, n);
  clm_calibration_result r;
  cr_assert_eq(clm_calibration_finalize(&st, &r), CLM_OK);
  cr_assert_eq(r.n_ignored, (n + 3) / 4);
  clm_calibration_result_release(&r);
  clm_calibration_state_release(&st);
  free(y), free(y2), free(s), free(w);
}

/* K = 10^4: the class-wise slices are bounded (few row segments). */
Test(calibration, many_classes, .init = setup, .fini = teardown) {
  clm_rng g;
  clm_rng_seed(&g, 10000);
  const uint32_t k = 10000;
  const uint64_t n = 97;
  int32_t *y = mc_labels(&g, n, k);
  float *s = mc_scores(&g, n, k, 0, 30);
  for (uint64_t i = 0; i < n; i += 5)
    s[i * k + (uint32_t)y[i]] = 40.0f; /* some confident hits */
  mc_case(y, s, NULL, n, k, 0, 1, 0, 0, 15);
  free(s);
  s = mc_scores(&g, n, k, 1, 0);
  mc_case(y, s, NULL, n, k, 1, 1, 0, 0, 15);
  free(y), free(s);
}

/* ---- equal-mass edges ---- */

Test(calibration, quantile_edges, .init = setup, .fini = teardown) {
  /* 100 fine bins, probabilities uniform on a grid: 4 bins of equal mass
   * have edges 0.25, 0.5, 0.75 exactly. */
  const uint64_t n = 4000;
  float *p = malloc(n * sizeof(float));
  uint8_t *y = calloc(n, 1);
  for (uint64_t i = 0; i < n; ++i)
    p[i] = (float)((i % 100) + 0.5) / 100.0f;
  clm_calibration_state fine;
  init_state(&fine, 1, 100, NULL, 0, 0);
  update_probs_or_logits(&fine, 0, y, p, NULL, n, 1);
  double edges[5];
  uint32_t m = 0;
  cr_assert_eq(clm_calibration_quantile_edges(&fine, 4, edges, &m), CLM_OK);
  cr_assert_eq(m, 4u);
  cr_assert_eq(edges[0], 0.0);
  cr_assert_float_eq(edges[1], 0.25, 1e-15);
  cr_assert_float_eq(edges[2], 0.5, 1e-15);
  cr_assert_float_eq(edges[3], 0.75, 1e-15);
  cr_assert_eq(edges[4], 1.0);
  /* The edges make a valid state whose bins hold a quarter each. */
  clm_calibration_state q;
  init_state(&q, 1, m, edges, 0, 0);
  update_probs_or_logits(&q, 0, y, p, NULL, n, 1);
  for (uint32_t b = 0; b < m; ++b)
    cr_assert_eq(q.count[b], n / 4);
  clm_calibration_state_release(&q);
  clm_calibration_state_release(&fine);
  /* Mass concentrated in one fine bin: repeated edges are dropped. */
  for (uint64_t i = 0; i < n; ++i)
    p[i] = i < 10 ? 0.05f : 0.905f;
  init_state(&fine, 1, 10, NULL, 0, 0);
  update_probs_or_logits(&fine, 0, y, p, NULL, n, 1);
  cr_assert_eq(clm_calibration_quantile_edges(&fine, 5, edges, &m), CLM_OK);
  /* Levels 1/5 .. 4/5 are all reached in the fine bin (0.9, 1]: its upper
   * edge is 1, so no interior edge survives. */
  cr_assert_eq(m, 1u);
  cr_assert_eq(edges[0], 0.0);
  cr_assert_eq(edges[1], 1.0);
  clm_calibration_state_release(&fine);
  /* Weighted: mass 1, 1, 2 at 0.15, 0.45, 0.75 over 10 fine bins; halves
   * at the upper edge of the fine bin holding 0.45. */
  const float pw[] = {0.15f, 0.45f, 0.75f}, ww[] = {1, 1, 2};
  const uint8_t yw[] = {0, 1, 1};
  init_state(&fine, 1, 10, NULL, 0, 1);
  update_probs_or_logits(&fine, 0, yw, pw, ww, 3, 1);
  cr_assert_eq(clm_calibration_quantile_edges(&fine, 2, edges, &m), CLM_OK);
  cr_assert_eq(m, 2u);
  cr_assert_float_eq(edges[1], 0.5, 1e-15);
  clm_calibration_state_release(&fine);
  /* Empty and invalid. */
  init_state(&fine, 1, 10, NULL, 0, 0);
  cr_assert_eq(clm_calibration_quantile_edges(&fine, 5, edges, &m),
               CLM_ERR_EMPTY);
  cr_assert_eq(clm_calibration_quantile_edges(&fine, 0, edges, &m),
               CLM_ERR_INVALID_ARGUMENT);
  clm_calibration_state_release(&fine);
  free(p), free(y);
}

/* Confident, correct rows: the Brier terms are tiny (sigma(-z)^2 down to
 * 1e-35) and must keep their relative precision (1 - p in float would be
 * 0). */
Test(calibration, brier_of_confident_rows, .init = setup, .fini = teardown) {
  clm_rng g;
  clm_rng_seed(&g, 17);
  const uint64_t n = 4001;
  uint8_t *y = random_labels(&g, n);
  float *z = malloc(n * sizeof(float));
  for (uint64_t i = 0; i < n; ++i) {
    const float m = (float)(17 + 23 * clm_rng_uniform(&g));
    z[i] = y[i] ? m : -m;
  }
  binary_case(y, z, NULL, n, 0, 15, NULL);
  const uint32_t k = 6;
  int32_t *yt = mc_labels(&g, n, k);
  float *s = mc_scores(&g, n, k, 0, 6);
  for (uint64_t i = 0; i < n; ++i)
    s[i * k + (uint32_t)yt[i]] = 30.0f + (float)(i % 7);
  mc_case(yt, s, NULL, n, k, 0, 1, 0, 0, 15);
  free(y), free(z), free(yt), free(s);
}
