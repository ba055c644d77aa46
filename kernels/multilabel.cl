/* Multilabel evaluation: one pass over an n x L row-major matrix of labels
 * and scores (or 0/1 predictions), and per-row weights.
 *
 * Each work-item takes bands of CLM_ML_BAND rows (band = gid, gid + S, ...)
 * and walks a band column block by column block (CLM_VW labels): per label
 * the band's counts and sums stay in registers and reach the work-item's
 * own slice in global memory once per band (no atomics, deterministic);
 * per row the counts build up in private vectors and are written to the
 * row's words at the end of the band. With label ranking, each row of the
 * band is then scanned again (it is in cache): for every true label j, the
 * labels scoring >= s_j, the true ones among them and the false ones tied
 * with it.
 *
 * Per cell (as the binary kernel): BCE in the softplus form for logits,
 * clipped for probabilities; gradient sigma(z) - y (p - y); decision
 * z > thr[label] (thresholds already in the score's domain). Input checks:
 * the first bad flat index (row * L + label) by one atomic_min per
 * work-item; a bad row weight flags its row's first cell. */
#ifndef CLM_VW
#include "clm_shared.h"
#include "common.cl"
#endif

#ifndef CLM_ML_BAND
#define CLM_ML_BAND 16 /* rows per band */
#endif

/* Kahan step on the lane sums at s[0..] and their compensations at c[0..]
 * (`m` lanes; a full vector when m == CLM_VW). Once a sum is +inf (the loss
 * of a logit of +-inf on the wrong side of its label) its compensation stays
 * 0: (inf - inf) would make it NaN, and the host's sum - compensation NaN
 * instead of +inf. */
inline void clm_ml_kahan(__global float *restrict s, __global float *restrict c,
                         const floatv x, const uint m) {
  if (m == CLM_VW) {
    const floatv sum = VLOADF(s);
    const floatv y = x - VLOADF(c);
    const floatv t = sum + y;
    VSTOREF(select((floatv)0.0f, (t - sum) - y, isfinite(t)), c);
    VSTOREF(t, s);
    return;
  }
  float tx[CLM_VW];
  VSTOREF(x, tx);
  for (uint j = 0; j < m; ++j) {
    const float sum = s[j];
    const float y = tx[j] - c[j];
    const float t = sum + y;
    c[j] = isfinite(t) ? (t - sum) - y : 0.0f;
    s[j] = t;
  }
}

/* Adds `m` lane counts to a slice's counters. */
inline void clm_ml_count(__global uint *restrict p, const intv v,
                         const uint m) {
  int tv[CLM_VW];
  VSTOREI(v, tv);
  for (uint j = 0; j < m; ++j)
    p[j] += (uint)tv[j];
}

/* The label-ranking statistics of one row with t true labels (0 < t < L);
 * writes coverage, wrong and tied pairs, and the LRAP sum. */
inline void clm_ml_rank_row(__global const float *restrict s,
                            __global const uchar *restrict y, const uint L,
                            __global uint *restrict rw) {
  uint cov = 0;
  ulong bad = 0, ties = 0;
  float lr = 0.0f, lc = 0.0f; /* Kahan sum and compensation */
  for (uint j = 0; j < L; ++j) {
    if (y[j] != 1)
      continue;
    const float sj = s[j];
    intv ge = 0, ge_true = 0, eq_false = 0;
    uint k = 0;
    for (; k + CLM_VW <= L; k += CLM_VW) {
      const floatv z = VLOADF(s + k);
      const intv yk = TO_INTV(VLOADU(y + k)) == (intv)1;
      const intv mge = z >= (floatv)sj;
      ge += select((intv)0, (intv)1, mge);
      ge_true += select((intv)0, (intv)1, mge & yk);
      eq_false += select((intv)0, (intv)1, (z == (floatv)sj) & ~yk);
    }
    uint g = clm_hsum_i(ge), gt = clm_hsum_i(ge_true),
         ef = clm_hsum_i(eq_false);
    for (; k < L; ++k) {
      const int mge = s[k] >= sj, yk = y[k] == 1;
      g += mge ? 1u : 0u;
      gt += (mge && yk) ? 1u : 0u;
      ef += (s[k] == sj && !yk) ? 1u : 0u;
    }
    cov = max(cov, g);
    bad += (ulong)(g - gt);
    ties += (ulong)ef;
    const float q = (float)gt / (float)g;
    const float yv = q - lc;
    const float t = lr + yv;
    lc = (t - lr) - yv;
    lr = t;
  }
  rw[CLM_ML_ROW_COV] = cov;
  rw[CLM_ML_ROW_BAD] = (uint)bad;
  rw[CLM_ML_ROW_BAD + 1] = (uint)(bad >> 32);
  rw[CLM_ML_ROW_TIE] = (uint)ties;
  rw[CLM_ML_ROW_TIE + 1] = (uint)(ties >> 32);
  rw[CLM_ML_ROW_LRAP] = as_uint(lr - lc);
}

