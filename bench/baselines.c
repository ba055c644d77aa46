/* The C baseline loops; see baselines.h. Compiled twice (BL_FAST=0/1). */
#include "baselines.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#if BL_FAST
#ifndef __FAST_MATH__
#error "the _fast copy of baselines.c must be compiled with -ffast-math"
#endif
#define BL(name) name##_fast
#else
#ifdef __FAST_MATH__
#error "the _plain copy of baselines.c must not be compiled with -ffast-math"
#endif
#define BL(name) name##_plain
#endif

#ifndef BL_FLAGS
#define BL_FLAGS "?"
#endif

const char BL(bl_flags)[] = BL_FLAGS;

/* One sample, numerically stable: loss = softplus(-z) for y = 1 and
 * softplus(z) for y = 0, written as max(.., 0) + log1p(exp(-|z|)); sigma
 * from the same e = exp(-|z|). */
#define BL_BODY_NOGRAD                                                         \
  const float z = scores[i];                                                   \
  const unsigned y = labels[i];                                                \
  const float e = expf(-fabsf(z));                                             \
  const float m = y ? -z : z;                                                  \
  const float loss = (m > 0.0f ? m : 0.0f) + log1pf(e);                        \
  const float inv = 1.0f / (1.0f + e);                                         \
  const float s = z >= 0.0f ? inv : e * inv;                                   \
  const float g = s - (float)y;                                                \
  const unsigned pred = z > 0.0f;                                              \
  lsum += loss;                                                                \
  gsum += g;                                                                   \
  pos += y;                                                                    \
  npred += pred;                                                               \
  tp += y & pred;
#define BL_BODY                                                                \
  BL_BODY_NOGRAD                                                               \
  grad[i] = g;

static void finish(bl_result *out, size_t n, double lsum, double gsum,
                   uint64_t pos, uint64_t npred, uint64_t tp) {
  out->loss_sum = lsum;
  out->grad_sum = gsum;
  out->tp = tp;
  out->fp = npred - tp;
  out->fn = pos - tp;
  out->tn = (uint64_t)n - pos - (npred - tp);
}

void BL(bl_binary_st)(const uint8_t *restrict labels,
                      const float *restrict scores, size_t n,
                      float *restrict grad, bl_result *out) {
  double lsum = 0.0, gsum = 0.0;
  uint64_t pos = 0, npred = 0, tp = 0;
  for (size_t i = 0; i < n; ++i) {
    BL_BODY
  }
  finish(out, n, lsum, gsum, pos, npred, tp);
}

void BL(bl_binary_omp)(const uint8_t *restrict labels,
                       const float *restrict scores, size_t n,
                       float *restrict grad, bl_result *out) {
  double lsum = 0.0, gsum = 0.0;
  uint64_t pos = 0, npred = 0, tp = 0;
#pragma omp parallel for schedule(static)                                      \
    reduction(+ : lsum, gsum, pos, npred, tp)
  for (size_t i = 0; i < n; ++i) {
    BL_BODY
  }
  finish(out, n, lsum, gsum, pos, npred, tp);
}

void BL(bl_binary_omp_nograd)(const uint8_t *restrict labels,
                              const float *restrict scores, size_t n,
                              bl_result *out) {
  double lsum = 0.0, gsum = 0.0;
  uint64_t pos = 0, npred = 0, tp = 0;
#pragma omp parallel for schedule(static)                                      \
    reduction(+ : lsum, gsum, pos, npred, tp)
  for (size_t i = 0; i < n; ++i) {
    BL_BODY_NOGRAD
  }
  finish(out, n, lsum, gsum, pos, npred, tp);
}

/* ------------------------------------------------------------------ */
/* Multi-class                                                         */
/* ------------------------------------------------------------------ */

/* Samples per thread between flushes of the uint32 histograms. */
#define BL_FLUSH ((size_t)1 << 30)

/* Label pairs [lo, hi) into nsub (1 or 4) sub-histograms `stride` cells
 * apart; cell k*k takes the invalid pairs. */
static void BL(conf_range)(const int32_t *restrict yt,
                           const int32_t *restrict yp, size_t lo, size_t hi,
                           uint32_t k, uint32_t *restrict h, size_t stride,
                           int nsub) {
  const size_t spare = (size_t)k * k;
#define BL_CELL(i)                                                             \
  ((uint32_t)yt[i] < k && (uint32_t)yp[i] < k                                  \
       ? (size_t)(uint32_t)yt[i] * k + (uint32_t)yp[i]                         \
       : spare)
  size_t i = lo;
  if (nsub == 4) {
    for (; i + 4 <= hi; i += 4) {
      const size_t c0 = BL_CELL(i), c1 = BL_CELL(i + 1);
      const size_t c2 = BL_CELL(i + 2), c3 = BL_CELL(i + 3);
      ++h[c0];
      ++h[stride + c1];
      ++h[2 * stride + c2];
      ++h[3 * stride + c3];
    }
  }
  for (; i < hi; ++i)
    ++h[BL_CELL(i)];
#undef BL_CELL
}

