/* Calibration kernels: reliability bins and the Brier sum.
 *
 * clm_cal_binary: positive-class probability (sigma(z) on float vectors, or
 *   the probability as given) against label 1.
 * clm_cal_rows: per row of an N x K score matrix, softmax (max-subtracted,
 *   float32) or the probabilities as given; the top-label confidence max p
 *   against argmax == label (ties to the lowest class), the Brier term
 *   sum_c (p_c - [y = c])^2, and the row's max and softmax denominator for
 *   clm_cal_classwise. Logits: among m > 0 scores at +inf the probability
 *   splits evenly (1/m each), as the multi-class family's cross-entropy;
 *   rows all -inf or all +inf are bad rows, as there.
 * clm_cal_classwise: every p_c against label == c into K x B bins.
 *
 * No atomics on sums: each work-item owns a slice of the bins in global
 * memory and adds to it with compensated (Kahan) float sums; the host adds
 * the slices in double in slice order. Bins: the host passes the edges
 * rounded toward -inf to float, so p <= edge in float is exactly the
 * float64 comparison; bin b holds (e_b, e_{b+1}], the first [0, e_1].
 * Input checks: the first bad row (label, score or weight) by atomic_min;
 * the host finds which value it was. */
#ifndef CLM_VW
#include "clm_shared.h"
#include "common.cl"
#endif

