/* Multilabel exact ranking (clm_ranking_compute_multilabel and sources
 * with `multilabel`): per-label ROC-AUC and average precision of an n x k
 * 0/1 indicator matrix against the sort-based references run on each
 * extracted column (clm_ref_ranking_multilabel, clm_ref_wranking_multilabel
 * in src/reference), never against the code under test.
 *
 * Exactness. Unweighted: counts, curves and `distinct` must equal the
 * reference's exactly, and ROC-AUC bit for bit (both divide the same exact
 * Mann-Whitney integer by 2 P N in long double and round once to double).
 * AP is the exact rational sum over thresholds of (R_n - R_{n-1}) P_n,
 * but its n floating-point terms are summed in a different order (the
 * library sums some in double): each term carries at most 2 roundings of
 * u_d = DBL_EPSILON / 2, the sum of n non-negative terms (n - 1) u_d
 * relative, the final division and rounding 2 u_d; so AP is held to
 * (n + 4) DBL_EPSILON relative (twice that first-order bound). Weighted:
 * the bound documented at clm_ranking_compute_arrays_weighted, tol(n) =
 * (10 n + 10) u_ld + DBL_EPSILON, as in test_ranking_weighted.c. */
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

/* ---- comparisons ---- */

static int close_rel(double got, double want, double rel) {
  if (isnan(want) || isnan(got))
    return isnan(want) && isnan(got);
  return fabs(got - want) <= rel * fabs(want);
}

static int same_bits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

/* Bit for bit, NaN with NaN. */
static int same_value(double a, double b) {
  return (isnan(a) && isnan(b)) || same_bits(a, b);
}

/* The reference names a tie group of -0.0 and +0.0 +0.0. */
static int same_threshold(double a, double b) {
  return (a == 0 && b == 0) || same_bits(a, b);
}

static double ap_rel(uint64_t n) {
  return ((double)n + 4.0) * DBL_EPSILON;
}

static double wtol(uint64_t n) {
  return (10.0 * (double)n + 10.0) * (LDBL_EPSILON / 2) + DBL_EPSILON;
}

/* ---- data ---- */

typedef struct mdata {
  uint64_t n;
  uint32_t k;
  clm_dtype dtype;
  int probs;
  uint8_t *labels; /* n x k indicator cells */
  void *scores;    /* n x k of dtype */
  float *w;        /* n row weights, NULL unweighted */
  double *ranked, *wd;
  clm_ref_ranking *ref;   /* unweighted: k entries */
  clm_ref_wranking *wref; /* weighted: k entries */
} mdata;

static void mdata_alloc(mdata *d, uint64_t n, uint32_t k, clm_dtype dtype,
                        int weighted) {
  memset(d, 0, sizeof *d);
  d->n = n;
  d->k = k;
  d->dtype = dtype;
  const size_t cells = (size_t)(n ? n : 1) * k;
  d->labels = calloc(cells, 1);
  d->scores = calloc(cells, dtype == CLM_DTYPE_F64 ? 8 : 4);
  d->ranked = calloc(cells, sizeof(double));
  if (weighted) {
    d->w = calloc(n ? n : 1, sizeof *d->w);
    d->wd = calloc(n ? n : 1, sizeof *d->wd);
    cr_assert(d->w && d->wd);
  }
  cr_assert(d->labels && d->scores && d->ranked);
}

static void mdata_free_ref(mdata *d) {
  for (uint32_t c = 0; d->ref && c < d->k; ++c)
    clm_ref_ranking_free(&d->ref[c]);
  for (uint32_t c = 0; d->wref && c < d->k; ++c)
    clm_ref_wranking_free(&d->wref[c]);
  free(d->ref);
  free(d->wref);
  d->ref = NULL;
  d->wref = NULL;
}

static void mdata_free(mdata *d) {
  mdata_free_ref(d);
  free(d->labels);
  free(d->scores);
  free(d->w);
  free(d->wd);
  free(d->ranked);
  memset(d, 0, sizeof *d);
}

static float *sf(const mdata *d) {
  return d->scores;
}
static double *sd(const mdata *d) {
  return d->scores;
}

/* (Re)computes the reference from the current labels, scores, weights. */
static void mdata_reference(mdata *d) {
  mdata_free_ref(d);
  const uint64_t cells = d->n * d->k;
  for (uint64_t i = 0; i < cells; ++i)
    d->ranked[i] = d->dtype == CLM_DTYPE_F64 ? sd(d)[i] : (double)sf(d)[i];
  if (d->w) {
    for (uint64_t i = 0; i < d->n; ++i)
      d->wd[i] = d->w[i];
    d->wref = calloc(d->k, sizeof *d->wref);
    cr_assert(d->wref);
    clm_ref_wranking_multilabel(d->labels, d->ranked, d->wd, d->n, d->k,
                                d->wref);
  } else {
    d->ref = calloc(d->k, sizeof *d->ref);
    cr_assert(d->ref);
    clm_ref_ranking_multilabel(d->labels, d->ranked, d->n, d->k, d->ref);
  }
}

enum gen {
  G_LOGITS,   /* float32 normal logits, shifted for positives */
  G_TIES,     /* float32 from {-1, -0, +0, 0.5, 2} */
  G_INF,      /* float32 ties with +-inf logits */
  G_PROBS,    /* float32 probabilities on a 1/16 grid, scores_are_probs */
  G_F64,      /* 53-bit doubles */
  G_F64_TIES, /* doubles one ulp apart, +-0, +-inf */
  G_COUNT
};
static const char *const gen_names[G_COUNT] = {"logits", "ties", "inf",
                                               "probs",  "f64",  "f64_ties"};

static int gen_f64(int g) {
  return g == G_F64 || g == G_F64_TIES;
}

/* Weights in [0, 3] as float32, about 1 in 5 exactly 0. */
static float weight(void) {
  if (clm_rng_below(&rng, 5) == 0)
    return 0.0f;
  return (float)(3.0 * clm_rng_uniform(&rng));
}

/* Random n x k data: column c is positive with probability (c % 5 + 1) / 7,
 * so the labels' supports differ; scores drawn from the generator, shifted
 * up for positives where the generator has room. */
