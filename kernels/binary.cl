/* Binary evaluation: one fused pass over labels and scores.
 * Per sample: sigma, BCE (stable softplus form for logits, clipped for
 * probabilities), gradient sigma(z) - y, decision z > thr, input checks.
 * Per work-group: float partial sums (loss, gradient) written to `partials`
 * and one global atomic per counter, so results are deterministic. */
#ifndef CLM_VW
#include "clm_shared.h"
#include "common.cl"
#endif

__kernel void
clm_binary(__global const float *restrict scores,
           __global const uchar *restrict labels, const uint n, const float thr,
           const int probs, const int write_grad, __global float *restrict grad,
           __global float *restrict partials, __global uint *restrict counters,
           __local float *restrict lsum, __local uint *restrict lcnt) {
  const uint lid = get_local_id(0);
  const uint ls = get_local_size(0);
  const uint grp = get_group_id(0);
  const uint tile_base = grp * ls * CLM_ITEMS * CLM_VW;

  floatv loss_acc = 0.0f, grad_acc = 0.0f;
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
    floatv z;
    intv y, valid;
    if (n - e0 >= CLM_VW) {
      z = VLOADF(scores + e0);
      y = TO_INTV(VLOADU(labels + e0));
      valid = (intv)CLM_TRUE;
    } else {
      float tz[CLM_VW];
      uchar ty[CLM_VW];
      int tv[CLM_VW];
      for (uint j = 0; j < CLM_VW; ++j) {
        const int in = e0 + j < n;
        tz[j] = in ? scores[e0 + j] : 0.0f;
        ty[j] = in ? labels[e0 + j] : (uchar)0;
        tv[j] = in ? CLM_TRUE : 0;
      }
      z = VLOADF(tz);
      y = TO_INTV(VLOADU(ty));
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
  lcnt[lid] = clm_hsum_i(n_pos);
  lcnt[ls + lid] = clm_hsum_i(n_pred);
  lcnt[2 * ls + lid] = clm_hsum_i(n_tp);
  lcnt[3 * ls + lid] = first_bad;
  barrier(CLK_LOCAL_MEM_FENCE);
  /* Halving tree; ls is a power of two. */
  for (uint s = ls >> 1; s > 0; s >>= 1) {
    if (lid < s) {
      lsum[lid] += lsum[lid + s];
      lsum[ls + lid] += lsum[ls + lid + s];
      lcnt[lid] += lcnt[lid + s];
      lcnt[ls + lid] += lcnt[ls + lid + s];
      lcnt[2 * ls + lid] += lcnt[2 * ls + lid + s];
      lcnt[3 * ls + lid] = min(lcnt[3 * ls + lid], lcnt[3 * ls + lid + s]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    partials[CLM_BIN_PARTIALS_PER_GROUP * grp] = lsum[0];
    partials[CLM_BIN_PARTIALS_PER_GROUP * grp + 1] = lsum[ls];
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
