/* Weighted exact ROC-AUC and average precision (scikit-learn's
 * sample_weight) against the sort-based reference
 * (src/reference/ref_ranking_weighted.c), hand computations, an O(n^2)
 * pair count, and the unweighted path over repeated rows. Expected values
 * never come from the code under test.
 *
 * Tolerance. Library and reference accumulate in long double (unit
 * roundoff u = LDBL_EPSILON / 2) over at most n non-negative terms, so
 * each weight sum, each product and the final sums carry a relative error
 * of at most about n u (no cancellation: every term is >= 0); AUC is a
 * ratio of a sum of products of sums over a product of two sums, bounded
 * by (5 n + 5) u, AP likewise; each result is then rounded to double
 * (DBL_EPSILON / 2). Two such results differ by at most
 * tol(n) = (10 n + 10) u + DBL_EPSILON, below 1e-12 for every n here
 * (1.1e-13 at n = 100003 with x86's 64-bit long double mantissa). */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmetrics.h"
#include "ref_ranking_weighted.h"
#include "reference.h"

static clm_context *ctx;

static void setup(void) {
  clm_context_options o;
  clm_context_options_init(&o);
  clm_error err;
  clm_status st = clm_context_create(&o, &ctx, &err);
  if (st == CLM_ERR_NO_PLATFORM || st == CLM_ERR_NO_DEVICE)
    cr_skip_test("no OpenCL device: %s", err.message);
  cr_assert_eq(st, CLM_OK, "context: %s", err.message);
}
static void teardown(void) {
  clm_context_free(ctx);
  ctx = NULL;
}

static clm_rng rng;

static double normal(void) {
  const double u1 = 1.0 - clm_rng_uniform(&rng);
  const double u2 = clm_rng_uniform(&rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double tol(uint64_t n) {
  return (10.0 * (double)n + 10.0) * (LDBL_EPSILON / 2) + DBL_EPSILON;
}

static int close_rel(double got, double want, double rel) {
  if (isnan(want) || isnan(got))
    return isnan(want) && isnan(got);
  return fabs(got - want) <= rel * fabs(want);
}

static int same_bits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

static int same_threshold(double a, double b) {
  return (a == 0 && b == 0) || same_bits(a, b);
}

/* ---- data ---- */

typedef struct wdata {
  uint64_t n;
  uint32_t k;
  clm_dtype dtype;
  int softmax, probs;
  void *labels, *scores;
  float *w;
  double *ranked, *wd;
  clm_ref_wranking *ref;
} wdata;

static void wdata_alloc(wdata *d, uint64_t n, uint32_t k, clm_dtype dtype) {
  memset(d, 0, sizeof *d);
  d->n = n;
  d->k = k;
  d->dtype = dtype;
  const size_t cells = (size_t)(n ? n : 1) * k;
  d->labels = calloc(n ? n : 1, k == 1 ? 1 : 4);
  d->scores = calloc(cells, dtype == CLM_DTYPE_F64 ? 8 : 4);
  d->w = calloc(n ? n : 1, sizeof *d->w);
  d->wd = calloc(n ? n : 1, sizeof *d->wd);
  d->ranked = calloc(cells, sizeof(double));
  d->ref = calloc(k, sizeof *d->ref);
  cr_assert(d->labels && d->scores && d->w && d->wd && d->ranked && d->ref);
}

static void wdata_free(wdata *d) {
  for (uint32_t c = 0; d->ref && c < d->k; ++c)
    clm_ref_wranking_free(&d->ref[c]);
  free(d->ref);
  free(d->labels);
  free(d->scores);
  free(d->w);
  free(d->wd);
  free(d->ranked);
  memset(d, 0, sizeof *d);
}

static float *sf(const wdata *d) {
  return d->scores;
}
static double *sd(const wdata *d) {
  return d->scores;
}

static void wdata_reference(wdata *d) {
  const uint64_t cells = d->n * d->k;
  for (uint64_t i = 0; i < cells; ++i)
    d->ranked[i] = d->dtype == CLM_DTYPE_F64 ? sd(d)[i] : (double)sf(d)[i];
  if (d->softmax) {
    float *p = malloc(d->k * sizeof(float));
    for (uint64_t i = 0; i < d->n; ++i) {
      clm_ref_softmax_f32(sf(d) + i * d->k, d->k, p);
      for (uint32_t c = 0; c < d->k; ++c)
        d->ranked[i * d->k + c] = p[c];
    }
    free(p);
  }
  for (uint64_t i = 0; i < d->n; ++i)
    d->wd[i] = d->w[i];
  if (d->k == 1)
    clm_ref_wranking_eval(d->labels, d->ranked, d->wd, d->n, &d->ref[0]);
  else
    clm_ref_wranking_ovr(d->labels, d->ranked, d->wd, d->n, d->k, d->ref);
}

/* Weights in [0, 3] as float32, about 1 in 5 exactly 0. */
static float weight(void) {
  if (clm_rng_below(&rng, 5) == 0)
    return 0.0f;
  return (float)(3.0 * clm_rng_uniform(&rng));
}

enum wgen {
  W_LOGITS,   /* float32 normal logits */
  W_TIES,     /* float32 from {-1, -0, +0, 0.5, 2} */
  W_INF,      /* float32 ties with +-inf */
  W_F64,      /* 53-bit doubles */
  W_F64_TIES, /* doubles one ulp apart, +-0, +-inf */
  W_INVERTED, /* positives all below negatives */
  W_COUNT
};
static const char *const wgen_names[W_COUNT] = {
    "logits", "ties", "inf", "f64", "f64_ties", "inverted"};

/* Binary data; 1 row in 16 gets a score no weighted row has (100, -100
 * or 3.25) and weight 0: those must create no threshold and no tie. */
static void gen_binary(wdata *d, int g, uint64_t n, uint64_t seed) {
  const int f64 = g == W_F64 || g == W_F64_TIES;
  wdata_alloc(d, n, 1, f64 ? CLM_DTYPE_F64 : CLM_DTYPE_F32);
  clm_rng_seed(&rng, clm_rng_splitmix64(seed * 7919 + (uint64_t)g));
  uint8_t *y = d->labels;
  static const float tiesf[5] = {-1.0f, -0.0f, 0.0f, 0.5f, 2.0f};
  static const float inff[5] = {-INFINITY, -0.0f, 1.0f, INFINITY, 0.0f};
  const double one = 1.0;
  const double tiesd[6] = {-0.0, 0.0,       nextafter(one, 2),
                           one,  -INFINITY, INFINITY};
  static const float ghosts[3] = {100.0f, -100.0f, 3.25f};
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = (uint8_t)clm_rng_below(&rng, 2);
    d->w[i] = weight();
    switch (g) {
    case W_LOGITS:
      sf(d)[i] = (float)(normal() + (y[i] ? 0.7 : 0.0));
      break;
    case W_TIES:
      sf(d)[i] = tiesf[clm_rng_below(&rng, 5)];
      break;
    case W_INF:
      sf(d)[i] = inff[clm_rng_below(&rng, 5)];
      break;
    case W_F64:
      sd(d)[i] = clm_rng_uniform(&rng) + (y[i] ? 0.2 : 0.0);
      break;
    case W_F64_TIES:
      sd(d)[i] = tiesd[clm_rng_below(&rng, 6)];
      break;
    default:
      sf(d)[i] = (float)(y[i] ? -1.0 - clm_rng_uniform(&rng)
                              : 1.0 + clm_rng_uniform(&rng));
    }
    if (g != W_INVERTED && clm_rng_below(&rng, 16) == 0) {
      const float ghost = ghosts[clm_rng_below(&rng, 3)];
      if (f64)
        sd(d)[i] = ghost;
      else
        sf(d)[i] = ghost;
      d->w[i] = 0.0f;
    }
  }
  wdata_reference(d);
}

static void gen_multi(wdata *d, uint32_t k, clm_dtype dtype, int softmax,
                      uint64_t n, uint64_t seed) {
  wdata_alloc(d, n, k, dtype);
  d->softmax = softmax;
  clm_rng_seed(&rng, clm_rng_splitmix64(seed * 104729 + k * 31 + softmax));
  int32_t *y = d->labels;
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = (int32_t)clm_rng_below(&rng, k);
    d->w[i] = weight();
    for (uint32_t c = 0; c < k; ++c) {
      /* Logits on a 1/4 grid: ties within each column. */
      const double v = round(4 * (normal() + (y[i] == (int32_t)c))) / 4;
      if (dtype == CLM_DTYPE_F64)
        sd(d)[i * k + c] = v;
      else
        sf(d)[i * k + c] = (float)v;
    }
  }
  wdata_reference(d);
}