/* The bin of p in [0, 1]: the smallest b with p <= edges[b + 1]. */
inline uint clm_cal_bin(const float p, __global const float *restrict edges,
                        const uint nb) {
  uint lo = 0, hi = nb - 1;
  while (lo < hi) {
    const uint mid = (lo + hi) >> 1;
    if (p <= edges[mid + 1])
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

#ifndef CLM_CAL_LINEAR_BINS
#define CLM_CAL_LINEAR_BINS 64 /* up to this many bins: vector compares */
#endif

/* The bins of CLM_VW confidences: with few bins, one vector compare per
 * interior edge (a scalar search per lane cost 3x the whole pass); else a
 * binary search per lane. */
inline intv clm_cal_bins(const floatv p, __global const float *restrict edges,
                         const uint nb) {
  if (nb <= CLM_CAL_LINEAR_BINS) {
    intv b = 0;
    for (uint e = 1; e < nb; ++e)
      b += select((intv)0, (intv)1, p > (floatv)edges[e]);
    return b;
  }
  float tp[CLM_VW];
  int tb[CLM_VW];
  VSTOREF(p, tp);
  for (uint j = 0; j < CLM_VW; ++j)
    tb[j] = (int)clm_cal_bin(tp[j], edges, nb);
  return VLOADI(tb);
}

/* Kahan step on a (sum, compensation) pair: precision independent of the
 * number of terms (the kernels build without fast-math, so it survives). */
inline void clm_cal_kahan(__global float *restrict s, const float x) {
  const float sum = s[0];
  const float y = x - s[1];
  const float t = sum + y;
  s[1] = (t - sum) - y;
  s[0] = t;
}

/* Adds one row to a bin of a slice. Unweighted: the host takes the weight
 * and hit sums from the integer counts. */
inline void clm_cal_add(__global uint *restrict cnt,
                        __global float *restrict sum, const float w,
                        const float conf, const int hit, const int weighted) {
  cnt[CLM_CAL_N] += 1;
  cnt[CLM_CAL_HITS] += hit ? 1 : 0;
  clm_cal_kahan(sum + CLM_CAL_CONF, w * conf);
  if (weighted) {
    clm_cal_kahan(sum + CLM_CAL_W, w);
    if (hit)
      clm_cal_kahan(sum + CLM_CAL_HIT, w);
  }
}

/* Zeroes `bins` bins of a slice. */
inline void clm_cal_zero(__global uint *restrict cnt,
                         __global float *restrict sum, const uint bins) {
  for (uint b = 0; b < bins; ++b) {
    for (uint j = 0; j < CLM_CAL_COUNTS; ++j)
      cnt[b * CLM_CAL_COUNTS + j] = 0;
    for (uint j = 0; j < CLM_CAL_SUMS; ++j)
      sum[b * CLM_CAL_SUMS + j] = 0.0f;
  }
}

/* A weight must be finite and >= 0. */
inline int clm_cal_bad_weight(const float w) {
  return !(w >= 0.0f) || isinf(w);
}

__kernel void clm_cal_binary(__global const float *restrict scores,
                             __global const uchar *restrict labels,
                             __global const float *restrict weights,
                             const uint n, const int probs, const int weighted,
                             __global const float *restrict edges,
                             const uint nb, const uint slices,
                             __global uint *restrict counts,
                             __global float *restrict sums,
                             __global float *restrict brier,
                             __global uint *restrict status) {
  const uint item = get_global_id(0);
  if (item >= slices)
    return;
  __global uint *cnt = counts + (ulong)item * nb * CLM_CAL_COUNTS;
  __global float *sum = sums + (ulong)item * nb * CLM_CAL_SUMS;
  clm_cal_zero(cnt, sum, nb);
  float bsum = 0.0f, bcomp = 0.0f;
  uint first_bad = CLM_NO_BAD;
  const uint nvec = (n + CLM_VW - 1) / CLM_VW;
  const uint per = (nvec + slices - 1) / slices;
  for (uint t = 0; t < per; ++t) {
#if CLM_STRIDED
    const uint v = t * slices + item;
#else
    const uint v = item * per + t;
#endif
    const uint e0 = v * CLM_VW;
    if (v >= nvec)
      break;
    floatv z, w = 1.0f;
    intv y, valid;
    if (n - e0 >= CLM_VW) {
      z = VLOADF(scores + e0);
      y = TO_INTV(VLOADU(labels + e0));
      if (weighted)
        w = VLOADF(weights + e0);
      valid = (intv)CLM_TRUE;
    } else {
      float tz[CLM_VW], tw[CLM_VW];
      uchar ty[CLM_VW];
      int tv[CLM_VW];
      for (uint j = 0; j < CLM_VW; ++j) {
        const int in = e0 + j < n;
        tz[j] = in ? scores[e0 + j] : 0.0f;
        ty[j] = in ? labels[e0 + j] : (uchar)0;
        tw[j] = in && weighted ? weights[e0 + j] : 1.0f;
        tv[j] = in ? CLM_TRUE : 0;
      }
      z = VLOADF(tz);
      y = TO_INTV(VLOADU(ty));
      w = VLOADF(tw);
      valid = VLOADI(tv);
    }
    const intv ypos = y == (intv)1;
    floatv p, miss; /* p and |p - y| */
    intv bad;
    if (probs) {
      p = z;
      miss = select(z, 1.0f - z, ypos);
      bad = (z < 0.0f) | (z > 1.0f) | isnan(z);
    } else {
      /* sigma(z) and sigma(-z) = 1 - sigma(z) without cancellation. */
      const floatv e = clm_exp_nonpos(-fabs(z)); /* in [0, 1] */
      const floatv inv = 1.0f / (1.0f + e);
      const floatv lo = e * inv; /* sigma(-|z|) */
      p = select(lo, inv, z >= 0.0f);
      miss = select(p, select(inv, lo, z >= 0.0f), ypos);
      bad = isnan(z);
    }
    bad |= y > (intv)1;
    if (weighted)
      bad |= (w < 0.0f) | isnan(w) | isinf(w);
    bad &= valid;
    if (ANYV(bad)) {
      int tb[CLM_VW];
      VSTOREI(bad, tb);
      for (uint j = 0; j < CLM_VW; ++j)
        if (tb[j] && e0 + j < first_bad)
          first_bad = e0 + j;
      continue;
    }
    const floatv bterm = w * (miss * miss);
    float tp[CLM_VW], tw[CLM_VW], tbr[CLM_VW];
    int ty[CLM_VW], tv[CLM_VW], tbin[CLM_VW];
    VSTOREI(clm_cal_bins(p, edges, nb), tbin);
    VSTOREF(p, tp);
    VSTOREF(w, tw);
    VSTOREF(bterm, tbr);
    VSTOREI(ypos, ty);
    VSTOREI(valid, tv);
    for (uint j = 0; j < CLM_VW; ++j) {
      if (!tv[j])
        continue;
      const uint b = (uint)tbin[j];
      clm_cal_add(cnt + b * CLM_CAL_COUNTS, sum + b * CLM_CAL_SUMS, tw[j],
                  tp[j], ty[j], weighted);
      const float yb = tbr[j] - bcomp;
      const float tb = bsum + yb;
      bcomp = (tb - bsum) - yb;
      bsum = tb;
    }
  }
  brier[CLM_CAL_BRIER * item] = bsum;
  brier[CLM_CAL_BRIER * item + 1] = bcomp;
  if (first_bad != CLM_NO_BAD)
    atomic_min(status, first_bad);
}

/* One group of CLM_VW rows of the score matrix, lanes past the end repeat
 * the last row: labels, weights and which lanes count. */
#define CLM_CAL_ROW_GROUP                                                      \
  int rowi[CLM_VW], tcls[CLM_VW], tcount[CLM_VW];                              \
  float twt[CLM_VW];                                                           \
  for (uint j = 0; j < CLM_VW; ++j) {                                          \
    const uint r = min(r0 + j, n - 1);                                         \
    rowi[j] = (int)r;                                                          \
    tcls[j] = labels[r];                                                       \
    twt[j] = weighted ? weights[r] : 1.0f;                                     \
    tcount[j] = r0 + j < n && !(has_ignore && tcls[j] == ignore_index);        \
  }

/* e_c: exp(z_c - max) for logits (1 for the columns at +inf when the max is
 * +inf, 0 for the others), p_c itself for probabilities. */
inline floatv clm_cal_term(const floatv v, const floatv best, const int probs) {
  if (probs)
    return v;
  const intv top = isinf(best) & (best > 0.0f);
  return select(clm_exp_nonpos(v - best),
                select((floatv)0.0f, (floatv)1.0f, v == best), top);
}

__kernel void
clm_cal_rows(__global const float *restrict s,
             __global const int *restrict labels,
             __global const float *restrict weights, const uint n, const uint k,
             const int probs, const int weighted, const int has_ignore,
             const int ignore_index, __global const float *restrict edges,
             const uint nb, const uint slices, __global uint *restrict counts,
             __global float *restrict sums, __global float *restrict brier,
             __global uint *restrict status, __global float *restrict stats,
             const int write_stats) {
  const uint item = get_global_id(0);
  if (item >= slices)
    return;
  __global uint *cnt = counts + (ulong)item * nb * CLM_CAL_COUNTS;
  __global float *sum = sums + (ulong)item * nb * CLM_CAL_SUMS;
  clm_cal_zero(cnt, sum, nb);
  float bsum = 0.0f, bcomp = 0.0f;
  uint first_bad = CLM_NO_BAD;
  const uint ngroups = (n + CLM_VW - 1) / CLM_VW;
  const uint per = (ngroups + slices - 1) / slices;
  for (uint it = 0; it < per; ++it) {
#if CLM_STRIDED
    const uint g = it * slices + item;
#else
    const uint g = item * per + it;
#endif
    if (g >= ngroups)
      break;
    const uint r0 = g * CLM_VW;
    CLM_CAL_ROW_GROUP
    const intv t = VLOADI(tcls);
    const floatv w = VLOADF(twt);
    const intv counted = VLOADI(tcount) != (intv)0;
    /* Pass 1: max and its first column, min, input checks. */
    floatv best = -INFINITY, lo = INFINITY;
    intv arg = 0, badm = 0;
    for (uint c = 0; c < k; ++c) {
      float tmp[CLM_VW];
      for (uint j = 0; j < CLM_VW; ++j)
        tmp[j] = s[(ulong)rowi[j] * k + c];
      const floatv v = VLOADF(tmp);
      badm |= probs ? ((v < 0.0f) | (v > 1.0f) | isnan(v)) : isnan(v);
      const intv gt = v > best;
      best = select(best, v, gt);
      arg = select(arg, (intv)(int)c, gt);
      lo = fmin(lo, v);
    }
    if (!probs)
      badm |= (best == (floatv)(-INFINITY)) | (lo == (floatv)INFINITY);
    badm |= (t < (intv)0) | (t >= (intv)(int)k);
    if (weighted)
      badm |= (w < 0.0f) | isnan(w) | isinf(w);
    badm &= counted;
    if (ANYV(badm)) {
      int tb[CLM_VW];
      VSTOREI(badm, tb);
      for (uint j = 0; j < CLM_VW; ++j)
        if (tb[j])
          first_bad = min(first_bad, r0 + j);
      continue;
    }
    /* Pass 2: the denominator, and for the Brier term the mass and the
     * squares off the true class (no cancellation near p_y = 1). */
    floatv den = 0.0f, rest = 0.0f, sq = 0.0f;
    for (uint c = 0; c < k; ++c) {
      float tmp[CLM_VW];
      for (uint j = 0; j < CLM_VW; ++j)
        tmp[j] = s[(ulong)rowi[j] * k + c];
      const floatv e = clm_cal_term(VLOADF(tmp), best, probs);
      const intv other = t != (intv)(int)c;
      den += e;
      rest += select((floatv)0.0f, e, other);
      sq += select((floatv)0.0f, e * e, other);
    }
    floatv conf, bterm;
    if (probs) {
      /* rest holds sum_{c != y} p_c; 1 - p_y comes from p_y itself. */
      float ty[CLM_VW];
      for (uint j = 0; j < CLM_VW; ++j) /* labels were checked above */
        ty[j] = s[(ulong)rowi[j] * k + ((uint)tcls[j] < k ? tcls[j] : 0)];
      const floatv py = VLOADF(ty);
      conf = best;
      bterm = (1.0f - py) * (1.0f - py) + sq;
    } else {
      const floatv inv = 1.0f / den;
      conf = inv; /* e = 1 at the argmax */
      const floatv miss = rest * inv;
      bterm = miss * miss + sq * (inv * inv);
    }
    bterm *= w;
    float tc[CLM_VW], tbr[CLM_VW], tm[CLM_VW], td[CLM_VW];
    int ta[CLM_VW], tbin[CLM_VW];
    VSTOREI(clm_cal_bins(conf, edges, nb), tbin);
    VSTOREF(conf, tc);
    VSTOREF(bterm, tbr);
    VSTOREF(best, tm);
    VSTOREF(den, td);
    VSTOREI(arg, ta);
    for (uint j = 0; j < CLM_VW; ++j) {
      if (write_stats && r0 + j < n) {
        stats[2 * (ulong)(r0 + j)] = tm[j];
        stats[2 * (ulong)(r0 + j) + 1] = probs ? 1.0f : td[j];
      }
      if (!tcount[j])
        continue;
      const uint b = (uint)tbin[j];
      clm_cal_add(cnt + b * CLM_CAL_COUNTS, sum + b * CLM_CAL_SUMS, twt[j],
                  tc[j], ta[j] == tcls[j], weighted);
      const float yb = tbr[j] - bcomp;
      const float tb = bsum + yb;
      bcomp = (tb - bsum) - yb;
      bsum = tb;
    }
  }
  brier[CLM_CAL_BRIER * item] = bsum;
  brier[CLM_CAL_BRIER * item + 1] = bcomp;
  if (first_bad != CLM_NO_BAD)
    atomic_min(status, first_bad);
}

/* Work-item = (row segment, block of `block` columns): its slice holds the
 * bins of those columns for those rows, at counts[seg][c][b]. Reads the
 * rows' max and denominator from clm_cal_rows; rows with bad input are
 * reported there (the host then drops the chunk). */
__kernel void clm_cal_classwise(
    __global const float *restrict s, __global const int *restrict labels,
    __global const float *restrict weights, const uint n, const uint k,
    const int probs, const int weighted, const int has_ignore,
    const int ignore_index, __global const float *restrict edges, const uint nb,
    const uint segs, const uint block, __global uint *restrict counts,
    __global float *restrict sums, __global const float *restrict stats) {
  const uint item = get_global_id(0);
  const uint seg = item % segs, blk = item / segs;
  const uint c0 = blk * block;
  if (c0 >= k)
    return;
  const uint c1 = min(k, c0 + block);
  __global uint *cnt = counts + ((ulong)seg * k + c0) * nb * CLM_CAL_COUNTS;
  __global float *sum = sums + ((ulong)seg * k + c0) * nb * CLM_CAL_SUMS;
  clm_cal_zero(cnt, sum, (c1 - c0) * nb);
  const uint ngroups = (n + CLM_VW - 1) / CLM_VW;
  const uint per = (ngroups + segs - 1) / segs;
  for (uint it = 0; it < per; ++it) {
    const uint g = seg * per + it;
    if (g >= ngroups)
      break;
    const uint r0 = g * CLM_VW;
    CLM_CAL_ROW_GROUP
    float tm[CLM_VW], td[CLM_VW];
    for (uint j = 0; j < CLM_VW; ++j) {
      tm[j] = stats[2 * (ulong)rowi[j]];
      td[j] = stats[2 * (ulong)rowi[j] + 1];
    }
    const floatv best = VLOADF(tm), den = VLOADF(td);
    for (uint c = c0; c < c1; ++c) {
      float tmp[CLM_VW];
      for (uint j = 0; j < CLM_VW; ++j)
        tmp[j] = s[(ulong)rowi[j] * k + c];
      const floatv e = clm_cal_term(VLOADF(tmp), best, probs);
      const floatv p = probs ? e : e / den;
      float tp[CLM_VW];
      int tbin[CLM_VW];
      VSTOREF(p, tp);
      VSTOREI(clm_cal_bins(p, edges, nb), tbin);
      __global uint *cc = cnt + (c - c0) * nb * CLM_CAL_COUNTS;
      __global float *cs = sum + (c - c0) * nb * CLM_CAL_SUMS;
      for (uint j = 0; j < CLM_VW; ++j) {
        if (!tcount[j])
          continue;
        const uint b = (uint)tbin[j];
        clm_cal_add(cc + b * CLM_CAL_COUNTS, cs + b * CLM_CAL_SUMS, twt[j],
                    tp[j], tcls[j] == (int)c, weighted);
      }
    }
  }
}
