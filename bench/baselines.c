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
  /* Each thread's histograms start on their own 64-byte line: at small K
   * two threads' counters in one line (false sharing) made the loop up to
   * 3x slower, depending on where malloc placed the block. */
  const size_t block = ((size_t)nsub * stride + 15) & ~(size_t)15;
  uint32_t *h = aligned_alloc(64, (size_t)nt * block * sizeof(uint32_t));
  if (!h)
    return BL_MC_NO_MEMORY;
  uint64_t bad = 0;
  double ce = 0.0;
#pragma omp parallel num_threads(nt) if (parallel) reduction(+ : bad, ce)
  {
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
    uint32_t *mine = h + (size_t)tid * block;
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
      for (size_t c = c0; c < c1; ++c) {
        uint64_t sum = 0;
        for (int t = 0; t < nth; ++t)
          for (int p = 0; p < nsub; ++p)
            sum += h[(size_t)t * block + (size_t)p * stride + c];
        out[c] += sum;
      }
      if (tid == 0)
        for (int t = 0; t < nth; ++t)
          for (int p = 0; p < nsub; ++p)
            bad += h[(size_t)t * block + (size_t)p * stride + cells];
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

/* ------------------------------------------------------------------ */
/* Ranking (plain copy only)                                           */
/* ------------------------------------------------------------------ */

#if !BL_FAST

#define BL_RDX_BITS 11
#define BL_RDX_BUCKETS (1u << BL_RDX_BITS)
#define BL_RDX_MASK ((uint64_t)BL_RDX_BUCKETS - 1)

__extension__ typedef unsigned __int128 bl_u128;

size_t bl_rank_workspace_bytes(size_t n, int f64) {
  /* Two uint64 buffers (the packed or plain keys, sorted ping-pong); for
   * float64 also two label buffers, rounded up to 8 bytes each. */
  size_t bytes = 2 * n * sizeof(uint64_t);
  if (f64)
    bytes += 2 * ((n + 7) & ~(size_t)7);
  return bytes;
}

/* Order-preserving keys: -0.0 -> +0.0, then negative -> ~bits, else
 * bits | sign. */
static inline uint32_t bl_key_f32(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if (u == 0x80000000u)
    u = 0;
  const uint32_t m = (uint32_t)((int32_t)u >> 31);
  return u ^ (m | 0x80000000u);
}

static inline uint64_t bl_key_f64(double f) {
  uint64_t u;
  memcpy(&u, &f, sizeof u);
  if (u == 0x8000000000000000ull)
    u = 0;
  const uint64_t m = (uint64_t)((int64_t)u >> 63);
  return u ^ (m | 0x8000000000000000ull);
}

/* LSD radix sort of a[0..n) on bits [0, key_bits), carrying la (may be
 * NULL) along; b, lb are buffers of the same sizes. Returns which buffer
 * holds the result (0: a/la, 1: b/lb). hist: nt * BL_RDX_BUCKETS. */
static int bl_radix_sort(uint64_t *a, uint64_t *b, uint8_t *la, uint8_t *lb,
                         size_t n, int key_bits, size_t *hist, int nt) {
  int in_b = 0;
  for (int shift = 0; shift < key_bits; shift += BL_RDX_BITS) {
    uint64_t *src = in_b ? b : a, *dst = in_b ? a : b;
    uint8_t *lsrc = in_b ? lb : la, *ldst = in_b ? la : lb;
    int skip = 0;
#pragma omp parallel num_threads(nt)
    {
      const int t = omp_get_thread_num(), nth = omp_get_num_threads();
      const size_t lo = n * t / nth, hi = n * (t + 1) / nth;
      size_t *h = hist + (size_t)t * BL_RDX_BUCKETS;
      memset(h, 0, BL_RDX_BUCKETS * sizeof *h);
      for (size_t i = lo; i < hi; ++i)
        ++h[(src[i] >> shift) & BL_RDX_MASK];
#pragma omp barrier
#pragma omp single
      {
        /* Offsets: bucket-major, thread-minor, so the sort is stable. */
        size_t sum = 0;
        for (size_t d = 0; d < BL_RDX_BUCKETS; ++d) {
          size_t in_bucket = 0;
          for (int p = 0; p < nth; ++p) {
            const size_t c = hist[(size_t)p * BL_RDX_BUCKETS + d];
            hist[(size_t)p * BL_RDX_BUCKETS + d] = sum;
            sum += c;
            in_bucket += c;
          }
          if (in_bucket == n)
            skip = 1; /* every key has this digit: nothing moves */
        }
      }
      if (!skip) {
        if (lsrc) {
          for (size_t i = lo; i < hi; ++i) {
            const size_t pos = h[(src[i] >> shift) & BL_RDX_MASK]++;
            dst[pos] = src[i];
            ldst[pos] = lsrc[i];
          }
        } else {
          for (size_t i = lo; i < hi; ++i) {
            const uint64_t v = src[i];
            dst[h[(v >> shift) & BL_RDX_MASK]++] = v;
          }
        }
      }
    }
    if (!skip)
      in_b = !in_b;
  }
  return in_b;
}

/* The scan over sorted keys. key(i) and pos(i) read element i; chunks start
 * at tie-group boundaries; per chunk, phase 1 counts, phase 2 sums with the
 * counts below it. */
#define BL_RANK_SCAN(KEY, POS)                                                 \
  do {                                                                         \
    size_t start[65];                                                          \
    uint64_t cpos[64], cneg[64];                                               \
    bl_u128 u2 = 0;                                                            \
    long double ap = 0.0L;                                                     \
    uint64_t distinct = 0;                                                     \
    int nth_used = 1;                                                          \
    _Pragma("omp parallel num_threads(nt) reduction(+ : u2, ap, distinct)") {  \
      const int t = omp_get_thread_num(), nth = omp_get_num_threads();         \
      _Pragma("omp single") nth_used = nth;                                    \
      size_t c0 = n * t / nth;                                                 \
      while (c0 > 0 && c0 < n && KEY(c0) == KEY(c0 - 1))                       \
        ++c0;                                                                  \
      start[t] = c0;                                                           \
      if (t == nth - 1)                                                        \
        start[nth] = n;                                                        \
      _Pragma("omp barrier") const size_t lo = start[t];                       \
      const size_t hi = start[t + 1] > lo ? start[t + 1] : lo;                 \
      uint64_t p = 0;                                                          \
      for (size_t i = lo; i < hi; ++i)                                         \
        p += POS(i);                                                           \
      cpos[t] = p;                                                             \
      cneg[t] = (uint64_t)(hi - lo) - p;                                       \
      _Pragma("omp barrier") uint64_t pb = 0, nb = 0, P = 0, N = 0;            \
      for (int q = 0; q < nth; ++q) {                                          \
        if (q < t) {                                                           \
          pb += cpos[q];                                                       \
          nb += cneg[q];                                                       \
        }                                                                      \
        P += cpos[q];                                                          \
        N += cneg[q];                                                          \
      }                                                                        \
      size_t i = lo;                                                           \
      while (i < hi) {                                                         \
        const uint64_t k = KEY(i);                                             \
        uint64_t pg = 0, tot = 0;                                              \
        do {                                                                   \
          pg += POS(i);                                                        \
          ++tot;                                                               \
          ++i;                                                                 \
        } while (i < hi && KEY(i) == k);                                       \
        const uint64_t ng = tot - pg;                                          \
        ++distinct;                                                            \
        if (pg) {                                                              \
          u2 += (bl_u128)pg * (2 * (bl_u128)nb + ng);                          \
          const uint64_t tp = P - pb, fp = N - nb;                             \
          ap += (long double)pg * (long double)tp / (long double)(tp + fp);    \
        }                                                                      \
        pb += pg;                                                              \
        nb += ng;                                                              \
      }                                                                        \
    }                                                                          \
    uint64_t P = 0, N = 0;                                                     \
    for (int q = 0; q < nth_used; ++q) {                                       \
      P += cpos[q];                                                            \
      N += cneg[q];                                                            \
    }                                                                          \
    bl_rank_finish(out, P, N, distinct, u2, ap);                               \
  } while (0)

static void bl_rank_finish(bl_rank_result *out, uint64_t P, uint64_t N,
                           uint64_t distinct, bl_u128 u2, long double ap) {
  out->positives = P;
  out->negatives = N;
  out->distinct = distinct;
  out->roc_auc =
      P && N
          ? (double)((long double)u2 / (2.0L * (long double)P * (long double)N))
          : NAN;
  out->average_precision = P ? (double)(ap / (long double)P) : NAN;
}

static int bl_threads(void) {
  const int nt = omp_get_max_threads();
  return nt < 1 ? 1 : nt > 64 ? 64 : nt;
}

int bl_rank_sort_f32(const uint8_t *restrict labels,
                     const float *restrict scores, size_t n, void *work,
                     bl_rank_result *out) {
  const int nt = bl_threads();
  void *own = NULL;
  if (!work) {
    own = work = malloc(bl_rank_workspace_bytes(n, 0) + 8);
    if (!own)
      return BL_RANK_NO_MEMORY;
  }
  size_t *hist = malloc((size_t)nt * BL_RDX_BUCKETS * sizeof(size_t));
  if (!hist) {
    free(own);
    return BL_RANK_NO_MEMORY;
  }
  uint64_t *a = work, *b = a + n;
  int nan = 0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : nan)
  for (size_t i = 0; i < n; ++i) {
    const float f = scores[i];
    nan |= f != f;
    a[i] = (uint64_t)bl_key_f32(f) << 1 | (labels[i] != 0);
  }
  if (nan) {
    free(hist);
    free(own);
    return BL_RANK_NAN;
  }
  const uint64_t *s = bl_radix_sort(a, b, NULL, NULL, n, 33, hist, nt) ? b : a;
#define BL_K32(i) (s[i] >> 1)
#define BL_P32(i) (s[i] & 1)
  BL_RANK_SCAN(BL_K32, BL_P32);
#undef BL_K32
#undef BL_P32
  free(hist);
  free(own);
  return BL_RANK_OK;
}

