/* Multilabel evaluation: one pass over an n x L row-major matrix of labels
 * and scores (or 0/1 predictions), and per-row weights.
 *
 * Each work-item takes bands of CLM_ML_BAND rows: on CPUs (CLM_STRIDED 0)
 * one contiguous run of bands, so that its reads are long sequential
 * streams (interleaved bands, gid, gid + S, ..., each started with a cache
 * miss: 1.4-2x slower on PoCL); on GPUs bands gid, gid + S, .... A band is
 * walked column block by column block (CLM_VW labels): per label the
 * band's counts and sums stay in registers and reach the work-item's own
 * slice in global memory once per band (no atomics, deterministic); per
 * row the counts build up in private vectors and are written to the row's
 * words at the end of the band. When L <= CLM_VW (one block) the label sums
 * stay in registers for the work-item's whole life and each row's counts
 * are summed at once. Unweighted rows shorter than a vector are packed
 * (a row's cells share a vector with the next row's; see the pass). Unweighted
 * and without label ranking, for small L (CLM_ML_HIST), a row's counts are its
 * class in the work-item's histograms instead of words in global memory. With
 * label ranking, each row is then scanned again (it is in cache): for every
 * true label j, the labels scoring >= s_j, the true ones among them and the
 * false ones tied with it.
 *
 * Per cell (as the binary kernel): BCE in the softplus form for logits,
 * clipped for probabilities; gradient sigma(z) - y (p - y); decision
 * z > thr[label] (thresholds already in the score's domain). Input checks:
 * the vectors OR their flags over a band, a flagged band is rescanned for
 * its first bad flat index (row * L + label), and the work-item's first
 * goes out by one atomic_min; a bad row weight flags its row's first
 * cell.
 *
 * PoCL 3.1 does not inline these helpers by itself (called, with vectors
 * passed through the stack, they made the pass 1.7x slower): they are
 * always_inline. The common flags (logits, unweighted, no gradient) get
 * their own instantiation of the pass, without flag tests in the loops
 * (1.5-1.9x faster for L >= 100). */
#ifndef CLM_VW
#include "clm_shared.h"
#include "common.cl"
#endif

#ifndef CLM_ML_BAND
#define CLM_ML_BAND 16 /* rows per band */
#endif
#ifndef CLM_ML_FLAT_CELLS
#define CLM_ML_FLAT_CELLS                                                      \
  256 /* cells per band of rows shorter than a vector                          \
       */
#endif

/* Kahan step on the lane sums at s[0..] and their compensations at c[0..]
 * (`m` lanes; a full vector when m == CLM_VW). A sum that reached +inf (a
 * loss of +inf) keeps a zero compensation, so it stays +inf instead of
 * turning NaN through inf - inf. */
inline void clm_ml_kahan(__global float *restrict s, __global float *restrict c,
                         const floatv x, const uint m) {
  if (m == CLM_VW) {
    const floatv sum = VLOADF(s);
    const floatv y = x - VLOADF(c);
    const floatv t = sum + y;
    VSTOREF(select((t - sum) - y, (floatv)0.0f, isinf(t)), c);
    VSTOREF(t, s);
    return;
  }
  float tx[CLM_VW];
  VSTOREF(x, tx);
  for (uint j = 0; j < m; ++j) {
    const float sum = s[j];
    const float y = tx[j] - c[j];
    const float t = sum + y;
    c[j] = isinf(t) ? 0.0f : (t - sum) - y;
    s[j] = t;
  }
}

/* Adds `m` lane counts to a slice's counters. */
inline void clm_ml_count(__global uint *restrict p, const intv v,
                         const uint m) {
#if CLM_VW > 1
  if (m == CLM_VW) { /* unsigned, so the wrap-around is defined */
    VSTOREI(CLM_CAT(as_int, CLM_VW)(CLM_CAT(vload, CLM_VW)(0, p) +
                                    CLM_CAT(as_uint, CLM_VW)(v)),
            (__global int *)p);
    return;
  }
#endif
  int tv[CLM_VW];
  VSTOREI(v, tv);
  for (uint j = 0; j < m; ++j)
    p[j] += (uint)tv[j];
}

/* The label-ranking statistics of one row with t true labels (0 < t < L);
 * writes coverage, wrong and tied pairs, and the LRAP sum. `tail_full`: the
 * row's last partial block of labels may be loaded as a whole vector (it
 * stays inside the launch; the lanes past the row are masked off), once
 * for every true label, instead of label by label. */