/* ---- running ---- */

typedef struct wsrc {
  const wdata *d;
  char *lbuf, *sbuf;
  float *wbuf;
  uint64_t cap, last_first, last_count;
  int order_bad;
} wsrc;

static clm_status wsrc_read(void *user, uint64_t first, uint64_t count,
                            const void **labels, const void **scores,
                            clm_error *err) {
  (void)err;
  wsrc *s = user;
  const wdata *d = s->d;
  const size_t lsz = d->k == 1 ? 1 : 4;
  const size_t rsz = (size_t)d->k * (d->dtype == CLM_DTYPE_F64 ? 8 : 4);
  if (count > s->cap) {
    free(s->lbuf);
    free(s->sbuf);
    free(s->wbuf);
    s->cap = count;
    s->lbuf = malloc(count * lsz);
    s->sbuf = malloc(count * rsz);
    s->wbuf = malloc(count * sizeof *s->wbuf);
  }
  memcpy(s->lbuf, (const char *)d->labels + first * lsz, count * lsz);
  memcpy(s->sbuf, (const char *)d->scores + first * rsz, count * rsz);
  memset(s->wbuf, 0xff, count * sizeof *s->wbuf); /* NaN until read */
  s->last_first = first;
  s->last_count = count;
  *labels = s->lbuf;
  *scores = s->sbuf;
  return CLM_OK;
}

static clm_status wsrc_weights(void *user, uint64_t first, uint64_t count,
                               const float **weights, clm_error *err) {
  (void)err;
  wsrc *s = user;
  if (first != s->last_first || count != s->last_count)
    s->order_bad = 1;
  memcpy(s->wbuf, s->d->w + first, count * sizeof *s->wbuf);
  *weights = s->wbuf;
  return CLM_OK;
}

