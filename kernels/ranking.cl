/* Ranking: exact ROC-AUC and average precision from integer histograms.
 *
 * Every score becomes an order-preserving unsigned key of its own width
 * (float32 -> uint, float64 -> ulong; -0.0 canonicalised to +0.0, so the
 * two tie as they compare equal), read as raw bits so float64 needs no
 * double support. Counts are 64-bit, kept as (low, high) uint pairs with
 * a carry on wrap-around, so no pass ever overflows and only 32-bit
 * integer atomics are used: the result is exact and deterministic.
 *
 * clm_rank_hist_{f32,f64}: per column (k == 1 binary; k >= 2 one-vs-rest,
 *   column c's label is y == c; `ml` multilabel: column c's label is the
 *   cell y8[i * k + c] of an n x k 0/1 indicator matrix) and per key prefix
 *   (key >> shift), the (negative, positive) counts. One work-item per
 *   group (CPUs) counts into its own slice of `scratch` without atomics
 *   and adds the non-zero cells at the end; larger groups (GPUs) add into
 *   `hist` directly. Bad scores
 *   (NaN; with `probs` anything outside [0, 1]) and labels (binary > 1;
 *   class outside [0, k); a multilabel cell > 1) skip the row (the cell,
 *   multilabel); the first bad row goes to status[0] and the host finds
 *   the cell. With `track` (32-bit keys) each cell also gets the AND and
 *   the OR of its keys in `range`: one score when they are equal, else
 *   keys on the lattice AND + i << (lowest differing bit).
 * clm_rank_refine_{f32,f64}: for the key ranges still unresolved (tasks,
 *   found through `table`: per column and level-1 prefix the first task
 *   and the task count, tasks sorted by their lowest key), either counts
 *   (negative, positive) per sub-range (key - lo) >> shift (dense) or
 *   gathers key << 1 | label (shift == CLM_RK_GATHER) at a slot taken from
 *   the task's cursor; the host sorts gathered keys, so the order they
 *   arrive in does not matter. On one-work-item groups (CPUs) each group
 *   owns a run of tasks (split[]) and reads every row, so a whole level-1
 *   range (table entry flagged CLM_RK_WHOLE) is gathered without atomics,
 *   in row order: per label its own run of slots, cursor[4 task + 2 label]
 *   = (next, end), only the key stored (its low 16 bits in g16 under
 *   CLM_RK_LOW16). Few write streams per thread keep the scatter in cache.
 *   Other ranges (GPUs, ranges below a split) take slots from one atomic
 *   cursor per task and store key << 1 | label. Dense tasks (lo, shift:
 *   a lattice, or a range split by its next bits) count with atomics,
 *   except in an owner group's binary row block, where the task is its
 *   own.
 * clm_rank_gather16_f32: see below. */
#ifndef CLM_VW
#include "clm_shared.h"
#endif

#ifndef CLM_RK_BLOCK
#define CLM_RK_BLOCK 64 /* rows per block of the CPU gather's plain loop */
#endif

/* 64-bit counter as two uints: the add that wraps the low word carries. */
inline void clm_rk_add64(__global uint *c, uint v) {
  const uint old = atomic_add(c, v);
  if (old > 0xffffffffu - v)
    atomic_inc(c + 1);
}