static void gen(mdata *d, int g, uint64_t n, uint32_t k, int weighted,
                uint64_t seed) {
  mdata_alloc(d, n, k, gen_f64(g) ? CLM_DTYPE_F64 : CLM_DTYPE_F32, weighted);
  d->probs = g == G_PROBS;
  clm_rng_seed(&rng, clm_rng_splitmix64(seed * 1000003 + (uint64_t)g * 131 +
                                        k * 7 + (uint64_t)weighted));
  static const float tiesf[5] = {-1.0f, -0.0f, 0.0f, 0.5f, 2.0f};
  static const float inff[5] = {-INFINITY, -0.0f, 1.0f, INFINITY, 0.0f};
  const double one = 1.0;
  const double tiesd[6] = {-0.0, 0.0,       nextafter(one, 2),
                           one,  -INFINITY, INFINITY};
  for (uint64_t i = 0; i < n; ++i) {
    if (weighted)
      d->w[i] = weight();
    for (uint32_t c = 0; c < k; ++c) {
      const uint64_t j = i * k + c;
      const uint8_t y = clm_rng_below(&rng, 7) < c % 5 + 1;
      d->labels[j] = y;
      switch (g) {
      case G_LOGITS:
        sf(d)[j] = (float)(normal() + (y ? 0.8 : 0.0));
        break;
      case G_TIES:
        sf(d)[j] = tiesf[clm_rng_below(&rng, 5)];
        break;
      case G_INF:
        sf(d)[j] = y && clm_rng_below(&rng, 3) == 0
                       ? INFINITY
                       : inff[clm_rng_below(&rng, 5)];
        break;
      case G_PROBS:
        sf(d)[j] = (float)(clm_rng_below(&rng, 13) + (y ? 4 : 0)) / 16.0f;
        break;
      case G_F64:
        sd(d)[j] = clm_rng_uniform(&rng) + (y ? 0.2 : 0.0);
        break;
      default:
        sd(d)[j] = tiesd[clm_rng_below(&rng, 6)];
      }
    }
  }
  mdata_reference(d);
}

/* ---- running ---- */

/* A source of rows read in batches, each into one reused buffer. */
typedef struct msrc {
  const mdata *d;
  uint8_t *lbuf;
  char *sbuf;
  float *wbuf;
  uint64_t cap, last_first, last_count, from_zero;
  int order_bad;
} msrc;

static clm_status msrc_read(void *user, uint64_t first, uint64_t count,
                            const void **labels, const void **scores,
                            clm_error *err) {
  (void)err;
  msrc *s = user;
  const mdata *d = s->d;
  const size_t rsz = (size_t)d->k * (d->dtype == CLM_DTYPE_F64 ? 8 : 4);
  if (count > s->cap) {
    free(s->lbuf);
    free(s->sbuf);
    free(s->wbuf);
    s->cap = count;
    s->lbuf = malloc(count * d->k);
    s->sbuf = malloc(count * rsz);
    s->wbuf = malloc(count * sizeof *s->wbuf);
    cr_assert(s->lbuf && s->sbuf && s->wbuf);
  }
  memcpy(s->lbuf, d->labels + first * d->k, count * d->k);
  memcpy(s->sbuf, (const char *)d->scores + first * rsz, count * rsz);
  memset(s->wbuf, 0xff, count * sizeof *s->wbuf); /* NaN until read */
  s->last_first = first;
  s->last_count = count;
  s->from_zero += first == 0;
  *labels = s->lbuf;
  *scores = s->sbuf;
  return CLM_OK;
}

static clm_status msrc_weights(void *user, uint64_t first, uint64_t count,
                               const float **weights, clm_error *err) {
  (void)err;
  msrc *s = user;
  if (first != s->last_first || count != s->last_count)
    s->order_bad = 1;
  memcpy(s->wbuf, s->d->w + first, count * sizeof *s->wbuf);
  *weights = s->wbuf;
  return CLM_OK;
}

/* Arrays (batch 0) or a multilabel source read in batches. */
static clm_status run(const mdata *d, uint64_t budget, uint64_t batch,
                      uint64_t curve_points, clm_ranking_result *r,
                      clm_error *err) {
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.memory_budget = budget;
  o.curve_points = curve_points;
  o.scores_are_probs = d->probs;
  memset(r, 0, sizeof *r);
  memset(err, 0, sizeof *err);
  if (!batch)
    return clm_ranking_compute_multilabel(ctx, d->labels, d->scores, d->dtype,
                                          d->w, d->n, d->k, &o, r, err);
  o.batch_rows = batch;
  msrc s = {0};
  s.d = d;
  clm_ranking_source src = {.user = &s,
                            .n = d->n,
                            .k = d->k,
                            .dtype = d->dtype,
                            .read = msrc_read,
                            .read_weights = d->w ? msrc_weights : NULL,
                            .multilabel = 1};
  clm_status st = clm_ranking_compute(ctx, &src, &o, r, err);
  cr_assert(!s.order_bad, "read_weights() not for the rows just read");
  if (st == CLM_OK)
    cr_assert_eq((uint64_t)r->passes, s.from_zero,
                 "%u passes reported, %llu read from row 0", r->passes,
                 (unsigned long long)s.from_zero);
  free(s.lbuf);
  free(s.sbuf);
  free(s.wbuf);
  return st;
}

/* At most m points, the reference's first and last among them, each a
 * point of the reference curve, thresholds strictly descending. */
static void check_curve_small(const char *what, uint32_t c,
                              const clm_ranking_class *g,
                              const clm_ref_ranking *q, uint64_t m) {
  cr_assert(g->curve_len <= m &&
                g->curve_len >= (q->curve_len < 2 ? q->curve_len : 2),
            "%s label %u: %llu points with curve_points %llu (reference %llu)",
            what, c, (unsigned long long)g->curve_len, (unsigned long long)m,
            (unsigned long long)q->curve_len);
  uint64_t j = 0;
  for (uint64_t i = 0; i < g->curve_len; ++i) {
    const clm_curve_point *p = &g->curve[i];
    if (i)
      cr_assert(p->threshold < g->curve[i - 1].threshold,
                "%s label %u: thresholds not descending at %llu", what, c,
                (unsigned long long)i);
    while (j < q->curve_len &&
           !same_threshold(q->curve[j].threshold, p->threshold) &&
           q->curve[j].threshold > p->threshold)
      ++j;
    cr_assert(j < q->curve_len &&
                  same_threshold(q->curve[j].threshold, p->threshold) &&
                  q->curve[j].tp == p->tp && q->curve[j].fp == p->fp,
              "%s label %u: point %llu (%.17g, %llu, %llu) is not on the "
              "reference curve",
              what, c, (unsigned long long)i, p->threshold,
              (unsigned long long)p->tp, (unsigned long long)p->fp);
    if (i == 0)
      cr_assert_eq(j, 0, "%s label %u: the first point is not the highest",
                   what, c);
  }
  if (g->curve_len)
    cr_assert_eq(j, q->curve_len - 1,
                 "%s label %u: the last point is not the lowest", what, c);
}

