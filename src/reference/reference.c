/* The double-precision reference and the RNG; see reference.h. */
#include "reference.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- RNG ---- */

void clm_rng_seed(clm_rng *r, uint64_t state) {
  r->state = state ? state : 0x9E3779B97F4A7C15ULL;
}

uint64_t clm_rng_next(clm_rng *r) {
  uint64_t s = r->state;
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  r->state = s;
  return s * 0x2545F4914F6CDD1DULL;
}

double clm_rng_uniform(clm_rng *r) {
  return (double)(clm_rng_next(r) >> 11) * 0x1p-53;
}

uint32_t clm_rng_below(clm_rng *r, uint32_t k) {
  return (uint32_t)(clm_rng_next(r) % k);
}

uint64_t clm_rng_splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/* ---- binary: one sample ---- */

double clm_ref_sigmoid(double z) {
  if (z >= 0)
    return 1.0 / (1.0 + exp(-z));
  const double e = exp(z);
  return e / (1.0 + e);
}

double clm_ref_softplus(double a) {
  return fmax(a, 0.0) + log1p(exp(-fabs(a)));
}

double clm_ref_threshold_logit(double t) {
  if (t <= 0)
    return -INFINITY;
  if (t >= 1)
    return INFINITY;
  return log(t) - log1p(-t);
}

double clm_ref_bce_logit(double z, int y) {
  return clm_ref_softplus(y ? -z : z);
}

double clm_ref_bce_prob(double p, int y) {
  const double q = fmin(fmax(p, FLT_EPSILON), 1.0 - FLT_EPSILON);
  return y ? -log(q) : -log1p(-q);
}

double clm_ref_grad_logit(double z, int y) {
  return clm_ref_sigmoid(z) - (y ? 1.0 : 0.0);
}

double clm_ref_grad_prob(double p, int y) {
  return p - (y ? 1.0 : 0.0);
}

/* ---- binary: a set of samples ---- */

void clm_ref_binary_eval(const uint8_t *y, const float *s, uint64_t n,
                         int probs, double t, double *grad, clm_ref_binary *r) {
  memset(r, 0, sizeof *r);
  r->n = n;
  const double cut = probs ? t : clm_ref_threshold_logit(t);
  for (uint64_t i = 0; i < n; ++i) {
    const double v = s[i];
    const int yi = y[i] != 0;
    const double loss =
        probs ? clm_ref_bce_prob(v, yi) : clm_ref_bce_logit(v, yi);
    const double g =
        probs ? clm_ref_grad_prob(v, yi) : clm_ref_grad_logit(v, yi);
    const int pred = v > cut;
    if (grad)
      grad[i] = g;
    r->loss_sum += loss;
    r->loss_abs += fabs(loss);
    r->grad_sum += g;
    r->grad_abs += fabs(g);
    r->tp += yi && pred;
    r->fn += yi && !pred;
    r->fp += !yi && pred;
    r->tn += !yi && !pred;
  }
}

void clm_ref_weight_grad(const double *g, const float *x, uint64_t n,
                         uint64_t d, double *w, double *w_abs) {
  for (uint64_t j = 0; j < d; ++j) {
    w[j] = 0;
    if (w_abs)
      w_abs[j] = 0;
  }
  for (uint64_t i = 0; i < n; ++i)
    for (uint64_t j = 0; j < d; ++j) {
      const double v = g[i] * x[i * d + j];
      w[j] += v;
      if (w_abs)
        w_abs[j] += fabs(v);
    }
  for (uint64_t j = 0; n && j < d; ++j) {
    w[j] /= (double)n;
    if (w_abs)
      w_abs[j] /= (double)n;
  }
}

/* ---- multi-class: one row ---- */

uint32_t clm_ref_argmax(const float *z, uint32_t k) {
  uint32_t a = 0;
  for (uint32_t c = 1; c < k; ++c)
    if (z[c] > z[a])
      a = c;
  return a;
}