inline uint clm_rk_key_f32(uint b) {
  if (b == 0x80000000u)
    b = 0u;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

inline ulong clm_rk_key_f64(ulong b) {
  if (b == 0x8000000000000000ul)
    b = 0ul;
  return (b & 0x8000000000000000ul) ? ~b : (b | 0x8000000000000000ul);
}

/* NaN, or with probs a value outside [0, 1] (-0.0 is inside). Every
 * negative has its sign bit set, so it compares above the bits of 1.0. */
inline int clm_rk_bad_f32(uint b, int probs) {
  if ((b & 0x7fffffffu) > 0x7f800000u)
    return 1;
  return probs && b != 0x80000000u && b > 0x3f800000u;
}

inline int clm_rk_bad_f64(ulong b, int probs) {
  if ((b & 0x7ffffffffffffffful) > 0x7ff0000000000000ul)
    return 1;
  return probs && b != 0x8000000000000000ul && b > 0x3ff0000000000000ul;
}

/* Whether row i's label is valid, and its label for column col: 0/1,
 * or above 1 for a bad multilabel cell (checked per cell: ml rows always
 * pass the row check). */
inline int clm_rk_label_ok(__global const uchar *y8, __global const int *y32,
                           uint k, int ml, uint i) {
  return ml || (k == 1 ? y8[i] <= 1 : (uint)y32[i] < k);
}

inline uint clm_rk_label(__global const uchar *y8, __global const int *y32,
                         uint k, int ml, uint i, uint col) {
  if (ml)
    return (uint)y8[(ulong)i * k + col];
  return k == 1 ? (uint)y8[i] : (uint)((uint)y32[i] == col);
}

#define CLM_RANK_KERNELS(SFX, KT)                                              \
  __kernel void clm_rank_hist_##SFX(                                           \
      __global const KT *restrict scores, __global const uchar *restrict y8,   \
      __global const int *restrict y32, const uint n, const uint k,            \
      const uint shift, const uint bins, const int probs,                      \
      const uint per_group, __global uint *restrict hist,                      \
      __global uint *restrict scratch, __global uint *restrict status,         \
      const int ml, __global uint *restrict range, const int track) {          \
    const uint lid = get_local_id(0);                                          \
    const uint ls = get_local_size(0);                                         \
    const uint grp = get_group_id(0);                                          \
    const ulong start = (ulong)grp * per_group;                                \
    const uint end = (uint)min((ulong)n, start + per_group);                   \
    const ulong cells = (ulong)k * bins * 2;                                   \
    const int priv = ls == 1;                                                  \
    /* A group's slice: per (column, prefix) the (negative, positive)      */  \
    /* counts and, with track (32-bit keys), the AND and the OR of the keys */ \
    /* beside them, in one cache line.                                     */  \
    const uint sw = track ? 4 : 2;                                             \
    __global uint *restrict h = scratch + (priv ? grp * (cells / 2) * sw : 0); \
    if (priv)                                                                  \
      for (ulong c = 0; c < cells / 2; ++c) {                                  \
        h[c * sw] = 0;                                                         \
        h[c * sw + 1] = 0;                                                     \
        if (track) {                                                           \
          h[c * sw + 2] = 0xffffffffu;                                         \
          h[c * sw + 3] = 0u;                                                  \
        }                                                                      \
      }                                                                        \
    uint first_bad = CLM_NO_BAD;                                               \
    /* Binary on one work-item: the plain loop a C programmer would write. */  \
    const int plain = priv && k == 1;                                          \
    if (plain)                                                                 \
      for (uint i = (uint)start; i < end; ++i) {                               \
        const uint yl = y8[i];                                                 \
        const KT b = scores[i];                                                \
        if (yl > 1 || clm_rk_bad_##SFX(b, probs)) {                            \
          first_bad = min(first_bad, i);                                       \
          continue;                                                            \
        }                                                                      \
        const KT key = clm_rk_key_##SFX(b);                                    \
        __global uint *restrict c = h + (uint)(key >> shift) * sw;             \
        c[yl] += 1;                                                            \
        if (track) {                                                           \
          c[2] &= (uint)key;                                                   \
          c[3] |= (uint)key;                                                   \
        }                                                                      \
      }                                                                        \
    const uint span = start < end && !plain ? end - (uint)start : 0;           \
    const uint trips = (span + ls - 1) / ls; /* uniform (pocl#1390) */         \
    for (uint t = 0; t < trips; ++t) {                                         \
      const uint i = (uint)start + t * ls + lid;                               \
      if (i >= end)                                                            \
        continue;                                                              \
      if (!clm_rk_label_ok(y8, y32, k, ml, i)) {                               \
        first_bad = min(first_bad, i);                                         \
        continue;                                                              \
      }                                                                        \
      for (uint col = 0; col < k; ++col) {                                     \
        const KT b = scores[(ulong)i * k + col];                               \
        const uint yl = clm_rk_label(y8, y32, k, ml, i, col);                  \
        if (yl > 1 || clm_rk_bad_##SFX(b, probs)) {                            \
          first_bad = min(first_bad, i);                                       \
          continue;                                                            \
        }                                                                      \
        const KT key = clm_rk_key_##SFX(b);                                    \
        const uint bin = (uint)(key >> shift);                                 \
        const ulong at = ((ulong)col * bins + bin) * 2;                        \
        const ulong idx = at + yl;                                             \
        if (priv) {                                                            \
          __global uint *restrict c = h + (at / 2) * sw;                       \
          c[yl] += 1;                                                          \
          if (track) {                                                         \
            c[2] &= (uint)key;                                                 \
            c[3] |= (uint)key;                                                 \
          }                                                                    \
        } else {                                                               \
          clm_rk_add64(hist + 2 * idx, 1);                                     \
          if (track) {                                                         \
            atomic_and(range + at, (uint)key);                                 \
            atomic_or(range + at + 1, (uint)key);                              \
          }                                                                    \
        }                                                                      \
      }                                                                        \
    }                                                                          \
    if (priv)                                                                  \
      for (ulong c = 0; c < cells / 2; ++c) {                                  \
        __global const uint *restrict e = h + c * sw;                          \
        if (e[0])                                                              \
          clm_rk_add64(hist + 4 * c, e[0]);                                    \
        if (e[1])                                                              \
          clm_rk_add64(hist + 4 * c + 2, e[1]);                                \
        if (track && (e[0] | e[1])) {                                          \
          atomic_and(range + 2 * c, e[2]);                                     \
          atomic_or(range + 2 * c + 1, e[3]);                                  \
        }                                                                      \
      }                                                                        \
    if (first_bad != CLM_NO_BAD)                                               \
      atomic_min(status, first_bad);                                           \
  }                                                                            \
                                                                               \
  /* One key of a refine pass: find its task (table, then the last task   */   \
  /* starting at or below it) and count or gather it.                      */  \
  inline void clm_rk_refine_one_##SFX(                                         \
      KT key, uint y, uint2 tc, uint own_lo, uint own_hi,                      \
      __global const KT *restrict tlo, __global const KT *restrict thi,        \
      __global const uint *restrict tshift,                                    \
      __global const ulong *restrict tbase,                                    \
      __global const uint *restrict tcap, __global uint *restrict dense,       \
      __global uint *restrict cursor, __global KT *restrict gkeys,             \
      __global ushort *restrict g16, int wide) {                               \
    if (tc.y & CLM_RK_WHOLE) {                                                 \
      /* A gathered level-1 range that this group owns: its slots for the */   \
      /* label, in row order, without atomics.                            */   \
      if (tc.x < own_lo || tc.x >= own_hi)                                     \
        return;                                                                \
      __global uint *c = cursor + 4 * (ulong)tc.x + 2 * y;                     \
      const uint p = c[0]++;                                                   \
      if (p < c[1]) {                                                          \
        if (tc.y & CLM_RK_LOW16)                                               \
          g16[p] = (ushort)key;                                                \
        else                                                                   \
          gkeys[p] = key;                                                      \
      }                                                                        \
      return;                                                                  \
    }                                                                          \
    uint lo = tc.x, hi = tc.x + tc.y;                                          \
    while (hi - lo > 1) {                                                      \
      const uint mid = lo + (hi - lo) / 2;                                     \
      if (tlo[mid] <= key)                                                     \
        lo = mid;                                                              \
      else                                                                     \
        hi = mid;                                                              \
    }                                                                          \
    const uint j = lo;                                                         \
    if (j < own_lo || j >= own_hi || key < tlo[j] || key > thi[j])             \
      return;                                                                  \
    const uint s = tshift[j];                                                  \
    if (s != CLM_RK_GATHER) {                                                  \
      const ulong cell = tbase[j] + (ulong)((key - tlo[j]) >> s) * 2 + y;      \
      if (wide)                                                                \
        clm_rk_add64(dense + 2 * cell, 1);                                     \
      else                                                                     \
        atomic_inc(dense + cell);                                              \
    } else {                                                                   \
      /* key << 1 | label: the top key bit is shared by the range. */          \
      const uint p = atomic_inc(cursor + 4 * (ulong)j);                        \
      if (p < tcap[j])                                                         \
        gkeys[tbase[j] + p] = key << 1 | (KT)y;                                \
    }                                                                          \
  }                                                                            \
                                                                               \
  __kernel void clm_rank_refine_##SFX(                                         \
      __global const KT *restrict scores, __global const uchar *restrict y8,   \
      __global const int *restrict y32, const uint n, const uint k,            \
      const uint shift1, const uint bins1, const uint per_group,               \
      __global const uint2 *restrict table, __global const KT *restrict tlo,   \
      __global const KT *restrict thi, __global const uint *restrict tshift,   \
      __global const ulong *restrict tbase,                                    \
      __global const uint *restrict tcap, __global uint *restrict dense,       \
      __global uint *restrict cursor, __global KT *restrict gkeys,             \
      __global ushort *restrict g16, __global const uint *restrict split,      \
      const int wide, const int ml) {                                          \
    const uint lid = get_local_id(0);                                          \
    const uint ls = get_local_size(0);                                         \
    const uint grp = get_group_id(0);                                          \
    /* One work-item per group (CPUs): the group owns tasks [split[grp],   */  \
    /* split[grp + 1]) and reads every row; otherwise the rows are split.  */  \
    const int owner = ls == 1;                                                 \
    const ulong start = owner ? 0 : (ulong)grp * per_group;                    \
    const uint end = owner ? n : (uint)min((ulong)n, start + per_group);       \
    const uint own_lo = owner ? split[grp] : 0;                                \
    const uint own_hi = owner ? split[grp + 1] : 0xffffffffu;                  \
    const int plain = owner && k == 1;                                         \
    /* Blocks of rows: first, without branches, each row's key and table   */  \
    /* entry, keeping (in row order) the rows of tasks this group owns;    */  \
    /* then those rows' writes, in the same order as before. About half    */  \
    /* the rows are another group's, at random: skipping them with a       */  \
    /* branch per row was about 15 % slower (bench_ranking, N = 2e7).      */  \
    for (uint b0 = plain ? (uint)start : end; b0 < end; b0 += CLM_RK_BLOCK) {  \
      const uint b1 = min(b0 + CLM_RK_BLOCK, end);                             \
      KT bkey[CLM_RK_BLOCK];                                                   \
      uint2 btc[CLM_RK_BLOCK];                                                 \
      uint by[CLM_RK_BLOCK];                                                   \
      uint m = 0;                                                              \
      for (uint i = b0; i < b1; ++i) {                                         \
        const uint y = y8[i];                                                  \
        const KT b = scores[i];                                                \
        const KT key = clm_rk_key_##SFX(b);                                    \
        const uint2 tc = table[(uint)(key >> shift1)];                         \
        const uint cnt = (tc.y & CLM_RK_WHOLE) ? 1 : tc.y;                     \
        const uint keep = (uint)(y <= 1) & (uint)!clm_rk_bad_##SFX(b, 0) &     \
                          (uint)(cnt != 0) & (uint)(tc.x < own_hi) &           \
                          (uint)(tc.x + cnt > own_lo);                         \
        bkey[m] = key;                                                         \
        btc[m] = tc;                                                           \
        by[m] = y;                                                             \
        m += keep;                                                             \
      }                                                                        \
      for (uint q = 0; q < m; ++q) {                                           \
        const KT key = bkey[q];                                                \
        const uint2 tc = btc[q];                                               \
        const uint y = by[q];                                                  \
        if ((tc.y & (CLM_RK_WHOLE | CLM_RK_LOW16)) ==                          \
            (CLM_RK_WHOLE | CLM_RK_LOW16)) {                                   \
          /* The common case inline: a whole range, 16-bit keys. */            \
          __global uint *c = cursor + 4 * tc.x + 2 * y;                        \
          const uint p = c[0]++;                                               \
          if (p < c[1])                                                        \
            g16[p] = (ushort)key;                                              \
          continue;                                                            \
        }                                                                      \
        if (tc.y == 1u && tshift[tc.x] != CLM_RK_GATHER) {                     \
          /* The prefix's one task counts densely (a lattice, or a range   */  \
          /* split by its next bits); this group owns it: no atomics.      */  \
          const uint j = tc.x;                                                 \
          if (j < own_lo || j >= own_hi || key < tlo[j] || key > thi[j])       \
            continue;                                                          \
          const ulong cell =                                                   \
              tbase[j] + (ulong)((key - tlo[j]) >> tshift[j]) * 2 + y;         \
          if (wide) {                                                          \
            __global uint *c = dense + 2 * cell;                               \
            if (++c[0] == 0u)                                                  \
              ++c[1];                                                          \
          } else {                                                             \
            dense[cell] += 1u;                                                 \
          }                                                                    \
          continue;                                                            \
        }                                                                      \
        clm_rk_refine_one_##SFX(key, y, tc, own_lo, own_hi, tlo, thi, tshift,  \
                                tbase, tcap, dense, cursor, gkeys, g16, wide); \
      }                                                                        \
    }                                                                          \
    const uint span = start < end && !plain ? end - (uint)start : 0;           \
    const uint trips = (span + ls - 1) / ls;                                   \
    for (uint t = 0; t < trips; ++t) {                                         \
      const uint i = (uint)start + t * ls + lid;                               \
      if (i >= end || !clm_rk_label_ok(y8, y32, k, ml, i))                     \
        continue;                                                              \
      for (uint col = 0; col < k; ++col) {                                     \
        const KT b = scores[(ulong)i * k + col];                               \
        const uint yl = clm_rk_label(y8, y32, k, ml, i, col);                  \
        if (yl > 1 || clm_rk_bad_##SFX(b, 0))                                  \
          continue;                                                            \
        const KT key = clm_rk_key_##SFX(b);                                    \
        const uint2 tc = table[(ulong)col * bins1 + (uint)(key >> shift1)];    \
        if (tc.y)                                                              \
          clm_rk_refine_one_##SFX(key, yl, tc, own_lo, own_hi, tlo, thi,       \
                                  tshift, tbase, tcap, dense, cursor, gkeys,   \
                                  g16, wide);                                  \
      }                                                                        \
    }                                                                          \
  }