/* Unweighted result against the reference: see the header comment. */
static void check_unweighted(const char *what, const mdata *d,
                             const clm_ranking_result *r,
                             uint64_t curve_points) {
  cr_assert_eq(r->n, d->n, "%s: n", what);
  cr_assert_eq(r->k, d->k, "%s: k", what);
  cr_assert_eq(r->exact, 1, "%s: not exact", what);
  const double rel = ap_rel(d->n);
  double auc_sum = 0, auc_w = 0, ap_sum = 0, ap_w = 0;
  uint64_t auc_n = 0, ap_n = 0, auc_pos = 0, ap_pos = 0;
  for (uint32_t c = 0; c < d->k; ++c) {
    const clm_ranking_class *g = &r->classes[c];
    const clm_ref_ranking *q = &d->ref[c];
    cr_assert(g->positives == q->pos && g->negatives == q->neg,
              "%s label %u: counts %llu/%llu, reference %llu/%llu", what, c,
              (unsigned long long)g->positives,
              (unsigned long long)g->negatives, (unsigned long long)q->pos,
              (unsigned long long)q->neg);
    cr_assert(same_value(g->roc_auc, q->roc_auc) &&
                  same_value(g->roc_auc_lo, q->roc_auc) &&
                  same_value(g->roc_auc_hi, q->roc_auc),
              "%s label %u: roc_auc %.17g [%.17g, %.17g], reference %.17g "
              "(P=%llu N=%llu)",
              what, c, g->roc_auc, g->roc_auc_lo, g->roc_auc_hi, q->roc_auc,
              (unsigned long long)q->pos, (unsigned long long)q->neg);
    cr_assert(close_rel(g->average_precision, q->average_precision, rel),
              "%s label %u: average_precision %.17g, reference %.17g", what, c,
              g->average_precision, q->average_precision);
    cr_assert(same_value(g->average_precision_lo, g->average_precision) &&
                  same_value(g->average_precision_hi, g->average_precision),
              "%s label %u: an exact AP with an interval", what, c);
    if (curve_points > d->n) {
      cr_assert_eq(g->distinct, q->curve_len,
                   "%s label %u: distinct %llu, reference %llu", what, c,
                   (unsigned long long)g->distinct,
                   (unsigned long long)q->curve_len);
      cr_assert_eq(g->curve_len, q->curve_len,
                   "%s label %u: %llu curve points, reference %llu", what, c,
                   (unsigned long long)g->curve_len,
                   (unsigned long long)q->curve_len);
      for (uint64_t i = 0; i < q->curve_len; ++i)
        cr_assert(
            same_threshold(g->curve[i].threshold, q->curve[i].threshold) &&
                g->curve[i].tp == q->curve[i].tp &&
                g->curve[i].fp == q->curve[i].fp,
            "%s label %u: curve[%llu] = (%.17g, %llu, %llu), reference "
            "(%.17g, %llu, %llu)",
            what, c, (unsigned long long)i, g->curve[i].threshold,
            (unsigned long long)g->curve[i].tp,
            (unsigned long long)g->curve[i].fp, q->curve[i].threshold,
            (unsigned long long)q->curve[i].tp,
            (unsigned long long)q->curve[i].fp);
    } else if (curve_points) {
      check_curve_small(what, c, g, q, curve_points);
    } else {
      cr_assert(g->curve == NULL && g->curve_len == 0,
                "%s label %u: a curve without curve_points", what, c);
    }
    if (!isnan(q->roc_auc)) {
      auc_sum += q->roc_auc;
      auc_w += q->roc_auc * (double)q->pos;
      auc_n++;
      auc_pos += q->pos;
    }
    if (!isnan(q->average_precision)) {
      ap_sum += q->average_precision;
      ap_w += q->average_precision * (double)q->pos;
      ap_n++;
      ap_pos += q->pos;
    }
  }
  /* Averages over the labels where defined; k more roundings at most. */
  const double arel = rel + 4.0 * d->k * DBL_EPSILON;
  const double want[4] = {auc_n ? auc_sum / (double)auc_n : NAN,
                          auc_pos ? auc_w / (double)auc_pos : NAN,
                          ap_n ? ap_sum / (double)ap_n : NAN,
                          ap_pos ? ap_w / (double)ap_pos : NAN};
  const double got[4] = {r->roc_auc_macro, r->roc_auc_weighted,
                         r->average_precision_macro,
                         r->average_precision_weighted};
  static const char *const names[4] = {"roc_auc_macro", "roc_auc_weighted",
                                       "average_precision_macro",
                                       "average_precision_weighted"};
  for (int i = 0; i < 4; ++i)
    cr_assert(close_rel(got[i], want[i], arel), "%s: %s %.17g, want %.17g",
              what, names[i], got[i], want[i]);
}