uint32_t clm_ref_rank(const float *z, uint32_t k, uint32_t t) {
  uint32_t r = 0;
  for (uint32_t c = 0; c < k; ++c)
    r += z[c] > z[t] || (z[c] == z[t] && c < t);
  return r;
}

double clm_ref_ce_logits(const float *z, uint32_t k, uint32_t t) {
  double m = -INFINITY;
  uint32_t ninf = 0;
  for (uint32_t c = 0; c < k; ++c) {
    if (z[c] > m)
      m = z[c];
    ninf += isinf(z[c]) && z[c] > 0;
  }
  if (isinf(m) && (m < 0 || ninf == k))
    return NAN; /* all -inf, or all +inf: no cross-entropy */
  if (isinf(m))
    return isinf(z[t]) && z[t] > 0 ? log((double)ninf) : INFINITY;
  double sum = 0;
  for (uint32_t c = 0; c < k; ++c)
    sum += exp((double)z[c] - m);
  return (m - z[t]) + log(sum);
}

double clm_ref_ce_probs(const float *p, uint32_t k, uint32_t t) {
  (void)k;
  double q = p[t];
  /* Comparisons, not fmin/fmax: a NaN stays NaN. */
  if (q < FLT_EPSILON)
    q = FLT_EPSILON;
  else if (q > 1.0)
    q = 1.0;
  return -log(q);
}

/* ---- multi-class: a set of rows ---- */

void clm_ref_confusion(const int32_t *yt, const int32_t *yp, uint64_t n,
                       uint32_t k, uint64_t *cm) {
  memset(cm, 0, (size_t)k * k * sizeof *cm);
  for (uint64_t i = 0; i < n; ++i)
    cm[(uint64_t)yt[i] * k + (uint64_t)yp[i]]++;
}

void clm_ref_multiclass_eval(const int32_t *yt, const float *z, uint64_t n,
                             uint32_t k, int probs, uint32_t top_k,
                             uint64_t *cm, clm_ref_multiclass *r) {
  memset(r, 0, sizeof *r);
  if (cm)
    memset(cm, 0, (size_t)k * k * sizeof *cm);
  for (uint64_t i = 0; i < n; ++i) {
    const float *row = z + i * k;
    const uint32_t t = (uint32_t)yt[i];
    const double v =
        probs ? clm_ref_ce_probs(row, k, t) : clm_ref_ce_logits(row, k, t);
    r->ce_sum += v;
    r->ce_abs += fabs(v);
    r->top_k_hits += clm_ref_rank(row, k, t) < top_k;
    if (cm)
      cm[(uint64_t)t * k + clm_ref_argmax(row, k)]++;
  }
}

/* ---- ranking ---- */

/* Exact Mann-Whitney sums: n^2 overflows uint64 past n = 2^32. */
__extension__ typedef unsigned __int128 ref_u128;

struct ref_rank_item {
  double s;
  uint8_t y;
};

/* Descending score; equal scores (-0.0 == +0.0) compare equal. */
static int ref_rank_cmp(const void *a, const void *b) {
  const double x = ((const struct ref_rank_item *)a)->s;
  const double y = ((const struct ref_rank_item *)b)->s;
  return x > y ? -1 : x < y ? 1 : 0;
}

