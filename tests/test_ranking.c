/* Exact ROC-AUC and average precision (the ranking family) against the
 * sort-based double-precision reference (src/reference) and against hand
 * computations. Every expected value comes from the reference, from a
 * brute-force O(n^2) count, or from arithmetic done by hand; never from the
 * code under test. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmetrics.h"
#include "reference.h"

/* ---- fixture: the OpenCL context lives only in the test's process ---- */

static clm_context *ctx;

static void setup(void) {
  clm_context_options o;
  clm_context_options_init(&o);
  clm_error err;
  clm_status st = clm_context_create(&o, &ctx, &err);
  if (st == CLM_ERR_NO_PLATFORM || st == CLM_ERR_NO_DEVICE) {
    /* Only where no OpenCL device exists at all; CI installs PoCL. */
    cr_skip_test("no OpenCL device: %s", err.message);
  }
  cr_assert_eq(st, CLM_OK, "context: %s", err.message);
}
static void teardown(void) {
  clm_context_free(ctx);
  ctx = NULL;
}

static clm_rng rng;

static double normal(void) {
  const double u1 = 1.0 - clm_rng_uniform(&rng); /* (0, 1] */
  const double u2 = clm_rng_uniform(&rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- comparisons ---- */

/* got within rel * |want| of want (so an exact 0 must be exactly 0); NaN
 * only matches NaN. */
static int close_rel(double got, double want, double rel) {
  if (isnan(want) || isnan(got))
    return isnan(want) && isnan(got);
  return fabs(got - want) <= rel * fabs(want);
}

/* The same double, bit for bit, or zeros of either sign: the reference
 * gives a tie group of -0.0 and +0.0 the threshold +0.0, the library may
 * name it by either. */
static int same_threshold(double a, double b) {
  if (a == 0 && b == 0)
    return 1;
  return memcmp(&a, &b, sizeof a) == 0;
}

/* lo <= value <= hi, NaN together; an exact result has lo == value == hi. */
static void check_interval(const char *what, uint32_t c, const char *metric,
                           double lo, double v, double hi, int exact) {
  if (isnan(v)) {
    cr_assert(isnan(lo) && isnan(hi), "%s class %u %s: NaN with [%.17g, %.17g]",
              what, c, metric, lo, hi);
    return;
  }
  cr_assert(lo <= v && v <= hi, "%s class %u %s: %.17g not in [%.17g, %.17g]",
            what, c, metric, v, lo, hi);
  if (exact)
    cr_assert(lo == v && v == hi,
              "%s class %u %s: exact result but [%.17g, %.17g] around %.17g",
              what, c, metric, lo, hi, v);
}

/* One class of an exact (or, with rel > 1e-12, softmax) result against the
 * reference. */
static void check_class(const char *what, uint32_t c,
                        const clm_ranking_class *g, const clm_ref_ranking *r,
                        double rel, int exact) {
  cr_assert_eq(g->positives, r->pos, "%s class %u: positives %llu, want %llu",
               what, c, (unsigned long long)g->positives,
               (unsigned long long)r->pos);
  cr_assert_eq(g->negatives, r->neg, "%s class %u: negatives %llu, want %llu",
               what, c, (unsigned long long)g->negatives,
               (unsigned long long)r->neg);
  cr_assert(close_rel(g->roc_auc, r->roc_auc, rel),
            "%s class %u: roc_auc %.17g, reference %.17g (P=%llu N=%llu)", what,
            c, g->roc_auc, r->roc_auc, (unsigned long long)r->pos,
            (unsigned long long)r->neg);
  cr_assert(close_rel(g->average_precision, r->average_precision, rel),
            "%s class %u: average_precision %.17g, reference %.17g", what, c,
            g->average_precision, r->average_precision);
  check_interval(what, c, "roc_auc", g->roc_auc_lo, g->roc_auc, g->roc_auc_hi,
                 exact);
  check_interval(what, c, "average_precision", g->average_precision_lo,
                 g->average_precision, g->average_precision_hi, exact);
}

/* The whole curve, point for point. */
static void check_curve_full(const char *what, uint32_t c,
                             const clm_ranking_class *g,
                             const clm_ref_ranking *r) {
  cr_assert_eq(g->curve_len, r->curve_len,
               "%s class %u: %llu curve points, reference %llu", what, c,
               (unsigned long long)g->curve_len,
               (unsigned long long)r->curve_len);
  if (r->curve_len)
    cr_assert_not_null(g->curve, "%s class %u: no curve", what, c);
  for (uint64_t i = 0; i < r->curve_len; ++i) {
    const clm_curve_point *p = &g->curve[i];
    const clm_ref_rank_point *q = &r->curve[i];
    cr_assert(same_threshold(p->threshold, q->threshold) && p->tp == q->tp &&
                  p->fp == q->fp,
              "%s class %u: curve[%llu] = (%.17g, tp %llu, fp %llu), "
              "reference (%.17g, tp %llu, fp %llu)",
              what, c, (unsigned long long)i, p->threshold,
              (unsigned long long)p->tp, (unsigned long long)p->fp,
              q->threshold, (unsigned long long)q->tp,
              (unsigned long long)q->fp);
  }
  cr_assert(g->distinct == r->curve_len,
            "%s class %u: distinct %llu, reference %llu (every point known)",
            what, c, (unsigned long long)g->distinct,
            (unsigned long long)r->curve_len);
}

/* At most m points, the first and last of the reference's, every one of
 * them a reference point, thresholds strictly descending. */
static void check_curve_small(const char *what, uint32_t c,
                              const clm_ranking_class *g,
                              const clm_ref_ranking *r, uint64_t m) {
  cr_assert(g->curve_len >= 1 && g->curve_len <= m,
            "%s class %u: %llu curve points with curve_points = %llu", what, c,
            (unsigned long long)g->curve_len, (unsigned long long)m);
  cr_assert_not_null(g->curve);
  const uint64_t want_len = r->curve_len < 2 ? r->curve_len : 2;
  cr_assert(g->curve_len >= want_len, "%s class %u: %llu points", what, c,
            (unsigned long long)g->curve_len);
  const clm_curve_point *f = &g->curve[0], *l = &g->curve[g->curve_len - 1];
  const clm_ref_rank_point *rf = &r->curve[0],
                           *rl = &r->curve[r->curve_len - 1];
  cr_assert(same_threshold(f->threshold, rf->threshold) && f->tp == rf->tp &&
                f->fp == rf->fp,
            "%s class %u (M=%llu): first point (%.17g, %llu, %llu), reference "
            "(%.17g, %llu, %llu)",
            what, c, (unsigned long long)m, f->threshold,
            (unsigned long long)f->tp, (unsigned long long)f->fp, rf->threshold,
            (unsigned long long)rf->tp, (unsigned long long)rf->fp);
  cr_assert(same_threshold(l->threshold, rl->threshold) && l->tp == rl->tp &&
                l->fp == rl->fp,
            "%s class %u (M=%llu): last point (%.17g, %llu, %llu), reference "
            "(%.17g, %llu, %llu)",
            what, c, (unsigned long long)m, l->threshold,
            (unsigned long long)l->tp, (unsigned long long)l->fp, rl->threshold,
            (unsigned long long)rl->tp, (unsigned long long)rl->fp);
  uint64_t j = 0;
  for (uint64_t i = 0; i < g->curve_len; ++i) {
    const clm_curve_point *p = &g->curve[i];
    if (i)
      cr_assert(p->threshold < g->curve[i - 1].threshold,
                "%s class %u (M=%llu): thresholds not strictly descending at "
                "%llu: %.17g after %.17g",
                what, c, (unsigned long long)m, (unsigned long long)i,
                p->threshold, g->curve[i - 1].threshold);
    while (j < r->curve_len && r->curve[j].threshold > p->threshold &&
           !same_threshold(r->curve[j].threshold, p->threshold))
      ++j;
    cr_assert(j < r->curve_len &&
                  same_threshold(r->curve[j].threshold, p->threshold) &&
                  r->curve[j].tp == p->tp && r->curve[j].fp == p->fp,
              "%s class %u (M=%llu): point %llu (%.17g, tp %llu, fp %llu) is "
              "not a point of the reference curve",
              what, c, (unsigned long long)m, (unsigned long long)i,
              p->threshold, (unsigned long long)p->tp,
              (unsigned long long)p->fp);
  }
}

/* ---- data ---- */

typedef struct data {
  uint64_t n;
  uint32_t k;      /* 1: binary */
  clm_dtype dtype; /* F32 or F64 */
  int softmax;     /* k >= 2: rank the rows' float32 softmax */
  int probs;       /* scores lie in [0, 1]: run with scores_are_probs */
  void *labels;    /* uint8 (k == 1) or int32 */
  void *scores;    /* n x k of dtype */
  double *ranked;  /* n x k: what the reference ranks (widened, softmaxed) */
  clm_ref_ranking *ref; /* k entries */
} data;

static void data_alloc(data *d, uint64_t n, uint32_t k, clm_dtype dtype) {
  memset(d, 0, sizeof *d);
  d->n = n;
  d->k = k;
  d->dtype = dtype;
  const size_t cells = (size_t)(n ? n : 1) * k;
  d->labels = calloc(n ? n : 1, k == 1 ? 1 : 4);
  d->scores = calloc(cells, dtype == CLM_DTYPE_F64 ? 8 : 4);
  d->ranked = calloc(cells, sizeof(double));
  d->ref = calloc(k, sizeof *d->ref);
  cr_assert(d->labels && d->scores && d->ranked && d->ref);
}

static void data_free(data *d) {
  for (uint32_t c = 0; d->ref && c < d->k; ++c)
    clm_ref_ranking_free(&d->ref[c]);
  free(d->ref);
  free(d->labels);
  free(d->scores);
  free(d->ranked);
  memset(d, 0, sizeof *d);
}

static float *f32(const data *d) {
  return (float *)d->scores;
}
static double *f64(const data *d) {
  return (double *)d->scores;
}
static uint8_t *lab8(const data *d) {
  return (uint8_t *)d->labels;
}
static int32_t *lab32(const data *d) {
  return (int32_t *)d->labels;
}

/* The reference over what the device ranks: the stored values widened to
 * double, or for softmax the float32 softmax of each row. */
static void data_reference(data *d) {
  const uint64_t cells = d->n * d->k;
  for (uint64_t i = 0; i < cells; ++i)
    d->ranked[i] = d->dtype == CLM_DTYPE_F64 ? f64(d)[i] : (double)f32(d)[i];
  if (d->softmax) {
    float *p = malloc(d->k * sizeof(float));
    for (uint64_t i = 0; i < d->n; ++i) {
      clm_ref_softmax_f32(f32(d) + i * d->k, d->k, p);
      for (uint32_t c = 0; c < d->k; ++c)
        d->ranked[i * d->k + c] = p[c];
    }
    free(p);
  }
  if (d->k == 1)
    clm_ref_ranking_eval(lab8(d), d->ranked, d->n, &d->ref[0]);
  else
    clm_ref_ranking_ovr(lab32(d), d->ranked, d->n, d->k, d->ref);
}

/* Binary generators. */
enum gen {
  G_PROBS,    /* float32 probabilities, labels correlated */
  G_LOGITS,   /* normal logits */
  G_TIES,     /* 3 to 5 distinct values */
  G_EQUAL,    /* every score the same */
  G_PERFECT,  /* positives all above negatives */
  G_INVERTED, /* positives all below negatives */
  G_INF,      /* +-inf among finite logits */
  G_ZEROS,    /* -0.0 and +0.0 (must tie) with +-1 */
  G_DENORMAL, /* subnormal floats of both signs, 0, FLT_MIN */
  G_ALLNEG,   /* only negatives */
  G_ALLPOS,   /* only positives */
  G_DENSE,    /* most keys in one 16-bit key prefix, many ties */
  G_INTS,     /* the integers -1000..999: up to 8 share a key prefix */
  G64_RANDOM, /* 53-bit uniform doubles */
  G64_CLOSE,  /* doubles 1e-12 apart, equal as float32 */
  G64_WIDE,   /* magnitudes 1e-320 .. 1e300, +-inf, +-0 */
  G64_NARROW, /* 2^23 distinct doubles in [0.5, 0.5 + 2^-30) */
  G64_TIES,   /* 4 doubles one or two ulps apart */
  G_COUNT
};

static const char *const gen_names[G_COUNT] = {
    "probs", "logits",     "ties",      "equal",    "perfect",    "inverted",
    "inf",   "zeros",      "denorm",    "all_neg",  "all_pos",    "dense",
    "ints",  "f64_random", "f64_close", "f64_wide", "f64_narrow", "f64_ties"};

static int gen_is_f64(int g) {
  return g >= G64_RANDOM;
}
/* Scores in [0, 1]: run with scores_are_probs. */
static int gen_is_probs(int g) {
  return g == G_PROBS || g == G_EQUAL || g == G_PERFECT || g == G_INVERTED ||
         g == G_ALLNEG || g == G_ALLPOS || g == G64_RANDOM || g == G64_CLOSE ||
         g == G64_NARROW || g == G64_TIES;
}

static void gen_binary(data *d, int g, uint64_t n, uint64_t seed) {
  data_alloc(d, n, 1, gen_is_f64(g) ? CLM_DTYPE_F64 : CLM_DTYPE_F32);
  d->probs = gen_is_probs(g);
  clm_rng_seed(&rng, clm_rng_splitmix64(seed * 1000003ULL + (uint64_t)g));
  uint8_t *y = lab8(d);
  float *s = f32(d);
  double *t = f64(d);
  const unsigned nv = 3 + (unsigned)(seed % 3);
  static const float tv[5] = {-1.5f, 0.25f, 0.5f, 2.0f, 7.0f};
  for (uint64_t i = 0; i < n; ++i) {
    const double u = clm_rng_uniform(&rng);
    switch (g) {
    case G_PROBS:
      y[i] = clm_rng_uniform(&rng) < 0.3;
      s[i] = (float)(0.8 * u + (y[i] ? 0.2 : 0.0));
      break;
    case G_LOGITS:
      y[i] = u < 0.4;
      s[i] = (float)(normal() + (y[i] ? 1.0 : 0.0));
      break;
    case G_TIES: {
      const unsigned v = clm_rng_below(&rng, nv);
      s[i] = tv[v];
      y[i] = u < 0.2 + 0.15 * v;
      break;
    }
    case G_EQUAL:
      y[i] = u < 0.3;
      s[i] = 0.375f;
      break;
    case G_PERFECT:
    case G_INVERTED: {
      y[i] = u < 0.5;
      const double v = clm_rng_uniform(&rng) * 0.4;
      s[i] = (float)((y[i] == (g == G_PERFECT)) ? 0.6 + v : v);
      break;
    }
    case G_INF: {
      const double v = clm_rng_uniform(&rng);
      s[i] = v < 0.1 ? INFINITY : v < 0.2 ? -INFINITY : (float)(3.0 * normal());
      y[i] = u < (s[i] > 0 ? 0.6 : 0.3);
      break;
    }
    case G_ZEROS: {
      static const float zv[4] = {-0.0f, 0.0f, 1.0f, -1.0f};
      const unsigned v = clm_rng_below(&rng, 10);
      s[i] = zv[v < 3 ? 0 : v < 6 ? 1 : v < 8 ? 2 : 3];
      y[i] = u < (s[i] > 0 ? 0.7 : s[i] < 0 ? 0.2 : 0.45);
      break;
    }
    case G_DENORMAL: {
      const unsigned v = clm_rng_below(&rng, 12);
      const float sign = clm_rng_below(&rng, 2) ? -1.0f : 1.0f;
      float x;
      if (v < 8)
        x = (float)v * FLT_TRUE_MIN; /* 0 and the seven smallest */
      else if (v == 8)
        x = nextafterf(FLT_MIN, 0.0f); /* the largest subnormal */
      else if (v == 9)
        x = FLT_MIN;
      else if (v == 10)
        x = 0x1p-140f;
      else
        x = 1e-30f;
      s[i] = sign * x;
      y[i] = u < (s[i] > 0 ? 0.65 : 0.3);
      break;
    }
    case G_ALLNEG:
    case G_ALLPOS:
      y[i] = g == G_ALLPOS;
      s[i] = (float)u;
      break;
    case G_DENSE: {
      /* 1.0f plus up to 2^16 - 1 ulps shares the key's top 16 bits: one
       * level-1 range of tens of thousands of keys (counted per key on
       * the host), the rest a little below 2.0f. */
      const unsigned j = clm_rng_below(&rng, 65536);
      uint32_t b = 0x3f800000u + j;
      if (clm_rng_below(&rng, 10) == 0)
        b = 0x3fff0000u + (j & 0xff);
      memcpy(&s[i], &b, 4);
      y[i] = u < 0.2 + 0.6 * (double)j / 65536.0;
      break;
    }
    case G_INTS: {
      /* Integers from 2^8 on share a 16-bit prefix with their neighbours
       * (2^9..2^10: four a prefix), differing in a few key bits. */
      const int v = (int)clm_rng_below(&rng, 2000) - 1000;
      s[i] = (float)v;
      y[i] = u < 0.5 + 0.4 * (double)v / 1000.0;
      break;
    }
    case G64_RANDOM:
      t[i] = u;
      y[i] = clm_rng_uniform(&rng) < 0.2 + 0.6 * u;
      break;
    case G64_CLOSE: {
      /* Few bases, so that rows share one and differ by j only. */
      const float b = (float)(0.25 + (double)clm_rng_below(&rng, 200) * 0x1p-9 +
                              0x1p-20 * (u < 0.5));
      const unsigned j = clm_rng_below(&rng, 4);
      t[i] = (double)b * (1.0 + (double)j * 1e-12);
      y[i] = clm_rng_uniform(&rng) < 0.2 + 0.2 * j;
      break;
    }
    case G64_WIDE: {
      const unsigned v = clm_rng_below(&rng, 100);
      if (v < 2)
        t[i] = INFINITY;
      else if (v < 4)
        t[i] = -INFINITY;
      else if (v < 6)
        t[i] = 0.0;
      else if (v < 8)
        t[i] = -0.0;
      else
        t[i] = (v % 2 ? -1.0 : 1.0) * pow(10.0, -320.0 + 620.0 * u);
      y[i] = clm_rng_uniform(&rng) < (t[i] > 0 ? 0.6 : 0.3);
      break;
    }
    case G64_NARROW:
      t[i] = 0.5 + u * 0x1p-30;
      y[i] = clm_rng_uniform(&rng) < 0.4 + 0.2 * u;
      break;
    case G64_TIES: {
      const unsigned j = clm_rng_below(&rng, 4);
      t[i] = j == 0   ? 0.3
             : j == 1 ? nextafter(0.3, 1.0)
             : j == 2 ? nextafter(nextafter(0.3, 1.0), 1.0)
                      : nextafter(0.3, 0.0);
      y[i] = u < 0.25 + 0.1 * j;
      break;
    }
    }
  }
  data_reference(d);
}

/* Multi-class generators: probabilities (rows normalised), quantised
 * probabilities (ties), or logits. */
enum mgen {
  M_PROBS,  /* probabilities, rows normalised */
  M_QUANT,  /* multiples of 1/4: ties */
  M_LOGITS, /* normal logits */
  M_INF     /* logits with +-inf entries (ranked raw, no softmax) */
};

static void gen_multi(data *d, int g, uint32_t k, clm_dtype dtype, uint64_t n,
                      int softmax, uint64_t seed) {
  data_alloc(d, n, k, dtype);
  d->softmax = softmax;
  d->probs = g == M_PROBS || g == M_QUANT;
  clm_rng_seed(&rng, clm_rng_splitmix64(seed * 7919ULL + k));
  int32_t *y = lab32(d);
  double *row = malloc(k * sizeof(double));
  /* With k >= 10 the last class never occurs (undefined AUC and AP). */
  const uint32_t drawn = k >= 10 ? k - 1 : k;
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = (int32_t)clm_rng_below(&rng, drawn);
    double sum = 0;
    for (uint32_t c = 0; c < k; ++c) {
      if (g == M_LOGITS)
        row[c] = normal() + (c == (uint32_t)y[i] ? 1.0 : 0.0);
      else if (g == M_INF) {
        const uint32_t v = clm_rng_below(&rng, 10);
        row[c] = v == 0   ? -INFINITY
                 : v == 1 ? INFINITY
                          : normal() + (c == (uint32_t)y[i] ? 1.0 : 0.0);
      } else if (g == M_QUANT)
        row[c] = 0.25 * clm_rng_below(&rng, 4) +
                 (c == (uint32_t)y[i] && clm_rng_below(&rng, 2) ? 0.25 : 0.0);
      else
        row[c] = clm_rng_uniform(&rng) + (c == (uint32_t)y[i] ? 0.5 : 0.0);
      sum += row[c];
    }
    for (uint32_t c = 0; c < k; ++c) {
      if (dtype == CLM_DTYPE_F64)
        f64(d)[i * k + c] = g == M_PROBS ? row[c] / sum : row[c];
      else
        f32(d)[i * k + c] = (float)row[c];
    }
    if (dtype == CLM_DTYPE_F32 && g == M_PROBS) {
      /* Normalised in float32: x <= sum so x / sum <= 1. */
      float fs = 0;
      for (uint32_t c = 0; c < k; ++c)
        fs += f32(d)[i * k + c];
      for (uint32_t c = 0; c < k; ++c)
        f32(d)[i * k + c] /= fs;
    }
  }
  free(row);
  data_reference(d);
}

/* ---- a source that serves batches from a scratch copy ---- */

typedef struct src {
  const data *d;
  char *lbuf, *sbuf;
  uint64_t cap;
  uint64_t reads, from_zero, max_count;
  int out_of_range;
  uint64_t fail_on_read; /* 1-based read number that fails; 0: none */
} src;

static clm_status src_read(void *user, uint64_t first, uint64_t count,
                           const void **labels, const void **scores,
                           clm_error *err) {
  src *s = user;
  const data *d = s->d;
  ++s->reads;
  if (s->fail_on_read && s->reads == s->fail_on_read) {
    if (err) {
      memset(err, 0, sizeof *err);
      err->status = CLM_ERR_IO;
      err->index = -1;
      snprintf(err->message, sizeof err->message, "injected read failure");
    }
    return CLM_ERR_IO;
  }
  if (first + count > d->n || first > d->n)
    s->out_of_range = 1;
  if (first == 0)
    ++s->from_zero;
  if (count > s->max_count)
    s->max_count = count;
  const size_t lsz = d->k == 1 ? 1 : 4;
  const size_t rsz = (size_t)d->k * (d->dtype == CLM_DTYPE_F64 ? 8 : 4);
  if (count > s->cap) {
    free(s->lbuf);
    free(s->sbuf);
    s->cap = count;
    s->lbuf = malloc(count * lsz);
    s->sbuf = malloc(count * rsz);
  }
  /* One buffer, overwritten by each read: rows kept past the next read
   * would silently change. */
  if (!s->out_of_range) {
    memcpy(s->lbuf, (const char *)d->labels + first * lsz, count * lsz);
    memcpy(s->sbuf, (const char *)d->scores + first * rsz, count * rsz);
  }
  *labels = s->lbuf;
  *scores = s->sbuf;
  return CLM_OK;
}

static void src_free(src *s) {
  free(s->lbuf);
  free(s->sbuf);
}

/* Runs the computation over arrays (batch == 0) or through a source. */
static clm_status run(const data *d, const clm_ranking_options *o,
                      uint64_t batch, clm_ranking_result *r, clm_error *err,
                      src *s) {
  memset(r, 0, sizeof *r);
  memset(s, 0, sizeof *s);
  clm_ranking_options opts = *o;
  if (!batch)
    return clm_ranking_compute_arrays(ctx, d->labels, d->scores, d->dtype, d->n,
                                      d->k, d->softmax, &opts, r, err);
  opts.batch_rows = batch;
  s->d = d;
  clm_ranking_source source = {.user = s,
                               .n = d->n,
                               .k = d->k,
                               .dtype = d->dtype,
                               .softmax = d->softmax,
                               .read = src_read};
  clm_status st = clm_ranking_compute(ctx, &source, &opts, r, err);
  cr_assert(!s->out_of_range, "read() asked for rows past n = %llu",
            (unsigned long long)d->n);
  cr_assert(s->max_count <= batch, "read() of %llu rows with batch_rows %llu",
            (unsigned long long)s->max_count, (unsigned long long)batch);
  return st;
}

/* Runs and compares everything: counts, values, intervals, full curve,
 * averages. rel: 1e-12 (exact), 1e-6 (softmax). */
static void check_run(const char *what, const data *d, uint64_t budget,
                      uint64_t batch, uint64_t curve_points, double rel,
                      clm_ranking_result *out) {
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.memory_budget = budget;
  o.curve_points = curve_points;
  o.scores_are_probs = d->probs;
  clm_error err;
  src s;
  clm_status st = run(d, &o, batch, out, &err, &s);
  cr_assert_eq(st, CLM_OK, "%s: status %d (%s): %s", what, st,
               clm_status_str(st), err.message);
  if (batch)
    cr_assert_eq((uint64_t)out->passes, s.from_zero,
                 "%s: %u passes reported, %llu read from row 0", what,
                 out->passes, (unsigned long long)s.from_zero);
  src_free(&s);
  cr_assert_eq(out->n, d->n);
  cr_assert_eq(out->k, d->k);
  cr_assert_not_null(out->classes);
  cr_assert(out->passes >= 1, "%s: %u passes", what, out->passes);
  const uint64_t limit = budget ? budget : CLM_RANKING_DEFAULT_BUDGET;
  cr_assert(out->memory_bytes <= limit,
            "%s: %llu bytes used with a budget of %llu", what,
            (unsigned long long)out->memory_bytes, (unsigned long long)limit);
  cr_assert_eq(out->exact, 1, "%s: not exact", what);
  for (uint32_t c = 0; c < d->k; ++c) {
    check_class(what, c, &out->classes[c], &d->ref[c], rel, 1);
    if (curve_points >= d->n + 1 && rel <= 1e-12)
      check_curve_full(what, c, &out->classes[c], &d->ref[c]);
    else if (curve_points && rel <= 1e-12)
      check_curve_small(what, c, &out->classes[c], &d->ref[c], curve_points);
    else if (!curve_points)
      cr_assert(out->classes[c].curve == NULL && out->classes[c].curve_len == 0,
                "%s class %u: a curve without curve_points", what, c);
    if (rel <= 1e-12 && out->classes[c].distinct)
      cr_assert_eq(out->classes[c].distinct, d->ref[c].curve_len,
                   "%s class %u: distinct %llu, reference %llu", what, c,
                   (unsigned long long)out->classes[c].distinct,
                   (unsigned long long)d->ref[c].curve_len);
  }
  if (d->k >= 2) {
    /* Averages over the classes where each value is defined. */
    double sa = 0, wa = 0, sp = 0, wp = 0;
    uint64_t na = 0, np = 0, pa = 0, pp = 0;
    for (uint32_t c = 0; c < d->k; ++c) {
      const clm_ref_ranking *r = &d->ref[c];
      if (!isnan(r->roc_auc)) {
        sa += r->roc_auc;
        wa += (double)r->pos * r->roc_auc;
        ++na;
        pa += r->pos;
      }
      if (!isnan(r->average_precision)) {
        sp += r->average_precision;
        wp += (double)r->pos * r->average_precision;
        ++np;
        pp += r->pos;
      }
    }
    const double want[4] = {na ? sa / na : NAN, pa ? wa / pa : NAN,
                            np ? sp / np : NAN, pp ? wp / pp : NAN};
    const double got[4] = {out->roc_auc_macro, out->roc_auc_weighted,
                           out->average_precision_macro,
                           out->average_precision_weighted};
    static const char *const names[4] = {"roc_auc_macro", "roc_auc_weighted",
                                         "average_precision_macro",
                                         "average_precision_weighted"};
    for (int i = 0; i < 4; ++i)
      cr_assert(close_rel(got[i], want[i], rel), "%s: %s %.17g, want %.17g",
                what, names[i], got[i], want[i]);
  }
}

static void describe(char *buf, size_t size, const char *gen, const data *d,
                     uint64_t budget, uint64_t batch, uint64_t m) {
  snprintf(buf, size, "%s k=%u n=%llu %s%s budget=%llu batch=%llu M=%llu", gen,
           d->k, (unsigned long long)d->n,
           d->dtype == CLM_DTYPE_F64 ? "f64" : "f32",
           d->softmax ? " softmax" : "", (unsigned long long)budget,
           (unsigned long long)batch, (unsigned long long)m);
}

/* ---- the reference itself: hand values and a brute-force count ---- */

static void ref_hand_tol(const uint8_t *y, const double *s, uint64_t n,
                         double auc, double ap, uint64_t len, double rel) {
  clm_ref_ranking r;
  clm_ref_ranking_eval(y, s, n, &r);
  cr_assert(close_rel(r.roc_auc, auc, rel), "auc %.17g, hand %.17g", r.roc_auc,
            auc);
  cr_assert(close_rel(r.average_precision, ap, rel), "ap %.17g, hand %.17g",
            r.average_precision, ap);
  cr_assert_eq(r.curve_len, len);
  clm_ref_ranking_free(&r);
}

static void ref_hand(const uint8_t *y, const double *s, uint64_t n, double auc,
                     double ap, uint64_t len) {
  ref_hand_tol(y, s, n, auc, ap, len, 1e-15);
}

Test(ranking, reference_hand_values) {
  /* scikit-learn's documented example: AUC 0.75, AP 0.8333. */
  const uint8_t y1[4] = {0, 0, 1, 1};
  const double s1[4] = {0.1, 0.4, 0.35, 0.8};
  ref_hand(y1, s1, 4, 0.75, 5.0 / 6.0, 4);
  /* Ties: both positives tie one negative (1/2) and beat the other. */
  const uint8_t y2[4] = {1, 0, 1, 0};
  const double s2[4] = {0.5, 0.5, 0.5, 0.1};
  ref_hand(y2, s2, 4, 0.75, 2.0 / 3.0, 2);
  /* -0.0 ties +0.0. */
  const uint8_t y3[2] = {1, 0};
  const double s3[2] = {-0.0, 0.0};
  ref_hand(y3, s3, 2, 0.5, 0.5, 1);
  /* +-inf are ordinary values. */
  const uint8_t y4[4] = {1, 0, 1, 0};
  const double s4[4] = {INFINITY, INFINITY, -INFINITY, 0.0};
  /* pos inf: ties inf (1), beats 0 (2) -> 3; pos -inf: 0 -> U2 = 3 of 8. */
  ref_hand(y4, s4, 4, 3.0 / 8.0, 0.5 * 0.5 + 0.5 * 0.5, 3);
  /* One class only. */
  const uint8_t y5[3] = {1, 1, 1};
  ref_hand(y5, s1, 3, NAN, 1.0, 3);
  const uint8_t y6[3] = {0, 0, 0};
  ref_hand(y6, s1, 3, NAN, NAN, 3);
}

Test(ranking, reference_matches_brute_force) {
  clm_rng_seed(&rng, 4242);
  for (int t = 0; t < 50; ++t) {
    const uint64_t n = 1 + clm_rng_below(&rng, 300);
    const uint32_t nv = 1 + clm_rng_below(&rng, 20);
    uint8_t *y = malloc(n);
    double *s = malloc(n * sizeof(double));
    for (uint64_t i = 0; i < n; ++i) {
      y[i] = clm_rng_below(&rng, 3) == 0;
      s[i] = (double)clm_rng_below(&rng, nv) - 3.0;
      if (s[i] == 0 && clm_rng_below(&rng, 2))
        s[i] = -0.0;
    }
    uint64_t P = 0, N = 0, u2 = 0;
    for (uint64_t i = 0; i < n; ++i) {
      P += y[i];
      N += !y[i];
      if (y[i])
        for (uint64_t j = 0; j < n; ++j)
          if (!y[j])
            u2 += s[i] > s[j] ? 2 : s[i] == s[j] ? 1 : 0;
    }
    /* AP over thresholds v = 16, 15, ..., -3 that occur. */
    double ap = 0;
    uint64_t prev_tp = 0, len = 0;
    for (double v = 20; v >= -3; v -= 1) {
      uint64_t tp = 0, fp = 0, hit = 0;
      for (uint64_t i = 0; i < n; ++i) {
        hit += s[i] == v;
        tp += y[i] && s[i] >= v;
        fp += !y[i] && s[i] >= v;
      }
      if (!hit)
        continue;
      ++len;
      ap += (double)(tp - prev_tp) / (double)P * (double)tp / (double)(tp + fp);
      prev_tp = tp;
    }
    const double auc =
        P && N ? (double)u2 / (2.0 * (double)P * (double)N) : NAN;
    ref_hand_tol(y, s, n, auc, P ? ap : NAN, len, 1e-13);
    free(y);
    free(s);
  }
}

Test(ranking, reference_softmax_f32) {
  const float z[3] = {1.0f, 2.0f, 3.0f};
  float p[3];
  clm_ref_softmax_f32(z, 3, p);
  const float e0 = expf(-2.0f), e1 = expf(-1.0f), e2 = 1.0f;
  const float sum = e0 + e1 + e2;
  cr_assert(p[0] == e0 / sum && p[1] == e1 / sum && p[2] == e2 / sum);
  cr_assert(fabs(p[2] - 0.66524096) < 1e-6);
}

/* ---- hand examples through the library ---- */

static void lib_hand(const uint8_t *y, const float *s, uint64_t n, double auc,
                     double ap, const clm_ref_rank_point *curve, uint64_t len) {
  for (int wide = 0; wide < 2; ++wide) {
    double s64[8];
    for (uint64_t i = 0; i < n; ++i)
      s64[i] = s[i];
    clm_ranking_options o;
    clm_ranking_options_init(&o);
    o.curve_points = 100;
    clm_ranking_result r;
    clm_error err;
    clm_status st = clm_ranking_compute_arrays(
        ctx, y, wide ? (const void *)s64 : (const void *)s,
        wide ? CLM_DTYPE_F64 : CLM_DTYPE_F32, n, 1, 0, &o, &r, &err);
    cr_assert_eq(st, CLM_OK, "%s", err.message);
    cr_assert(close_rel(r.classes[0].roc_auc, auc, 1e-15), "auc %.17g vs %.17g",
              r.classes[0].roc_auc, auc);
    cr_assert(close_rel(r.classes[0].average_precision, ap, 1e-15),
              "ap %.17g vs %.17g", r.classes[0].average_precision, ap);
    cr_assert_eq(r.exact, 1);
    cr_assert_eq(r.classes[0].curve_len, len);
    for (uint64_t i = 0; i < len; ++i)
      cr_assert(
          same_threshold(r.classes[0].curve[i].threshold, curve[i].threshold) &&
              r.classes[0].curve[i].tp == curve[i].tp &&
              r.classes[0].curve[i].fp == curve[i].fp,
          "point %llu: (%.17g, %llu, %llu)", (unsigned long long)i,
          r.classes[0].curve[i].threshold,
          (unsigned long long)r.classes[0].curve[i].tp,
          (unsigned long long)r.classes[0].curve[i].fp);
    clm_ranking_result_release(&r);
  }
}

Test(ranking, hand_examples, .init = setup, .fini = teardown) {
  const uint8_t y1[4] = {0, 0, 1, 1};
  const float s1[4] = {0.1f, 0.4f, 0.35f, 0.8f};
  const clm_ref_rank_point c1[4] = {
      {0.8f, 1, 0}, {0.4f, 1, 1}, {0.35f, 2, 1}, {0.1f, 2, 2}};
  lib_hand(y1, s1, 4, 0.75, 5.0 / 6.0, c1, 4);
  const uint8_t y2[4] = {1, 0, 1, 0};
  const float s2[4] = {0.5f, 0.5f, 0.5f, 0.1f};
  const clm_ref_rank_point c2[2] = {{0.5f, 2, 1}, {0.1f, 2, 2}};
  lib_hand(y2, s2, 4, 0.75, 2.0 / 3.0, c2, 2);
  const uint8_t y3[2] = {1, 0};
  const float s3[2] = {-0.0f, 0.0f};
  const clm_ref_rank_point c3[1] = {{0.0, 1, 1}};
  lib_hand(y3, s3, 2, 0.5, 0.5, c3, 1);
  const uint8_t y4[4] = {1, 0, 1, 0};
  const float s4[4] = {INFINITY, INFINITY, -INFINITY, 0.0f};
  const clm_ref_rank_point c4[3] = {
      {INFINITY, 1, 1}, {0.0, 1, 2}, {-INFINITY, 2, 2}};
  lib_hand(y4, s4, 4, 3.0 / 8.0, 0.5, c4, 3);
}

/* ---- binary against the reference ---- */

struct bcase {
  int gen;
  uint64_t n;
  uint64_t batch; /* 0: arrays; else through a source */
};

ParameterizedTestParameters(ranking, binary_vs_reference) {
  static struct bcase cases[64];
  size_t m = 0;
#define ADD(g, nn, b)                                                          \
  cases[m++] = (struct bcase) {                                                \
    (g), (nn), (b)                                                             \
  }
  static const uint64_t sizes[] = {1,   2,    255,    256,
                                   257, 1000, 100003, (1u << 20) + 7};
  for (size_t i = 0; i < 8; ++i)
    ADD(G_PROBS, sizes[i], 0);
  ADD(G_PROBS, 100003, 1000);
  ADD(G_LOGITS, 257, 0);
  ADD(G_LOGITS, 1000, 0);
  ADD(G_LOGITS, 100003, 0);
  ADD(G_LOGITS, 12345, 1000);
  ADD(G_TIES, 1000, 0);
  ADD(G_TIES, 100003, 0);
  ADD(G_TIES, 5001, 1000);
  ADD(G_TIES, 3001, 7); /* many tiny batches */
  ADD(G_LOGITS, 5003, 997);
  ADD(G_EQUAL, 1, 0);
  ADD(G_EQUAL, 1000, 0);
  ADD(G_PERFECT, 2, 0);
  ADD(G_PERFECT, 1000, 0);
  ADD(G_INVERTED, 2, 0);
  ADD(G_INVERTED, 1000, 0);
  ADD(G_INF, 1000, 0);
  ADD(G_INF, 100003, 0);
  ADD(G_INF, 4000, 1000);
  ADD(G_ZEROS, 1000, 0);
  ADD(G_ZEROS, 3001, 1000);
  ADD(G_DENORMAL, 1000, 0);
  ADD(G_DENORMAL, 3001, 1000);
  ADD(G_ALLNEG, 1, 0);
  ADD(G_ALLNEG, 1000, 0);
  ADD(G_ALLPOS, 1, 0);
  ADD(G_ALLPOS, 1000, 0);
  ADD(G_DENSE, 250000, 0);
  ADD(G_INTS, 100003, 0);
  ADD(G_INTS, 6007, 1000);
  ADD(G_DENSE, 40000, 7777);
  ADD(G64_RANDOM, 1000, 0);
  ADD(G64_RANDOM, 100003, 0);
  ADD(G64_RANDOM, 20000, 1000);
  ADD(G64_CLOSE, 1000, 0);
  ADD(G64_CLOSE, 100003, 0);
  ADD(G64_WIDE, 10000, 0);
  ADD(G64_WIDE, 10000, 1000);
  ADD(G64_NARROW, 100003, 0);
  ADD(G64_TIES, 1000, 0);
  ADD(G64_TIES, 2500, 1000);
#undef ADD
  return cr_make_param_array(struct bcase, cases, m);
}

ParameterizedTest(struct bcase *c, ranking, binary_vs_reference) {
  setup();
  data d;
  gen_binary(&d, c->gen, c->n, c->n + 17);
  char what[160];
  clm_ranking_result r;
  /* The whole curve. */
  describe(what, sizeof what, gen_names[c->gen], &d, 0, c->batch, c->n + 1);
  check_run(what, &d, 0, c->batch, c->n + 1 >= 2 ? c->n + 1 : 2, 1e-12, &r);
  cr_log_info("%s: %u passes, %llu bytes", what, r.passes,
              (unsigned long long)r.memory_bytes);
  /* Each 16-bit key prefix holds one score: pass 1's least and greatest
   * keys resolve them, curves included, without a refine pass. */
  if (c->gen == G_TIES || c->gen == G_EQUAL || c->gen == G_ZEROS)
    cr_assert_eq(r.passes, 1, "%s: %u passes, expected 1", what, r.passes);
  /* Prefixes of a few integers: counted per lattice point, a few bytes a
   * prefix, in one refine pass even within 256 KiB (gathering their keys
   * would take 8 passes there). */
  if (c->gen == G_INTS) {
    cr_assert_eq(r.passes, 2, "%s: %u passes, expected 2", what, r.passes);
    clm_ranking_result rb;
    char bwhat[160];
    describe(bwhat, sizeof bwhat, gen_names[c->gen], &d, 262144, c->batch, 0);
    check_run(bwhat, &d, 262144, c->batch, 0, 1e-12, &rb);
    cr_assert_eq(rb.passes, 2, "%s: %u passes, expected 2", bwhat, rb.passes);
    clm_ranking_result_release(&rb);
  }
  clm_ranking_result_release(&r);
  /* Small curves: at most M points, all of them exact points. */
  if (!c->batch) {
    static const uint64_t ms[] = {2, 3, 10, 1000};
    for (size_t i = c->n > 200000 ? 2 : 0; i < (c->n > 200000 ? 3 : 4); ++i) {
      describe(what, sizeof what, gen_names[c->gen], &d, 0, 0, ms[i]);
      check_run(what, &d, 0, 0, ms[i], 1e-12, &r);
      clm_ranking_result_release(&r);
    }
    /* No curves. */
    describe(what, sizeof what, gen_names[c->gen], &d, 0, 0, 0);
    check_run(what, &d, 0, 0, 0, 1e-12, &r);
    clm_ranking_result_release(&r);
  }
  /* Known answers that do not need the reference. */
  const clm_ref_ranking *ref = &d.ref[0];
  if (c->gen == G_EQUAL && c->n > 1) {
    cr_assert_eq(ref->roc_auc, 0.5);
    cr_assert(close_rel(ref->average_precision, (double)ref->pos / (double)c->n,
                        1e-15));
  }
  if (c->gen == G_PERFECT && ref->pos && ref->neg)
    cr_assert(ref->roc_auc == 1.0 && ref->average_precision == 1.0);
  if (c->gen == G_INVERTED && ref->pos && ref->neg)
    cr_assert(ref->roc_auc == 0.0);
  if (c->gen == G_ALLPOS)
    cr_assert(isnan(ref->roc_auc) && ref->average_precision == 1.0);
  if (c->gen == G_ALLNEG)
    cr_assert(isnan(ref->roc_auc) && isnan(ref->average_precision));
  if (c->gen == G_ZEROS) {
    /* -0.0 and +0.0 tie: the same answer with every zero made +0.0. */
    data e;
    gen_binary(&e, c->gen, c->n, c->n + 17);
    for (uint64_t i = 0; i < c->n; ++i)
      if (f32(&e)[i] == 0)
        f32(&e)[i] = 0.0f;
    clm_ref_ranking_free(&e.ref[0]);
    data_reference(&e);
    cr_assert_eq(e.ref[0].roc_auc, ref->roc_auc);
    cr_assert_eq(e.ref[0].curve_len, ref->curve_len);
    data_free(&e);
    /* And ranking -0.0 below +0.0 would change it: the test can tell. */
    gen_binary(&e, c->gen, c->n, c->n + 17);
    for (uint64_t i = 0; i < c->n; ++i)
      if (f32(&e)[i] == 0 && signbit(f32(&e)[i]))
        f32(&e)[i] = -FLT_TRUE_MIN;
    clm_ref_ranking_free(&e.ref[0]);
    data_reference(&e);
    cr_assert_neq(e.ref[0].roc_auc, ref->roc_auc);
    data_free(&e);
  }
  if (c->gen == G64_CLOSE) {
    /* The float64 ranking differs from the float32 one: the test would
     * catch a library that ranked the rounded values. */
    uint8_t *y = lab8(&d);
    double *w = malloc(c->n * sizeof(double));
    for (uint64_t i = 0; i < c->n; ++i)
      w[i] = (double)(float)f64(&d)[i];
    clm_ref_ranking rr;
    clm_ref_ranking_eval(y, w, c->n, &rr);
    cr_assert(rr.roc_auc != ref->roc_auc && rr.curve_len < ref->curve_len,
              "float32 rounding should change the answer");
    clm_ref_ranking_free(&rr);
    free(w);
  }
  data_free(&d);
  teardown();
}

/* Probabilities through scores_are_probs: accepted in [0, 1]. */
Test(ranking, probabilities_flag_accepts_unit_interval, .init = setup,
     .fini = teardown) {
  data d;
  gen_binary(&d, G_PROBS, 5000, 5);
  f32(&d)[0] = 0.0f;
  f32(&d)[1] = -0.0f;
  f32(&d)[2] = 1.0f;
  clm_ref_ranking_free(&d.ref[0]);
  data_reference(&d);
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.scores_are_probs = 1;
  o.curve_points = 100000;
  clm_ranking_result r;
  clm_error err;
  cr_assert_eq(clm_ranking_compute_arrays(ctx, d.labels, d.scores, d.dtype, d.n,
                                          1, 0, &o, &r, &err),
               CLM_OK, "%s", err.message);
  check_class("probs", 0, &r.classes[0], &d.ref[0], 1e-12, 1);
  check_curve_full("probs", 0, &r.classes[0], &d.ref[0]);
  clm_ranking_result_release(&r);
  data_free(&d);
}

/* ---- every refinement path, forced by small budgets ---- */

struct budget_case {
  int gen;
  uint64_t budget;
  uint64_t batch;
};

ParameterizedTestParameters(ranking, small_budgets) {
  static struct budget_case cases[32];
  size_t m = 0;
  static const int gens[] = {G_PROBS, G64_RANDOM, G_TIES, G64_NARROW};
  static const uint64_t budgets[] = {CLM_RANKING_MIN_BUDGET, 96 << 10,
                                     256 << 10, 1 << 20};
  for (size_t g = 0; g < 4; ++g)
    for (size_t b = 0; b < 4; ++b)
      cases[m++] = (struct budget_case){gens[g], budgets[b], 0};
  cases[m++] = (struct budget_case){G_PROBS, CLM_RANKING_MIN_BUDGET, 1000};
  cases[m++] = (struct budget_case){G64_RANDOM, CLM_RANKING_MIN_BUDGET, 1000};
  return cr_make_param_array(struct budget_case, cases, m);
}

ParameterizedTest(struct budget_case *c, ranking, small_budgets) {
  setup();
  data d;
  gen_binary(&d, c->gen, 200000, 99);
  char what[160];
  clm_ranking_result r;
  describe(what, sizeof what, gen_names[c->gen], &d, c->budget, c->batch,
           d.n + 1);
  check_run(what, &d, c->budget, c->batch, d.n + 1, 1e-12, &r);
  cr_log_info("%s: %u passes, %llu bytes", what, r.passes,
              (unsigned long long)r.memory_bytes);
  if (c->budget == CLM_RANKING_MIN_BUDGET && c->gen != G_TIES)
    cr_assert(r.passes >= 2, "%s: only %u passes", what, r.passes);
  clm_ranking_result_release(&r);
  /* Without curves, and with a short one. */
  if (!c->batch) {
    describe(what, sizeof what, gen_names[c->gen], &d, c->budget, 0, 0);
    check_run(what, &d, c->budget, 0, 0, 1e-12, &r);
    cr_log_info("%s: %u passes, %llu bytes", what, r.passes,
                (unsigned long long)r.memory_bytes);
    clm_ranking_result_release(&r);
    describe(what, sizeof what, gen_names[c->gen], &d, c->budget, 0, 10);
    check_run(what, &d, c->budget, 0, 10, 1e-12, &r);
    clm_ranking_result_release(&r);
  }
  data_free(&d);
  teardown();
}

/* ---- multi-class one-vs-rest ---- */

struct mcase {
  int gen;
  uint32_t k;
  int f64;
  int softmax;
  uint64_t n;
  uint64_t budget;
  uint64_t batch;
};

ParameterizedTestParameters(ranking, multiclass_vs_reference) {
  static struct mcase cases[] = {
      {M_PROBS, 3, 0, 0, 20000, 0, 0},
      {M_QUANT, 3, 0, 0, 20000, 0, 0},
      {M_PROBS, 3, 1, 0, 20000, 0, 0},
      {M_PROBS, 10, 0, 0, 20000, 0, 0},
      {M_PROBS, 10, 1, 0, 20000, 0, 0},
      {M_QUANT, 10, 1, 0, 20000, 0, 0},
      {M_PROBS, 100, 0, 0, 5000, 0, 0},
      {M_PROBS, 100, 1, 0, 5000, 0, 0},
      {M_PROBS, 10, 0, 0, 50000, CLM_RANKING_MIN_BUDGET, 0},
      {M_PROBS, 3, 1, 0, 50000, CLM_RANKING_MIN_BUDGET, 1000},
      {M_PROBS, 10, 0, 0, 20000, 0, 1000},
      {M_LOGITS, 3, 0, 1, 20000, 0, 0},
      {M_LOGITS, 10, 0, 1, 20000, 0, 0},
      {M_LOGITS, 100, 0, 1, 20000, 0, 0},
      {M_LOGITS, 10, 0, 1, 20000, CLM_RANKING_MIN_BUDGET, 0},
      {M_LOGITS, 10, 0, 1, 20000, 0, 1000},
      {M_LOGITS, 10, 0, 0, 20000, 0, 0}, /* raw logits, no softmax */
      {M_PROBS, 2, 0, 0, 10000, 0, 0},
      {M_PROBS, 2, 1, 0, 10000, CLM_RANKING_MIN_BUDGET, 999},
      {M_INF, 3, 0, 0, 20000, 0, 0},
      {M_INF, 3, 1, 0, 20000, 0, 1000},
      {M_PROBS, 100, 0, 0, 5000, CLM_RANKING_MIN_BUDGET, 0},
      {M_PROBS, 100, 1, 0, 5000, 96 << 10, 0},
      {M_QUANT, 100, 0, 0, 5000, CLM_RANKING_MIN_BUDGET, 0},
  };
  return cr_make_param_array(struct mcase, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct mcase *c, ranking, multiclass_vs_reference) {
  setup();
  data d;
  gen_multi(&d, c->gen, c->k, c->f64 ? CLM_DTYPE_F64 : CLM_DTYPE_F32, c->n,
            c->softmax, c->k + c->n);
  static const char *const names[] = {"probs", "quantised", "logits", "inf"};
  const double rel = c->softmax ? 1e-6 : 1e-12;
  /* Full curves where they are small enough to hold; else 10 points. */
  const uint64_t m = c->softmax ? 0 : c->k <= 10 ? c->n + 1 : 10;
  char what[160];
  describe(what, sizeof what, names[c->gen], &d, c->budget, c->batch, m);
  clm_ranking_result r;
  check_run(what, &d, c->budget, c->batch, m, rel, &r);
  cr_log_info("%s: %u passes, %llu bytes", what, r.passes,
              (unsigned long long)r.memory_bytes);
  if (c->k >= 10) {
    /* The last class never occurs. */
    cr_assert_eq(r.classes[c->k - 1].positives, 0);
    cr_assert(isnan(r.classes[c->k - 1].roc_auc));
    cr_assert(isnan(r.classes[c->k - 1].average_precision));
  }
  clm_ranking_result_release(&r);
  data_free(&d);
  teardown();
}

/* ---- errors ---- */

static clm_status arrays(const data *d, const clm_ranking_options *o,
                         clm_ranking_result *r, clm_error *err) {
  memset(r, 0, sizeof *r);
  memset(err, 0, sizeof *err);
  return clm_ranking_compute_arrays(ctx, d->labels, d->scores, d->dtype, d->n,
                                    d->k, d->softmax, o, r, err);
}

/* Runs over arrays and through a source of 1000-row batches; both must
 * fail with `want` naming row `index`. */
static void expect_error(const char *what, const data *d, int probs,
                         clm_status want, int64_t index) {
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.scores_are_probs = probs;
  o.curve_points = 10;
  for (int via = 0; via < 2; ++via) {
    clm_ranking_result r;
    clm_error err;
    memset(&err, 0, sizeof err);
    src s;
    clm_status st =
        via ? run(d, &o, 1000, &r, &err, &s) : arrays(d, &o, &r, &err);
    if (via)
      src_free(&s);
    cr_assert_eq(st, want, "%s (%s): status %d (%s), want %d: %s", what,
                 via ? "source" : "arrays", st, clm_status_str(st), want,
                 err.message);
    cr_assert_eq(err.status, want, "%s: err.status %d", what, err.status);
    cr_assert_eq(err.index, index, "%s (%s): index %lld, want %lld: %s", what,
                 via ? "source" : "arrays", (long long)err.index,
                 (long long)index, err.message);
    clm_ranking_result_release(&r);
  }
}

/* Only class 0 occurs: its AUC is undefined (no negatives) and its AP is
 * 1; the other classes have neither. Macro and weighted AUC average over no
 * class (NaN); AP over class 0 alone (1). */
Test(ranking, multiclass_one_class_present, .init = setup, .fini = teardown) {
  data d;
  gen_multi(&d, M_PROBS, 3, CLM_DTYPE_F32, 2000, 0, 12);
  for (uint64_t i = 0; i < d.n; ++i)
    lab32(&d)[i] = 0;
  for (uint32_t c = 0; c < 3; ++c)
    clm_ref_ranking_free(&d.ref[c]);
  data_reference(&d);
  cr_assert(isnan(d.ref[0].roc_auc) && d.ref[0].average_precision == 1.0);
  clm_ranking_result r;
  check_run("one class", &d, 0, 0, d.n + 1, 1e-12, &r);
  cr_assert(isnan(r.roc_auc_macro) && isnan(r.roc_auc_weighted));
  cr_assert(r.average_precision_macro == 1.0 &&
            r.average_precision_weighted == 1.0);
  clm_ranking_result_release(&r);
  data_free(&d);
}

Test(ranking, nan_scores_name_the_first_row, .init = setup, .fini = teardown) {
  data d;
  gen_binary(&d, G_LOGITS, 3000, 1);
  f32(&d)[2500] = NAN;
  f32(&d)[1234] = NAN;
  expect_error("f32 NaN", &d, 0, CLM_ERR_BAD_SCORE, 1234);
  f32(&d)[1001] = -NAN;
  expect_error("f32 -NaN", &d, 0, CLM_ERR_BAD_SCORE, 1001);
  data_free(&d);
  gen_binary(&d, G64_RANDOM, 3000, 1);
  f64(&d)[2999] = NAN;
  f64(&d)[2001] = -NAN;
  expect_error("f64 NaN", &d, 1, CLM_ERR_BAD_SCORE, 2001);
  f64(&d)[0] = NAN;
  expect_error("f64 NaN at 0", &d, 0, CLM_ERR_BAD_SCORE, 0);
  data_free(&d);
  gen_multi(&d, M_PROBS, 3, CLM_DTYPE_F32, 3000, 0, 1);
  f32(&d)[1777 * 3 + 2] = NAN;
  f32(&d)[2222 * 3 + 0] = NAN;
  expect_error("k=3 NaN", &d, 1, CLM_ERR_BAD_SCORE, 1777);
  data_free(&d);
  gen_multi(&d, M_LOGITS, 10, CLM_DTYPE_F32, 3000, 1, 1);
  f32(&d)[1500 * 10 + 9] = NAN;
  expect_error("softmax NaN", &d, 0, CLM_ERR_BAD_SCORE, 1500);
  data_free(&d);
}

Test(ranking, bad_labels_name_the_first_row, .init = setup, .fini = teardown) {
  data d;
  gen_binary(&d, G_PROBS, 3000, 2);
  lab8(&d)[2900] = 255;
  lab8(&d)[1555] = 2;
  expect_error("binary label 2", &d, 1, CLM_ERR_BAD_LABEL, 1555);
  data_free(&d);
  static const uint32_t ks[3] = {3, 10, 100};
  for (int ki = 0; ki < 3; ++ki) {
    const uint32_t k = ks[ki];
    gen_multi(&d, M_PROBS, k, CLM_DTYPE_F32, 3000, 0, k);
    lab32(&d)[2500] = -1;
    lab32(&d)[1001] = (int32_t)k;
    expect_error("class label k", &d, 1, CLM_ERR_BAD_LABEL, 1001);
    lab32(&d)[999] = -1;
    expect_error("class label -1", &d, 1, CLM_ERR_BAD_LABEL, 999);
    data_free(&d);
  }
}

Test(ranking, probabilities_outside_unit_interval, .init = setup,
     .fini = teardown) {
  data d;
  gen_binary(&d, G_PROBS, 3000, 3);
  f32(&d)[2000] = 1.5f;
  expect_error("p = 1.5", &d, 1, CLM_ERR_BAD_SCORE, 2000);
  f32(&d)[1010] = -1e-30f;
  expect_error("p < 0", &d, 1, CLM_ERR_BAD_SCORE, 1010);
  f32(&d)[10] = INFINITY;
  expect_error("p = inf", &d, 1, CLM_ERR_BAD_SCORE, 10);
  /* The same values are fine as logits. */
  clm_ref_ranking_free(&d.ref[0]);
  data_reference(&d);
  d.probs = 0;
  clm_ranking_result r;
  check_run("logits outside [0, 1]", &d, 0, 0, d.n + 1, 1e-12, &r);
  clm_ranking_result_release(&r);
  data_free(&d);
  /* float64 checks its own value: 1 + 2^-52 rounds to 1.0f. */
  gen_binary(&d, G64_RANDOM, 3000, 3);
  f64(&d)[1700] = 1.0 + 0x1p-52;
  expect_error("f64 p = 1 + eps", &d, 1, CLM_ERR_BAD_SCORE, 1700);
  f64(&d)[1200] = -0x1p-1074;
  expect_error("f64 p = -denormal", &d, 1, CLM_ERR_BAD_SCORE, 1200);
  data_free(&d);
  gen_multi(&d, M_QUANT, 3, CLM_DTYPE_F32, 3000, 0, 3);
  f32(&d)[2999 * 3 + 1] = 1.25f;
  expect_error("k=3 p = 1.25", &d, 1, CLM_ERR_BAD_SCORE, 2999);
  data_free(&d);
}

/* A direct call with a zeroed result, released afterwards. */
static clm_status direct(const void *labels, const void *scores,
                         clm_dtype dtype, uint64_t n, uint32_t k, int softmax,
                         const clm_ranking_options *o, int use_ctx) {
  clm_ranking_result r;
  memset(&r, 0, sizeof r);
  clm_error err;
  clm_status st = clm_ranking_compute_arrays(
      use_ctx ? ctx : NULL, labels, scores, dtype, n, k, softmax, o, &r, &err);
  clm_ranking_result_release(&r);
  return st;
}

Test(ranking, invalid_arguments, .init = setup, .fini = teardown) {
  data d;
  gen_binary(&d, G_PROBS, 1000, 4);
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  clm_ranking_result r;
  clm_error err;
  /* Budgets: below the minimum is refused, the minimum works. */
  o.memory_budget = CLM_RANKING_MIN_BUDGET - 1;
  cr_assert_eq(arrays(&d, &o, &r, &err), CLM_ERR_INVALID_ARGUMENT);
  clm_ranking_result_release(&r);
  o.memory_budget = 1;
  cr_assert_eq(arrays(&d, &o, &r, &err), CLM_ERR_INVALID_ARGUMENT);
  clm_ranking_result_release(&r);
  o.memory_budget = CLM_RANKING_MIN_BUDGET;
  cr_assert_eq(arrays(&d, &o, &r, &err), CLM_OK, "%s", err.message);
  check_class("min budget", 0, &r.classes[0], &d.ref[0], 1e-12, 1);
  clm_ranking_result_release(&r);
  o.memory_budget = 0;
  /* curve_points: 0 or >= 2. */
  o.curve_points = 1;
  cr_assert_eq(arrays(&d, &o, &r, &err), CLM_ERR_INVALID_ARGUMENT);
  clm_ranking_result_release(&r);
  o.curve_points = 2;
  cr_assert_eq(arrays(&d, &o, &r, &err), CLM_OK, "%s", err.message);
  clm_ranking_result_release(&r);
  o.curve_points = 0;
  /* No samples: the header names no status for it; any error will do. */
  clm_status st = direct(d.labels, d.scores, d.dtype, 0, 1, 0, &o, 1);
  cr_log_info("n = 0: %s", clm_status_str(st));
  cr_assert_neq(st, CLM_OK, "n = 0 accepted");
  /* softmax is for k >= 2; dtypes are float32 or float64; k >= 1. */
  cr_assert_neq(direct(d.labels, d.scores, d.dtype, d.n, 1, 1, &o, 1), CLM_OK,
                "softmax with k = 1 accepted");
  cr_assert_neq(direct(d.labels, d.scores, CLM_DTYPE_I32, d.n, 1, 0, &o, 1),
                CLM_OK, "int32 scores accepted");
  cr_assert_neq(direct(d.labels, d.scores, d.dtype, d.n, 0, 0, &o, 1), CLM_OK,
                "k = 0 accepted");
  cr_assert_eq(direct(d.labels, d.scores, d.dtype, d.n, 1, 0, &o, 0),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(direct(NULL, d.scores, d.dtype, d.n, 1, 0, &o, 1),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(direct(d.labels, NULL, d.dtype, d.n, 1, 0, &o, 1),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_ranking_compute_arrays(ctx, d.labels, d.scores, d.dtype, d.n,
                                          1, 0, &o, NULL, &err),
               CLM_ERR_INVALID_ARGUMENT);
  /* err may be NULL, on success and on failure. */
  memset(&r, 0, sizeof r);
  cr_assert_eq(clm_ranking_compute_arrays(ctx, d.labels, d.scores, d.dtype, d.n,
                                          1, 0, &o, &r, NULL),
               CLM_OK);
  check_class("err NULL", 0, &r.classes[0], &d.ref[0], 1e-12, 1);
  clm_ranking_result_release(&r);
  f32(&d)[17] = NAN;
  cr_assert_eq(direct(d.labels, d.scores, d.dtype, d.n, 1, 0, &o, 1),
               CLM_ERR_BAD_SCORE);
  clm_ranking_result_release(NULL);
  data_free(&d);
}

Test(ranking, source_read_errors_end_the_computation, .init = setup,
     .fini = teardown) {
  data d;
  gen_binary(&d, G_PROBS, 5000, 6);
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.batch_rows = 1000;
  o.memory_budget = CLM_RANKING_MIN_BUDGET;
  for (uint64_t fail = 1; fail <= 7; fail += 3) {
    src s;
    memset(&s, 0, sizeof s);
    s.d = &d;
    s.fail_on_read = fail;
    clm_ranking_source source = {
        .user = &s, .n = d.n, .k = 1, .dtype = CLM_DTYPE_F32, .read = src_read};
    clm_ranking_result r;
    memset(&r, 0, sizeof r);
    clm_error err;
    memset(&err, 0, sizeof err);
    clm_status st = clm_ranking_compute(ctx, &source, &o, &r, &err);
    cr_assert_eq(st, CLM_ERR_IO, "read %llu failing: status %d",
                 (unsigned long long)fail, st);
    cr_assert(strstr(err.message, "injected") != NULL, "message: %s",
              err.message);
    cr_assert_eq(s.reads, fail, "%llu reads after read %llu failed",
                 (unsigned long long)s.reads, (unsigned long long)fail);
    clm_ranking_result_release(&r);
    src_free(&s);
  }
  data_free(&d);
}

/* A source whose rows change after the first pass: the refine passes must
 * notice (their counts no longer add up) rather than report a value. */
struct changing_src {
  const uint8_t *y[2];
  const float *z[2];
  unsigned passes;
};

static clm_status changing_read(void *user, uint64_t first, uint64_t count,
                                const void **labels, const void **scores,
                                clm_error *err) {
  (void)count;
  (void)err;
  struct changing_src *c = user;
  if (first == 0)
    ++c->passes;
  const int later = c->passes > 1;
  *labels = c->y[later] + first;
  *scores = c->z[later] + first;
  return CLM_OK;
}

Test(ranking, input_changed_between_passes_is_an_error, .init = setup,
     .fini = teardown) {
  enum { N = 50000 };
  uint8_t *y = malloc(N), *y2 = malloc(N);
  float *z = malloc(N * sizeof *z), *z2 = malloc(N * sizeof *z2);
  cr_assert(y && y2 && z && z2);
  clm_rng_seed(&rng, 99);
  for (int i = 0; i < N; ++i) {
    y[i] = clm_rng_uniform(&rng) < 0.4;
    z[i] = (float)clm_rng_uniform(&rng);
  }
  for (int change = 0; change < 3; ++change) {
    memcpy(y2, y, N);
    memcpy(z2, z, N * sizeof *z);
    if (change == 0)
      y2[N / 2] ^= 1; /* a label flips */
    else if (change == 1)
      z2[N / 3] = z2[N / 3] < 0.5f ? 0.75f : 0.25f; /* a score moves */
    else
      z2[N / 4] = nextafterf(z2[N / 4], 2.0f); /* within its prefix */
    for (int budget = 0; budget < 2; ++budget) {
      struct changing_src c = {{y, y2}, {z, z2}, 0};
      clm_ranking_source source = {.user = &c,
                                   .n = N,
                                   .k = 1,
                                   .dtype = CLM_DTYPE_F32,
                                   .read = changing_read};
      clm_ranking_options o;
      clm_ranking_options_init(&o);
      o.batch_rows = 4096;
      if (budget)
        o.memory_budget = CLM_RANKING_MIN_BUDGET;
      clm_ranking_result r;
      memset(&r, 0, sizeof r);
      clm_error err;
      const clm_status st = clm_ranking_compute(ctx, &source, &o, &r, &err);
      if (change < 2) {
        cr_expect_eq(st, CLM_ERR_FORMAT, "change %d budget %d: status %d",
                     change, budget, st);
        cr_expect(strstr(err.message, "changed") != NULL, "message: %s",
                  err.message);
      } else {
        /* A key that stays in its gathered prefix cannot be told from the
         * original by counts: the value is that of the data read last,
         * never garbage. */
        cr_expect(st == CLM_OK || st == CLM_ERR_FORMAT, "status %d", st);
      }
      clm_ranking_result_release(&r);
    }
  }
  free(y), free(y2), free(z), free(z2);
}

/* ---- streaming state ---- */

static void state_update(clm_ranking_state *st, const data *d, uint64_t first,
                         uint64_t count) {
  const size_t lsz = d->k == 1 ? 1 : 4;
  const size_t rsz = (size_t)d->k * (d->dtype == CLM_DTYPE_F64 ? 8 : 4);
  clm_error err;
  clm_status s =
      clm_ranking_update(ctx, st, first, (const char *)d->labels + first * lsz,
                         (const char *)d->scores + first * rsz, count, &err);
  cr_assert_eq(s, CLM_OK, "update [%llu, +%llu): %s", (unsigned long long)first,
               (unsigned long long)count, err.message);
}

static size_t state_cells(const clm_ranking_state *st) {
  return (size_t)st->k * ((size_t)1 << st->bits) * 2;
}

/* Checks a finalized streaming result: exact counts, the reference inside
 * every interval (slack 1e-12, or 1e-6 for softmax). */
static void check_stream(const char *what, const clm_ranking_result *r,
                         const data *d, double slack) {
  cr_assert_eq(r->n, d->n);
  cr_assert_eq(r->k, d->k);
  for (uint32_t c = 0; c < d->k; ++c) {
    const clm_ranking_class *g = &r->classes[c];
    const clm_ref_ranking *f = &d->ref[c];
    cr_assert_eq(g->positives, f->pos, "%s class %u", what, c);
    cr_assert_eq(g->negatives, f->neg, "%s class %u", what, c);
    cr_assert(g->curve == NULL && g->curve_len == 0);
    const double v[2][4] = {
        {g->roc_auc_lo, g->roc_auc, g->roc_auc_hi, f->roc_auc},
        {g->average_precision_lo, g->average_precision, g->average_precision_hi,
         f->average_precision}};
    for (int m = 0; m < 2; ++m) {
      const char *metric = m ? "average_precision" : "roc_auc";
      if (isnan(v[m][3])) {
        cr_assert(isnan(v[m][0]) && isnan(v[m][1]) && isnan(v[m][2]),
                  "%s class %u %s: undefined, got %.17g [%.17g, %.17g]", what,
                  c, metric, v[m][1], v[m][0], v[m][2]);
        continue;
      }
      cr_assert(v[m][0] <= v[m][1] && v[m][1] <= v[m][2],
                "%s class %u %s: %.17g not in [%.17g, %.17g]", what, c, metric,
                v[m][1], v[m][0], v[m][2]);
      cr_assert(v[m][0] - slack <= v[m][3] && v[m][3] <= v[m][2] + slack,
                "%s class %u %s: reference %.17g outside [%.17g, %.17g]", what,
                c, metric, v[m][3], v[m][0], v[m][2]);
      if (r->exact)
        cr_assert(v[m][0] == v[m][2], "%s: exact but class %u %s open", what, c,
                  metric);
    }
  }
}

/* Splits the data over `parts` states, each fed in three updates, merges
 * them, and checks the counts equal one state fed everything at once. */
static void stream(const char *what, const data *d, uint32_t bits,
                   uint32_t parts, clm_ranking_state *merged) {
  clm_ranking_state whole;
  cr_assert_eq(clm_ranking_state_init(&whole, d->k, d->dtype, d->softmax, bits),
               CLM_OK);
  state_update(&whole, d, 0, d->n);
  clm_ranking_state *st = calloc(parts, sizeof *st);
  for (uint32_t p = 0; p < parts; ++p) {
    cr_assert_eq(
        clm_ranking_state_init(&st[p], d->k, d->dtype, d->softmax, bits),
        CLM_OK);
    const uint64_t a = d->n * p / parts, b = d->n * (p + 1) / parts;
    const uint64_t m1 = a + (b - a) / 5, m2 = a + (b - a) * 3 / 4;
    state_update(&st[p], d, a, m1 - a);
    state_update(&st[p], d, m1, m2 - m1);
    state_update(&st[p], d, m2, b - m2);
    cr_assert_eq(st[p].n, b - a);
  }
  for (uint32_t p = 1; p < parts; ++p)
    cr_assert_eq(clm_ranking_merge(&st[0], &st[p]), CLM_OK);
  cr_assert_eq(st[0].n, d->n);
  cr_assert_eq(st[0].bits, whole.bits);
  cr_assert(memcmp(st[0].counts, whole.counts,
                   state_cells(&whole) * sizeof(uint64_t)) == 0,
            "%s: merged counts differ from one state fed all rows", what);
  /* Every row counted once per column, under its class. */
  for (uint32_t c = 0; c < d->k; ++c) {
    uint64_t neg = 0, pos = 0;
    const uint64_t *cc =
        whole.counts + (size_t)c * ((size_t)1 << whole.bits) * 2;
    for (size_t i = 0; i < ((size_t)1 << whole.bits); ++i) {
      neg += cc[2 * i];
      pos += cc[2 * i + 1];
    }
    cr_assert(neg == d->ref[c].neg && pos == d->ref[c].pos,
              "%s class %u: counts sum to (%llu, %llu), want (%llu, %llu)",
              what, c, (unsigned long long)neg, (unsigned long long)pos,
              (unsigned long long)d->ref[c].neg,
              (unsigned long long)d->ref[c].pos);
  }
  /* The same metrics either way. */
  clm_ranking_result a, b;
  cr_assert_eq(clm_ranking_finalize(&whole, &a), CLM_OK);
  cr_assert_eq(clm_ranking_finalize(&st[0], &b), CLM_OK);
  for (uint32_t c = 0; c < d->k; ++c)
    cr_assert(memcmp(&a.classes[c].roc_auc, &b.classes[c].roc_auc,
                     6 * sizeof(double)) == 0,
              "%s class %u: merged and whole finalize differently", what, c);
  clm_ranking_result_release(&a);
  clm_ranking_result_release(&b);
  clm_ranking_state_release(&whole);
  for (uint32_t p = 1; p < parts; ++p)
    clm_ranking_state_release(&st[p]);
  *merged = st[0];
  free(st);
}

struct scase {
  int gen; /* binary gen, or -1 - mgen for multi-class */
  uint32_t k;
  int f64;
  int softmax;
  uint64_t n;
  uint32_t bits;
};

ParameterizedTestParameters(ranking, streaming_intervals) {
  static struct scase cases[] = {
      {G_PROBS, 1, 0, 0, 100003, 0},      {G_PROBS, 1, 0, 0, 100003, 8},
      {G_LOGITS, 1, 0, 0, 50000, 12},     {G_TIES, 1, 0, 0, 50000, 0},
      {G_INF, 1, 0, 0, 20000, 0},         {G_ZEROS, 1, 0, 0, 20000, 0},
      {G64_RANDOM, 1, 1, 0, 50000, 0},    {G64_CLOSE, 1, 1, 0, 50000, 16},
      {G_ALLPOS, 1, 0, 0, 1000, 0},       {G_ALLNEG, 1, 0, 0, 1000, 0},
      {-1 - M_PROBS, 10, 0, 0, 20000, 0}, {-1 - M_PROBS, 3, 1, 0, 20000, 10},
      {-1 - M_LOGITS, 3, 0, 1, 20000, 0}, {-1 - M_PROBS, 100, 0, 0, 5000, 0},
      {-1 - M_INF, 3, 1, 0, 20000, 8},
  };
  return cr_make_param_array(struct scase, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct scase *c, ranking, streaming_intervals) {
  setup();
  data d;
  if (c->gen >= 0)
    gen_binary(&d, c->gen, c->n, 31);
  else
    gen_multi(&d, -1 - c->gen, c->k, c->f64 ? CLM_DTYPE_F64 : CLM_DTYPE_F32,
              c->n, c->softmax, 31);
  char what[160];
  describe(what, sizeof what, c->gen >= 0 ? gen_names[c->gen] : "multiclass",
           &d, 0, 0, 0);
  clm_ranking_state st;
  stream(what, &d, c->bits, 4, &st);
  if (c->bits)
    cr_assert_eq(st.bits, c->bits);
  clm_ranking_result r;
  cr_assert_eq(clm_ranking_finalize(&st, &r), CLM_OK);
  check_stream(what, &r, &d, c->softmax ? 1e-6 : 1e-12);
  cr_log_info("%s bits=%u: AUC [%.9f, %.9f] (ref %.9f), exact %d", what,
              st.bits, r.classes[0].roc_auc_lo, r.classes[0].roc_auc_hi,
              d.ref[0].roc_auc, r.exact);
  clm_ranking_result_release(&r);
  clm_ranking_state_release(&st);
  data_free(&d);
  teardown();
}

/* Separated data: each key prefix holds one class only. */
static void separated(data *d, uint64_t n, clm_dtype dtype, int variant) {
  data_alloc(d, n, 1, dtype);
  clm_rng_seed(&rng, 77 + (uint64_t)variant);
  for (uint64_t i = 0; i < n; ++i) {
    const double u = clm_rng_uniform(&rng);
    const unsigned v = clm_rng_below(&rng, 4);
    double s;
    uint8_t y;
    if (variant == 0) {
      /* Positives in [0.75, 1], negatives in [0, 0.25]. */
      y = v < 2;
      s = y ? 0.75 + 0.25 * u : 0.25 * u;
    } else {
      /* Interleaved, in prefixes of one class (sign, exponent and the top
       * mantissa bits differ): positives at 0.875 (above every negative)
       * and near 0.3125, negatives in [0.5, 0.625) and [2^-10, 2^-3). */
      y = v < 2;
      if (y && v == 0)
        s = 0.875;
      else if (y)
        /* variant 1: a single positive there (row 5); 2: many distinct
         * ones. */
        s = 0.3125 + (double)(i % 64) * 0x1p-20;
      else
        s = v == 2 ? 0.5 + 0.125 * u : 0x1p-10 + (0x1p-3 - 0x1p-10) * u;
      if (variant == 1 && y)
        s = 0.875;
      if (variant == 1 && i == 5) {
        y = 1;
        s = 0.3125;
      }
    }
    lab8(d)[i] = y;
    if (dtype == CLM_DTYPE_F64)
      f64(d)[i] = s;
    else
      f32(d)[i] = (float)s;
  }
  data_reference(d);
}

Test(ranking, streaming_exact_when_classes_never_share_a_prefix, .init = setup,
     .fini = teardown) {
  for (int dt = 0; dt < 2; ++dt) {
    const clm_dtype dtype = dt ? CLM_DTYPE_F64 : CLM_DTYPE_F32;
    for (int variant = 0; variant < 3; ++variant) {
      data d;
      separated(&d, 40000, dtype, variant);
      char what[160];
      snprintf(what, sizeof what, "separated %d %s", variant,
               dt ? "f64" : "f32");
      clm_ranking_state st;
      stream(what, &d, 16, 3, &st);
      clm_ranking_result r;
      cr_assert_eq(clm_ranking_finalize(&st, &r), CLM_OK);
      check_stream(what, &r, &d, 1e-12);
      const clm_ranking_class *g = &r.classes[0];
      /* AUC: every positive-negative pair lies in different prefixes. */
      cr_assert(g->roc_auc_lo == g->roc_auc_hi && g->roc_auc == g->roc_auc_lo,
                "%s: AUC [%.17g, %.17g]", what, g->roc_auc_lo, g->roc_auc_hi);
      cr_assert(close_rel(g->roc_auc, d.ref[0].roc_auc, 1e-12),
                "%s: AUC %.17g, reference %.17g", what, g->roc_auc,
                d.ref[0].roc_auc);
      if (variant < 2) {
        /* AP too: every positive below a negative is alone in its prefix
         * (variant 1) or no negative is above any positive (variant 0). In
         * variant 2 the precisions inside the prefix near 0.3125 depend on
         * how its positives tie, which counts per prefix cannot tell. */
        cr_assert_eq(r.exact, 1, "%s: not exact", what);
        cr_assert(
            close_rel(g->average_precision, d.ref[0].average_precision, 1e-12),
            "%s: AP %.17g, reference %.17g", what, g->average_precision,
            d.ref[0].average_precision);
      }
      if (variant == 0)
        cr_assert(g->roc_auc == 1.0 && g->average_precision == 1.0);
      cr_log_info("%s: AUC %.12f AP [%.12f, %.12f] ref %.12f exact %d", what,
                  g->roc_auc, g->average_precision_lo, g->average_precision_hi,
                  d.ref[0].average_precision, r.exact);
      clm_ranking_result_release(&r);
      clm_ranking_state_release(&st);
      data_free(&d);
    }
  }
}

Test(ranking, streaming_state_init_and_mismatch, .init = setup,
     .fini = teardown) {
  clm_ranking_state a, b;
  cr_assert_eq(clm_ranking_state_init(&a, 1, CLM_DTYPE_F32, 0, 0), CLM_OK);
  cr_assert_eq(a.bits, 16);
  cr_assert_eq(a.k, 1);
  cr_assert_eq(a.n, 0);
  cr_assert_not_null(a.counts);
  for (size_t i = 0; i < state_cells(&a); ++i)
    cr_assert_eq(a.counts[i], 0);
  clm_ranking_state_release(&a);
  cr_assert_eq(a.counts, NULL);
  cr_assert_eq(clm_ranking_state_init(&a, 1000, CLM_DTYPE_F64, 0, 0), CLM_OK);
  cr_assert(a.bits >= 8 && a.bits <= 16, "bits %u", a.bits);
  cr_assert(state_cells(&a) * 8 <= ((size_t)64 << 20), "%u bits for k=1000",
            a.bits);
  clm_ranking_state_release(&a);
  clm_ranking_state_release(NULL);
  cr_assert_neq(clm_ranking_state_init(&a, 1, CLM_DTYPE_F32, 0, 7), CLM_OK);
  cr_assert_neq(clm_ranking_state_init(&a, 1, CLM_DTYPE_F32, 0, 17), CLM_OK);
  cr_assert_neq(clm_ranking_state_init(&a, 0, CLM_DTYPE_F32, 0, 0), CLM_OK);
  cr_assert_neq(clm_ranking_state_init(&a, 1, CLM_DTYPE_I32, 0, 0), CLM_OK);
  cr_assert_neq(clm_ranking_state_init(&a, 1, CLM_DTYPE_F32, 1, 0), CLM_OK);
  /* Mismatched merges. */
  struct {
    uint32_t k;
    clm_dtype dtype;
    int softmax;
    uint32_t bits;
  } v[] = {{3, CLM_DTYPE_F32, 0, 12}, {4, CLM_DTYPE_F32, 0, 12},
           {3, CLM_DTYPE_F64, 0, 12}, {3, CLM_DTYPE_F32, 1, 12},
           {3, CLM_DTYPE_F32, 0, 11}, {1, CLM_DTYPE_F32, 0, 12}};
  const size_t nv = sizeof v / sizeof v[0];
  for (size_t i = 0; i < nv; ++i)
    for (size_t j = 0; j < nv; ++j) {
      cr_assert_eq(clm_ranking_state_init(&a, v[i].k, v[i].dtype, v[i].softmax,
                                          v[i].bits),
                   CLM_OK);
      cr_assert_eq(clm_ranking_state_init(&b, v[j].k, v[j].dtype, v[j].softmax,
                                          v[j].bits),
                   CLM_OK);
      cr_assert_eq(clm_ranking_merge(&a, &b),
                   i == j ? CLM_OK : CLM_ERR_STATE_MISMATCH, "merge %zu <- %zu",
                   i, j);
      clm_ranking_state_release(&a);
      clm_ranking_state_release(&b);
    }
}

Test(ranking, streaming_update_errors_leave_state_unchanged, .init = setup,
     .fini = teardown) {
  data d;
  gen_binary(&d, G_PROBS, 4000, 8);
  clm_ranking_state st;
  cr_assert_eq(clm_ranking_state_init(&st, 1, CLM_DTYPE_F32, 0, 0), CLM_OK);
  state_update(&st, &d, 0, 2000);
  const size_t bytes = state_cells(&st) * sizeof(uint64_t);
  uint64_t *snap = malloc(bytes);
  memcpy(snap, st.counts, bytes);
  f32(&d)[3300] = NAN;
  clm_error err;
  clm_status s = clm_ranking_update(ctx, &st, 2000, lab8(&d) + 2000,
                                    f32(&d) + 2000, 2000, &err);
  cr_assert_eq(s, CLM_ERR_BAD_SCORE);
  cr_assert_eq(err.index, 3300, "index %lld", (long long)err.index);
  cr_assert_eq(st.n, 2000);
  cr_assert(memcmp(snap, st.counts, bytes) == 0, "state changed by a failure");
  f32(&d)[3300] = 0.5f;
  lab8(&d)[3999] = 7;
  s = clm_ranking_update(ctx, &st, 2000, lab8(&d) + 2000, f32(&d) + 2000, 2000,
                         &err);
  cr_assert_eq(s, CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 3999);
  cr_assert_eq(st.n, 2000);
  cr_assert(memcmp(snap, st.counts, bytes) == 0, "state changed by a failure");
  free(snap);
  clm_ranking_state_release(&st);
  data_free(&d);
  /* Class labels out of range. */
  gen_multi(&d, M_PROBS, 3, CLM_DTYPE_F32, 1000, 0, 8);
  cr_assert_eq(clm_ranking_state_init(&st, 3, CLM_DTYPE_F32, 0, 0), CLM_OK);
  lab32(&d)[600] = 3;
  s = clm_ranking_update(ctx, &st, 500, lab32(&d), f32(&d), 1000, &err);
  cr_assert_eq(s, CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 1100);
  cr_assert_eq(st.n, 0);
  clm_ranking_state_release(&st);
  data_free(&d);
}