/* Weighted result against the weighted reference within wtol(n). */
static void check_weighted(const char *what, const mdata *d,
                           const clm_ranking_result *r, uint64_t curve_points) {
  const double rel = wtol(d->n);
  cr_assert(rel <= 1e-12, "tolerance %.3g", rel);
  cr_assert_eq(r->n, d->n, "%s: n", what);
  cr_assert_eq(r->k, d->k, "%s: k", what);
  cr_assert_eq(r->exact, 1, "%s: not exact", what);
  double auc_sum = 0, auc_w = 0, auc_pw = 0, ap_sum = 0, ap_w = 0, ap_pw = 0;
  unsigned auc_n = 0, ap_n = 0;
  for (uint32_t c = 0; c < d->k; ++c) {
    const clm_ranking_class *g = &r->classes[c];
    const clm_ref_wranking *q = &d->wref[c];
    cr_assert(g->positives == q->pos && g->negatives == q->neg,
              "%s label %u: counts %llu/%llu, reference %llu/%llu", what, c,
              (unsigned long long)g->positives,
              (unsigned long long)g->negatives, (unsigned long long)q->pos,
              (unsigned long long)q->neg);
    cr_assert(close_rel(g->positive_weight, q->pos_weight, rel) &&
                  close_rel(g->negative_weight, q->neg_weight, rel),
              "%s label %u: weights %.17g/%.17g, reference %.17g/%.17g", what,
              c, g->positive_weight, g->negative_weight, q->pos_weight,
              q->neg_weight);
    cr_assert(close_rel(g->roc_auc, q->roc_auc, rel),
              "%s label %u: roc_auc %.17g, reference %.17g", what, c,
              g->roc_auc, q->roc_auc);
    cr_assert(close_rel(g->average_precision, q->average_precision, rel),
              "%s label %u: average_precision %.17g, reference %.17g", what, c,
              g->average_precision, q->average_precision);
    cr_assert_eq(g->distinct, q->curve_len,
                 "%s label %u: distinct %llu, reference %llu", what, c,
                 (unsigned long long)g->distinct,
                 (unsigned long long)q->curve_len);
    if (curve_points > d->n) {
      cr_assert_eq(g->curve_len, q->curve_len,
                   "%s label %u: %llu curve points, reference %llu", what, c,
                   (unsigned long long)g->curve_len,
                   (unsigned long long)q->curve_len);
      for (uint64_t i = 0; i < q->curve_len; ++i) {
        const clm_curve_point *p = &g->curve[i];
        const clm_ref_wpoint *e = &q->curve[i];
        cr_assert(
            same_threshold(p->threshold, e->threshold) && p->tp == e->tp &&
                p->fp == e->fp && close_rel(p->tp_weight, e->tp_weight, rel) &&
                close_rel(p->fp_weight, e->fp_weight, rel),
            "%s label %u: curve[%llu] = (%.17g, %llu, %llu, %.17g, "
            "%.17g), reference (%.17g, %llu, %llu, %.17g, %.17g)",
            what, c, (unsigned long long)i, p->threshold,
            (unsigned long long)p->tp, (unsigned long long)p->fp, p->tp_weight,
            p->fp_weight, e->threshold, (unsigned long long)e->tp,
            (unsigned long long)e->fp, e->tp_weight, e->fp_weight);
      }
    } else if (curve_points) {
      cr_assert(g->curve_len <= curve_points,
                "%s label %u: %llu points with curve_points %llu", what, c,
                (unsigned long long)g->curve_len,
                (unsigned long long)curve_points);
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
  const double arel = rel + 4.0 * d->k * DBL_EPSILON;
  const double want[4] = {
      auc_n ? auc_sum / auc_n : NAN, auc_pw > 0 ? auc_w / auc_pw : NAN,
      ap_n ? ap_sum / ap_n : NAN, ap_pw > 0 ? ap_w / ap_pw : NAN};
  const double got[4] = {r->roc_auc_macro, r->roc_auc_weighted,
                         r->average_precision_macro,
                         r->average_precision_weighted};
  static const char *const names[4] = {"roc_auc_macro", "roc_auc_weighted",
                                       "average_precision_macro",
                                       "average_precision_weighted"};
  for (int i = 0; i < 4; ++i)
    cr_assert(close_rel(got[i], want[i], arel), "%s: %s %.17g, want %.17g",
              what, names[i], got[i], want[i]);
}

static void check(const char *what, const mdata *d, const clm_ranking_result *r,
                  uint64_t curve_points) {
  if (d->w)
    check_weighted(what, d, r, curve_points);
  else
    check_unweighted(what, d, r, curve_points);
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
    cr_assert(x->positives == y->positives && x->negatives == y->negatives &&
                  same_bits(x->roc_auc, y->roc_auc) &&
                  same_bits(x->average_precision, y->average_precision) &&
                  same_bits(x->positive_weight, y->positive_weight) &&
                  same_bits(x->negative_weight, y->negative_weight) &&
                  x->distinct == y->distinct && x->curve_len == y->curve_len,
              "%s label %u: %.17g/%.17g vs %.17g/%.17g", what, c, x->roc_auc,
              x->average_precision, y->roc_auc, y->average_precision);
    for (uint64_t i = 0; i < x->curve_len; ++i)
      cr_assert(same_bits(x->curve[i].threshold, y->curve[i].threshold) &&
                    x->curve[i].tp == y->curve[i].tp &&
                    x->curve[i].fp == y->curve[i].fp &&
                    same_bits(x->curve[i].tp_weight, y->curve[i].tp_weight) &&
                    same_bits(x->curve[i].fp_weight, y->curve[i].fp_weight),
                "%s label %u: curve[%llu] differs", what, c,
                (unsigned long long)i);
  }
}

/* The smallest budget the columns allow: CLM_RANKING_MIN_BUDGET up to a
 * few dozen columns, more for hundreds (the level-1 histogram needs room
 * for every column). */
static uint64_t small_budget(uint32_t k) {
  return k <= 32 ? CLM_RANKING_MIN_BUDGET : (uint64_t)512 << 10;
}

/* Peak memory allowed at a budget. Unweighted: the budget. Weighted, as
 * clm_ranking_compute_arrays_weighted documents: the budget, plus the
 * pending range lists (24 bytes a range, kept in arrays grown by half),
 * fewer than 2^w ranges per open split level per column, where 2^w (8 +
 * 24) <= budget / 32 and at most key_bits / w + 1 levels are open. */
static uint64_t memory_bound(const mdata *d, uint64_t budget) {
  if (!d->w)
    return budget;
  unsigned w = 16;
  while (w > 1 && ((uint64_t)1 << w) * 32 > budget / 32)
    --w;
  const uint64_t levels = (d->dtype == CLM_DTYPE_F64 ? 64 : 32) / w + 1;
  return budget + d->k * levels * ((uint64_t)1 << w) * 24 * 3 / 2;
}

/* Default budget with every curve point, a small budget (many passes) with
 * every curve point, and a source in odd batches at the small budget with
 * 5 curve points: each against the reference; the first two the same
 * bits. */
static void check_all(const char *what, const mdata *d) {
  char buf[256];
  clm_ranking_result big, small, batched;
  clm_error err;
  const uint64_t all = d->n + 2;
  clm_status st = run(d, 0, 0, all, &big, &err);
  cr_assert_eq(st, CLM_OK, "%s: %s", what, err.message);
  check(what, d, &big, all);
  cr_assert(big.memory_bytes <= CLM_RANKING_DEFAULT_BUDGET);
  const uint64_t b = small_budget(d->k);
  snprintf(buf, sizeof buf, "%s budget=%llu", what, (unsigned long long)b);
  st = run(d, b, 0, all, &small, &err);
  cr_assert_eq(st, CLM_OK, "%s: %s", buf, err.message);
  cr_assert(small.memory_bytes <= memory_bound(d, b),
            "%s: %llu bytes used, bound %llu", buf,
            (unsigned long long)small.memory_bytes,
            (unsigned long long)memory_bound(d, b));
  check(buf, d, &small, all);
  if (d->w)
    check_identical(buf, &big, &small);
  snprintf(buf, sizeof buf, "%s budget=%llu batch=997 M=5", what,
           (unsigned long long)b);
  st = run(d, b, 997, 5, &batched, &err);
  cr_assert_eq(st, CLM_OK, "%s: %s", buf, err.message);
  check(buf, d, &batched, 5);
  cr_log_info("%s: passes %u (default), %u (budget %llu)", what, big.passes,
              small.passes, (unsigned long long)b);
  clm_ranking_result_release(&big);
  clm_ranking_result_release(&small);
  clm_ranking_result_release(&batched);
}

/* ---- the reference's column extraction ---- */

Test(ranking_multilabel, reference_columns_by_hand) {
  /* 4 rows x 2 labels. Label 0: scores 0.9+, 0.8-, 0.8+, 0.1-: pairs
   * (0.9 over both) 2 + (0.8+ ties 0.8-, beats 0.1) 1.5 = 3.5 of 4; AP =
   * 1/2 * 1 + 1/2 * 2/3 = 5/6. Label 1: one positive at the top: AUC 1, AP
   * 1. */
  const uint8_t y[8] = {1, 0, 0, 1, 1, 0, 0, 0};
  const double s[8] = {0.9, 0.1, 0.8, 0.7, 0.8, 0.5, 0.1, 0.2};
  clm_ref_ranking r[2];
  clm_ref_ranking_multilabel(y, s, 4, 2, r);
  cr_assert(r[0].pos == 2 && r[0].neg == 2 && r[1].pos == 1 && r[1].neg == 3);
  cr_assert(r[0].roc_auc == 0.875, "%.17g", r[0].roc_auc);
  cr_assert(close_rel(r[0].average_precision, 5.0 / 6.0, 2 * DBL_EPSILON),
            "%.17g", r[0].average_precision);
  cr_assert(r[1].roc_auc == 1.0 && r[1].average_precision == 1.0);
  clm_ref_ranking_free(&r[0]);
  clm_ref_ranking_free(&r[1]);
  /* Weighted: row weights (1, 2, 0, 1); label 0 keeps 0.9+ (1), 0.1- (1)
   * and 0.8- (2): AUC 1, AP 1. */
  const double w[4] = {1, 2, 0, 1};
  clm_ref_wranking q[2];
  clm_ref_wranking_multilabel(y, s, w, 4, 2, q);
  cr_assert(q[0].pos == 2 && q[0].pos_weight == 1 && q[0].neg_weight == 3);
  cr_assert(q[0].roc_auc == 1.0 && q[0].average_precision == 1.0);
  clm_ref_wranking_free(&q[0]);
  clm_ref_wranking_free(&q[1]);
}

/* ---- against the reference: sizes x label counts x generators ---- */

static const uint64_t sizes[] = {1, 7, 255, 256, 257, 10007};
#define N_SIZES (sizeof sizes / sizeof *sizes)

static void sweep(uint32_t k, int weighted) {
  for (size_t i = 0; i < N_SIZES; ++i) {
    const uint64_t n = sizes[i];
    /* Rotate the generators so each (n, k) sees two of them. */
    for (int t = 0; t < 2; ++t) {
      const int g = (int)((i * 2 + t + k) % G_COUNT);
      if (n * k > 1000000 && t > 0)
        break; /* the largest case once */
      mdata d;
      gen(&d, g, n, k, weighted, n + t);
      char what[128];
      snprintf(what, sizeof what, "%s n=%llu k=%u%s", gen_names[g],
               (unsigned long long)n, k, weighted ? " weighted" : "");
      check_all(what, &d);
      mdata_free(&d);
    }
  }
}

Test(ranking_multilabel, k1, .init = setup, .fini = teardown) {
  sweep(1, 0);
}
Test(ranking_multilabel, k3, .init = setup, .fini = teardown) {
  sweep(3, 0);
}
Test(ranking_multilabel, k17, .init = setup, .fini = teardown) {
  sweep(17, 0);
}
Test(ranking_multilabel, k300, .init = setup, .fini = teardown) {
  sweep(300, 0);
}
Test(ranking_multilabel, weighted_k1, .init = setup, .fini = teardown) {
  sweep(1, 1);
}
Test(ranking_multilabel, weighted_k3, .init = setup, .fini = teardown) {
  sweep(3, 1);
}
Test(ranking_multilabel, weighted_k17, .init = setup, .fini = teardown) {
  sweep(17, 1);
}
Test(ranking_multilabel, weighted_k300, .init = setup, .fini = teardown) {
  sweep(300, 1);
}

/* Every generator at one mid size, so each dtype and tie pattern meets
 * both paths with several labels. */
Test(ranking_multilabel, every_generator, .init = setup, .fini = teardown) {
  for (int g = 0; g < G_COUNT; ++g)
    for (int weighted = 0; weighted < 2; ++weighted) {
      mdata d;
      gen(&d, g, 3001, 5, weighted, 77);
      char what[128];
      snprintf(what, sizeof what, "%s n=3001 k=5%s", gen_names[g],
               weighted ? " weighted" : "");
      check_all(what, &d);
      mdata_free(&d);
    }
}

/* ---- undefined labels ---- */

/* Labels without positives (AUC and AP NaN), with only positives (AUC NaN,
 * AP 1) and without any weighted positive: each NaN where undefined, and
 * the averages over the others. */
Test(ranking_multilabel, labels_without_both_classes, .init = setup,
     .fini = teardown) {
  for (int weighted = 0; weighted < 2; ++weighted) {
    mdata d;
    gen(&d, G_TIES, 2000, 6, weighted, 5);
    for (uint64_t i = 0; i < d.n; ++i) {
      d.labels[i * 6 + 1] = 0; /* no positives */
      d.labels[i * 6 + 4] = 1; /* all positives */
      if (weighted)            /* label 5's positives all weigh 0 */
        d.labels[i * 6 + 5] = d.w[i] == 0.0f;
    }
    mdata_reference(&d);
    const char *what = weighted ? "weighted undefined" : "undefined";
    check_all(what, &d);
    clm_ranking_result r;
    clm_error err;
    cr_assert_eq(run(&d, 0, 0, 0, &r, &err), CLM_OK, "%s", err.message);
    cr_assert(isnan(r.classes[1].roc_auc) &&
              isnan(r.classes[1].average_precision));
    cr_assert(isnan(r.classes[4].roc_auc) &&
              r.classes[4].average_precision == 1.0);
    if (weighted) {
      cr_assert(r.classes[5].positives > 0 &&
                r.classes[5].positive_weight == 0.0);
      cr_assert(isnan(r.classes[5].roc_auc) &&
                isnan(r.classes[5].average_precision));
    }
    cr_assert(!isnan(r.roc_auc_macro) && !isnan(r.average_precision_macro));
    clm_ranking_result_release(&r);
    mdata_free(&d);
  }
  /* No label defined at all: NaN averages. */
  mdata d;
  gen(&d, G_LOGITS, 50, 3, 0, 6);
  memset(d.labels, 0, 150);
  mdata_reference(&d);
  clm_ranking_result r;
  clm_error err;
  cr_assert_eq(run(&d, 0, 0, 0, &r, &err), CLM_OK, "%s", err.message);
  check_unweighted("no positives", &d, &r, 0);
  cr_assert(isnan(r.roc_auc_macro) && isnan(r.roc_auc_weighted) &&
            isnan(r.average_precision_macro) &&
            isnan(r.average_precision_weighted));
  clm_ranking_result_release(&r);
  mdata_free(&d);
}

/* ---- the same problem through other entry points ---- */

/* One 1 per row is one-vs-rest: the multilabel result over the indicator
 * matrix equals clm_ranking_compute_arrays over the class indices, bit for
 * bit (weighted too). */
Test(ranking_multilabel, one_hot_equals_one_vs_rest, .init = setup,
     .fini = teardown) {
  const uint32_t k = 7;
  for (int weighted = 0; weighted < 2; ++weighted) {
    mdata d;
    gen(&d, G_TIES, 4000, k, weighted, 8);
    int32_t *cls = malloc(d.n * sizeof *cls);
    cr_assert_not_null(cls);
    for (uint64_t i = 0; i < d.n; ++i) {
      cls[i] = (int32_t)clm_rng_below(&rng, k);
      for (uint32_t c = 0; c < k; ++c)
        d.labels[i * k + c] = cls[i] == (int32_t)c;
    }
    mdata_reference(&d);
    clm_ranking_options o;
    clm_ranking_options_init(&o);
    o.curve_points = 64;
    clm_ranking_result a, b;
    clm_error err;
    memset(&b, 0, sizeof b);
    cr_assert_eq(run(&d, 0, 0, 64, &a, &err), CLM_OK, "%s", err.message);
    const clm_status st =
        weighted
            ? clm_ranking_compute_arrays_weighted(
                  ctx, cls, d.scores, d.w, d.dtype, d.n, k, 0, &o, &b, &err)
            : clm_ranking_compute_arrays(ctx, cls, d.scores, d.dtype, d.n, k, 0,
                                         &o, &b, &err);
    cr_assert_eq(st, CLM_OK, "%s", err.message);
    check(weighted ? "one-hot weighted" : "one-hot", &d, &a, 64);
    check_identical(weighted ? "one-hot weighted" : "one-hot", &a, &b);
    clm_ranking_result_release(&a);
    clm_ranking_result_release(&b);
    free(cls);
    mdata_free(&d);
  }
}

/* k = 1 is binary: the same bits as clm_ranking_compute_arrays(k = 1). */
Test(ranking_multilabel, one_label_equals_binary, .init = setup,
     .fini = teardown) {
  for (int g = 0; g < G_COUNT; ++g)
    for (int weighted = 0; weighted < 2; ++weighted) {
      mdata d;
      gen(&d, g, 2500, 1, weighted, 9);
      clm_ranking_options o;
      clm_ranking_options_init(&o);
      o.curve_points = 100;
      o.scores_are_probs = d.probs;
      o.memory_budget = CLM_RANKING_MIN_BUDGET;
      clm_ranking_result a, b;
      clm_error err;
      memset(&a, 0, sizeof a);
      memset(&b, 0, sizeof b);
      cr_assert_eq(clm_ranking_compute_multilabel(ctx, d.labels, d.scores,
                                                  d.dtype, d.w, d.n, 1, &o, &a,
                                                  &err),
                   CLM_OK, "%s", err.message);
      const clm_status st =
          weighted
              ? clm_ranking_compute_arrays_weighted(ctx, d.labels, d.scores,
                                                    d.w, d.dtype, d.n, 1, 0, &o,
                                                    &b, &err)
              : clm_ranking_compute_arrays(ctx, d.labels, d.scores, d.dtype,
                                           d.n, 1, 0, &o, &b, &err);
      cr_assert_eq(st, CLM_OK, "%s", err.message);
      check_identical(gen_names[g], &a, &b);
      clm_ranking_result_release(&a);
      clm_ranking_result_release(&b);
      mdata_free(&d);
    }
}

/* scikit-learn's average="micro" on an indicator matrix ranks the n * k
 * cells as one binary problem (weighted: each row's weight repeated k
 * times). The indicator matrix already is those cells in row-major order,
 * so the binary call over n * k rows of the same arrays gives it: checked
 * against the reference on the flattened cells. */
Test(ranking_multilabel, micro_is_binary_over_the_cells, .init = setup,
     .fini = teardown) {
  for (int weighted = 0; weighted < 2; ++weighted) {
    mdata d;
    gen(&d, G_TIES, 1001, 13, weighted, 10);
    const uint64_t cells = d.n * d.k;
    float *wc = weighted ? malloc(cells * sizeof *wc) : NULL;
    double *wcd = weighted ? malloc(cells * sizeof *wcd) : NULL;
    for (uint64_t i = 0; weighted && i < cells; ++i) {
      wc[i] = d.w[i / d.k];
      wcd[i] = wc[i];
    }
    clm_ranking_options o;
    clm_ranking_options_init(&o);
    o.curve_points = cells + 1;
    clm_ranking_result r;
    clm_error err;
    memset(&r, 0, sizeof r);
    const clm_status st =
        weighted ? clm_ranking_compute_arrays_weighted(ctx, d.labels, d.scores,
                                                       wc, d.dtype, cells, 1, 0,
                                                       &o, &r, &err)
                 : clm_ranking_compute_arrays(ctx, d.labels, d.scores, d.dtype,
                                              cells, 1, 0, &o, &r, &err);
    cr_assert_eq(st, CLM_OK, "%s", err.message);
    if (weighted) {
      clm_ref_wranking q;
      clm_ref_wranking_eval(d.labels, d.ranked, wcd, cells, &q);
      const double rel = wtol(cells);
      cr_assert(close_rel(r.classes[0].roc_auc, q.roc_auc, rel) &&
                    close_rel(r.classes[0].average_precision,
                              q.average_precision, rel),
                "weighted micro: %.17g/%.17g, reference %.17g/%.17g",
                r.classes[0].roc_auc, r.classes[0].average_precision, q.roc_auc,
                q.average_precision);
      cr_assert_eq(r.classes[0].curve_len, q.curve_len);
      clm_ref_wranking_free(&q);
    } else {
      clm_ref_ranking q;
      clm_ref_ranking_eval(d.labels, d.ranked, cells, &q);
      cr_assert(same_bits(r.classes[0].roc_auc, q.roc_auc) &&
                    close_rel(r.classes[0].average_precision,
                              q.average_precision, ap_rel(cells)),
                "micro: %.17g/%.17g, reference %.17g/%.17g",
                r.classes[0].roc_auc, r.classes[0].average_precision, q.roc_auc,
                q.average_precision);
      cr_assert_eq(r.classes[0].curve_len, q.curve_len);
      for (uint64_t i = 0; i < q.curve_len; ++i)
        cr_assert(same_threshold(r.classes[0].curve[i].threshold,
                                 q.curve[i].threshold) &&
                  r.classes[0].curve[i].tp == q.curve[i].tp &&
                  r.classes[0].curve[i].fp == q.curve[i].fp);
      clm_ref_ranking_free(&q);
    }
    clm_ranking_result_release(&r);
    free(wc);
    free(wcd);
    mdata_free(&d);
  }
}

/* Many labels, few rows: more columns than a pass's level-1 table holds at
 * full width; the budget picks fewer prefix bits and more passes. */
Test(ranking_multilabel, many_labels, .init = setup, .fini = teardown) {
  const uint32_t k = 100000;
  for (int weighted = 0; weighted < 2; ++weighted) {
    mdata d;
    gen(&d, weighted ? G_F64_TIES : G_TIES, 12, k, weighted, 11);
    clm_ranking_result r;
    clm_error err;
    cr_assert_eq(run(&d, 0, 0, 20, &r, &err), CLM_OK, "%s", err.message);
    check(weighted ? "k=1e5 weighted" : "k=1e5", &d, &r, 20);
    cr_log_info("k=1e5%s: %u passes, %llu bytes", weighted ? " weighted" : "",
                r.passes, (unsigned long long)r.memory_bytes);
    clm_ranking_result_release(&r);
    mdata_free(&d);
  }
}

/* ---- errors ---- */

/* Arrays and a source of 100-row batches (weighted when d has weights):
 * both fail with `want` at flat index `index`, naming its row and column. */
static void expect_error(const char *what, const mdata *d, clm_status want,
                         uint64_t index) {
  char row_col[96];
  snprintf(row_col, sizeof row_col, "index %llu (row %llu, column %llu)",
           (unsigned long long)index, (unsigned long long)(index / d->k),
           (unsigned long long)(index % d->k));
  for (int via = 0; via < 2; ++via) {
    clm_ranking_result r;
    clm_error err;
    const clm_status st = run(d, 0, via ? 100 : 0, 10, &r, &err);
    cr_assert_eq(st, want, "%s (%s): status %d (%s), want %d: %s", what,
                 via ? "source" : "arrays", st, clm_status_str(st), want,
                 err.message);
    cr_assert_eq(err.status, want);
    cr_assert_eq(err.index, (int64_t)index,
                 "%s (%s): index %lld, want %llu: %s", what,
                 via ? "source" : "arrays", (long long)err.index,
                 (unsigned long long)index, err.message);
    cr_assert(strstr(err.message, row_col), "%s: message \"%s\" lacks \"%s\"",
              what, err.message, row_col);
    cr_assert_eq(err.input, want == CLM_ERR_BAD_LABEL ? CLM_INPUT_LABELS
                                                      : CLM_INPUT_SCORES);
    clm_ranking_result_release(&r);
  }
}

Test(ranking_multilabel, bad_labels_name_the_flat_index, .init = setup,
     .fini = teardown) {
  static const uint32_t ks[] = {1, 3, 17};
  for (int weighted = 0; weighted < 2; ++weighted)
    for (size_t ki = 0; ki < 3; ++ki) {
      const uint32_t k = ks[ki];
      mdata d;
      gen(&d, G_LOGITS, 1000, k, weighted, 12 + k);
      d.labels[900 * k + 0] = 255;
      d.labels[555 * k + (k - 1)] = 2;
      expect_error("label 2", &d, CLM_ERR_BAD_LABEL, 555 * k + (k - 1));
      /* Within a row, the lowest column first. */
      d.labels[555 * k + 0] = 3;
      expect_error("label 3", &d, CLM_ERR_BAD_LABEL, 555 * k);
      /* A row of weight 0 is checked all the same. */
      if (weighted)
        d.w[100] = 0.0f;
      d.labels[100 * k + k / 2] = 2;
      expect_error("label in a dropped row", &d, CLM_ERR_BAD_LABEL,
                   100 * k + k / 2);
      mdata_free(&d);
    }
}

Test(ranking_multilabel, nan_scores_name_the_flat_index, .init = setup,
     .fini = teardown) {
  for (int weighted = 0; weighted < 2; ++weighted) {
    mdata d;
    gen(&d, G_LOGITS, 1000, 17, weighted, 13);
    sf(&d)[800 * 17 + 3] = NAN;
    sf(&d)[432 * 17 + 16] = -NAN;
    expect_error("NaN", &d, CLM_ERR_BAD_SCORE, 432 * 17 + 16);
    /* A bad label in a lower column of the same row comes first; one in
     * a higher column does not. */
    d.labels[432 * 17 + 5] = 2;
    expect_error("label before NaN", &d, CLM_ERR_BAD_LABEL, 432 * 17 + 5);
    d.labels[432 * 17 + 5] = 1;
    d.labels[432 * 17 + 16] = 9;
    sf(&d)[432 * 17 + 7] = NAN;
    expect_error("NaN before label", &d, CLM_ERR_BAD_SCORE, 432 * 17 + 7);
    mdata_free(&d);
    gen(&d, G_F64, 1000, 3, weighted, 13);
    sd(&d)[0 * 3 + 2] = NAN;
    expect_error("f64 NaN", &d, CLM_ERR_BAD_SCORE, 2);
    mdata_free(&d);
    gen(&d, G_PROBS, 1000, 4, weighted, 13);
    sf(&d)[999 * 4 + 1] = 1.5f;
    expect_error("p = 1.5", &d, CLM_ERR_BAD_SCORE, 999 * 4 + 1);
    mdata_free(&d);
  }
}

static clm_status src_nothing(void *user, uint64_t first, uint64_t count,
                              const void **labels, const void **scores,
                              clm_error *err) {
  (void)user;
  (void)first;
  (void)count;
  (void)err;
  static const uint8_t y[4] = {0, 1, 0, 1};
  static const float z[4] = {0, 1, 2, 3};
  *labels = y;
  *scores = z;
  return CLM_OK;
}

static clm_status src_classes(void *user, uint64_t first, uint64_t count,
                              const void **labels, const void **scores,
                              clm_error *err) {
  (void)user;
  (void)count;
  (void)err;
  static const int32_t y[4] = {0, 1, 1, 0};
  static const float z[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  *labels = y + first;
  *scores = z + 2 * first;
  return CLM_OK;
}

Test(ranking_multilabel, invalid_arguments, .init = setup, .fini = teardown) {
  mdata d;
  gen(&d, G_LOGITS, 100, 3, 0, 14);
  clm_ranking_result r;
  clm_error err;
  memset(&r, 0, sizeof r);
  /* No rows: CLM_ERR_EMPTY, as the rest of the family. */
  cr_assert_eq(clm_ranking_compute_multilabel(ctx, d.labels, d.scores, d.dtype,
                                              NULL, 0, 3, NULL, &r, &err),
               CLM_ERR_EMPTY);
  cr_assert_eq(clm_ranking_compute_multilabel(ctx, NULL, NULL, d.dtype, NULL, 0,
                                              3, NULL, &r, &err),
               CLM_ERR_EMPTY);
  cr_assert_eq(clm_ranking_compute_multilabel(ctx, d.labels, d.scores, d.dtype,
                                              NULL, d.n, 0, NULL, &r, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_ranking_compute_multilabel(ctx, NULL, d.scores, d.dtype,
                                              NULL, d.n, 3, NULL, &r, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_ranking_compute_multilabel(ctx, d.labels, NULL, d.dtype,
                                              NULL, d.n, 3, NULL, &r, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_ranking_compute_multilabel(NULL, d.labels, d.scores, d.dtype,
                                              NULL, d.n, 3, NULL, &r, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_neq(clm_ranking_compute_multilabel(ctx, d.labels, d.scores,
                                               CLM_DTYPE_I32, NULL, d.n, 3,
                                               NULL, &r, &err),
                CLM_OK);
  /* A budget too small for 1000 labels' histograms is refused, not
   * exceeded. */
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.memory_budget = CLM_RANKING_MIN_BUDGET;
  mdata wide;
  gen(&wide, G_LOGITS, 10, 1000, 0, 14);
  cr_assert_eq(clm_ranking_compute_multilabel(ctx, wide.labels, wide.scores,
                                              wide.dtype, NULL, wide.n, 1000,
                                              &o, &r, &err),
               CLM_ERR_INVALID_ARGUMENT);
  mdata_free(&wide);
  /* softmax with multilabel through a source. */
  clm_ranking_source src = {.user = NULL,
                            .n = 2,
                            .k = 2,
                            .dtype = CLM_DTYPE_F32,
                            .softmax = 1,
                            .read = src_nothing,
                            .multilabel = 1};
  cr_assert_eq(clm_ranking_compute(ctx, &src, NULL, &r, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(err.message, "softmax"), "%s", err.message);
  /* Without softmax the same source works: labels (0, 1), (0, 1) against
   * scores (0, 1), (2, 3): label 0 has no positive, label 1 no negative. */
  src.softmax = 0;
  cr_assert_eq(clm_ranking_compute(ctx, &src, NULL, &r, &err), CLM_OK, "%s",
               err.message);
  cr_assert(r.classes[0].positives == 0 && r.classes[1].positives == 2);
  cr_assert(isnan(r.classes[0].roc_auc) &&
            r.classes[1].average_precision == 1.0);
  clm_ranking_result_release(&r);
  /* A positional initializer written before the field still compiles and
   * keeps the old meaning (multilabel 0: int32 class labels). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
  const clm_ranking_source old = {NULL, 4,           2,   CLM_DTYPE_F32,
                                  0,    src_classes, NULL};
#pragma GCC diagnostic pop
  cr_assert_eq(old.multilabel, 0);
  cr_assert_eq(clm_ranking_compute(ctx, &old, NULL, &r, &err), CLM_OK, "%s",
               err.message);
  /* Classes (0, 1, 1, 0): each class has 2 positives; column 1's scores
   * (1, 3, 5, 7) rank rows 1, 2 over row 0 but not over row 3: AUC 1/2. */
  cr_assert(r.classes[0].positives == 2 && r.classes[1].positives == 2);
  cr_assert(r.classes[1].roc_auc == 0.5, "%.17g", r.classes[1].roc_auc);
  clm_ranking_result_release(&r);
  mdata_free(&d);
}

/* The result does not depend on the budget or the batches: bit for bit
 * (unweighted too, where passes cut the key ranges differently). */
Test(ranking_multilabel, budgets_and_batches_agree, .init = setup,
     .fini = teardown) {
  mdata d;
  gen(&d, G_LOGITS, 20011, 9, 0, 15);
  clm_ranking_result a, b, c;
  clm_error err;
  cr_assert_eq(run(&d, 0, 0, 50, &a, &err), CLM_OK, "%s", err.message);
  cr_assert_eq(run(&d, CLM_RANKING_MIN_BUDGET, 0, 50, &b, &err), CLM_OK, "%s",
               err.message);
  cr_assert_eq(run(&d, CLM_RANKING_MIN_BUDGET, 3001, 50, &c, &err), CLM_OK,
               "%s", err.message);
  cr_assert(b.passes > a.passes, "min budget: %u passes, default %u", b.passes,
            a.passes);
  check_unweighted("default", &d, &a, 50);
  check_unweighted("min budget", &d, &b, 50);
  check_unweighted("min budget, batches", &d, &c, 50);
  for (uint32_t i = 0; i < d.k; ++i)
    cr_assert(same_bits(a.classes[i].roc_auc, b.classes[i].roc_auc) &&
              same_bits(a.classes[i].roc_auc, c.classes[i].roc_auc));
  cr_log_info("n=20011 k=9: %u passes (default), %u (min budget)", a.passes,
              b.passes);
  clm_ranking_result_release(&a);
  clm_ranking_result_release(&b);
  clm_ranking_result_release(&c);
  mdata_free(&d);
}
