/* Double-precision calibration reference (see ref_calibration.h). */
#include "ref_calibration.h"

#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint32_t clm_ref_calibration_bin(double p, const double *edges, uint32_t nb) {
  uint32_t b = 0;
  while (b + 1 < nb && p > edges[b + 1])
    ++b;
  return b;
}

/* Whether p lies within `tol` (absolute) of an interior edge. */
static int near_edge(double p, const double *edges, uint32_t nb, double tol) {
  for (uint32_t b = 1; b < nb; ++b)
    if (fabs(p - edges[b]) <= tol)
      return 1;
  return 0;
}

static int alloc(clm_ref_calibration *r, uint32_t k, uint32_t nb,
                 int classwise) {
  memset(r, 0, sizeof *r);
  r->k = k;
  r->nb = nb;
  r->classwise = classwise;
  r->count = calloc(nb, sizeof(uint64_t));
  r->weight = calloc(nb, sizeof(double));
  r->conf = calloc(nb, sizeof(double));
  r->hits = calloc(nb, sizeof(double));
  if (classwise) {
    const size_t kb = (size_t)k * nb;
    r->cw_count = calloc(kb, sizeof(uint64_t));
    r->cw_weight = calloc(kb, sizeof(double));
    r->cw_conf = calloc(kb, sizeof(double));
    r->cw_hits = calloc(kb, sizeof(double));
    if (!r->cw_count || !r->cw_weight || !r->cw_conf || !r->cw_hits)
      return -1;
  }
  return r->count && r->weight && r->conf && r->hits ? 0 : -1;
}

void clm_ref_calibration_free(clm_ref_calibration *r) {
  if (!r)
    return;
  free(r->count), free(r->weight), free(r->conf), free(r->hits);
  free(r->cw_count), free(r->cw_weight), free(r->cw_conf), free(r->cw_hits);
  memset(r, 0, sizeof *r);
}

static void add(uint64_t *count, double *weight, double *conf, double *hits,
                uint32_t b, double w, double p, int hit) {
  count[b] += 1;
  weight[b] += w;
  conf[b] += w * p;
  hits[b] += hit ? w : 0.0;
}

/* ECE, RMSCE and MCE of one table. */
static void errors(const uint64_t *count, const double *weight,
                   const double *conf, const double *hits, uint32_t nb,
                   double total, double *ece, double *rmsce, double *mce) {
  double l1 = 0, l2 = 0, mx = 0;
  for (uint32_t b = 0; b < nb; ++b) {
    if (count[b] == 0 || !(weight[b] > 0))
      continue;
    const double gap = hits[b] / weight[b] - conf[b] / weight[b];
    l1 += weight[b] / total * fabs(gap);
    l2 += weight[b] / total * gap * gap;
    mx = fmax(mx, fabs(gap));
  }
  *ece = l1;
  if (rmsce)
    *rmsce = sqrt(l2);
  if (mce)
    *mce = mx;
}

static void finish(clm_ref_calibration *r) {
  r->brier = r->ece = r->rmsce = r->mce = r->classwise_ece = NAN;
  if (r->n == 0 || !(r->weight_sum > 0))
    return;
  r->brier = r->brier_sum / r->weight_sum;
  errors(r->count, r->weight, r->conf, r->hits, r->nb, r->weight_sum, &r->ece,
         &r->rmsce, &r->mce);
  if (r->classwise) {
    double sum = 0;
    for (uint32_t c = 0; c < r->k; ++c) {
      double e;
      const size_t o = (size_t)c * r->nb;
      errors(r->cw_count + o, r->cw_weight + o, r->cw_conf + o, r->cw_hits + o,
             r->nb, r->weight_sum, &e, NULL, NULL);
      sum += e;
    }
    r->classwise_ece = sum / r->k;
  }
}