CLM_RANK_KERNELS(f32, uint)
CLM_RANK_KERNELS(f64, ulong)

/* Binary float32, every task a whole 16-bit range (the usual first refine
 * pass on CPUs): the group's own prefix table (128 KB) says at once
 * whether a row is its own and which run it goes to. Blocks of rows as in
 * clm_rank_refine_f32: first the kept rows without a branch, then their
 * writes, per task and label in row order. */
__kernel void clm_rank_gather16_f32(__global const uint *restrict scores,
                                    __global const uchar *restrict y8,
                                    const uint n,
                                    __global const ushort *restrict own,
                                    __global uint *restrict cursor,
                                    __global ushort *restrict g16,
                                    __global const uint *restrict split) {
  const uint grp = get_group_id(0);
  __global const ushort *restrict mine = own + (ulong)grp * 65536;
  __global uint *restrict cur = cursor + 4 * (ulong)split[grp];
  for (uint b0 = 0; b0 < n; b0 += CLM_RK_BLOCK) {
    const uint b1 = min(b0 + CLM_RK_BLOCK, n);
    ushort bkey[CLM_RK_BLOCK];
    uint bslot[CLM_RK_BLOCK];
    uint m = 0;
    for (uint i = b0; i < b1; ++i) {
      const uint y = y8[i];
      const uint b = scores[i];
      const uint key = clm_rk_key_f32(b);
      const uint e = mine[key >> 16];
      bkey[m] = (ushort)key;
      bslot[m] = 4 * e + 2 * y;
      m += (uint)(y <= 1) & (uint)!clm_rk_bad_f32(b, 0) &
           (uint)(e != CLM_RK_NOT_OWNED);
    }
    for (uint q = 0; q < m; ++q) {
      __global uint *c = cur + bslot[q];
      const uint p = c[0]++;
      if (p < c[1])
        g16[p] = bkey[q];
    }
  }
}