int bl_rank_sort_f64(const uint8_t *restrict labels,
                     const double *restrict scores, size_t n, void *work,
                     bl_rank_result *out) {
  const int nt = bl_threads();
  void *own = NULL;
  if (!work) {
    own = work = malloc(bl_rank_workspace_bytes(n, 1) + 8);
    if (!own)
      return BL_RANK_NO_MEMORY;
  }
  size_t *hist = malloc((size_t)nt * BL_RDX_BUCKETS * sizeof(size_t));
  if (!hist) {
    free(own);
    return BL_RANK_NO_MEMORY;
  }
  uint64_t *a = work, *b = a + n;
  uint8_t *la = (uint8_t *)(b + n), *lb = la + ((n + 7) & ~(size_t)7);
  int nan = 0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : nan)
  for (size_t i = 0; i < n; ++i) {
    const double f = scores[i];
    nan |= f != f;
    a[i] = bl_key_f64(f);
    la[i] = labels[i] != 0;
  }
  if (nan) {
    free(hist);
    free(own);
    return BL_RANK_NAN;
  }
  const int in_b = bl_radix_sort(a, b, la, lb, n, 64, hist, nt);
  const uint64_t *s = in_b ? b : a;
  const uint8_t *ls = in_b ? lb : la;
#define BL_K64(i) (s[i])
#define BL_P64(i) ((uint64_t)ls[i])
  BL_RANK_SCAN(BL_K64, BL_P64);