/* Arrays (batch 0) or a source read in batches. */
static clm_status wrun(const wdata *d, uint64_t budget, uint64_t batch,
                       uint64_t curve_points, clm_ranking_result *r,
                       clm_error *err) {
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.memory_budget = budget;
  o.curve_points = curve_points;
  o.scores_are_probs = d->probs;
  memset(r, 0, sizeof *r);
  if (!batch)
    return clm_ranking_compute_arrays_weighted(ctx, d->labels, d->scores, d->w,
                                               d->dtype, d->n, d->k, d->softmax,
                                               &o, r, err);
  o.batch_rows = batch;
  wsrc s = {0};
  s.d = d;
  clm_ranking_source src = {.user = &s,
                            .n = d->n,
                            .k = d->k,
                            .dtype = d->dtype,
                            .softmax = d->softmax,
                            .read = wsrc_read,
                            .read_weights = wsrc_weights};
  clm_status st = clm_ranking_compute(ctx, &src, &o, r, err);
  cr_assert(!s.order_bad, "read_weights() not for the rows just read");
  free(s.lbuf);
  free(s.sbuf);
  free(s.wbuf);
  return st;
}

static void check_against_ref(const char *what, const wdata *d,
                              const clm_ranking_result *r, int full_curve) {
  const double rel = tol(d->n);
  cr_assert(rel <= 1e-12, "tolerance %.3g", rel);
  cr_assert_eq(r->k, d->k, "%s: k", what);
  cr_assert_eq(r->n, d->n, "%s: n", what);
  cr_assert_eq(r->exact, 1, "%s: not exact", what);
  double auc_sum = 0, auc_w = 0, auc_pw = 0, ap_sum = 0, ap_w = 0, ap_pw = 0;
  unsigned auc_n = 0, ap_n = 0;
  for (uint32_t c = 0; c < d->k; ++c) {
    const clm_ranking_class *g = &r->classes[c];
    const clm_ref_wranking *q = &d->ref[c];
    cr_assert(g->positives == q->pos && g->negatives == q->neg,
              "%s class %u: counts %llu/%llu, reference %llu/%llu", what, c,
              (unsigned long long)g->positives,
              (unsigned long long)g->negatives, (unsigned long long)q->pos,
              (unsigned long long)q->neg);
    cr_assert(close_rel(g->positive_weight, q->pos_weight, rel) &&
                  close_rel(g->negative_weight, q->neg_weight, rel),
              "%s class %u: weights %.17g/%.17g, reference %.17g/%.17g", what,
              c, g->positive_weight, g->negative_weight, q->pos_weight,
              q->neg_weight);
    cr_assert(close_rel(g->roc_auc, q->roc_auc, rel),
              "%s class %u: roc_auc %.17g, reference %.17g", what, c,
              g->roc_auc, q->roc_auc);
    cr_assert(close_rel(g->average_precision, q->average_precision, rel),
              "%s class %u: average_precision %.17g, reference %.17g", what, c,
              g->average_precision, q->average_precision);
    cr_assert(
        (isnan(g->roc_auc) && isnan(g->roc_auc_lo) && isnan(g->roc_auc_hi)) ||
            (g->roc_auc_lo == g->roc_auc && g->roc_auc_hi == g->roc_auc),
        "%s class %u: roc_auc interval", what, c);
    cr_assert((isnan(g->average_precision) && isnan(g->average_precision_lo)) ||
                  (g->average_precision_lo == g->average_precision &&
                   g->average_precision_hi == g->average_precision),
              "%s class %u: average_precision interval", what, c);
    cr_assert_eq(
        g->distinct, q->curve_len, "%s class %u: distinct %llu vs %llu", what,
        c, (unsigned long long)g->distinct, (unsigned long long)q->curve_len);
    if (full_curve) {
      cr_assert_eq(g->curve_len, q->curve_len,
                   "%s class %u: %llu points vs %llu", what, c,
                   (unsigned long long)g->curve_len,
                   (unsigned long long)q->curve_len);
      for (uint64_t i = 0; i < q->curve_len; ++i) {
        const clm_curve_point *p = &g->curve[i];
        const clm_ref_wpoint *e = &q->curve[i];
        cr_assert(
            same_threshold(p->threshold, e->threshold) && p->tp == e->tp &&
                p->fp == e->fp && close_rel(p->tp_weight, e->tp_weight, rel) &&
                close_rel(p->fp_weight, e->fp_weight, rel),
            "%s class %u: curve[%llu] = (%.17g, %llu, %llu, %.17g, "
            "%.17g), reference (%.17g, %llu, %llu, %.17g, %.17g)",
            what, c, (unsigned long long)i, p->threshold,
            (unsigned long long)p->tp, (unsigned long long)p->fp, p->tp_weight,
            p->fp_weight, e->threshold, (unsigned long long)e->tp,
            (unsigned long long)e->fp, e->tp_weight, e->fp_weight);
      }
    }
    if (!isnan(q->roc_auc)) {
      auc_sum += q->roc_auc;
      auc_w += q->roc_auc * q->pos_weight;
      auc_pw += q->pos_weight;
      auc_n++;
    }
    if (!isnan(q->average_precision)) {
      ap_sum += q->average_precision;
      ap_w += q->average_precision * q->pos_weight;
      ap_pw += q->pos_weight;
      ap_n++;
    }
  }
  if (d->k > 1) {
    /* Averages of k values: k more roundings at most. */
    const double arel = rel + 4 * d->k * DBL_EPSILON;
    cr_assert(close_rel(r->roc_auc_macro, auc_n ? auc_sum / auc_n : NAN, arel),
              "%s: roc_auc_macro %.17g", what, r->roc_auc_macro);
    cr_assert(
        close_rel(r->roc_auc_weighted, auc_pw > 0 ? auc_w / auc_pw : NAN, arel),
        "%s: roc_auc_weighted %.17g", what, r->roc_auc_weighted);
    cr_assert(
        close_rel(r->average_precision_macro, ap_n ? ap_sum / ap_n : NAN, arel),
        "%s: average_precision_macro %.17g", what, r->average_precision_macro);
    cr_assert(close_rel(r->average_precision_weighted,
                        ap_pw > 0 ? ap_w / ap_pw : NAN, arel),
              "%s: average_precision_weighted %.17g", what,
              r->average_precision_weighted);
  }
}

