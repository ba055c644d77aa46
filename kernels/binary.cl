/* Binary evaluation: one fused pass over labels and scores (and, weighted,
 * per-sample weights).
 * Per sample: sigma, BCE (stable softplus form for logits, clipped for
 * probabilities), gradient sigma(z) - y, decision z > thr, input checks.
 * Loss and gradient are multiplied by f = (y ? pos_weight : 1) (PyTorch's
 * BCEWithLogitsLoss(pos_weight)); f = 1 multiplies exactly, so plain BCE
 * keeps its bits. Weighted: also by the sample's weight w, and the weights
 * are summed per confusion cell.
 * Per work-group: float partial sums written to `partials` and one global
 * atomic per counter, so results are deterministic.
 *
 * The tile body is written once (clm_binary_tile) and instantiated twice
 * with a compile-time `weighted` flag, so the unweighted kernel carries no
 * weight code at all. */
#ifndef CLM_VW
#include "clm_shared.h"
#include "common.cl"
#endif

inline void clm_binary_tile(__global const float *restrict scores,
                            __global const uchar *restrict labels,
                            __global const float *restrict weights,
                            const uint n, const float thr, const int probs,
                            const float pos_weight, const int write_grad,
                            __global float *restrict grad,
                            __global float *restrict partials,
                            __global uint *restrict counters,
                            __local float *restrict lsum,
                            __local uint *restrict lcnt, const int weighted) {
  /* Float sums per group: loss, gradient and, weighted, the weights of the
   * four confusion cells. */
  const uint n_sums =
      weighted ? CLM_BINW_PARTIALS_PER_GROUP : CLM_BIN_PARTIALS_PER_GROUP;
  const uint lid = get_local_id(0);
  const uint ls = get_local_size(0);
  const uint grp = get_group_id(0);
  const uint tile_base = grp * ls * CLM_ITEMS * CLM_VW;

  floatv loss_acc = 0.0f, grad_acc = 0.0f;
  floatv w_tp = 0.0f, w_fp = 0.0f, w_fn = 0.0f, w_tn = 0.0f;
  intv n_pos = 0, n_pred = 0, n_tp = 0;
  uint first_bad = CLM_NO_BAD;

  /* The trip count is the same for every work-item (pocl#1390). */
  for (uint k = 0; k < CLM_ITEMS; ++k) {
#if CLM_STRIDED
    const uint v = k * ls + lid;
#else
    const uint v = lid * CLM_ITEMS + k;
#endif
    const uint e0 = tile_base + v * CLM_VW;
    if (e0 >= n)
      continue;
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
        if (weighted)
          tw[j] = in ? weights[e0 + j] : 0.0f;
        tv[j] = in ? CLM_TRUE : 0;
      }
      z = VLOADF(tz);
      y = TO_INTV(VLOADU(ty));
      if (weighted)
        w = VLOADF(tw);
      valid = VLOADI(tv);
    }

    const intv ypos = y == (intv)1;
    const floatv yf = TO_FLOATV(y);
    floatv loss, g;
    intv bad;
    if (probs) {
      const floatv pc = clamp(z, FLT_EPSILON, 1.0f - FLT_EPSILON);
      loss = select(-log1p(-pc), -log(pc), ypos);
      g = z - yf;
      bad = (z < 0.0f) | (z > 1.0f) | isnan(z);
    } else {
      /* softplus(-z) for y=1, softplus(z) for y=0, finite at +-inf. */
      const floatv e = clm_exp_nonpos(-fabs(z)); /* in [0, 1] */
      loss = fmax(select(z, -z, ypos), 0.0f) + clm_log1p_unit(e);
      const floatv inv = 1.0f / (1.0f + e);
      const floatv s = select(e * inv, inv, z >= 0.0f);
      g = s - yf;
      bad = isnan(z);
    }
    /* pos_weight: exact when 1. */
    const floatv f = select((floatv)1.0f, (floatv)pos_weight, ypos);
    loss *= f;
    g *= f;
    if (weighted) {
      bad |= isnan(w) | isinf(w) | (w < 0.0f);
      /* A zero weight drops the sample, even one whose loss is +inf. */
      loss = select(w * loss, (floatv)0.0f, w == 0.0f);
      g = w * g;
    }
    bad = (bad | (y > (intv)1)) & valid;
    if (ANYV(bad)) {
      int tb[CLM_VW];
      VSTOREI(bad, tb);
      for (uint j = 0; j < CLM_VW; ++j)
        if (tb[j] && e0 + j < first_bad)
          first_bad = e0 + j;
    }

    const intv pred = (z > thr) & valid;
    const intv pos = ypos & valid;
    n_pos += select((intv)0, (intv)1, pos);
    n_pred += select((intv)0, (intv)1, pred);
    n_tp += select((intv)0, (intv)1, pos & pred);
    loss_acc += select((floatv)0.0f, loss, valid);
    grad_acc += select((floatv)0.0f, g, valid);
    if (weighted) {
      /* pos and pred are 0 or CLM_TRUE, so a & ~b is one of them too. */
      w_tp += select((floatv)0.0f, w, pos & pred);
      w_fn += select((floatv)0.0f, w, pos & ~pred);
      w_fp += select((floatv)0.0f, w, pred & ~pos);
      w_tn += select((floatv)0.0f, w, valid & ~(pos | pred));
    }

    if (write_grad) {
      if (n - e0 >= CLM_VW) {
        VSTOREF(g, grad + e0);
      } else {
        float tg[CLM_VW];
        VSTOREF(g, tg);
        for (uint j = 0; e0 + j < n; ++j)
          grad[e0 + j] = tg[j];
      }
    }
  }

  lsum[lid] = clm_hsum_f(loss_acc);
  lsum[ls + lid] = clm_hsum_f(grad_acc);
  if (weighted) {
    lsum[CLM_BINW_TP * ls + lid] = clm_hsum_f(w_tp);
    lsum[CLM_BINW_FP * ls + lid] = clm_hsum_f(w_fp);
    lsum[CLM_BINW_FN * ls + lid] = clm_hsum_f(w_fn);
    lsum[CLM_BINW_TN * ls + lid] = clm_hsum_f(w_tn);
  }
  lcnt[lid] = clm_hsum_i(n_pos);
  lcnt[ls + lid] = clm_hsum_i(n_pred);
  lcnt[2 * ls + lid] = clm_hsum_i(n_tp);
  lcnt[3 * ls + lid] = first_bad;
  barrier(CLK_LOCAL_MEM_FENCE);
  /* Halving tree; ls is a power of two. */
  for (uint s = ls >> 1; s > 0; s >>= 1) {
    if (lid < s) {
      for (uint q = 0; q < n_sums; ++q)
        lsum[q * ls + lid] += lsum[q * ls + lid + s];
      lcnt[lid] += lcnt[lid + s];
      lcnt[ls + lid] += lcnt[ls + lid + s];
      lcnt[2 * ls + lid] += lcnt[2 * ls + lid + s];
      lcnt[3 * ls + lid] = min(lcnt[3 * ls + lid], lcnt[3 * ls + lid + s]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    for (uint q = 0; q < n_sums; ++q)
      partials[n_sums * grp + q] = lsum[q * ls];
    if (lcnt[0])
      atomic_add(&counters[CLM_BIN_POS], lcnt[0]);
    if (lcnt[ls])
      atomic_add(&counters[CLM_BIN_PRED], lcnt[ls]);
    if (lcnt[2 * ls])
      atomic_add(&counters[CLM_BIN_TP], lcnt[2 * ls]);
    if (lcnt[3 * ls] != CLM_NO_BAD)
      atomic_min(&counters[CLM_BIN_FIRST_BAD], lcnt[3 * ls]);
  }
}

/* Unweighted: the hot path. */
__kernel void clm_binary(__global const float *restrict scores,
                         __global const uchar *restrict labels, const uint n,
                         const float thr, const int probs, const int write_grad,
                         __global float *restrict grad,
                         __global float *restrict partials,
                         __global uint *restrict counters,
                         __local float *restrict lsum,
                         __local uint *restrict lcnt, const float pos_weight) {
  clm_binary_tile(scores, labels, (__global const float *)0, n, thr, probs,
                  pos_weight, write_grad, grad, partials, counters, lsum, lcnt,
                  0);
}

/* Per-sample weights: the same arguments, then the weights. The first bad
 * index covers labels, scores and weights; the host tells which it was. */
__kernel void clm_binary_weighted(
    __global const float *restrict scores,
    __global const uchar *restrict labels, const uint n, const float thr,
    const int probs, const int write_grad, __global float *restrict grad,
    __global float *restrict partials, __global uint *restrict counters,
    __local float *restrict lsum, __local uint *restrict lcnt,
    const float pos_weight, __global const float *restrict weights) {
  clm_binary_tile(scores, labels, weights, n, thr, probs, pos_weight,
                  write_grad, grad, partials, counters, lsum, lcnt, 1);
}