#undef BL_K64
#undef BL_P64
  free(hist);
  free(own);
  return BL_RANK_OK;
}

/* ---- the trivial qsort reference ---- */

typedef struct bl_pair {
  double s; /* float32 scores widened exactly */
  int y;
} bl_pair;

static int bl_pair_cmp(const void *pa, const void *pb) {
  const double a = ((const bl_pair *)pa)->s, b = ((const bl_pair *)pb)->s;
  return (a > b) - (a < b); /* -0.0 == +0.0 */
}

static int bl_rank_qsort(bl_pair *v, size_t n, bl_rank_result *out) {
  for (size_t i = 0; i < n; ++i)
    if (v[i].s != v[i].s)
      return BL_RANK_NAN;
  qsort(v, n, sizeof *v, bl_pair_cmp);
  uint64_t P = 0;
  for (size_t i = 0; i < n; ++i)
    P += v[i].y != 0;
  const uint64_t N = (uint64_t)n - P;
  /* Ascending ranks 1..n, ties share the average rank (first + last) / 2:
   * twice the positives' rank sum, minus P (P + 1), is 2U. */
  bl_u128 rank2 = 0;
  uint64_t distinct = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    uint64_t pg = 0;
    while (j < n && v[j].s == v[i].s)
      pg += v[j++].y != 0;
    rank2 += (bl_u128)pg * ((bl_u128)(i + 1) + (bl_u128)j);
    ++distinct;
    i = j;
  }
  const bl_u128 u2 = rank2 - (bl_u128)P * (P + 1);
  /* AP: thresholds from the highest score down. */
  long double ap = 0.0L;
  uint64_t tp = 0, fp = 0;
  for (size_t j = n; j > 0;) {
    size_t i = j;
    uint64_t pg = 0, ng = 0;
    while (i > 0 && v[i - 1].s == v[j - 1].s) {
      if (v[i - 1].y)
        ++pg;
      else
        ++ng;
      --i;
    }
    tp += pg;
    fp += ng;
    if (pg)
      ap += (long double)pg * (long double)tp / (long double)(tp + fp);
    j = i;
  }
  bl_rank_finish(out, P, N, distinct, u2, ap);
  return BL_RANK_OK;
}

int bl_rank_qsort_f32(const uint8_t *labels, const float *scores, size_t n,
                      bl_rank_result *out) {
  bl_pair *v = malloc((n ? n : 1) * sizeof *v);
  if (!v)
    return BL_RANK_NO_MEMORY;
  for (size_t i = 0; i < n; ++i) {
    v[i].s = (double)scores[i];
    v[i].y = labels[i] != 0;
  }
  const int rc = bl_rank_qsort(v, n, out);
  free(v);
  return rc;
}

int bl_rank_qsort_f64(const uint8_t *labels, const double *scores, size_t n,
                      bl_rank_result *out) {
  bl_pair *v = malloc((n ? n : 1) * sizeof *v);
  if (!v)
    return BL_RANK_NO_MEMORY;
  for (size_t i = 0; i < n; ++i) {
    v[i].s = scores[i];
    v[i].y = labels[i] != 0;
  }
  const int rc = bl_rank_qsort(v, n, out);
  free(v);
  return rc;
}

#endif /* !BL_FAST */