void clm_ref_ranking_eval(const uint8_t *y, const double *s, uint64_t n,
                          clm_ref_ranking *out) {
  memset(out, 0, sizeof *out);
  for (uint64_t i = 0; i < n; ++i) {
    out->pos += y[i] != 0;
    out->neg += y[i] == 0;
  }
  out->roc_auc = NAN;
  out->average_precision = NAN;
  if (n == 0)
    return;
  struct ref_rank_item *it = malloc((size_t)n * sizeof *it);
  clm_ref_rank_point *curve = malloc((size_t)n * sizeof *curve);
  if (!it || !curve) {
    free(it);
    free(curve);
    return;
  }
  for (uint64_t i = 0; i < n; ++i) {
    it[i].s = s[i];
    it[i].y = y[i] != 0;
  }
  qsort(it, (size_t)n, sizeof *it, ref_rank_cmp);
  const uint64_t P = out->pos, N = out->neg;
  ref_u128 u2 = 0;
  long double ap = 0;
  uint64_t tp = 0, fp = 0, len = 0;
  for (uint64_t i = 0; i < n;) {
    uint64_t j = i, gp = 0, gn = 0;
    while (j < n && it[j].s == it[i].s) {
      gp += it[j].y;
      gn += !it[j].y;
      ++j;
    }
    /* Negatives strictly below this group: N - fp - gn. */
    u2 += (ref_u128)gp * (2 * (ref_u128)(N - fp - gn) + gn);
    tp += gp;
    fp += gn;
    if (gp && P)
      ap += (long double)gp / (long double)P * (long double)tp /
            (long double)(tp + fp);
    curve[len].threshold = it[i].s == 0 ? 0.0 : it[i].s;
    curve[len].tp = tp;
    curve[len].fp = fp;
    ++len;
    i = j;
  }
  free(it);
  clm_ref_rank_point *shrunk = realloc(curve, (size_t)len * sizeof *curve);
  out->curve = shrunk ? shrunk : curve;
  out->curve_len = len;
  if (P && N)
    out->roc_auc =
        (double)((long double)u2 / (long double)((ref_u128)2 * P * N));
  if (P)
    out->average_precision = (double)ap;
}

void clm_ref_ranking_ovr(const int32_t *y, const double *s, uint64_t n,
                         uint32_t k, clm_ref_ranking *per_class) {
  uint8_t *yc = malloc(n ? (size_t)n : 1);
  double *sc = malloc((n ? (size_t)n : 1) * sizeof *sc);
  for (uint32_t c = 0; c < k; ++c) {
    if (!yc || !sc) {
      memset(&per_class[c], 0, sizeof per_class[c]);
      per_class[c].roc_auc = NAN;
      per_class[c].average_precision = NAN;
      continue;
    }
    for (uint64_t i = 0; i < n; ++i) {
      yc[i] = y[i] == (int32_t)c;
      sc[i] = s[i * k + c];
    }
    clm_ref_ranking_eval(yc, sc, n, &per_class[c]);
  }
  free(yc);
  free(sc);
}

void clm_ref_ranking_multilabel(const uint8_t *y, const double *s, uint64_t n,
                                uint32_t k, clm_ref_ranking *per_label) {
  uint8_t *yc = malloc(n ? (size_t)n : 1);
  double *sc = malloc((n ? (size_t)n : 1) * sizeof *sc);
  for (uint32_t c = 0; c < k; ++c) {
    if (!yc || !sc) {
      memset(&per_label[c], 0, sizeof per_label[c]);
      per_label[c].roc_auc = NAN;
      per_label[c].average_precision = NAN;
      continue;
    }
    for (uint64_t i = 0; i < n; ++i) {
      yc[i] = y[i * k + c] != 0;
      sc[i] = s[i * k + c];
    }
    clm_ref_ranking_eval(yc, sc, n, &per_label[c]);
  }
  free(yc);
  free(sc);
}

void clm_ref_ranking_free(clm_ref_ranking *r) {
  if (!r)
    return;
  free(r->curve);
  memset(r, 0, sizeof *r);
}

void clm_ref_softmax_f32(const float *z, uint32_t k, float *p) {
  float m = z[0];
  for (uint32_t j = 1; j < k; ++j)
    if (z[j] > m)
      m = z[j];
  float sum = 0.0f;
  for (uint32_t j = 0; j < k; ++j) {
    p[j] = expf(z[j] - m);
    sum += p[j];
  }
  for (uint32_t j = 0; j < k; ++j)
    p[j] = p[j] / sum;
}