/* Every value and curve point the same bits. */
static void check_identical(const char *what, const clm_ranking_result *a,
                            const clm_ranking_result *b) {
  cr_assert_eq(a->k, b->k);
  cr_assert(
      same_bits(a->roc_auc_macro, b->roc_auc_macro) &&
          same_bits(a->roc_auc_weighted, b->roc_auc_weighted) &&
          same_bits(a->average_precision_macro, b->average_precision_macro) &&
          same_bits(a->average_precision_weighted,
                    b->average_precision_weighted),
      "%s: averages differ", what);
  for (uint32_t c = 0; c < a->k; ++c) {
    const clm_ranking_class *x = &a->classes[c], *y = &b->classes[c];
    cr_assert(same_bits(x->roc_auc, y->roc_auc) &&
                  same_bits(x->average_precision, y->average_precision) &&
                  same_bits(x->positive_weight, y->positive_weight) &&
                  same_bits(x->negative_weight, y->negative_weight) &&
                  x->distinct == y->distinct && x->curve_len == y->curve_len,
              "%s class %u: %.17g/%.17g vs %.17g/%.17g", what, c, x->roc_auc,
              x->average_precision, y->roc_auc, y->average_precision);
    for (uint64_t i = 0; i < x->curve_len; ++i)
      cr_assert(same_bits(x->curve[i].threshold, y->curve[i].threshold) &&
                    x->curve[i].tp == y->curve[i].tp &&
                    x->curve[i].fp == y->curve[i].fp &&
                    same_bits(x->curve[i].tp_weight, y->curve[i].tp_weight) &&
                    same_bits(x->curve[i].fp_weight, y->curve[i].fp_weight),
                "%s class %u: curve[%llu] differs", what, c,
                (unsigned long long)i);
  }
}

/* Default budget (arrays), the smallest budget (arrays) and a source in
 * odd batches: each against the reference, and all the same bits. */
static void check_all(const char *what, const wdata *d) {
  clm_ranking_result big, small, batched;
  clm_error err;
  const uint64_t all_points = d->n + 2;
  clm_status st = wrun(d, 0, 0, all_points, &big, &err);
  cr_assert_eq(st, CLM_OK, "%s: %s", what, err.message);
  check_against_ref(what, d, &big, 1);
  cr_assert(big.memory_bytes <= CLM_RANKING_DEFAULT_BUDGET);
  st = wrun(d, CLM_RANKING_MIN_BUDGET, 0, all_points, &small, &err);
  cr_assert_eq(st, CLM_OK, "%s (min budget): %s", what, err.message);
  cr_assert(small.memory_bytes <= CLM_RANKING_MIN_BUDGET,
            "%s: %llu bytes over the minimum budget", what,
            (unsigned long long)small.memory_bytes);
  check_identical(what, &big, &small);
  st = wrun(d, CLM_RANKING_MIN_BUDGET, 997, all_points, &batched, &err);
  cr_assert_eq(st, CLM_OK, "%s (batches): %s", what, err.message);
  check_identical(what, &big, &batched);
  cr_log_info("%s: passes %u (default), %u (min budget)", what, big.passes,
              small.passes);
  clm_ranking_result_release(&big);
  clm_ranking_result_release(&small);
  clm_ranking_result_release(&batched);
}

/* ---- the reference itself ---- */

Test(ranking_weighted, reference_hand_values) {
  /* Scores 0.95 (negative, weight 0: dropped), 0.9 (+, 1), 0.8 (-, 2),
   * 0.8 (+, 3), 0.1 (-, 0.5). WP = 4, WN = 2.5. Pairs: 0.9 over both
   * negatives 1 * 2.5; 0.8+ ties 0.8- 3 * 2 / 2 = 3 and beats 0.1 3 * 0.5.
   * AUC = 7 / 10. AP: threshold 0.9 R = 1/4, P = 1; 0.8 R = 1, P = 4/6;
   * 0.1 adds no recall: 0.25 + 0.75 * 2/3 = 0.75. */
  const uint8_t y[5] = {0, 1, 0, 1, 0};
  const double s[5] = {0.95, 0.9, 0.8, 0.8, 0.1};
  const double w[5] = {0, 1, 2, 3, 0.5};
  clm_ref_wranking r;
  clm_ref_wranking_eval(y, s, w, 5, &r);
  cr_assert(close_rel(r.roc_auc, 0.7, 4 * DBL_EPSILON), "%.17g", r.roc_auc);
  cr_assert(close_rel(r.average_precision, 0.75, 4 * DBL_EPSILON), "%.17g",
            r.average_precision);
  cr_assert_eq(r.curve_len, 3);
  cr_assert(r.curve[1].threshold == 0.8 && r.curve[1].tp == 2 &&
            r.curve[1].fp == 1 && r.curve[1].tp_weight == 4 &&
            r.curve[1].fp_weight == 2);
  cr_assert(r.pos == 2 && r.neg == 3 && r.pos_weight == 4 &&
            r.neg_weight == 2.5);
  clm_ref_wranking_free(&r);
}