int clm_ref_calibration_binary(const uint8_t *y, const float *s, const float *w,
                               uint64_t n, int probs, const double *edges,
                               uint32_t nb, double near_tol,
                               clm_ref_calibration *out) {
  if (alloc(out, 1, nb, 0) != 0)
    return -1;
  for (uint64_t i = 0; i < n; ++i) {
    const double p = probs ? (double)s[i] : clm_ref_sigmoid((double)s[i]);
    const double wi = w ? (double)w[i] : 1.0;
    add(out->count, out->weight, out->conf, out->hits,
        clm_ref_calibration_bin(p, edges, nb), wi, p, y[i] == 1);
    const double miss = p - (double)y[i];
    /* sigma(-z) directly for y = 1: no cancellation for large z */
    const double m1 =
        y[i] == 1 && !probs ? clm_ref_sigmoid(-(double)s[i]) : miss;
    out->brier_sum += wi * m1 * m1;
    out->weight_sum += wi;
    ++out->n;
    if (near_edge(p, edges, nb, near_tol)) {
      ++out->near;
      out->near_weight += wi;
    }
  }
  finish(out);
  return 0;
}

int clm_ref_calibration_multiclass(const int32_t *y, const float *s,
                                   const float *w, uint64_t n, uint32_t k,
                                   int probs, int has_ignore,
                                   int32_t ignore_index, int classwise,
                                   const double *edges, uint32_t nb,
                                   double near_tol, clm_ref_calibration *out) {
  double *p = malloc((size_t)k * sizeof(double));
  if (!p || alloc(out, k, nb, classwise) != 0) {
    free(p);
    return -1;
  }
  for (uint64_t i = 0; i < n; ++i) {
    if (has_ignore && y[i] == ignore_index) {
      ++out->n_ignored;
      continue;
    }
    const float *z = s + i * k;
    if (probs) {
      for (uint32_t c = 0; c < k; ++c)
        p[c] = z[c];
    } else {
      double m = -INFINITY;
      uint32_t ninf = 0;
      for (uint32_t c = 0; c < k; ++c) {
        m = fmax(m, (double)z[c]);
        ninf += z[c] == INFINITY;
      }
      double sum = 0;
      for (uint32_t c = 0; c < k; ++c) {
        p[c] = ninf ? (z[c] == INFINITY ? 1.0 : 0.0) : exp((double)z[c] - m);
        sum += p[c];
      }
      for (uint32_t c = 0; c < k; ++c)
        p[c] /= sum;
    }
    const uint32_t arg = clm_ref_argmax(z, k);
    const double wi = w ? (double)w[i] : 1.0;
    const double conf = p[arg];
    add(out->count, out->weight, out->conf, out->hits,
        clm_ref_calibration_bin(conf, edges, nb), wi, conf,
        (int32_t)arg == y[i]);
    if (near_edge(conf, edges, nb, near_tol)) {
      ++out->near;
      out->near_weight += wi;
    }
    /* 1 - p_y as the mass of the other classes: no cancellation */
    double rest = 0;
    for (uint32_t c = 0; c < k; ++c)
      rest += (int32_t)c == y[i] ? 0.0 : p[c];
    double brier = 0;
    for (uint32_t c = 0; c < k; ++c) {
      const double d = (int32_t)c == y[i] ? (probs ? 1.0 - p[c] : rest) : p[c];
      brier += d * d;
      if (!classwise)
        continue;
      const size_t o = (size_t)c * nb;
      add(out->cw_count + o, out->cw_weight + o, out->cw_conf + o,
          out->cw_hits + o, clm_ref_calibration_bin(p[c], edges, nb), wi, p[c],
          (int32_t)c == y[i]);
      if (near_edge(p[c], edges, nb, near_tol)) {
        ++out->cw_near;
        out->cw_near_weight += wi;
      }
    }
    out->brier_sum += wi * brier;
    out->weight_sum += wi;
    ++out->n;
  }
  free(p);
  finish(out);
  return 0;
}