__kernel void clm_multilabel(
    __global const float *restrict scores,
    __global const uchar *restrict labels, __global const uchar *restrict pred,
    __global const float *restrict weights, const uint n, const uint L,
    __global const float *restrict thr, const uint flags,
    __global float *restrict grad, __global uint *restrict counts,
    __global float *restrict sums, __global uint *restrict rows,
    __global uint *restrict status) {
  const uint gid = get_global_id(0);
  const uint S = get_global_size(0);
  const int probs = (flags & CLM_ML_PROBS) != 0;
  const int from_pred = (flags & CLM_ML_FROM_PRED) != 0;
  const int weighted = (flags & CLM_ML_WEIGHTED) != 0;
  const int rank = (flags & CLM_ML_RANK) != 0;
  const int write_grad = (flags & CLM_ML_GRAD) != 0;
  const uint nsums = weighted ? CLM_ML_SUMS_WEIGHTED : CLM_ML_SUMS_PLAIN;
  const uint row_words = rank ? CLM_ML_ROW_WORDS_RANK : CLM_ML_ROW_WORDS_PLAIN;
  __global uint *restrict cnt = counts + (ulong)gid * CLM_ML_COUNTS * L;
  __global float *restrict sm = sums + (ulong)gid * nsums * 2 * L;
  for (uint i = 0; i < CLM_ML_COUNTS * L; ++i)
    cnt[i] = 0;
  for (uint i = 0; i < nsums * 2 * L; ++i)
    sm[i] = 0.0f;

  uint first_bad = CLM_NO_BAD;
  const uint bands = (n + CLM_ML_BAND - 1) / CLM_ML_BAND;
  for (uint band = gid; band < bands; band += S) {
    const uint r0 = band * CLM_ML_BAND;
    const uint nr = min((uint)CLM_ML_BAND, n - r0);
    intv rtp[CLM_ML_BAND], rfp[CLM_ML_BAND], rfn[CLM_ML_BAND];
    float rw8[CLM_ML_BAND];
    for (uint r = 0; r < CLM_ML_BAND; ++r) {
      rtp[r] = 0;
      rfp[r] = 0;
      rfn[r] = 0;
      rw8[r] = 1.0f;
    }
    if (weighted)
      for (uint r = 0; r < nr; ++r) {
        const float w = weights[r0 + r];
        rw8[r] = w;
        if (isnan(w) || isinf(w) || w < 0.0f)
          first_bad = min(first_bad, (r0 + r) * L);
      }

    for (uint c0 = 0; c0 < L; c0 += CLM_VW) {
      const uint m = min((uint)CLM_VW, L - c0);
      floatv t = 0.0f;
      intv valid;
      if (m == CLM_VW) {
        if (!from_pred)
          t = VLOADF(thr + c0);
        valid = (intv)CLM_TRUE;
      } else {
        float tt[CLM_VW];
        int tv[CLM_VW];
        for (uint j = 0; j < CLM_VW; ++j) {
          tt[j] = (!from_pred && j < m) ? thr[c0 + j] : 0.0f;
          tv[j] = j < m ? CLM_TRUE : 0;
        }
        t = VLOADF(tt);
        valid = VLOADI(tv);
      }
      intv ctp = 0, cfp = 0, cfn = 0;
      floatv closs = 0.0f, cwtp = 0.0f, cwfp = 0.0f, cwfn = 0.0f, cwtn = 0.0f;
      for (uint r = 0; r < nr; ++r) {
        const uint e0 = (r0 + r) * L + c0;
        intv y, pv = 0;
        floatv z = 0.0f;
        if (m == CLM_VW) {
          y = TO_INTV(VLOADU(labels + e0));
          if (from_pred)
            pv = TO_INTV(VLOADU(pred + e0));
          else
            z = VLOADF(scores + e0);
        } else {
          uchar ty[CLM_VW], tp8[CLM_VW];
          float tz[CLM_VW];
          for (uint j = 0; j < CLM_VW; ++j) {
            ty[j] = j < m ? labels[e0 + j] : (uchar)0;
            tp8[j] = (from_pred && j < m) ? pred[e0 + j] : (uchar)0;
            tz[j] = (!from_pred && j < m) ? scores[e0 + j] : 0.0f;
          }
          y = TO_INTV(VLOADU(ty));
          pv = TO_INTV(VLOADU(tp8));
          z = VLOADF(tz);
        }
        const intv pos = (y == (intv)1) & valid;
        intv prd, bad = y > (intv)1;
        if (from_pred) {
          prd = (pv != (intv)0) & valid;
          bad |= pv > (intv)1;
        } else {
          prd = (z > t) & valid;
          const float w = rw8[r];
          const floatv yf = TO_FLOATV(y);
          floatv loss, g;
          if (probs) {
            const floatv pc = clamp(z, FLT_EPSILON, 1.0f - FLT_EPSILON);
            loss = select(-log1p(-pc), -log(pc), pos);
            g = z - yf;
            bad |= (z < 0.0f) | (z > 1.0f) | isnan(z);
          } else {
            const floatv e = clm_exp_nonpos(-fabs(z));
            loss = fmax(select(z, -z, pos), 0.0f) + clm_log1p_unit(e);
            const floatv inv = 1.0f / (1.0f + e);
            g = select(e * inv, inv, z >= 0.0f) - yf;
            bad |= isnan(z);
          }
          if (weighted) {
            /* A zero weight drops the row, even a loss of +inf. */
            loss = w == 0.0f ? (floatv)0.0f : w * loss;
            g = w * g;
          }
          closs += select((floatv)0.0f, loss, valid);
          if (write_grad) {
            if (m == CLM_VW) {
              VSTOREF(g, grad + e0);
            } else {
              float tg[CLM_VW];
              VSTOREF(g, tg);
              for (uint j = 0; j < m; ++j)
                grad[e0 + j] = tg[j];
            }
          }
        }
        bad &= valid;
        if (ANYV(bad)) {
          int tb[CLM_VW];
          VSTOREI(bad, tb);
          for (uint j = 0; j < CLM_VW; ++j)
            if (tb[j])
              first_bad = min(first_bad, e0 + j);
        }
        /* pos and prd are 0 or CLM_TRUE, so a & ~b is one of them too. */
        const intv is_tp = pos & prd, is_fp = prd & ~pos, is_fn = pos & ~prd;
        const intv one_tp = select((intv)0, (intv)1, is_tp),
                   one_fp = select((intv)0, (intv)1, is_fp),
                   one_fn = select((intv)0, (intv)1, is_fn);
        ctp += one_tp;
        cfp += one_fp;
        cfn += one_fn;
        rtp[r] += one_tp;
        rfp[r] += one_fp;
        rfn[r] += one_fn;
        if (weighted) {
          const floatv w = (floatv)rw8[r];
          cwtp += select((floatv)0.0f, w, is_tp);
          cwfp += select((floatv)0.0f, w, is_fp);
          cwfn += select((floatv)0.0f, w, is_fn);
          cwtn += select((floatv)0.0f, w, valid & ~(pos | prd));
        }
      }
      clm_ml_count(cnt + CLM_ML_TP * L + c0, ctp, m);
      clm_ml_count(cnt + CLM_ML_FP * L + c0, cfp, m);
      clm_ml_count(cnt + CLM_ML_FN * L + c0, cfn, m);
      if (!from_pred)
        clm_ml_kahan(sm + (2 * CLM_ML_LOSS) * L + c0,
                     sm + (2 * CLM_ML_LOSS + 1) * L + c0, closs, m);
      if (weighted) {
        clm_ml_kahan(sm + (2 * CLM_ML_WTP) * L + c0,
                     sm + (2 * CLM_ML_WTP + 1) * L + c0, cwtp, m);
        clm_ml_kahan(sm + (2 * CLM_ML_WFP) * L + c0,
                     sm + (2 * CLM_ML_WFP + 1) * L + c0, cwfp, m);
        clm_ml_kahan(sm + (2 * CLM_ML_WFN) * L + c0,
                     sm + (2 * CLM_ML_WFN + 1) * L + c0, cwfn, m);
        clm_ml_kahan(sm + (2 * CLM_ML_WTN) * L + c0,
                     sm + (2 * CLM_ML_WTN + 1) * L + c0, cwtn, m);
      }
    }

    for (uint r = 0; r < nr; ++r) {
      const uint tp = clm_hsum_i(rtp[r]), fp = clm_hsum_i(rfp[r]),
                 fn = clm_hsum_i(rfn[r]);
      __global uint *restrict rw = rows + (ulong)(r0 + r) * row_words;
      rw[CLM_ML_ROW_TP] = tp;
      rw[CLM_ML_ROW_FP] = fp;
      rw[CLM_ML_ROW_FN] = fn;
      if (!rank)
        continue;
      const uint t_true = tp + fn;
      if (t_true == 0 || t_true == L) {
        rw[CLM_ML_ROW_COV] = t_true; /* 0, or every label */
        for (uint q = CLM_ML_ROW_BAD; q < CLM_ML_ROW_WORDS_RANK; ++q)
          rw[q] = 0;
      } else {
        const ulong off = (ulong)(r0 + r) * L;
        clm_ml_rank_row(scores + off, labels + off, L, rw);
      }
    }
  }
  if (first_bad != CLM_NO_BAD)
    atomic_min(status, first_bad);
}