Test(ranking_weighted, reference_matches_brute_force) {
  clm_rng_seed(&rng, 4242);
  for (int trial = 0; trial < 20; ++trial) {
    const uint64_t n = 1 + clm_rng_below(&rng, 300);
    uint8_t *y = malloc(n);
    double *s = malloc(n * sizeof *s), *w = malloc(n * sizeof *w);
    for (uint64_t i = 0; i < n; ++i) {
      y[i] = (uint8_t)clm_rng_below(&rng, 2);
      s[i] = (double)clm_rng_below(&rng, 7) - 3.0;
      if (s[i] == 0 && clm_rng_below(&rng, 2))
        s[i] = -0.0;
      w[i] = (double)weight();
    }
    long double num = 0, wp = 0, wn = 0, apnum = 0;
    for (uint64_t i = 0; i < n; ++i) {
      if (y[i])
        wp += w[i];
      else
        wn += w[i];
      for (uint64_t j = 0; j < n; ++j)
        if (y[i] && !y[j])
          num += (long double)w[i] * w[j] *
                 (s[i] > s[j]    ? 1.0L
                  : s[i] == s[j] ? 0.5L
                                 : 0.0L);
    }
    /* AP by definition: per positive sample of weight > 0, its weight times
     * the precision at its own score (same-score samples share it). */
    for (uint64_t i = 0; i < n; ++i) {
      if (!y[i] || w[i] == 0)
        continue;
      long double tp = 0, all = 0;
      for (uint64_t j = 0; j < n; ++j)
        if (s[j] >= s[i]) {
          all += w[j];
          tp += y[j] ? w[j] : 0;
        }
      apnum += w[i] * (tp / all);
    }
    clm_ref_wranking r;
    clm_ref_wranking_eval(y, s, w, n, &r);
    const double want_auc = wp > 0 && wn > 0 ? (double)(num / (wp * wn)) : NAN;
    const double want_ap = wp > 0 ? (double)(apnum / wp) : NAN;
    cr_assert(close_rel(r.roc_auc, want_auc, tol(n * n)),
              "n %llu: %.17g vs brute %.17g", (unsigned long long)n, r.roc_auc,
              want_auc);
    cr_assert(close_rel(r.average_precision, want_ap, tol(n * n)),
              "n %llu: AP %.17g vs brute %.17g", (unsigned long long)n,
              r.average_precision, want_ap);
    clm_ref_wranking_free(&r);
    free(y);
    free(s);
    free(w);
  }
}

/* ---- the library ---- */

Test(ranking_weighted, hand_example, .init = setup, .fini = teardown) {
  const uint8_t y[5] = {0, 1, 0, 1, 0};
  const float s[5] = {0.95f, 0.9f, 0.8f, 0.8f, 0.1f};
  const float w[5] = {0, 1, 2, 3, 0.5f};
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.curve_points = 100;
  clm_ranking_result r;
  clm_error err;
  cr_assert_eq(clm_ranking_compute_arrays_weighted(ctx, y, s, w, CLM_DTYPE_F32,
                                                   5, 1, 0, &o, &r, &err),
               CLM_OK, "%s", err.message);
  const clm_ranking_class *c = &r.classes[0];
  cr_assert(close_rel(c->roc_auc, 0.7, 4 * DBL_EPSILON), "%.17g", c->roc_auc);
  cr_assert(close_rel(c->average_precision, 0.75, 4 * DBL_EPSILON), "%.17g",
            c->average_precision);
  cr_assert(c->positive_weight == 4 && c->negative_weight == 2.5);
  cr_assert(c->positives == 2 && c->negatives == 3);
  cr_assert_eq(c->distinct, 3);
  cr_assert_eq(c->curve_len, 3);
  cr_assert(c->curve[0].threshold == 0.9f && c->curve[0].tp_weight == 1 &&
            c->curve[0].fp_weight == 0);
  cr_assert(c->curve[2].threshold == 0.1f && c->curve[2].tp_weight == 4 &&
            c->curve[2].fp_weight == 2.5 && c->curve[2].tp == 2 &&
            c->curve[2].fp == 2);
  clm_ranking_result_release(&r);
}

Test(ranking_weighted, binary_random_vs_reference, .init = setup,
     .fini = teardown, .timeout = 600) {
  static const uint64_t sizes[] = {1, 2, 3, 255, 256, 257, 1000, 4099, 100003};
  char what[96];
  for (int g = 0; g < W_COUNT; ++g)
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; ++i) {
      wdata d;
      gen_binary(&d, g, sizes[i], 1 + i);
      snprintf(what, sizeof what, "%s n=%llu", wgen_names[g],
               (unsigned long long)sizes[i]);
      check_all(what, &d);
      wdata_free(&d);
    }
}