inline void clm_ml_rank_row(__global const float *restrict s,
                            __global const uchar *restrict y, const uint L,
                            __global uint *restrict rw, const int tail_full) {
  uint cov = 0;
  ulong bad = 0, ties = 0;
  float lr = 0.0f, lc = 0.0f; /* Kahan sum and compensation */
  const uint k_tail = L / CLM_VW * CLM_VW;
  floatv z_tail = 0.0f;
  intv y_tail = 0, in_tail = 0;
  if (tail_full && k_tail < L) {
    int lane_i[CLM_VW];
    for (uint j = 0; j < CLM_VW; ++j)
      lane_i[j] = (int)j;
    in_tail = VLOADI(lane_i) < (intv)(int)(L - k_tail);
    z_tail = VLOADF(s + k_tail);
    y_tail = (TO_INTV(VLOADU(y + k_tail)) == (intv)1) & in_tail;
  }
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
    if (tail_full && k < L) {
      const intv mge = (z_tail >= (floatv)sj) & in_tail;
      ge += select((intv)0, (intv)1, mge);
      ge_true += select((intv)0, (intv)1, mge & y_tail);
      eq_false +=
          select((intv)0, (intv)1, (z_tail == (floatv)sj) & in_tail & ~y_tail);
      k = L;
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

/* Kahan step on private vectors (lane by lane the same operations as
 * clm_ml_kahan). */
__attribute__((always_inline)) inline void
clm_ml_kahan_p(floatv *restrict s, floatv *restrict c, const floatv x) {
  const floatv sum = *s;
  const floatv y = x - *c;
  const floatv t = sum + y;
  *c = select((t - sum) - y, (floatv)0.0f, isinf(t));
  *s = t;
}

/* The thresholds and the lane mask of the column block at c0 (m labels). */
__attribute__((always_inline)) inline void
clm_ml_block(__global const float *restrict thr, const uint c0, const uint m,
             const int from_pred, floatv *t, intv *valid) {
  if (m == CLM_VW) {
    *t = from_pred ? (floatv)0.0f : VLOADF(thr + c0);
    *valid = (intv)CLM_TRUE;
    return;
  }
  float tt[CLM_VW];
  int tv[CLM_VW];
  for (uint j = 0; j < CLM_VW; ++j) {
    tt[j] = (!from_pred && j < m) ? thr[c0 + j] : 0.0f;
    tv[j] = j < m ? CLM_TRUE : 0;
  }
  *t = VLOADF(tt);
  *valid = VLOADI(tv);
}

/* Loads the m cells at flat index e0. `full`: one vector load, also when
 * m < CLM_VW (the lanes past the row's end then hold the next cells of the
 * launch, masked off by `valid`); else lane by lane, zero past m. */
__attribute__((always_inline)) inline void
clm_ml_load(__global const float *restrict scores,
            __global const uchar *restrict labels,
            __global const uchar *restrict pred, const uint e0, const uint m,
            const int full, const int from_pred, intv *y, intv *pv, floatv *z) {
  if (full) {
    *y = TO_INTV(VLOADU(labels + e0));
    *pv = 0;
    *z = 0.0f;
    if (from_pred)
      *pv = TO_INTV(VLOADU(pred + e0));
    else
      *z = VLOADF(scores + e0);
    return;
  }
  uchar ty[CLM_VW], tp8[CLM_VW];
  float tz[CLM_VW];
  for (uint j = 0; j < CLM_VW; ++j) {
    ty[j] = j < m ? labels[e0 + j] : (uchar)0;
    tp8[j] = (from_pred && j < m) ? pred[e0 + j] : (uchar)0;
    tz[j] = (!from_pred && j < m) ? scores[e0 + j] : 0.0f;
  }
  *y = TO_INTV(VLOADU(ty));
  *pv = TO_INTV(VLOADU(tp8));
  *z = VLOADF(tz);
}

/* Per-cell work on one vector of cells of a row (weight w): decision,
 * loss, gradient, input checks (ORed into *bad_acc); adds to the block's
 * sums and returns the tp / fp / fn lanes as 0 or 1. */
__attribute__((always_inline)) inline void
clm_ml_cells(const floatv z, const intv y, const intv pv, const floatv t,
             const intv valid, const float w, const int probs,
             const int from_pred, const int weighted, const int write_grad,
             __global float *restrict grad, const uint e0, const uint m,
             floatv *closs, floatv *cwtp, floatv *cwfp, floatv *cwfn,
             floatv *cwtn, intv *one_tp, intv *one_fp, intv *one_fn,
             intv *bad_acc) {
  const intv pos = (y == (intv)1) & valid;
  intv prd, bad = y > (intv)1;
  if (from_pred) {
    prd = (pv != (intv)0) & valid;
    bad |= pv > (intv)1;
  } else {
    prd = (z > t) & valid;
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
    *closs += select((floatv)0.0f, loss, valid);
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
  *bad_acc |= bad & valid;
  /* pos and prd are 0 or CLM_TRUE, so a & ~b is one of them too. */
  const intv is_tp = pos & prd, is_fp = prd & ~pos, is_fn = pos & ~prd;
  *one_tp = select((intv)0, (intv)1, is_tp);
  *one_fp = select((intv)0, (intv)1, is_fp);
  *one_fn = select((intv)0, (intv)1, is_fn);
  if (weighted) {
    const floatv wv = (floatv)w;
    *cwtp += select((floatv)0.0f, wv, is_tp);
    *cwfp += select((floatv)0.0f, wv, is_fp);
    *cwfn += select((floatv)0.0f, wv, is_fn);
    *cwtn += select((floatv)0.0f, wv, valid & ~(pos | prd));
  }
}

/* Heap sort of a[0..n) ascending (no NaN: those rows are errors). */
inline void clm_ml_sift(__global float *restrict a, uint root, const uint n) {
  const float v = a[root];
  for (;;) {
    uint child = 2 * root + 1;
    if (child >= n)
      break;
    if (child + 1 < n && a[child + 1] > a[child])
      ++child;
    if (!(a[child] > v))
      break;
    a[root] = a[child];
    root = child;
  }
  a[root] = v;
}

inline void clm_ml_heapsort(__global float *restrict a, const uint n) {
  for (uint i = n / 2; i-- > 0;)
    clm_ml_sift(a, i, n);
  for (uint end = n; end-- > 1;) {
    const float top = a[0];
    a[0] = a[end];
    a[end] = top;
    clm_ml_sift(a, 0, end);
  }
}

/* The same statistics as clm_ml_rank_row in O(L log t + t log t) for rows
 * with many true labels: the t true scores are sorted (u, ascending), each
 * score s_k is placed by binary search (c_k = #{u <= s_k}, c'_k = #{u <
 * s_k}) into two histograms over 0..t, so that for the j-th smallest true
 * score |{k: s_k >= u_j}| = L - sum_{m <= j} hge[m] and |{k: s_k > u_j}| =
 * L - sum_{m <= j} hgt[m]. Scratch: u (L floats), hge and hgt (L + 1
 * words each). */
inline void clm_ml_rank_sorted(__global const float *restrict s,
                               __global const uchar *restrict y, const uint L,
                               const uint t, __global float *restrict u,
                               __global uint *restrict hge,
                               __global uint *restrict hgt,
                               __global uint *restrict rw) {
  uint m = 0;
  for (uint k = 0; k < L; ++k)
    if (y[k] == 1)
      u[m++] = s[k];
  clm_ml_heapsort(u, t);
  for (uint i = 0; i <= t; ++i) {
    hge[i] = 0;
    hgt[i] = 0;
  }
  for (uint k = 0; k < L; ++k) {
    const float v = s[k];
    uint lo = 0, hi = t;
    while (lo < hi) {
      const uint mid = (lo + hi) >> 1;
      if (u[mid] <= v)
        lo = mid + 1;
      else
        hi = mid;
    }
    const uint c = lo;
    lo = 0;
    hi = c;
    while (lo < hi) {
      const uint mid = (lo + hi) >> 1;
      if (u[mid] < v)
        lo = mid + 1;
      else
        hi = mid;
    }
    hge[c] += 1;
    hgt[lo] += 1;
  }
  uint cov = 0, start = 0, cum_ge = 0, cum_gt = 0;
  ulong bad = 0, eq_all = 0, eq_true = 0;
  float lr = 0.0f, lc = 0.0f;
  for (uint j = 0; j < t; ++j) {
    if (j > 0 && u[j] != u[j - 1]) {
      eq_true += (ulong)(j - start) * (j - start);
      start = j;
    }
    cum_ge += hge[j];
    cum_gt += hgt[j];
    const uint ge = L - cum_ge, gt = L - cum_gt, ge_true = t - start;
    if (j == 0)
      cov = ge;
    bad += (ulong)(ge - ge_true);
    eq_all += (ulong)(ge - gt);
    const float q = (float)ge_true / (float)ge;
    const float yv = q - lc;
    const float tt = lr + yv;
    lc = (tt - lr) - yv;
    lr = tt;
  }
  eq_true += (ulong)(t - start) * (t - start);
  const ulong ties = eq_all - eq_true;
  rw[CLM_ML_ROW_COV] = cov;
  rw[CLM_ML_ROW_BAD] = (uint)bad;
  rw[CLM_ML_ROW_BAD + 1] = (uint)(bad >> 32);
  rw[CLM_ML_ROW_TIE] = (uint)ties;
  rw[CLM_ML_ROW_TIE + 1] = (uint)(ties >> 32);
  rw[CLM_ML_ROW_LRAP] = as_uint(lr - lc);
}

/* True labels up to which a row is scanned (t passes of L / CLM_VW vector
 * compares, no branches) rather than sorted (L binary searches, a
 * mispredicted branch a step): at L = 1000 with t around 100, scanning
 * was 2-3x faster on PoCL (AVX-512); with 12, the sorted path had made
 * label ranking slower than an OpenMP loop scanning every row. */
#ifndef CLM_ML_SCAN_MAX
#define CLM_ML_SCAN_MAX (16 * CLM_VW)
#endif

/* Writes a row's words (and, with label ranking, scans the row). */
__attribute__((always_inline)) inline void
clm_ml_row_out(__global const float *restrict scores,
               __global const uchar *restrict labels,
               __global uint *restrict rows, const uint row, const uint L,
               const uint row_words, const int rank, const uint tp,
               const uint fp, const uint fn, __global uint *restrict sc,
               const uint last_full) {
  __global uint *restrict rw = rows + (ulong)row * row_words;
  rw[CLM_ML_ROW_TP] = tp;
  rw[CLM_ML_ROW_FP] = fp;
  rw[CLM_ML_ROW_FN] = fn;
  if (!rank)
    return;
  const uint t_true = tp + fn;
  if (t_true == 0 || t_true == L) {
    rw[CLM_ML_ROW_COV] = t_true; /* 0, or every label */
    for (uint q = CLM_ML_ROW_BAD; q < CLM_ML_ROW_WORDS_RANK; ++q)
      rw[q] = 0;
  } else if (t_true <= CLM_ML_SCAN_MAX) {
    const ulong off = (ulong)row * L;
    /* last_full: the last flat index a whole vector may be loaded from
     * (CLM_NO_BAD when none may). */
    const int tail_full =
        last_full != CLM_NO_BAD && row * L + L / CLM_VW * CLM_VW <= last_full;
    clm_ml_rank_row(scores + off, labels + off, L, rw, tail_full);
  } else {
    const ulong off = (ulong)row * L;
    clm_ml_rank_sorted(scores + off, labels + off, L, t_true,
                       (__global float *)sc, sc + L, sc + 2 * L + 1, rw);
  }
}

/* Inclusive prefix sum over the lanes (lanes shifted up by 1, 2, 4, 8 and
 * added: a few shuffles), and the last lane. */
inline intv clm_prefix_i(intv v) {
#if CLM_VW == 16
  v += (int16)((int)0, v.s0123, v.s456789ab, v.scde);
  v += (int16)((int2)0, v.s01234567, v.s89ab, v.scd);
  v += (int16)((int4)0, v.s01234567, v.s89ab);
  v += (int16)((int8)0, v.lo);
#elif CLM_VW == 8
  v += (int8)((int)0, v.s0123, v.s456);
  v += (int8)((int2)0, v.s0123, v.s45);
  v += (int8)((int4)0, v.lo);
#elif CLM_VW == 4
  v += (int4)((int)0, v.s012);
  v += (int4)((int2)0, v.lo);
#elif CLM_VW == 2
  v += (int2)(0, v.s0);
#endif
  return v;
}
/* The lanes shifted up by one, `fill` into lane 0. */
inline intv clm_shift1_i(const intv v, const int fill) {
#if CLM_VW == 16
  return (int16)(fill, v.s0123, v.s456789ab, v.scde);
#elif CLM_VW == 8
  return (int8)(fill, v.s0123, v.s456);
#elif CLM_VW == 4
  return (int4)(fill, v.s012);
#elif CLM_VW == 2
  return (int2)(fill, v.s0);
#else
  return fill;
#endif
}
#if CLM_VW == 16
#define CLM_LAST_LANE(v) ((v).sf)
#elif CLM_VW == 8
#define CLM_LAST_LANE(v) ((v).s7)
#elif CLM_VW == 4
#define CLM_LAST_LANE(v) ((v).s3)
#elif CLM_VW == 2
#define CLM_LAST_LANE(v) ((v).s1)
#else
#define CLM_LAST_LANE(v) (v)
#endif

/* Counts a row in its class (CLM_ML_HIST): the work-item's histogram
 * instead of the row's words, so nothing per row leaves the device. */
__attribute__((always_inline)) inline void
clm_ml_row_class(__global uint *restrict hs, const uint L, const uint row,
                 const uint tp, const uint fp, const uint fn) {
  const uint classes = CLM_ML_HIST_CLASSES(L);
  hs[(row % CLM_ML_HIST_COPIES(L)) * classes + (tp * (L + 1) + fp) * (L + 1) +
     fn] += 1;
}

/* The first bad cell of rows [r0, r0 + nr), or CLM_NO_BAD: the rescan
 * after a band whose vectors flagged one (the vectors only OR their
 * flags, without a test each). The same checks as clm_ml_cells'. */
inline uint clm_ml_first_bad(__global const float *restrict scores,
                             __global const uchar *restrict labels,
                             __global const uchar *restrict pred, const uint r0,
                             const uint nr, const uint L, const int probs,
                             const int from_pred) {
  const uint e_end = (r0 + nr) * L;
  for (uint e = r0 * L; e < e_end; ++e) {
    int bad = labels[e] > 1;
    if (from_pred) {
      bad |= pred[e] > 1;
    } else {
      const float z = scores[e];
      bad |= isnan(z);
      if (probs)
        bad |= z < 0.0f || z > 1.0f;
    }
    if (bad)
      return e;
  }
  return CLM_NO_BAD;
}

/* Reads a row's weight (1 unweighted); a bad one flags the row's first
 * cell. */
__attribute__((always_inline)) inline float
clm_ml_weight(__global const float *restrict weights, const int weighted,
              const uint row, const uint L, uint *first_bad) {
  if (!weighted)
    return 1.0f;
  const float w = weights[row];
  if (isnan(w) || isinf(w) || w < 0.0f)
    *first_bad = min(*first_bad, row * L);
  return w;
}

/* The whole pass of one work-item; the flags are parameters so that the
 * kernel can instantiate it with constant ones. */
__attribute__((always_inline)) inline void clm_ml_pass(
    __global const float *restrict scores,
    __global const uchar *restrict labels, __global const uchar *restrict pred,
    __global const float *restrict weights, const uint n, const uint L,
    __global const float *restrict thr, __global float *restrict grad,
    __global uint *restrict counts, __global float *restrict sums,
    __global uint *restrict rows, __global uint *restrict status,
    __global uint *restrict scratch, const int probs, const int from_pred,
    const int weighted, const int rank, const int write_grad, const int hist) {
  const uint gid = get_global_id(0);
  const uint S = get_global_size(0);
  const uint nsums = weighted ? CLM_ML_SUMS_WEIGHTED : CLM_ML_SUMS_PLAIN;
  const uint row_words = rank ? CLM_ML_ROW_WORDS_RANK : CLM_ML_ROW_WORDS_PLAIN;
  __global uint *restrict cnt = counts + (ulong)gid * CLM_ML_COUNTS * L;
  __global float *restrict sm = sums + (ulong)gid * nsums * 2 * L;
  /* Label ranking of rows with many true labels: this work-item's scratch
   * (clm_ml_rank_sorted). */
  __global uint *restrict sc = scratch + (ulong)gid * (3 * L + 2);
  for (uint i = 0; i < CLM_ML_COUNTS * L; ++i)
    cnt[i] = 0;
  for (uint i = 0; i < nsums * 2 * L; ++i)
    sm[i] = 0.0f;
  /* Row classes (hist): this work-item's histogram, in place of the rows. */
  const uint bins = hist ? CLM_ML_HIST_COPIES(L) * CLM_ML_HIST_CLASSES(L) : 0;
  __global uint *restrict hs = rows + (ulong)gid * bins;
  for (uint i = 0; i < bins; ++i)
    hs[i] = 0;
  /* n * L < 2^32 - 1 (the host's chunk bound). A vector load at e0 stays
   * inside the launch's cells iff e0 <= last_full. */
  const uint cells = n * L;
  const int any_full = cells >= CLM_VW;
  const uint last_full = any_full ? cells - CLM_VW : 0;
  const uint rank_last = any_full ? last_full : CLM_NO_BAD;

  uint first_bad = CLM_NO_BAD;
  /* Bad cells: the vectors' flags ORed over a band, tested once per band
   * (CLM_ML_BAD_CHECK). */
  intv bad_acc = 0;
#define CLM_ML_BAD_CHECK(r0_, nr_)                                             \
  do {                                                                         \
    if (ANYV(bad_acc)) {                                                       \
      first_bad = min(first_bad, clm_ml_first_bad(scores, labels, pred, r0_,   \
                                                  nr_, L, probs, from_pred));  \
      bad_acc = 0;                                                             \
    }                                                                          \
  } while (0)
  const uint bands = (n + CLM_ML_BAND - 1) / CLM_ML_BAND;
#if CLM_STRIDED
  /* Interleaved bands (GPU shape). */
  const uint band_first = gid, band_step = S, band_end = bands;
#else
  /* One contiguous run of bands per work-item (runs differ by at most one
   * band): long sequential streams for the CPU's prefetchers
   * (interleaved, each band was a jump). */
  const uint band_first = (uint)((ulong)gid * bands / S), band_step = 1,
             band_end = (uint)((ulong)(gid + 1) * bands / S);
#endif
  if (!weighted && L < CLM_VW) {
    /* Rows shorter than a vector, packed: a band's cells (CLM_ML_BAND rows,
     * contiguous) taken CLM_VW at a time, so that every lane works but in
     * the band's last vector. Lane j of the band's vector v holds label
     * (v * CLM_VW + j) mod L, a pattern of P = L / gcd(L, CLM_VW) vectors;
     * a band, CLM_ML_BAND * L cells, is a whole number of them. Per phase
     * p < P the counts and loss stay in private vectors, folded into the
     * labels' counters at the end; each row's counts are the sum of its L
     * cells' codes (tp, fp and fn as 10-bit fields), kept for the band.
     * On CPUs a band here is several of the launch's bands (up to
     * CLM_ML_FLAT_CELLS cells): for L = 1 a band of 16 rows was one
     * vector, and the band's own work cost more than its cells. */
    const uint P = L / min(L & (0u - L), (uint)CLM_VW);
    floatv tph[CLM_VW], bl[CLM_VW], sl[CLM_VW], cl[CLM_VW];
    intv atp[CLM_VW], afp[CLM_VW], afn[CLM_VW];
    int lane_i[CLM_VW];
    for (uint j = 0; j < CLM_VW; ++j)
      lane_i[j] = (int)j;
    const intv lane = VLOADI(lane_i);
    for (uint p = 0; p < P; ++p) {
      float tt[CLM_VW];
      for (uint j = 0; j < CLM_VW; ++j)
        tt[j] = from_pred ? 0.0f : thr[(p * CLM_VW + j) % L];
      tph[p] = VLOADF(tt);
      bl[p] = 0.0f;
      sl[p] = 0.0f;
      cl[p] = 0.0f;
      atp[p] = 0;
      afp[p] = 0;
      afn[p] = 0;
    }
    /* The running sums of two bands: a band's rows are read back while
     * the next band is computed (read at once, the loads waited for the
     * vector stores just made). */
    int code[2 * CLM_ML_FLAT_CELLS];
    floatv unused = 0.0f;
#if CLM_STRIDED
    const uint k_bands = 1;
#else
    const uint k_bands = max(1u, CLM_ML_FLAT_CELLS / CLM_ML_BAND / L);
#endif
    const uint fb_rows = k_bands * CLM_ML_BAND;
    const uint rows_end = min(band_end * CLM_ML_BAND, n);
    uint prev_r0 = 0, prev_nr = 0, cur = 0;
    for (uint band = band_first;; band += k_bands * band_step) {
      const int more = band < band_end;
      const uint r0 = band * CLM_ML_BAND;
      const uint nr = more ? min(fb_rows, rows_end - r0) : 0;
      if (more) {
        const uint c0 = r0 * L, nc = nr * L;
        __private int *restrict run_at = code + cur * CLM_ML_FLAT_CELLS;
        uint p = 0;
        int carry = 0;
        for (uint off = 0; off < nc; off += CLM_VW) {
          const uint e0 = c0 + off;
          const uint m = min((uint)CLM_VW, nc - off);
          const intv valid = (intv)(int)m > lane;
          intv y, pv, one_tp, one_fp, one_fn;
          floatv z;
          clm_ml_load(scores, labels, pred, e0, m,
                      m == CLM_VW || (any_full && e0 <= last_full), from_pred,
                      &y, &pv, &z);
          clm_ml_cells(z, y, pv, tph[p], valid, 1.0f, probs, from_pred, 0,
                       write_grad, grad, e0, m, &bl[p], &unused, &unused,
                       &unused, &unused, &one_tp, &one_fp, &one_fn, &bad_acc);
          atp[p] += one_tp;
          afp[p] += one_fp;
          afn[p] += one_fn;
          /* The band's running sum of the codes (at most
           * CLM_ML_FLAT_CELLS < 1024 cells: the fields do not carry). */
          const intv run =
              clm_prefix_i(one_tp + (one_fp << 10) + (one_fn << 20)) +
              (intv)carry;
          VSTOREI(run, run_at + off);
          carry = CLM_LAST_LANE(run);
          p = p + 1 == P ? 0 : p + 1;
        }
        CLM_ML_BAD_CHECK(r0, nr);
        if (!from_pred)
          for (uint q = 0; q < P; ++q) {
            clm_ml_kahan_p(&sl[q], &cl[q], bl[q]);
            bl[q] = 0.0f;
          }
      }
      /* The previous band's rows: a row's codes are the running sum at its
       * last cell less the one at the previous row's. */
      __private const int *restrict prev_run =
          code + (cur ^ 1) * CLM_ML_FLAT_CELLS;
      int before = 0;
      if (hist && L == 1) {
        /* A row's class is its cell's: the host takes the classes from
         * the label's counts. */
      } else if (hist) {
        /* CLM_VW rows at a time, a row a lane: its class, then one
         * increment per row. */
        const int side = (int)L + 1, classes = side * side * side;
        for (uint g = 0; g < prev_nr; g += CLM_VW) {
          const uint last = prev_nr - 1;
          int e[CLM_VW], ix[CLM_VW];
          for (uint j = 0; j < CLM_VW; ++j)
            e[j] = prev_run[min(g + j, last) * L + L - 1];
          const intv ends = VLOADI(e);
          const intv packed = ends - clm_shift1_i(ends, before);
          before = e[CLM_VW - 1];
          const intv tp = packed & 1023, fp = (packed >> 10) & 1023,
                     fn = packed >> 20;
          const intv copy = (lane + (int)g) % (int)CLM_ML_HIST_COPIES(L);
          VSTOREI(copy * classes + (tp * side + fp) * side + fn, ix);
          const uint k = min((uint)CLM_VW, prev_nr - g);
          for (uint j = 0; j < k; ++j)
            hs[ix[j]] += 1;
        }
      } else {
        for (uint r = 0; r < prev_nr; ++r) {
          const int end = prev_run[r * L + L - 1];
          const uint packed = (uint)(end - before);
          before = end;
          clm_ml_row_out(scores, labels, rows, prev_r0 + r, L, row_words, rank,
                         packed & 1023u, (packed >> 10) & 1023u, packed >> 20,
                         sc, rank_last);
        }
      }
      if (!more)
        break;
      prev_r0 = r0;
      prev_nr = nr;
      cur ^= 1;
    }
    /* Phases to labels: counts added, each lane's compensated loss
     * (sum - compensation) added to its label's pair by a Kahan step. */
    for (uint p = 0; p < P; ++p) {
      int ttp[CLM_VW], tfp[CLM_VW], tfn[CLM_VW];
      float ts[CLM_VW], tc[CLM_VW];
      VSTOREI(atp[p], ttp);
      VSTOREI(afp[p], tfp);
      VSTOREI(afn[p], tfn);
      VSTOREF(sl[p], ts);
      VSTOREF(cl[p], tc);
      for (uint j = 0; j < CLM_VW; ++j) {
        const uint l = (p * CLM_VW + j) % L;
        cnt[CLM_ML_TP * L + l] += (uint)ttp[j];
        cnt[CLM_ML_FP * L + l] += (uint)tfp[j];
        cnt[CLM_ML_FN * L + l] += (uint)tfn[j];
        if (!from_pred) {
          __global float *s = sm + (2 * CLM_ML_LOSS) * L + l, *c = s + L;
          const float x = isinf(ts[j]) ? ts[j] : ts[j] - tc[j];
          const float yv = x - *c;
          const float t = *s + yv;
          *c = isinf(t) ? 0.0f : (t - *s) - yv;
          *s = t;
        }
      }
    }
  } else if (L <= CLM_VW) {
    /* One column block: the label sums stay in registers for the
     * work-item's whole life (Kahan steps once per band, as the slices
     * would take them), and each row's counts are summed at once, as
     * three 8-bit fields of one vector (at most CLM_VW <= 16 each). */
    const uint m = L;
    floatv t;
    intv valid;
    clm_ml_block(thr, 0, m, from_pred, &t, &valid);
    intv ctp = 0, cfp = 0, cfn = 0;
    floatv s_loss = 0.0f, c_loss = 0.0f, s_wtp = 0.0f, c_wtp = 0.0f,
           s_wfp = 0.0f, c_wfp = 0.0f, s_wfn = 0.0f, c_wfn = 0.0f, s_wtn = 0.0f,
           c_wtn = 0.0f;
    for (uint band = band_first; band < band_end; band += band_step) {
      const uint r0 = band * CLM_ML_BAND;
      const uint nr = min((uint)CLM_ML_BAND, n - r0);
      floatv closs = 0.0f, cwtp = 0.0f, cwfp = 0.0f, cwfn = 0.0f, cwtn = 0.0f;
      for (uint r = 0; r < nr; ++r) {
        const uint row = r0 + r;
        const uint e0 = row * L;
        const float w = clm_ml_weight(weights, weighted, row, L, &first_bad);
        intv y, pv, one_tp, one_fp, one_fn;
        floatv z;
        clm_ml_load(scores, labels, pred, e0, m,
                    m == CLM_VW || (any_full && e0 <= last_full), from_pred, &y,
                    &pv, &z);
        clm_ml_cells(z, y, pv, t, valid, w, probs, from_pred, weighted,
                     write_grad, grad, e0, m, &closs, &cwtp, &cwfp, &cwfn,
                     &cwtn, &one_tp, &one_fp, &one_fn, &bad_acc);
        ctp += one_tp;
        cfp += one_fp;
        cfn += one_fn;
        const uint packed = clm_hsum_i(one_tp + (one_fp << 8) + (one_fn << 16));
        if (hist)
          clm_ml_row_class(hs, L, r, packed & 255u, (packed >> 8) & 255u,
                           packed >> 16);
        else
          clm_ml_row_out(scores, labels, rows, row, L, row_words, rank,
                         packed & 255u, (packed >> 8) & 255u, packed >> 16, sc,
                         rank_last);
      }
      CLM_ML_BAD_CHECK(r0, nr);
      if (!from_pred)
        clm_ml_kahan_p(&s_loss, &c_loss, closs);
      if (weighted) {
        clm_ml_kahan_p(&s_wtp, &c_wtp, cwtp);
        clm_ml_kahan_p(&s_wfp, &c_wfp, cwfp);
        clm_ml_kahan_p(&s_wfn, &c_wfn, cwfn);
        clm_ml_kahan_p(&s_wtn, &c_wtn, cwtn);
      }
    }
    clm_ml_count(cnt + CLM_ML_TP * L, ctp, m);
    clm_ml_count(cnt + CLM_ML_FP * L, cfp, m);
    clm_ml_count(cnt + CLM_ML_FN * L, cfn, m);
    /* The registers took the Kahan steps the zeroed slice would have
     * taken, in the same order: store the pairs as they are. */
    float ts[CLM_VW], tc[CLM_VW];
#define CLM_ML_PUT(q, sv, cv)                                                  \
  do {                                                                         \
    VSTOREF(sv, ts);                                                           \
    VSTOREF(cv, tc);                                                           \
    for (uint j = 0; j < m; ++j) {                                             \
      sm[(2 * (q)) * L + j] = ts[j];                                           \
      sm[(2 * (q) + 1) * L + j] = tc[j];                                       \
    }                                                                          \
  } while (0)
    if (!from_pred)
      CLM_ML_PUT(CLM_ML_LOSS, s_loss, c_loss);
    if (weighted) {
      CLM_ML_PUT(CLM_ML_WTP, s_wtp, c_wtp);
      CLM_ML_PUT(CLM_ML_WFP, s_wfp, c_wfp);
      CLM_ML_PUT(CLM_ML_WFN, s_wfn, c_wfn);
      CLM_ML_PUT(CLM_ML_WTN, s_wtn, c_wtn);
    }
#undef CLM_ML_PUT
  } else {
    for (uint band = band_first; band < band_end; band += band_step) {
      const uint r0 = band * CLM_ML_BAND;
      const uint nr = min((uint)CLM_ML_BAND, n - r0);
      intv rtp[CLM_ML_BAND], rfp[CLM_ML_BAND], rfn[CLM_ML_BAND];
      float rw8[CLM_ML_BAND];
      for (uint r = 0; r < CLM_ML_BAND; ++r) {
        rtp[r] = 0;
        rfp[r] = 0;
        rfn[r] = 0;
      }
      for (uint r = 0; r < nr; ++r)
        rw8[r] = clm_ml_weight(weights, weighted, r0 + r, L, &first_bad);

      for (uint c0 = 0; c0 < L; c0 += CLM_VW) {
        const uint m = min((uint)CLM_VW, L - c0);
        floatv t;
        intv valid;
        clm_ml_block(thr, c0, m, from_pred, &t, &valid);
        intv ctp = 0, cfp = 0, cfn = 0;
        floatv closs = 0.0f, cwtp = 0.0f, cwfp = 0.0f, cwfn = 0.0f, cwtn = 0.0f;
        for (uint r = 0; r < nr; ++r) {
          const uint e0 = (r0 + r) * L + c0;
          intv y, pv, one_tp, one_fp, one_fn;
          floatv z;
          clm_ml_load(scores, labels, pred, e0, m,
                      m == CLM_VW || (any_full && e0 <= last_full), from_pred,
                      &y, &pv, &z);
          clm_ml_cells(z, y, pv, t, valid, rw8[r], probs, from_pred, weighted,
                       write_grad, grad, e0, m, &closs, &cwtp, &cwfp, &cwfn,
                       &cwtn, &one_tp, &one_fp, &one_fn, &bad_acc);
          ctp += one_tp;
          cfp += one_fp;
          cfn += one_fn;
          rtp[r] += one_tp;
          rfp[r] += one_fp;
          rfn[r] += one_fn;
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
      CLM_ML_BAD_CHECK(r0, nr);

      for (uint r = 0; r < nr; ++r) {
        if (hist)
          clm_ml_row_class(hs, L, r, clm_hsum_i(rtp[r]), clm_hsum_i(rfp[r]),
                           clm_hsum_i(rfn[r]));
        else
          clm_ml_row_out(scores, labels, rows, r0 + r, L, row_words, rank,
                         clm_hsum_i(rtp[r]), clm_hsum_i(rfp[r]),
                         clm_hsum_i(rfn[r]), sc, rank_last);
      }
    }
  }
#undef CLM_ML_BAD_CHECK
  if (first_bad != CLM_NO_BAD)
    atomic_min(status, first_bad);
}

__kernel void clm_multilabel(
    __global const float *restrict scores,
    __global const uchar *restrict labels, __global const uchar *restrict pred,
    __global const float *restrict weights, const uint n, const uint L,
    __global const float *restrict thr, const uint flags,
    __global float *restrict grad, __global uint *restrict counts,
    __global float *restrict sums, __global uint *restrict rows,
    __global uint *restrict status, __global uint *restrict scratch) {
  /* Logits, unweighted, no gradient (with label ranking, with row words,
   * or with row classes): the common cases, instantiated with constant
   * flags so that their loops test none. */
  if (flags == CLM_ML_HIST)
    clm_ml_pass(scores, labels, pred, weights, n, L, thr, grad, counts, sums,
                rows, status, scratch, 0, 0, 0, 0, 0, 1);
  else if (flags == 0)
    clm_ml_pass(scores, labels, pred, weights, n, L, thr, grad, counts, sums,
                rows, status, scratch, 0, 0, 0, 0, 0, 0);
  else if (flags == CLM_ML_RANK)
    clm_ml_pass(scores, labels, pred, weights, n, L, thr, grad, counts, sums,
                rows, status, scratch, 0, 0, 0, 1, 0, 0);
  else
    clm_ml_pass(scores, labels, pred, weights, n, L, thr, grad, counts, sums,
                rows, status, scratch, (flags & CLM_ML_PROBS) != 0,
                (flags & CLM_ML_FROM_PRED) != 0, (flags & CLM_ML_WEIGHTED) != 0,
                (flags & CLM_ML_RANK) != 0, (flags & CLM_ML_GRAD) != 0,
                (flags & CLM_ML_HIST) != 0);
}
