/* The C baseline loops; see baselines.h. Compiled twice (BL_FAST=0/1). */
#include "baselines.h"

#include <math.h>

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
#define BL_BODY                                                                \
  const float z = scores[i];                                                   \
  const unsigned y = labels[i];                                                \
  const float e = expf(-fabsf(z));                                             \
  const float m = y ? -z : z;                                                  \
  const float loss = (m > 0.0f ? m : 0.0f) + log1pf(e);                        \
  const float inv = 1.0f / (1.0f + e);                                         \
  const float s = z >= 0.0f ? inv : e * inv;                                   \
  const float g = s - (float)y;                                                \
  const unsigned pred = z > 0.0f;                                              \
  grad[i] = g;                                                                 \
  lsum += loss;                                                                \
  gsum += g;                                                                   \
  pos += y;                                                                    \
  npred += pred;                                                               \
  tp += y & pred;

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