Test(ranking_weighted, multiclass_vs_reference, .init = setup, .fini = teardown,
     .timeout = 600) {
  static const uint32_t ks[] = {3, 10};
  static const uint64_t sizes[] = {1, 2, 257, 30011};
  char what[96];
  for (size_t a = 0; a < 2; ++a)
    for (int v = 0; v < 3; ++v)
      for (size_t i = 0; i < sizeof sizes / sizeof *sizes; ++i) {
        /* v: float32 logits, float32 softmax, float64 logits. */
        wdata d;
        gen_multi(&d, ks[a], v == 2 ? CLM_DTYPE_F64 : CLM_DTYPE_F32, v == 1,
                  sizes[i], 7 + i);
        snprintf(what, sizeof what, "k=%u %s n=%llu", ks[a],
                 v == 0   ? "f32"
                 : v == 1 ? "softmax"
                          : "f64",
                 (unsigned long long)sizes[i]);
        check_all(what, &d);
        wdata_free(&d);
      }
}

/* Integer weights are repeated rows: the weighted result over the data
 * equals the unweighted one over the rows repeated w times. The AUC is
 * bit-identical: every weighted sum is an exact integer or half-integer
 * (below 2^64), so both are the one rounding of the same quotient. */
static void repeat_check(uint32_t k, clm_dtype dtype, uint64_t n,
                         uint64_t seed) {
  wdata d;
  if (k == 1)
    gen_binary(&d, dtype == CLM_DTYPE_F64 ? W_F64_TIES : W_TIES, n, seed);
  else
    gen_multi(&d, k, dtype, 0, n, seed);
  const size_t lsz = k == 1 ? 1 : 4,
               rsz = (size_t)k * (dtype == CLM_DTYPE_F64 ? 8 : 4);
  uint64_t m = 0;
  for (uint64_t i = 0; i < n; ++i) {
    d.w[i] = (float)clm_rng_below(&rng, 4);
    m += (uint64_t)d.w[i];
  }
  char *ly = malloc(m * lsz + 1), *ls = malloc(m * rsz + 1);
  uint64_t at = 0;
  for (uint64_t i = 0; i < n; ++i)
    for (int r = 0; r < (int)d.w[i]; ++r, ++at) {
      memcpy(ly + at * lsz, (char *)d.labels + i * lsz, lsz);
      memcpy(ls + at * rsz, (char *)d.scores + i * rsz, rsz);
    }
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.curve_points = n + 2;
  clm_ranking_result wr, ur;
  clm_error err;
  cr_assert_eq(clm_ranking_compute_arrays_weighted(
                   ctx, d.labels, d.scores, d.w, dtype, n, k, 0, &o, &wr, &err),
               CLM_OK, "%s", err.message);
  cr_assert_eq(
      clm_ranking_compute_arrays(ctx, ly, ls, dtype, m, k, 0, &o, &ur, &err),
      CLM_OK, "%s", err.message);
  for (uint32_t c = 0; c < k; ++c) {
    const clm_ranking_class *a = &wr.classes[c], *b = &ur.classes[c];
    cr_assert(same_bits(a->roc_auc, b->roc_auc),
              "k=%u class %u: weighted AUC %.17g, repeated %.17g", k, c,
              a->roc_auc, b->roc_auc);
    cr_assert(close_rel(a->average_precision, b->average_precision, tol(m)),
              "k=%u class %u: weighted AP %.17g, repeated %.17g", k, c,
              a->average_precision, b->average_precision);
    cr_assert(a->positive_weight == (double)b->positives &&
                  a->negative_weight == (double)b->negatives,
              "class %u: weight sums", c);
    cr_assert_eq(a->curve_len, b->curve_len, "class %u: %llu vs %llu points", c,
                 (unsigned long long)a->curve_len,
                 (unsigned long long)b->curve_len);
    for (uint64_t i = 0; i < a->curve_len; ++i)
      cr_assert(same_bits(a->curve[i].threshold, b->curve[i].threshold) &&
                    a->curve[i].tp_weight == (double)b->curve[i].tp &&
                    a->curve[i].fp_weight == (double)b->curve[i].fp &&
                    b->curve[i].tp_weight == (double)b->curve[i].tp,
                "class %u: curve[%llu]", c, (unsigned long long)i);
  }
  clm_ranking_result_release(&wr);
  clm_ranking_result_release(&ur);
  free(ly);
  free(ls);
  wdata_free(&d);
}

Test(ranking_weighted, integer_weights_are_repeated_rows, .init = setup,
     .fini = teardown) {
  repeat_check(1, CLM_DTYPE_F32, 5000, 11);
  repeat_check(1, CLM_DTYPE_F64, 3001, 12);
  repeat_check(3, CLM_DTYPE_F32, 2000, 13);
}

Test(ranking_weighted, huge_weight, .init = setup, .fini = teardown) {
  for (int g = 0; g < W_COUNT; ++g) {
    wdata d;
    gen_binary(&d, g, 2000, 99);
    d.w[17] = 1e30f;
    d.w[1500] = 3e30f;
    for (uint32_t c = 0; c < d.k; ++c)
      clm_ref_wranking_free(&d.ref[c]);
    wdata_reference(&d);
    char what[64];
    snprintf(what, sizeof what, "huge weight, %s", wgen_names[g]);
    check_all(what, &d);
    wdata_free(&d);
  }
}

