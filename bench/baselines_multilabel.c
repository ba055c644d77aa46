/* The multilabel OpenMP baselines; see baselines_multilabel.h. Compiled
 * twice (BL_FAST=0/1), as baselines.c. */
#include "baselines_multilabel.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#if BL_FAST
#ifndef __FAST_MATH__
#error "the _fast copy of baselines_multilabel.c needs -ffast-math"
#endif
#define BL(name) name##_fast
#else
#ifdef __FAST_MATH__
#error "the _plain copy of baselines_multilabel.c must not use -ffast-math"
#endif
#define BL(name) name##_plain
#endif

/* Rows per parallel region: a thread's uint32 label counts stay below
 * 2^32 (they are flushed into the uint64 totals after each region). */
#define BL_ML_BLOCK_ROWS ((size_t)1 << 31)

/* One thread's per-row sums. */
typedef struct row_sums {
  uint64_t exact, diff;
  double prec, rec, f1, jac;
  uint64_t prec_u, rec_u, f1_u, jac_u;
  uint64_t cov, bad, tie;
  double lrap, rloss;
  char pad[64]; /* keeps threads' structs off each other's cache lines */
} row_sums;

/* Label ranking of one row with t true labels, 0 < t < L: the quadratic
 * scan (for every true label, one pass over the row), as clmetrics does. */
static void BL(rank_row)(const float *restrict s, const uint8_t *restrict y,
                         uint32_t L, uint32_t t, row_sums *rs) {
  uint32_t cov = 0;
  uint64_t bad = 0, tie = 0;
  double lrap = 0.0;
  for (uint32_t j = 0; j < L; ++j) {
    if (!y[j])
      continue;
    const float sj = s[j];
    uint32_t g = 0, gt = 0, ef = 0;
    for (uint32_t k = 0; k < L; ++k) {
      const uint32_t ge = s[k] >= sj;
      g += ge;
      gt += ge & y[k];
      ef += (s[k] == sj) & !y[k];
    }
    cov = g > cov ? g : cov;
    bad += g - gt;
    tie += ef;
    lrap += (double)gt / (double)g;
  }
  rs->cov += cov;
  rs->bad += bad;
  rs->tie += tie;
  rs->lrap += lrap / t;
  rs->rloss += (double)bad / ((double)t * (double)(L - t));
}

int BL(bl_ml_omp)(const uint8_t *restrict labels, const float *restrict scores,
                  size_t n, uint32_t L, int rank, bl_ml_result *out) {
  const int nt = omp_get_max_threads();
  row_sums *rs = calloc((size_t)nt, sizeof *rs);
  /* Per thread: tp, fp, fn (uint32) and loss (double), L each. */
  uint32_t **cnt = calloc((size_t)nt, sizeof *cnt);
  double **loss = calloc((size_t)nt, sizeof *loss);
  int fail = !rs || !cnt || !loss;
  for (int t = 0; t < nt && !fail; ++t) {
    cnt[t] = malloc((size_t)3 * L * sizeof **cnt);
    loss[t] = malloc((size_t)L * sizeof **loss);
    fail = !cnt[t] || !loss[t];
  }
  if (fail) {
    for (int t = 0; cnt && t < nt; ++t)
      free(cnt[t]);
    for (int t = 0; loss && t < nt; ++t)
      free(loss[t]);
    free(cnt);
    free(loss);
    free(rs);
    return BL_ML_NO_MEMORY;
  }

  for (size_t b0 = 0; b0 < n; b0 += BL_ML_BLOCK_ROWS) {
    const size_t b1 = n - b0 < BL_ML_BLOCK_ROWS ? n : b0 + BL_ML_BLOCK_ROWS;
    /* Zeroed here, so that a thread the runtime did not start adds 0. */
    for (int t = 0; t < nt; ++t) {
      memset(cnt[t], 0, (size_t)3 * L * sizeof **cnt);
      memset(loss[t], 0, (size_t)L * sizeof **loss);
      memset(&rs[t], 0, sizeof rs[t]);
    }
#pragma omp parallel num_threads(nt)
    {
      const int me = omp_get_thread_num();
      uint32_t *restrict tp = cnt[me], *restrict fp = tp + L,
                         *restrict fn = fp + L;
      double *restrict ls = loss[me];
      row_sums acc = {0};
#pragma omp for schedule(static)
      for (size_t r = b0; r < b1; ++r) {
        const float *restrict z = scores + r * L;
        const uint8_t *restrict y = labels + r * L;
        uint32_t rtp = 0, rfp = 0, rfn = 0;
        for (uint32_t l = 0; l < L; ++l) {
          const float zz = z[l];
          const uint32_t yy = y[l];
          const float e = expf(-fabsf(zz));
          const float m = yy ? -zz : zz;
          ls[l] += (double)((m > 0.0f ? m : 0.0f) + log1pf(e));
          const uint32_t p = zz > 0.0f;
          const uint32_t a = yy & p, b = p & (yy ^ 1u), c = yy & (p ^ 1u);
          tp[l] += a;
          fp[l] += b;
          fn[l] += c;
          rtp += a;
          rfp += b;
          rfn += c;
        }
        const uint32_t wrong = rfp + rfn;
        acc.exact += wrong == 0;
        acc.diff += wrong;
        if (rtp + rfp)
          acc.prec += (double)rtp / (double)(rtp + rfp);
        else
          ++acc.prec_u;
        if (rtp + rfn)
          acc.rec += (double)rtp / (double)(rtp + rfn);
        else
          ++acc.rec_u;
        if (2 * rtp + wrong)
          acc.f1 += (double)(2 * rtp) / (double)(2 * rtp + wrong);
        else
          ++acc.f1_u;
        if (rtp + wrong)
          acc.jac += (double)rtp / (double)(rtp + wrong);
        else
          ++acc.jac_u;
        if (rank) {
          const uint32_t t = rtp + rfn;
          if (t == 0 || t == L) {
            acc.cov += t;
            acc.lrap += 1.0;
          } else {
            BL(rank_row)(z, y, L, t, &acc);
          }
        }
      }
      rs[me] = acc;
      /* Merge the private label arrays in thread order (deterministic),
       * parallel over labels. */
#pragma omp barrier
#pragma omp for schedule(static)
      for (uint32_t l = 0; l < L; ++l) {
        for (int t = 0; t < nt; ++t) {
          out->tp[l] += cnt[t][l];
          out->fp[l] += cnt[t][L + l];
          out->fn[l] += cnt[t][2 * (size_t)L + l];
          out->loss[l] += loss[t][l];
        }
      }
    }
    for (int t = 0; t < nt; ++t) {
      out->exact += rs[t].exact;
      out->diff += rs[t].diff;
      out->prec_sum += rs[t].prec;
      out->rec_sum += rs[t].rec;
      out->f1_sum += rs[t].f1;
      out->jac_sum += rs[t].jac;
      out->prec_undef += rs[t].prec_u;
      out->rec_undef += rs[t].rec_u;
      out->f1_undef += rs[t].f1_u;
      out->jac_undef += rs[t].jac_u;
      out->coverage_sum += rs[t].cov;
      out->bad_pairs += rs[t].bad;
      out->tie_pairs += rs[t].tie;
      out->lrap_sum += rs[t].lrap;
      out->rank_loss_sum += rs[t].rloss;
    }
  }
  out->n += n;
  for (int t = 0; t < nt; ++t) {
    free(cnt[t]);
    free(loss[t]);
  }
  free(cnt);
  free(loss);
  free(rs);
  return BL_ML_OK;
}