/* Rows [lo, hi) of an n x k logit matrix: argmax, cross-entropy, one
 * histogram (cell k*k: invalid true label). Returns the cross-entropy sum. */
static double BL(scores_range)(const int32_t *restrict yt,
                               const float *restrict s, size_t lo, size_t hi,
                               uint32_t k, uint32_t *restrict h) {
  const size_t spare = (size_t)k * k;
  double ce = 0.0;
  for (size_t i = lo; i < hi; ++i) {
    const float *restrict z = s + i * k;
    float m = z[0];
    uint32_t arg = 0;
    for (uint32_t c = 1; c < k; ++c) {
      if (z[c] > m) {
        m = z[c];
        arg = c;
      }
    }
    float sum = 0.0f;
    for (uint32_t c = 0; c < k; ++c)
      sum += expf(z[c] - m);
    const uint32_t t = (uint32_t)yt[i];
    const int ok = t < k;
    ce += (double)((m - z[ok ? t : 0]) + logf(sum));
    ++h[ok ? (size_t)t * k + arg : spare];
  }
  return ce;
}

/* Shared driver: per-thread private histograms, rounds of at most BL_FLUSH
 * samples per thread, each followed by a parallel merge into `out`.
 * scores == NULL: label pairs; else logits (y_pred unused). */
static int BL(mc_drive)(const int32_t *y_true, const int32_t *y_pred,
                        const float *scores, size_t n, uint32_t k,
                        uint64_t *out, double *ce_sum, int parallel) {
  const size_t cells = (size_t)k * k, stride = cells + 1;
  const int nsub = scores == NULL && k <= 32 ? 4 : 1;
  const int nt = parallel ? omp_get_max_threads() : 1;
  uint32_t *h = malloc((size_t)nt * nsub * stride * sizeof(uint32_t));
  if (!h)
    return BL_MC_NO_MEMORY;
  uint64_t bad = 0;
  double ce = 0.0;
#pragma omp parallel num_threads(nt) if (parallel) reduction(+ : bad, ce)
  {
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
    uint32_t *mine = h + (size_t)tid * nsub * stride;
    const size_t c0 = cells * tid / nth, c1 = cells * (tid + 1) / nth;
    memset(out + c0, 0, (c1 - c0) * sizeof(uint64_t));
    const size_t round = (size_t)nth * BL_FLUSH;
    for (size_t base = 0; base < n; base += round) {
      memset(mine, 0, (size_t)nsub * stride * sizeof(uint32_t));
      const size_t span = n - base < round ? n - base : round;
      const size_t lo = base + span * tid / nth;
      const size_t hi = base + span * (tid + 1) / nth;
      if (scores)
        ce += BL(scores_range)(y_true, scores, lo, hi, k, mine);
      else
        BL(conf_range)(y_true, y_pred, lo, hi, k, mine, stride, nsub);
#pragma omp barrier
      const int parts = nth * nsub;
      for (size_t c = c0; c < c1; ++c) {
        uint64_t sum = 0;
        for (int p = 0; p < parts; ++p)
          sum += h[(size_t)p * stride + c];
        out[c] += sum;
      }
      if (tid == 0)
        for (int p = 0; p < parts; ++p)
          bad += h[(size_t)p * stride + cells];
#pragma omp barrier
    }
  }
  free(h);
  if (ce_sum)
    *ce_sum = ce;
  return bad ? BL_MC_BAD_LABEL : BL_MC_OK;
}

int BL(bl_confusion_st)(const int32_t *y_true, const int32_t *y_pred, size_t n,
                        uint32_t k, uint64_t *out) {
  return BL(mc_drive)(y_true, y_pred, NULL, n, k, out, NULL, 0);
}

int BL(bl_confusion_omp)(const int32_t *y_true, const int32_t *y_pred, size_t n,
                         uint32_t k, uint64_t *out) {
  return BL(mc_drive)(y_true, y_pred, NULL, n, k, out, NULL, 1);
}

int BL(bl_mc_scores_st)(const int32_t *y_true, const float *scores, size_t n,
                        uint32_t k, uint64_t *out, double *ce_sum) {
  return BL(mc_drive)(y_true, NULL, scores, n, k, out, ce_sum, 0);
}

int BL(bl_mc_scores_omp)(const int32_t *y_true, const float *scores, size_t n,
                         uint32_t k, uint64_t *out, double *ce_sum) {
  return BL(mc_drive)(y_true, NULL, scores, n, k, out, ce_sum, 1);
}