Test(ranking_weighted, zero_weight_sums_are_undefined, .init = setup,
     .fini = teardown) {
  wdata d;
  gen_binary(&d, W_TIES, 500, 5);
  uint8_t *y = d.labels;
  for (uint64_t i = 0; i < d.n; ++i)
    if (y[i])
      d.w[i] = 0.0f;
  clm_ref_wranking_free(&d.ref[0]);
  wdata_reference(&d);
  clm_ranking_result r;
  clm_error err;
  cr_assert_eq(wrun(&d, 0, 0, 10, &r, &err), CLM_OK, "%s", err.message);
  const clm_ranking_class *c = &r.classes[0];
  cr_assert(isnan(c->roc_auc) && isnan(c->average_precision));
  cr_assert(c->positives > 0 && c->positive_weight == 0 &&
            c->negative_weight > 0);
  check_against_ref("positive weights zero", &d, &r, 0);
  clm_ranking_result_release(&r);
  /* Every weight zero: nothing to rank, no curve point. */
  memset(d.w, 0, d.n * sizeof *d.w);
  cr_assert_eq(wrun(&d, 0, 0, 10, &r, &err), CLM_OK, "%s", err.message);
  c = &r.classes[0];
  cr_assert(isnan(c->roc_auc) && isnan(c->average_precision) &&
            c->curve_len == 0 && c->distinct == 0 && c->positive_weight == 0 &&
            c->negative_weight == 0);
  clm_ranking_result_release(&r);
  /* Negative weights zero: AP defined, AUC not. */
  wdata_free(&d);
  gen_binary(&d, W_LOGITS, 300, 6);
  y = d.labels;
  for (uint64_t i = 0; i < d.n; ++i)
    if (!y[i])
      d.w[i] = 0.0f;
  clm_ref_wranking_free(&d.ref[0]);
  wdata_reference(&d);
  cr_assert_eq(wrun(&d, 0, 0, 0, &r, &err), CLM_OK, "%s", err.message);
  cr_assert(isnan(r.classes[0].roc_auc));
  cr_assert(r.classes[0].average_precision == 1.0);
  check_against_ref("negative weights zero", &d, &r, 0);
  clm_ranking_result_release(&r);
  wdata_free(&d);
}

Test(ranking_weighted, even_curve_points, .init = setup, .fini = teardown) {
  wdata d;
  gen_binary(&d, W_LOGITS, 20000, 3);
  const clm_ref_wranking *q = &d.ref[0];
  for (uint64_t m = 2; m <= 64; m *= 2) {
    clm_ranking_result r, rs;
    clm_error err;
    cr_assert_eq(wrun(&d, 0, 0, m, &r, &err), CLM_OK, "%s", err.message);
    cr_assert_eq(wrun(&d, CLM_RANKING_MIN_BUDGET, 0, m, &rs, &err), CLM_OK,
                 "%s", err.message);
    check_identical("even points", &r, &rs);
    const clm_ranking_class *c = &r.classes[0];
    cr_assert(c->curve_len >= 2 && c->curve_len <= m, "%llu points for m %llu",
              (unsigned long long)c->curve_len, (unsigned long long)m);
    cr_assert(same_threshold(c->curve[0].threshold, q->curve[0].threshold));
    cr_assert(same_threshold(c->curve[c->curve_len - 1].threshold,
                             q->curve[q->curve_len - 1].threshold));
    uint64_t j = 0;
    for (uint64_t i = 0; i < c->curve_len; ++i) {
      while (j < q->curve_len &&
             !same_threshold(q->curve[j].threshold, c->curve[i].threshold))
        ++j;
      cr_assert(j < q->curve_len, "point %llu not on the curve",
                (unsigned long long)i);
      cr_assert(
          c->curve[i].tp == q->curve[j].tp &&
          c->curve[i].fp == q->curve[j].fp &&
          close_rel(c->curve[i].tp_weight, q->curve[j].tp_weight, tol(d.n)) &&
          close_rel(c->curve[i].fp_weight, q->curve[j].fp_weight, tol(d.n)));
      /* Evenly in rank over the weighted rows: the point holding rank
       * 1 + floor(i (T - 1) / (m - 1)). */
      const uint64_t T =
          q->curve[q->curve_len - 1].tp + q->curve[q->curve_len - 1].fp;
      if (c->curve_len == m) {
        const uint64_t rank = 1 + i * (T - 1) / (m - 1);
        const uint64_t above = j ? q->curve[j - 1].tp + q->curve[j - 1].fp : 0;
        cr_assert(above < rank && rank <= q->curve[j].tp + q->curve[j].fp,
                  "point %llu does not hold rank %llu", (unsigned long long)i,
                  (unsigned long long)rank);
      }
    }
    clm_ranking_result_release(&r);
    clm_ranking_result_release(&rs);
  }
  wdata_free(&d);
}

Test(ranking_weighted, repeated_runs_identical, .init = setup,
     .fini = teardown) {
  wdata d;
  gen_multi(&d, 3, CLM_DTYPE_F32, 1, 20000, 77);
  clm_ranking_result a, b;
  clm_error err;
  cr_assert_eq(wrun(&d, 0, 0, 50, &a, &err), CLM_OK, "%s", err.message);
  for (int i = 0; i < 3; ++i) {
    cr_assert_eq(wrun(&d, 0, 0, 50, &b, &err), CLM_OK, "%s", err.message);
    check_identical("repeat", &a, &b);
    clm_ranking_result_release(&b);
  }
  clm_ranking_result_release(&a);
  wdata_free(&d);
}

static void expect_bad(wdata *d, clm_status want, int64_t index,
                       clm_input input, uint64_t batch) {
  clm_ranking_result r;
  clm_error err;
  const clm_status st = wrun(d, 0, batch, 0, &r, &err);
  cr_assert_eq(st, want, "status %d (%s), want %d", st, err.message, want);
  cr_assert_eq(err.index, index, "index %lld, want %lld (%s)",
               (long long)err.index, (long long)index, err.message);
  cr_assert_eq(err.input, input, "input %d, want %d", err.input, input);
  char idx[32];
  snprintf(idx, sizeof idx, "%lld", (long long)index);
  cr_assert(strstr(err.message, idx), "message '%s' names no row %s",
            err.message, idx);
  cr_assert_null(r.classes);
}

Test(ranking_weighted, bad_weights_name_the_row, .init = setup,
     .fini = teardown) {
  const float bad[4] = {NAN, -1.0f, INFINITY, -INFINITY};
  for (int b = 0; b < 4; ++b)
    for (uint64_t batch = 0; batch <= 16; batch += 16) {
      wdata d;
      gen_binary(&d, W_LOGITS, 100, 1);
      d.w[37] = bad[b];
      d.w[90] = -2.0f;
      expect_bad(&d, CLM_ERR_BAD_WEIGHT, 37, CLM_INPUT_WEIGHTS, batch);
      wdata_free(&d);
    }
  /* -0.0 is a weight of zero, not an error. */
  wdata d;
  gen_binary(&d, W_LOGITS, 100, 1);
  d.w[5] = -0.0f;
  clm_ranking_result r;
  clm_error err;
  cr_assert_eq(wrun(&d, 0, 0, 0, &r, &err), CLM_OK, "%s", err.message);
  clm_ranking_result_release(&r);
  /* The first bad row wins, whatever is wrong with it. */
  ((uint8_t *)d.labels)[10] = 2;
  d.w[50] = NAN;
  expect_bad(&d, CLM_ERR_BAD_LABEL, 10, CLM_INPUT_LABELS, 0);
  ((uint8_t *)d.labels)[10] = 1;
  d.w[3] = -1.0f;
  sf(&d)[60] = NAN;
  expect_bad(&d, CLM_ERR_BAD_WEIGHT, 3, CLM_INPUT_WEIGHTS, 16);
  d.w[3] = 1.0f;
  d.w[50] = 1.0f;
  expect_bad(&d, CLM_ERR_BAD_SCORE, 60, CLM_INPUT_SCORES, 0);
  wdata_free(&d);
  /* Multi-class. */
  gen_multi(&d, 3, CLM_DTYPE_F64, 0, 1000, 2);
  d.w[999] = NAN;
  expect_bad(&d, CLM_ERR_BAD_WEIGHT, 999, CLM_INPUT_WEIGHTS, 64);
  wdata_free(&d);
}

Test(ranking_weighted, arguments, .init = setup, .fini = teardown) {
  const uint8_t y[2] = {0, 1};
  const float s[2] = {0.f, 1.f}, w[2] = {1.f, 1.f};
  clm_ranking_result r;
  clm_error err;
  cr_assert_eq(clm_ranking_compute_arrays_weighted(ctx, y, s, w, CLM_DTYPE_F32,
                                                   0, 1, 0, NULL, &r, &err),
               CLM_ERR_EMPTY);
  cr_assert_eq(clm_ranking_compute_arrays_weighted(
                   ctx, y, s, NULL, CLM_DTYPE_F32, 2, 1, 0, NULL, &r, &err),
               CLM_ERR_INVALID_ARGUMENT);
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.memory_budget = CLM_RANKING_MIN_BUDGET - 1;
  cr_assert_eq(clm_ranking_compute_arrays_weighted(ctx, y, s, w, CLM_DTYPE_F32,
                                                   2, 1, 0, &o, &r, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_ranking_compute_arrays_weighted(ctx, y, s, w, CLM_DTYPE_F32,
                                                   2, 1, 0, NULL, &r, &err),
               CLM_OK, "%s", err.message);
  cr_assert(r.classes[0].roc_auc == 1.0 &&
            r.classes[0].average_precision == 1.0);
  cr_assert_eq(r.passes, 2);
  clm_ranking_result_release(&r);
}

/* The unweighted path fills the new fields: weights = counts. */
Test(ranking_weighted, unweighted_reports_counts_as_weights, .init = setup,
     .fini = teardown) {
  wdata d;
  gen_multi(&d, 3, CLM_DTYPE_F32, 0, 5000, 8);
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.curve_points = 20;
  clm_ranking_result r;
  clm_error err;
  cr_assert_eq(clm_ranking_compute_arrays(ctx, d.labels, d.scores, d.dtype, d.n,
                                          d.k, 0, &o, &r, &err),
               CLM_OK, "%s", err.message);
  for (uint32_t c = 0; c < 3; ++c) {
    const clm_ranking_class *k = &r.classes[c];
    cr_assert(k->positive_weight == (double)k->positives &&
              k->negative_weight == (double)k->negatives);
    cr_assert(k->curve_len > 0);
    for (uint64_t i = 0; i < k->curve_len; ++i)
      cr_assert(k->curve[i].tp_weight == (double)k->curve[i].tp &&
                k->curve[i].fp_weight == (double)k->curve[i].fp);
  }
  clm_ranking_result_release(&r);
  wdata_free(&d);
}
