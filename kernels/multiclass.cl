/* Multi-class evaluation kernels.
 *
 * clm_confusion: K x K confusion counts from true and predicted labels.
 *   CLM_CM_LOCAL: the whole matrix privatized in local memory, one global
 *     atomic per non-zero cell per work-group;
 *   CLM_CM_DIAG: for K too large for local memory: the diagonal (usually
 *     most samples) in local memory, off-diagonal cells by global atomics.
 *   With one work-item per group the local counters need no atomics.
 *
 * clm_confusion_private: for CPU devices (one work-item per group): each
 *   group counts into its own K x K slice of a global scratch buffer
 *   without atomics; clm_confusion_private_sum then adds the slices into
 *   the result, one writer per cell (the private-histogram loop a C
 *   programmer would write with OpenMP). The slice holds CLM_CM_WIDTH(K)
 *   bytes a counter: 32-bit, 16-bit from K = CLM_CM_NARROW_MIN_K, 8-bit
 *   from CLM_CM_BYTE_MIN_K (a smaller cache footprint); a counter that
 *   wraps to 0 adds 2^16 or 2^8 to the result's cell at once, so every
 *   count stays exact. K <= 3 counts in registers (7-bit fields), K <= 32
 *   four rows at a time into four replicas.
 *   Labels outside [0, K) are never used as indices: they are counted and
 *   the first offending index kept (status[CLM_CM_BAD_COUNT],
 * status[CLM_CM_FIRST_BAD]). With has_ignore, rows whose true label is
 * `ignore` (any int, in [0, K) or not) are not counted but tallied in
 * status[CLM_CM_IGNORED]; their predicted label is still checked.
 *
 * clm_argmax_ce: per row of an N x K score matrix: argmax (ties to the lowest
 *   index, as NumPy), the cross-entropy term and the rank of the true class;
 *   CLM_VW rows per work-item at once, vectorized across rows.
 *   Logit rows with every score -inf (no class has any probability) or every
 *   score +inf (inf - inf) have no cross-entropy: they are bad rows,
 *   reported at column 0 through the same status words as NaN.
 *
 * clm_argmax_ce_opt, clm_argmax_ce_rows_opt: the same two kernels with
 *   PyTorch's CrossEntropyLoss options and sample weights (one body each,
 *   specialised by a constant, so the plain kernels are unchanged). */
#ifndef CLM_VW
#include "clm_shared.h"
#include "common.cl"
#endif

#ifndef CLM_CM_PREFETCH
#define CLM_CM_PREFETCH 0 /* rows ahead; the host sets 16 for PoCL's CPUs */
#endif
#ifndef CLM_CM_PRIVATE_PREFETCH
#define CLM_CM_PRIVATE_PREFETCH 0 /* the same for private slices: 32 */
#endif
#ifndef CLM_CM_NEAR_BYTES
#define CLM_CM_NEAR_BYTES (2u << 20) /* a slice up to this stays in cache */
#endif

/* The bodies of the confusion kernels; `has_ignore` is a compile-time
 * constant of each entry point, so the plain kernels keep their loop. */
inline void clm_confusion_body(__global const int *restrict yt,
                               __global const int *restrict yp, const uint n,
                               const uint k, const uint per_group,
                               const int mode, const uint replicas,
                               __global uint *restrict cm,
                               __global uint *restrict status,
                               __local uint *restrict hist,
                               const int has_ignore, const int ignore) {
  const uint lid = get_local_id(0);
  const uint ls = get_local_size(0);
  const uint grp = get_group_id(0);
  /* LOCAL mode keeps `replicas` copies of the matrix (a power of two), so
   * consecutive samples hitting the same cell do not serialize. */
  const uint cells = mode == CLM_CM_LOCAL ? k * k : k;
  const uint slots = mode == CLM_CM_LOCAL  ? cells * replicas
                     : mode == CLM_CM_DIAG ? cells
                                           : 0;
  const uint start = grp * per_group;
  const uint end = min(start + per_group, n);
  const int private_hist = ls == 1;

  /* Uniform trip counts with guards (pocl#1390). */
  const uint zero_trips = (slots + ls - 1) / ls;
  for (uint t = 0; t < zero_trips; ++t) {
    const uint c = t * ls + lid;
    if (c < slots)
      hist[c] = 0;
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  uint bad = 0, first_bad = CLM_NO_BAD, ignored = 0;
  const uint span = end > start ? end - start : 0;
  const uint trips = (span + ls - 1) / ls;
  for (uint t = 0; t < trips; ++t) {
    const uint i = start + t * ls + lid;
    if (i >= end)
      continue;
    const int ta = yt[i];
    const uint a = (uint)ta, b = (uint)yp[i]; /* negatives wrap high */
#if CLM_CM_PREFETCH
    /* One work-item walking its rows: the global cell of a row
     * CLM_CM_PREFETCH ahead is requested now. A locked add waits for every
     * earlier load, so without this the misses of a matrix far larger
     * than the caches are taken one at a time. */
    if (mode == CLM_CM_DIAG && private_hist && i + CLM_CM_PREFETCH < end) {
      const uint a2 = (uint)yt[i + CLM_CM_PREFETCH];
      const uint b2 = (uint)yp[i + CLM_CM_PREFETCH];
      if (a2 < k && b2 < k && a2 != b2)
        __builtin_prefetch(&cm[(ulong)a2 * k + b2]);
    }
#endif
    if (has_ignore && ta == ignore) {
      /* Skipped, but its predicted label must still be a class. */
      if (b >= k) {
        ++bad;
        first_bad = min(first_bad, i);
      } else {
        ++ignored;
      }
      continue;
    }
    if (a >= k || b >= k) {
      ++bad;
      first_bad = min(first_bad, i);
      continue;
    }
    if (mode == CLM_CM_LOCAL) {
      const uint slot = (i & (replicas - 1)) * cells + a * k + b;
      if (private_hist)
        hist[slot] += 1;
      else
        atomic_inc(&hist[slot]);
    } else if (mode == CLM_CM_DIAG && a == b) {
      if (private_hist)
        hist[a] += 1;
      else
        atomic_inc(&hist[a]);
    } else {
      atomic_inc(&cm[(ulong)a * k + b]);
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  const uint flush_trips = mode == CLM_CM_GLOBAL ? 0 : (cells + ls - 1) / ls;
  for (uint t = 0; t < flush_trips; ++t) {
    const uint c = t * ls + lid;
    if (c < cells) {
      uint v = 0;
      for (uint r = 0; r < (mode == CLM_CM_LOCAL ? replicas : 1u); ++r)
        v += hist[r * cells + c];
      if (v)
        atomic_add(&cm[mode == CLM_CM_LOCAL ? (ulong)c : (ulong)c * k + c], v);
    }
  }
  if (bad) {
    atomic_add(&status[CLM_CM_BAD_COUNT], bad);
    atomic_min(&status[CLM_CM_FIRST_BAD], first_bad);
  }
  if (ignored)
    atomic_add(&status[CLM_CM_IGNORED], ignored);
}

__kernel void clm_confusion(__global const int *restrict yt,
                            __global const int *restrict yp, const uint n,
                            const uint k, const uint per_group, const int mode,
                            const uint replicas, __global uint *restrict cm,
                            __global uint *restrict status,
                            __local uint *restrict hist) {
  clm_confusion_body(yt, yp, n, k, per_group, mode, replicas, cm, status, hist,
                     0, 0);
}

__kernel void
clm_confusion_ignore(__global const int *restrict yt,
                     __global const int *restrict yp, const uint n,
                     const uint k, const uint per_group, const int mode,
                     const uint replicas, __global uint *restrict cm,
                     __global uint *restrict status,
                     __local uint *restrict hist, const int ignore) {
  clm_confusion_body(yt, yp, n, k, per_group, mode, replicas, cm, status, hist,
                     1, ignore);
}

/* The private slices (see clm_confusion_private): `width`-byte counters,
 * CLM_CM_WIDTH(K); `replicas` interleaved copies (a power of two), so that
 * runs of one cell do not wait on each other's increments. Slots count
 * from the start of the scratch buffer. */
inline void clm_private_zero(__global uint *restrict scratch, const uint width,
                             const ulong base, const ulong slots) {
  __global ushort *restrict h16 = (__global ushort *)scratch + base;
  __global uchar *restrict h8 = (__global uchar *)scratch + base;
  __global uint *restrict h32 = scratch + base;
  for (ulong c = 0; c < slots; ++c) {
    if (width == 1)
      h8[c] = 0;
    else if (width == 2)
      h16[c] = 0;
    else
      h32[c] = 0;
  }
}

inline void clm_private_count(__global uchar *restrict h8,
                              __global ushort *restrict h16,
                              __global uint *restrict h32, const uint width,
                              const ulong slot, const ulong cell,
                              __global uint *restrict cm) {
  if (width == 1) {
    const uchar v = (uchar)(h8[slot] + 1);
    h8[slot] = v;
    if (v == 0) /* wrapped: its 256 counts move to the result */
      atomic_add(&cm[cell], 256u);
  } else if (width == 2) {
    const ushort v = (ushort)(h16[slot] + 1);
    h16[slot] = v;
    if (v == 0) /* wrapped: its 65536 counts move to the result */
      atomic_add(&cm[cell], 65536u);
  } else {
    h32[slot] += 1;
  }
}

/* clm_confusion_private_sum: after a private count, adds the launch's
 * `slices` slices (groups x replicas, each `cells` counters) into the
 * result, a span of cells per work-item. Each cell has one writer, so no
 * atomics: an atomic add per cell and group had cost about 40 % of the
 * whole count at K = 1000 on PoCL. */
__kernel void clm_confusion_private_sum(__global const uint *restrict scratch,
                                        const ulong cells, const uint slices,
                                        const uint width, const ulong span,
                                        __global uint *restrict cm) {
  __global const ushort *restrict h16 = (__global const ushort *)scratch;
  __global const uchar *restrict h8 = (__global const uchar *)scratch;
  const ulong lo = get_global_id(0) * span;
  const ulong hi = min(lo + span, cells);
  for (ulong c = lo; c < hi; ++c) {
    uint v = 0;
    for (uint s = 0; s < slices; ++s)
      v += width == 1   ? h8[s * cells + c]
           : width == 2 ? h16[s * cells + c]
                        : scratch[s * cells + c];
    cm[c] += v;
  }
}

inline void clm_cm_status_add(__global uint *restrict status, const uint bad,
                              const uint first_bad, const uint ignored) {
  if (bad) {
    atomic_add(&status[CLM_CM_BAD_COUNT], bad);
    atomic_min(&status[CLM_CM_FIRST_BAD], first_bad);
  }
  if (ignored)
    atomic_add(&status[CLM_CM_IGNORED], ignored);
}

/* The checks of a private count's row: 0 for a row that is not counted
 * (its true label ignored, or a label outside [0, K), tallied here). */
inline int clm_cm_row_counts(const int ta, const uint a, const uint b,
                             const uint k, const uint i, const int has_ignore,
                             const int ignore, uint *restrict bad,
                             uint *restrict first_bad, uint *restrict ignored) {
  if (has_ignore && ta == ignore) {
    if (b >= k) {
      ++*bad;
      *first_bad = min(*first_bad, i);
    } else {
      ++*ignored;
    }
    return 0;
  }
  if (a >= k || b >= k) {
    ++*bad;
    *first_bad = min(*first_bad, i);
    return 0;
  }
  return 1;
}

/* The rows of a private count; `width` and `far` are constants at each call
 * (clm_confusion_private_body), so every loop is specialised. */
inline void clm_confusion_private_rows(
    __global const int *restrict yt, __global const int *restrict yp,
    const uint start, const uint end, const uint k, const ulong cells,
    const uint replicas, const ulong base, const uint width, const int far,
    __global uint *restrict cm, __global uint *restrict scratch,
    const int has_ignore, const int ignore, uint *restrict bad,
    uint *restrict first_bad, uint *restrict ignored) {
  __global uchar *restrict h8 = (__global uchar *)scratch + base;
  __global ushort *restrict h16 = (__global ushort *)scratch + base;
  __global uint *restrict h32 = scratch + base;
  for (uint i = start; i < end; ++i) {
    const int ta = yt[i];
    const uint a = (uint)ta, b = (uint)yp[i]; /* negatives wrap high */
#if CLM_CM_PRIVATE_PREFETCH
    if (far && i + CLM_CM_PRIVATE_PREFETCH < end) {
      const uint a2 = (uint)yt[i + CLM_CM_PRIVATE_PREFETCH];
      const uint b2 = (uint)yp[i + CLM_CM_PRIVATE_PREFETCH];
      if (a2 < k && b2 < k)
        __builtin_prefetch(h8 + ((ulong)a2 * k + b2) * width, 1);
    }
#endif
    if (!clm_cm_row_counts(ta, a, b, k, i, has_ignore, ignore, bad, first_bad,
                           ignored))
      continue;
    const ulong cell = (ulong)a * k + b;
    clm_private_count(h8, h16, h32, width, (i & (replicas - 1)) * cells + cell,
                      cell, cm);
  }
}

/* K <= 3 (at most 9 cells): the counts of a block of rows build up in two
 * 64-bit registers, 7 bits a cell, and are added to the slice every 254
 * rows: no read-modify-write of memory per row, where so few cells would
 * chain every increment to the one before it. */
inline void clm_confusion_private_packed(
    __global const int *restrict yt, __global const int *restrict yp,
    const uint start, const uint end, const uint k, const ulong cells,
    __global uint *restrict h32, const int has_ignore, const int ignore,
    uint *restrict bad, uint *restrict first_bad, uint *restrict ignored) {
  uint i = start;
  while (i < end) {
    const uint stop = min(end, i + 254u);
    ulong acc0 = 0, acc1 = 0;
    for (; i < stop; ++i) {
      const int ta = yt[i];
      const uint a = (uint)ta, b = (uint)yp[i]; /* negatives wrap high */
      if (!clm_cm_row_counts(ta, a, b, k, i, has_ignore, ignore, bad, first_bad,
                             ignored))
        continue;
      const ulong inc = 1ul << (7 * (a * k + b));
      const ulong odd = (ulong)0 - (ulong)(i & 1);
      acc0 += inc & ~odd;
      acc1 += inc & odd;
    }
    for (uint c = 0; c < cells; ++c)
      h32[c] +=
          (uint)((acc0 >> (7 * c)) & 127u) + (uint)((acc1 >> (7 * c)) & 127u);
  }
}

/* 32-bit counters in four replicas (K <= 32): four rows at a time, one
 * replica each, addressed by pointer, as the OpenMP loop does. */
inline void clm_cm_r4_row(__global const int *restrict yt,
                          __global const int *restrict yp, const uint i,
                          const uint k, __global uint *restrict h,
                          const int has_ignore, const int ignore,
                          uint *restrict bad, uint *restrict first_bad,
                          uint *restrict ignored) {
  const int ta = yt[i];
  const uint a = (uint)ta, b = (uint)yp[i];
  if (!clm_cm_row_counts(ta, a, b, k, i, has_ignore, ignore, bad, first_bad,
                         ignored))
    return;
  ++h[a * k + b];
}

inline void clm_confusion_private_r4(
    __global const int *restrict yt, __global const int *restrict yp,
    const uint start, const uint end, const uint k, const ulong cells,
    __global uint *restrict h0, const int has_ignore, const int ignore,
    uint *restrict bad, uint *restrict first_bad, uint *restrict ignored) {
  __global uint *restrict h1 = h0 + cells;
  __global uint *restrict h2 = h1 + cells;
  __global uint *restrict h3 = h2 + cells;
  uint i = start;
  /* The replica of row i is i & 3, as in the general loop. */
  for (; i < end && (i & 3); ++i)
    clm_cm_r4_row(yt, yp, i, k,
                  (i & 3) == 1   ? h1
                  : (i & 3) == 2 ? h2
                                 : h3,
                  has_ignore, ignore, bad, first_bad, ignored);
  for (; i + 4 <= end; i += 4) {
    clm_cm_r4_row(yt, yp, i, k, h0, has_ignore, ignore, bad, first_bad,
                  ignored);
    clm_cm_r4_row(yt, yp, i + 1, k, h1, has_ignore, ignore, bad, first_bad,
                  ignored);
    clm_cm_r4_row(yt, yp, i + 2, k, h2, has_ignore, ignore, bad, first_bad,
                  ignored);
    clm_cm_r4_row(yt, yp, i + 3, k, h3, has_ignore, ignore, bad, first_bad,
                  ignored);
  }
  for (; i < end; ++i)
    clm_cm_r4_row(yt, yp, i, k,
                  (i & 3) == 0   ? h0
                  : (i & 3) == 1 ? h1
                                 : h2,
                  has_ignore, ignore, bad, first_bad, ignored);
}

inline void clm_confusion_private_body(
    __global const int *restrict yt, __global const int *restrict yp,
    const uint n, const uint k, const uint per_group, const uint replicas,
    __global uint *restrict cm, __global uint *restrict status,
    __global uint *restrict scratch, const int has_ignore, const int ignore) {
  const uint grp = get_group_id(0);
  const ulong cells = (ulong)k * k;
  const uint width = CLM_CM_WIDTH(k);
  const ulong base = grp * cells * replicas;
  clm_private_zero(scratch, width, base, cells * replicas);
  const uint start = grp * per_group;
  const uint end = min(start + per_group, n);
  uint bad = 0, first_bad = CLM_NO_BAD, ignored = 0;
  /* A slice larger than the cache (8-bit counters only, by K): the cell of
   * the row CLM_CM_PRIVATE_PREFETCH ahead is requested now, so that more of
   * the misses overlap than the out-of-order window alone allows. */
  const int far = CLM_CM_PRIVATE_PREFETCH > 0 &&
                  cells * replicas * width > CLM_CM_NEAR_BYTES;
  /* One copy of the loop per case the host launches (narrow counters come
   * with one replica, from K = CLM_CM_NARROW_MIN_K on), and a general one:
   * with the replicas a constant, the slot needs no multiply by K x K. */
  if (width == 4 && cells <= 9)
    clm_confusion_private_packed(yt, yp, start, end, k, cells, scratch + base,
                                 has_ignore, ignore, &bad, &first_bad,
                                 &ignored);
  else if (width == 1 && replicas == 1 && far)
    clm_confusion_private_rows(yt, yp, start, end, k, cells, 1, base, 1, 1, cm,
                               scratch, has_ignore, ignore, &bad, &first_bad,
                               &ignored);
  else if (width == 1 && replicas == 1)
    clm_confusion_private_rows(yt, yp, start, end, k, cells, 1, base, 1, 0, cm,
                               scratch, has_ignore, ignore, &bad, &first_bad,
                               &ignored);
  else if (width == 2 && replicas == 1)
    clm_confusion_private_rows(yt, yp, start, end, k, cells, 1, base, 2, 0, cm,
                               scratch, has_ignore, ignore, &bad, &first_bad,
                               &ignored);
  else if (width == 4 && replicas == 4)
    clm_confusion_private_r4(yt, yp, start, end, k, cells, scratch + base,
                             has_ignore, ignore, &bad, &first_bad, &ignored);
  else if (width == 4 && replicas == 1)
    clm_confusion_private_rows(yt, yp, start, end, k, cells, 1, base, 4, 0, cm,
                               scratch, has_ignore, ignore, &bad, &first_bad,
                               &ignored);
  else
    clm_confusion_private_rows(yt, yp, start, end, k, cells, replicas, base,
                               width, far, cm, scratch, has_ignore, ignore,
                               &bad, &first_bad, &ignored);
  clm_cm_status_add(status, bad, first_bad, ignored);
}

__kernel void clm_confusion_private(__global const int *restrict yt,
                                    __global const int *restrict yp,
                                    const uint n, const uint k,
                                    const uint per_group, const uint replicas,
                                    __global uint *restrict cm,
                                    __global uint *restrict status,
                                    __global uint *restrict scratch) {
  clm_confusion_private_body(yt, yp, n, k, per_group, replicas, cm, status,
                             scratch, 0, 0);
}

__kernel void clm_confusion_private_ignore(
    __global const int *restrict yt, __global const int *restrict yp,
    const uint n, const uint k, const uint per_group, const uint replicas,
    __global uint *restrict cm, __global uint *restrict status,
    __global uint *restrict scratch, const int ignore) {
  clm_confusion_private_body(yt, yp, n, k, per_group, replicas, cm, status,
                             scratch, 1, ignore);
}

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#ifndef CLM_CM_WBLOCK
#define CLM_CM_WBLOCK 4096 /* rows whose weights are checked at once */
#endif
/* clm_confusion_private_w: the private count with sample weights, in the
 * same pass: each group also sums its rows' weights per cell in its own
 * float64 slice of `wsl` (K x K x replicas, then the weight of its ignored
 * rows), in row order, without atomics; the host adds the slices in group
 * order, so the sums are deterministic. A weight that is NaN, infinite or
 * negative is counted with its first index (status[CLM_CM_BAD_WEIGHTS],
 * status[CLM_CM_FIRST_BAD_WEIGHT]); its row is not counted. Only on
 * devices with float64. */
inline void clm_confusion_private_w_body(
    __global const int *restrict yt, __global const int *restrict yp,
    const uint n, const uint k, const uint per_group, const uint replicas,
    __global uint *restrict cm, __global uint *restrict status,
    __global uint *restrict scratch, __global const float *restrict wts,
    __global double *restrict wsl, const int has_ignore, const int ignore) {
  const uint grp = get_group_id(0);
  const ulong cells = (ulong)k * k;
  const uint width = CLM_CM_WIDTH(k);
  const ulong base = grp * cells * replicas;
  __global uchar *restrict h8 = (__global uchar *)scratch + base;
  __global ushort *restrict h16 = (__global ushort *)scratch + base;
  __global uint *restrict h32 = scratch + base;
  __global double *restrict hw = wsl + grp * (cells * replicas + 1);
  clm_private_zero(scratch, width, base, cells * replicas);
  for (ulong c = 0; c < cells * replicas; ++c)
    hw[c] = 0.0;
  const uint start = grp * per_group;
  const uint end = min(start + per_group, n);
  uint bad = 0, first_bad = CLM_NO_BAD, ignored = 0;
  uint bad_w = 0, first_bad_w = CLM_NO_BAD, any_bad_w = 0;
  double w_ignored = 0.0;
  /* Blocks of rows: the weights' check first, a loop without branches
   * that the compiler vectorizes (a bad weight fails the whole update, so
   * the counts of its row do not matter; the rare path below finds the
   * first one), then the rows, their weights now in cache. */
  for (uint b0 = start; b0 < end; b0 += CLM_CM_WBLOCK) {
    const uint b1 = min(b0 + CLM_CM_WBLOCK, end);
    uint any = 0;
    for (uint i = b0; i < b1; ++i) {
      const uint wb = as_uint(wts[i]); /* NaN, +-inf, < 0; not -0.0 */
      any |= (wb >= 0x7f800000u) & (wb != 0x80000000u);
    }
    any_bad_w |= any;
    for (uint i = b0; i < b1; ++i) {
      const float w = wts[i];
      const int ta = yt[i];
      const uint a = (uint)ta, b = (uint)yp[i]; /* negatives wrap high */
      if (has_ignore && ta == ignore) {
        if (b >= k) {
          ++bad;
          first_bad = min(first_bad, i);
        } else {
          ++ignored;
          w_ignored += w;
        }
        continue;
      }
      if (a >= k || b >= k) {
        ++bad;
        first_bad = min(first_bad, i);
        continue;
      }
      const ulong cell = (ulong)a * k + b;
      const ulong slot = (i & (replicas - 1)) * cells + cell;
      clm_private_count(h8, h16, h32, width, slot, cell, cm);
      hw[slot] += w;
    }
  }
  if (any_bad_w) {
    for (uint i = start; i < end; ++i) {
      const float w = wts[i];
      if (!(w >= 0.0f) || isinf(w)) {
        ++bad_w;
        first_bad_w = min(first_bad_w, i);
      }
    }
  }
  hw[cells * replicas] = w_ignored;
  clm_cm_status_add(status, bad, first_bad, ignored);
  if (bad_w) {
    atomic_add(&status[CLM_CM_BAD_WEIGHTS], bad_w);
    atomic_min(&status[CLM_CM_FIRST_BAD_WEIGHT], first_bad_w);
  }
}

__kernel void clm_confusion_private_w(
    __global const int *restrict yt, __global const int *restrict yp,
    const uint n, const uint k, const uint per_group, const uint replicas,
    __global uint *restrict cm, __global uint *restrict status,
    __global uint *restrict scratch, __global const float *restrict wts,
    __global double *restrict wsl) {
  clm_confusion_private_w_body(yt, yp, n, k, per_group, replicas, cm, status,
                               scratch, wts, wsl, 0, 0);
}

__kernel void clm_confusion_private_w_ignore(
    __global const int *restrict yt, __global const int *restrict yp,
    const uint n, const uint k, const uint per_group, const uint replicas,
    __global uint *restrict cm, __global uint *restrict status,
    __global uint *restrict scratch, __global const float *restrict wts,
    __global double *restrict wsl, const int ignore) {
  clm_confusion_private_w_body(yt, yp, n, k, per_group, replicas, cm, status,
                               scratch, wts, wsl, 1, ignore);
}
#endif

/* End of both argmax kernels: the group's loss and top-k hits through a
 * halving tree (every work-item calls this; lid is read once by the caller,
 * pocl#1390), then the input-check counters. With the loss options (`opts`)
 * the group also sums the sample weights of its hits, in lsum[ls..2 ls),
 * and writes CLM_AM_OPT_PARTIALS_PER_GROUP floats. */
inline void clm_argmax_group_end(
    const uint lid, const uint ls, const uint grp, const float loss_acc,
    const uint n_hits, const uint bad_score, const uint first_bad_score,
    const uint bad_label, const uint first_bad_label,
    __global float *restrict partials, __global uint *restrict hits,
    __global uint *restrict status, __local float *restrict lsum,
    __local uint *restrict lcnt, const int opts, const float w_hits) {
  lsum[lid] = loss_acc;
  lcnt[lid] = n_hits;
  if (opts)
    lsum[ls + lid] = w_hits;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint st = ls >> 1; st > 0; st >>= 1) {
    if (lid < st) {
      lsum[lid] += lsum[lid + st];
      lcnt[lid] += lcnt[lid + st];
      if (opts)
        lsum[ls + lid] += lsum[ls + lid + st];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    if (opts) {
      partials[grp * CLM_AM_OPT_PARTIALS_PER_GROUP + CLM_AM_OPT_LOSS] = lsum[0];
      partials[grp * CLM_AM_OPT_PARTIALS_PER_GROUP + CLM_AM_OPT_WHITS] =
          lsum[ls];
    } else {
      partials[grp] = lsum[0];
    }
    hits[grp] = lcnt[0];
  }
  if (bad_score) {
    atomic_add(&status[CLM_AM_BAD_SCORES], bad_score);
    atomic_min(&status[CLM_AM_FIRST_BAD_SCORE], first_bad_score);
  }
  if (bad_label) {
    atomic_add(&status[CLM_AM_BAD_LABELS], bad_label);
    atomic_min(&status[CLM_AM_FIRST_BAD_LABEL], first_bad_label);
  }
}

/* The loss options, for the _opt kernels (`opts` is a compile-time 1 there
 * and 0 in the plain kernels, so those compile to exactly the code they
 * had before the options existed):
 *   l = (1 - e) w_y (-log p_y) + (e / K) sum_c w_c (-log p_c),
 * added as s * l with the row's sample weight s; rows whose true label is
 * `ignore` add nothing (their scores are still checked, their argmax still
 * written). A zero weight (w_c, w_y or s) times an infinite -log p adds 0,
 * not NaN: the term is left out. */
inline float clm_ce_option_loss(const float ce_true, const float smooth_sum,
                                const float w_true, const float s_w,
                                const float one_minus_e, const float e_over_k) {
  float l = 0.0f;
  if (one_minus_e != 0.0f && w_true != 0.0f)
    l = (one_minus_e * w_true) * ce_true;
  if (e_over_k != 0.0f)
    l += e_over_k * smooth_sum;
  return s_w != 0.0f ? s_w * l : 0.0f;
}

/* Rows of at most this many columns are transposed once into private
 * column vectors, not gathered once per pass. Not on GPUs, where a
 * work-item's private array would spill and strided reads coalesce. */
#ifndef CLM_AM_CACHE_K
#if CLM_STRIDED
#define CLM_AM_CACHE_K 0
#else
#define CLM_AM_CACHE_K CLM_AM_PACKED_MAX_K
#endif
#endif

/* Column c of the block's rows rowi[0..CLM_VW), one lane per row. */
inline floatv clm_am_column(__global const float *restrict s,
                            const int *restrict rowi, const uint k,
                            const uint c) {
  float tmp[CLM_VW];
  for (uint j = 0; j < CLM_VW; ++j)
    tmp[j] = s[(ulong)rowi[j] * k + c];
  return VLOADF(tmp);
}

/* For each row: pred[row] = argmax; partials[grp] = sum of cross-entropy
 * terms; hits[grp] = rows whose true class ranks < top_k (rank = classes
 * scoring higher, or equal with a lower index). status[0..1] count and
 * first index (row * k + col) of NaN scores, probabilities outside [0, 1]
 * and logit rows that are all -inf or all +inf (column 0); status[2..3]
 * count and first row of true labels outside [0, k). */
inline void clm_argmax_ce_body(
    __global const float *restrict s, __global const int *restrict yt,
    const uint n, const uint k, const int probs, const uint top_k,
    __global int *restrict pred, __global float *restrict partials,
    __global uint *restrict hits, __global uint *restrict status,
    __local float *restrict lsum, __local uint *restrict lcnt, const int opts,
    const int has_ignore, const int ignore, __global const float *restrict cw,
    __global const float *restrict sw, const int has_sw,
    const float one_minus_e, const float e_over_k) {
  const uint lid = get_local_id(0);
  const uint ls = get_local_size(0);
  const uint grp = get_group_id(0);
  const uint rows_per_group = ls * CLM_ITEMS * CLM_VW;
  const uint base = grp * rows_per_group;

  float loss_acc = 0.0f, w_hits = 0.0f;
  uint n_hits = 0, bad_score = 0, first_bad_score = CLM_NO_BAD;
  uint bad_label = 0, first_bad_label = CLM_NO_BAD;

  for (uint it = 0; it < CLM_ITEMS; ++it) {
#if CLM_STRIDED
    const uint r0 = base + (it * ls + lid) * CLM_VW;
#else
    const uint r0 = base + (lid * CLM_ITEMS + it) * CLM_VW;
#endif
    if (r0 >= n)
      continue;
    /* Lanes past the end repeat the last row and are ignored. */
    int rowi[CLM_VW], tcls[CLM_VW], skip[CLM_VW];
    for (uint j = 0; j < CLM_VW; ++j) {
      const uint r = min(r0 + j, n - 1);
      rowi[j] = (int)r;
      int t = yt[r];
      skip[j] = opts && has_ignore && t == ignore;
      if (skip[j]) {
        t = 0;
      } else if ((uint)t >= k) {
        if (r0 + j < n) {
          ++bad_label;
          first_bad_label = min(first_bad_label, r0 + j);
        }
        t = 0;
      }
      tcls[j] = t;
    }
    const intv t = VLOADI(tcls);
    /* The block's rows, transposed into column vectors by scalar copies
     * (a gather per column is several times slower on CPUs), read by every
     * pass; wider rows are gathered per column and pass. */
    union {
      floatv v[CLM_AM_CACHE_K > 0 ? CLM_AM_CACHE_K : 1];
      float f[(CLM_AM_CACHE_K > 0 ? CLM_AM_CACHE_K : 1) * CLM_VW];
    } col;
    const int cached = k <= CLM_AM_CACHE_K;
    if (cached) {
      for (uint j = 0; j < CLM_VW; ++j) {
        __global const float *rp = s + (ulong)rowi[j] * k;
        for (uint c = 0; c < k; ++c)
          col.f[c * CLM_VW + j] = rp[c];
      }
    }
    /* Pass 1: max, argmax, min, score of the true class, input checks. */
    floatv best = -INFINITY, lo = INFINITY, zt = 0.0f;
    intv arg = 0, badm = 0;
    for (uint c = 0; c < k; ++c) {
      const floatv v = cached ? col.v[c] : clm_am_column(s, rowi, k, c);
      const intv cv = (intv)(int)c;
      badm |= probs ? ((v < 0.0f) | (v > 1.0f) | isnan(v)) : isnan(v);
      const intv gt = v > best;
      best = select(best, v, gt);
      arg = select(arg, cv, gt);
      lo = fmin(lo, v);
      zt = select(zt, v, t == cv);
    }
    /* Logit rows without NaN whose scores are all -inf or all +inf. */
    const intv all_inf =
        probs ? (intv)0
              : (((best == (floatv)(-INFINITY)) | (lo == (floatv)INFINITY)) &
                 ~badm);
    if (ANYV(badm | all_inf)) {
      /* Rare path: find the first offending cell row by row. */
      int ai[CLM_VW];
      VSTOREI(all_inf, ai);
      for (uint j = 0; j < CLM_VW && r0 + j < n; ++j) {
        if (ai[j]) {
          ++bad_score;
          first_bad_score = min(first_bad_score, (r0 + j) * k);
          continue;
        }
        for (uint c = 0; c < k; ++c) {
          const float v = s[(ulong)(r0 + j) * k + c];
          if (isnan(v) || (probs && (v < 0.0f || v > 1.0f))) {
            ++bad_score;
            first_bad_score = min(first_bad_score, (r0 + j) * k + c);
            break;
          }
        }
      }
    }
    /* All -inf rows have argmax 0 (every score ties at -inf). */
    /* Pass 2: softmax denominator around the max, rank of the true class. */
    floatv sum = 0.0f, ninf = 0.0f;
    intv rank = 0;
    const intv top = isinf(best) & (best > 0.0f);
    for (uint c = 0; c < k; ++c) {
      const floatv v = cached ? col.v[c] : clm_am_column(s, rowi, k, c);
      const intv cv = (intv)(int)c;
      if (!probs)
        /* The argmax term is exactly 1: leave it out and take log1p of the
         * rest, so that confident rows keep their tiny losses. */
        sum += select(clm_exp_nonpos(v - best), (floatv)0.0f, cv == arg);
      ninf += select((floatv)0.0f, (floatv)1.0f, isinf(v) & (v > 0.0f));
      rank += select((intv)0, (intv)1, (v > zt) | ((v == zt) & (cv < t)));
    }
    floatv loss;
    if (probs) {
      loss = -log(clamp(zt, FLT_EPSILON, 1.0f));
    } else {
      /* log-sum-exp minus the true logit; limits at +-inf: with +inf
       * logits the mass splits evenly among them (0 for a true class that
       * is the only +inf, log m among m of them, +inf for a finite or -inf
       * true class). Rows all -inf or all +inf were reported above; their
       * loss here (log k) is never used. */
      const floatv finite = (best - zt) + log1p(sum);
      const floatv at_inf =
          select((floatv)INFINITY, log(ninf), isinf(zt) & (zt > 0.0f));
      const floatv all_neg = (floatv)log((float)k);
      loss = select(finite, at_inf, top);
      loss = select(loss, all_neg, isinf(best) & (best < 0.0f));
      loss = select(loss, (floatv)INFINITY,
                    isinf(zt) & (zt < 0.0f) & isfinite(best));
    }
    /* Pass 3 (smoothing only): sum_c w_c (-log p_c) per row, as
     * sum_c w_c (max - z_c) + log1p(sum) sum_c w_c for logits, with the
     * limits of the loss above where the maximum is +inf. */
    floatv smooth = 0.0f;
    if (opts && e_over_k != 0.0f) {
      const floatv ln_ninf = log(ninf);
      float w_all = 0.0f;
      for (uint c = 0; c < k; ++c) {
        const float wc = cw[c];
        if (wc == 0.0f)
          continue; /* uniform: 0 * inf is left out */
        w_all += wc;
        const floatv v = cached ? col.v[c] : clm_am_column(s, rowi, k, c);
        floatv d;
        if (probs)
          d = -log(clamp(v, FLT_EPSILON, 1.0f));
        else
          d = select(best - v,
                     select((floatv)INFINITY, ln_ninf, isinf(v) & (v > 0.0f)),
                     top);
        smooth += wc * d;
      }
      if (!probs)
        smooth += select(w_all * log1p(sum), (floatv)0.0f, top);
    }
    float tl[CLM_VW], tsm[CLM_VW];
    int ta[CLM_VW], tr[CLM_VW];
    VSTOREF(loss, tl);
    VSTOREI(arg, ta);
    VSTOREI(rank, tr);
    if (opts)
      VSTOREF(smooth, tsm);
    for (uint j = 0; j < CLM_VW && r0 + j < n; ++j) {
      pred[r0 + j] = ta[j];
      if (opts) {
        if (skip[j])
          continue;
        const float s_w = has_sw ? sw[r0 + j] : 1.0f;
        loss_acc += clm_ce_option_loss(tl[j], tsm[j], cw[tcls[j]], s_w,
                                       one_minus_e, e_over_k);
        const uint hit = (uint)tr[j] < top_k;
        n_hits += hit;
        w_hits += hit ? s_w : 0.0f;
      } else {
        loss_acc += tl[j];
        n_hits += (uint)tr[j] < top_k;
      }
    }
  }

  clm_argmax_group_end(lid, ls, grp, loss_acc, n_hits, bad_score,
                       first_bad_score, bad_label, first_bad_label, partials,
                       hits, status, lsum, lcnt, opts, w_hits);
}

__kernel void
clm_argmax_ce(__global const float *restrict s, __global const int *restrict yt,
              const uint n, const uint k, const int probs, const uint top_k,
              __global int *restrict pred, __global float *restrict partials,
              __global uint *restrict hits, __global uint *restrict status,
              __local float *restrict lsum, __local uint *restrict lcnt) {
  clm_argmax_ce_body(s, yt, n, k, probs, top_k, pred, partials, hits, status,
                     lsum, lcnt, 0, 0, 0, s, s, 0, 1.0f, 0.0f);
}

__kernel void clm_argmax_ce_opt(
    __global const float *restrict s, __global const int *restrict yt,
    const uint n, const uint k, const int probs, const uint top_k,
    __global int *restrict pred, __global float *restrict partials,
    __global uint *restrict hits, __global uint *restrict status,
    __local float *restrict lsum, __local uint *restrict lcnt,
    const int has_ignore, const int ignore, __global const float *restrict cw,
    __global const float *restrict sw, const int has_sw,
    const float one_minus_e, const float e_over_k) {
  clm_argmax_ce_body(s, yt, n, k, probs, top_k, pred, partials, hits, status,
                     lsum, lcnt, 1, has_ignore, ignore, cw, sw, has_sw,
                     one_minus_e, e_over_k);
}

/* clm_argmax_ce_rows: the same outputs as clm_argmax_ce, for wide rows on
 * devices that want contiguous reads (CPUs): each work-item walks whole rows
 * with CLM_VW-wide loads along the columns. CLM_ROWS rows per work-item per
 * group. */
#ifndef CLM_ROWS
#define CLM_ROWS 4
#endif

inline void clm_argmax_ce_rows_body(
    __global const float *restrict s, __global const int *restrict yt,
    const uint n, const uint k, const int probs, const uint top_k,
    __global int *restrict pred, __global float *restrict partials,
    __global uint *restrict hits, __global uint *restrict status,
    __local float *restrict lsum, __local uint *restrict lcnt, const int opts,
    const int has_ignore, const int ignore, __global const float *restrict cw,
    __global const float *restrict sw, const int has_sw,
    const float one_minus_e, const float e_over_k) {
  const uint lid = get_local_id(0);
  const uint ls = get_local_size(0);
  const uint grp = get_group_id(0);
  const uint full = k / CLM_VW * CLM_VW; /* columns read as vectors */
  int io[CLM_VW];
  for (int j = 0; j < CLM_VW; ++j)
    io[j] = j;
  const intv iota = VLOADI(io);

  float loss_acc = 0.0f, w_hits = 0.0f;
  uint n_hits = 0, bad_score = 0, first_bad_score = CLM_NO_BAD;
  uint bad_label = 0, first_bad_label = CLM_NO_BAD;
  for (uint it = 0; it < CLM_ROWS; ++it) {
    const uint r = (grp * ls + lid) * CLM_ROWS + it;
    if (r >= n)
      continue;
    __global const float *row = s + (ulong)r * k;
    int t = yt[r];
    const int skip = opts && has_ignore && t == ignore;
    if (skip) {
      t = 0;
    } else if ((uint)t >= k) {
      ++bad_label;
      first_bad_label = min(first_bad_label, r);
      t = 0;
    }
    /* Pass 1: per-lane max and its first column, min, input checks. */
    floatv bv = -INFINITY, lov = INFINITY;
    intv bi = 0, badm = 0;
    for (uint c = 0; c < full; c += CLM_VW) {
      const floatv v = VLOADF(row + c);
      const intv ci = iota + (int)c;
      badm |= probs ? ((v < 0.0f) | (v > 1.0f) | isnan(v)) : isnan(v);
      const intv gt = v > bv;
      bv = select(bv, v, gt);
      bi = select(bi, ci, gt);
      lov = fmin(lov, v);
    }
    if (full < k) {
      /* The tail as one vector ending at column k - 1; lanes already read
       * are masked out. Tail columns come after each lane's earlier ones,
       * so the strict > still keeps every lane's first maximum. */
      const floatv v = VLOADF(row + k - CLM_VW);
      const intv ci = iota + (int)(k - CLM_VW);
      const intv fresh = ci >= (int)full;
      badm |= fresh & (probs ? ((v < 0.0f) | (v > 1.0f) | isnan(v)) : isnan(v));
      const intv gt = fresh & (v > bv);
      bv = select(bv, v, gt);
      bi = select(bi, ci, gt);
      lov = fmin(lov, v); /* columns read twice do not change a minimum */
    }
    float lv[CLM_VW], lo_l[CLM_VW];
    int li[CLM_VW], lb[CLM_VW];
    VSTOREF(bv, lv);
    VSTOREI(bi, li);
    VSTOREI(badm, lb);
    VSTOREF(lov, lo_l);
    float best = -INFINITY, lo = INFINITY;
    int arg = 0, bad = 0;
    /* Lanes hold the first maximum of their columns: the overall first is
     * the lowest column among the lanes that reach the maximum. */
    for (int j = 0; j < CLM_VW; ++j) {
      bad |= lb[j];
      lo = fmin(lo, lo_l[j]);
      if (lv[j] > best || (lv[j] == best && li[j] < arg)) {
        best = lv[j];
        arg = li[j];
      }
    }
    if (bad) {
      for (uint c = 0; c < k; ++c) {
        const float v = row[c];
        if (isnan(v) || (probs && (v < 0.0f || v > 1.0f))) {
          ++bad_score;
          first_bad_score = min(first_bad_score, r * k + c);
          break;
        }
      }
    } else if (!probs && (best == -INFINITY || lo == INFINITY)) {
      /* Every logit -inf or every logit +inf: no cross-entropy. */
      ++bad_score;
      first_bad_score = min(first_bad_score, r * k);
    }
    /* All -inf rows: every score ties, argmax 0. */
    if (best == -INFINITY)
      arg = 0;
    const float zt = row[t];
    /* Pass 2: softmax denominator around the max, rank of the true class. */
    floatv sumv = 0.0f, ninfv = 0.0f;
    intv rankv = 0;
    for (uint c = 0; c < full; c += CLM_VW) {
      const floatv v = VLOADF(row + c);
      const intv ci = iota + (int)c;
      if (!probs)
        sumv += select(clm_exp_nonpos(v - best), (floatv)0.0f, ci == arg);
      ninfv += select((floatv)0.0f, (floatv)1.0f, isinf(v) & (v > 0.0f));
      rankv += select((intv)0, (intv)1, (v > zt) | ((v == zt) & (ci < t)));
    }
    if (full < k) {
      const floatv v = VLOADF(row + k - CLM_VW);
      const intv ci = iota + (int)(k - CLM_VW);
      const intv fresh = ci >= (int)full;
      if (!probs)
        sumv +=
            select((floatv)0.0f, clm_exp_nonpos(v - best), fresh & (ci != arg));
      ninfv +=
          select((floatv)0.0f, (floatv)1.0f, fresh & isinf(v) & (v > 0.0f));
      rankv +=
          select((intv)0, (intv)1, fresh & ((v > zt) | ((v == zt) & (ci < t))));
    }
    const float sum = clm_hsum_f(sumv), ninf = clm_hsum_f(ninfv);
    const uint rank = clm_hsum_i(rankv);
    float loss;
    if (probs) {
      loss = -log(clamp(zt, FLT_EPSILON, 1.0f));
    } else if (isinf(best) && best > 0.0f) {
      loss = isinf(zt) && zt > 0.0f ? log(ninf) : INFINITY;
    } else if (isinf(best)) {
      loss = log((float)k); /* all -inf: reported above, never used */
    } else if (isinf(zt)) {
      loss = INFINITY;
    } else {
      loss = (best - zt) + log1p(sum); /* sum leaves out the argmax */
    }
    pred[r] = arg;
    if (!opts) {
      loss_acc += loss;
      n_hits += rank < top_k;
      continue;
    }
    if (skip)
      continue;
    /* Pass 3 (smoothing only): sum_c w_c (-log p_c), as in clm_argmax_ce. */
    float smooth = 0.0f;
    if (e_over_k != 0.0f) {
      const int top = isinf(best) && best > 0.0f;
      const floatv ln_ninf = (floatv)log(ninf);
      floatv smv = 0.0f, wv = 0.0f;
      for (uint c = 0; c < k; c += CLM_VW) {
        /* The tail as one vector ending at column k - 1, masked. */
        const uint c0 = c + CLM_VW <= k ? c : k - CLM_VW;
        const floatv v = VLOADF(row + c0);
        const intv fresh = iota + (int)c0 >= (int)c;
        const floatv w = select((floatv)0.0f, VLOADF(cw + c0), fresh);
        floatv d;
        if (probs)
          d = -log(clamp(v, FLT_EPSILON, 1.0f));
        else if (top)
          d = select((floatv)INFINITY, ln_ninf, isinf(v) & (v > 0.0f));
        else
          d = best - v;
        smv += select(w * d, (floatv)0.0f, w == 0.0f);
        wv += w;
      }
      smooth = clm_hsum_f(smv);
      if (!probs && !top)
        smooth += clm_hsum_f(wv) * log1p(sum);
    }
    const float s_w = has_sw ? sw[r] : 1.0f;
    loss_acc +=
        clm_ce_option_loss(loss, smooth, cw[t], s_w, one_minus_e, e_over_k);
    const uint hit = rank < top_k;
    n_hits += hit;
    w_hits += hit ? s_w : 0.0f;
  }

  clm_argmax_group_end(lid, ls, grp, loss_acc, n_hits, bad_score,
                       first_bad_score, bad_label, first_bad_label, partials,
                       hits, status, lsum, lcnt, opts, w_hits);
}

__kernel void clm_argmax_ce_rows(
    __global const float *restrict s, __global const int *restrict yt,
    const uint n, const uint k, const int probs, const uint top_k,
    __global int *restrict pred, __global float *restrict partials,
    __global uint *restrict hits, __global uint *restrict status,
    __local float *restrict lsum, __local uint *restrict lcnt) {
  clm_argmax_ce_rows_body(s, yt, n, k, probs, top_k, pred, partials, hits,
                          status, lsum, lcnt, 0, 0, 0, s, s, 0, 1.0f, 0.0f);
}

__kernel void clm_argmax_ce_rows_opt(
    __global const float *restrict s, __global const int *restrict yt,
    const uint n, const uint k, const int probs, const uint top_k,
    __global int *restrict pred, __global float *restrict partials,
    __global uint *restrict hits, __global uint *restrict status,
    __local float *restrict lsum, __local uint *restrict lcnt,
    const int has_ignore, const int ignore, __global const float *restrict cw,
    __global const float *restrict sw, const int has_sw,
    const float one_minus_e, const float e_over_k) {
  clm_argmax_ce_rows_body(s, yt, n, k, probs, top_k, pred, partials, hits,
                          status, lsum, lcnt, 1, has_ignore, ignore, cw, sw,
                          has_sw, one_minus_e, e_over_k);
}

/* clm_mc_grad: per row of an N x K score matrix, the gradient of the row's
 * CrossEntropyLoss(weight, ignore_index, label_smoothing) term with
 * respect to its logits, times the row's sample weight s:
 *   g_j = s [(1 - e) w_t (p_j - [j = t]) + (e / K)(W p_j - w_j)],
 * t the true class, W = sum_c w_c, p the max-subtracted softmax (among m
 * logits at +inf each has 1/m, every other class 0) or, for probabilities,
 * the row divided by its sum (the softmax of log p; an all-zero row gives
 * 1/K each). It is evaluated as
 *   g_j = s (c1 p_j - (e / K) w_j) for j != t,  c1 = (1 - e) w_t + (e / K) W,
 *   g_t = s ((e / K)(W - w_t) - c1 q),  q = 1 - p_t = sum_{c != t} e_c / S,
 * S = sum_c e_c, so a confident row keeps its small true-class gradient instead
 * of losing it to 1 - p_t. Rows whose true label is `ignore` get zeros; labels
 * outside [0, K) were refused by the host (zeros here too). Rows with NaN, a
 * probability outside [0, 1], or logits all -inf or all +inf are counted in
 * status (count, first flat index) and left unwritten. Between the passes
 * the output row holds the unnormalised e_c. Each work-item takes `rows`
 * rows (consecutive ones, or interleaved with its group's in the strided
 * shape) and walks each row in CLM_VW-wide column blocks. */

/* Columns [c0, c0 + CLM_VW) of a row; lanes at or past k read as `pad`. */
inline floatv clm_mg_load(__global const float *restrict row, const uint c0,
                          const uint k, const float pad) {
  if (c0 + CLM_VW <= k)
    return VLOADF(row + c0);
  float tmp[CLM_VW];
  for (uint j = 0; j < CLM_VW; ++j)
    tmp[j] = c0 + j < k ? row[c0 + j] : pad;
  return VLOADF(tmp);
}

/* Stores the lanes of v that fall in [c0, k). */
inline void clm_mg_store(__global float *restrict row, const uint c0,
                         const uint k, const floatv v) {
  if (c0 + CLM_VW <= k) {
    VSTOREF(v, row + c0);
    return;
  }
  float tmp[CLM_VW];
  VSTOREF(v, tmp);
  for (uint j = 0; c0 + j < k; ++j)
    row[c0 + j] = tmp[j];
}

inline float clm_hmax_f(const floatv v) {
  float tmp[CLM_VW];
  VSTOREF(v, tmp);
  float m = tmp[0];
  for (int j = 1; j < CLM_VW; ++j)
    m = fmax(m, tmp[j]);
  return m;
}

inline float clm_hmin_f(const floatv v) {
  float tmp[CLM_VW];
  VSTOREF(v, tmp);
  float m = tmp[0];
  for (int j = 1; j < CLM_VW; ++j)
    m = fmin(m, tmp[j]);
  return m;
}

__kernel void
clm_mc_grad(__global const float *restrict s, __global const int *restrict yt,
            __global const float *restrict sw, const uint n, const uint k,
            const int probs, const int has_sw, const int has_ignore,
            const int ignore, __global const float *restrict cw,
            const float one_minus_e, const float e_over_k, const float w_all,
            const uint rows, __global float *restrict g,
            __global uint *restrict status) {
  const uint lid = get_local_id(0);
  const uint ls = get_local_size(0);
  const uint grp = get_group_id(0);
  int io[CLM_VW];
  for (int j = 0; j < CLM_VW; ++j)
    io[j] = j;
  const intv iota = VLOADI(io);
  uint bad = 0, first_bad = CLM_NO_BAD;
  for (uint it = 0; it < rows; ++it) {
#if CLM_STRIDED
    const ulong r = ((ulong)grp * rows + it) * ls + lid;
#else
    const ulong r = ((ulong)grp * ls + lid) * rows + it;
#endif
    if (r >= n)
      continue;
    __global const float *row = s + r * k;
    __global float *out = g + r * k;
    /* Pass 1: maximum, minimum, input checks. */
    floatv bv = -INFINITY, lov = INFINITY;
    intv badm = 0;
    for (uint c0 = 0; c0 < k; c0 += CLM_VW) {
      const floatv v = clm_mg_load(row, c0, k, 0.0f);
      const intv valid = iota + (int)c0 < (int)k;
      badm |= valid & (probs ? ((v < 0.0f) | (v > 1.0f) | isnan(v)) : isnan(v));
      bv = fmax(bv, select((floatv)(-INFINITY), v, valid));
      lov = fmin(lov, select((floatv)INFINITY, v, valid));
    }
    const float best = clm_hmax_f(bv), lo = clm_hmin_f(lov);
    if (ANYV(badm) || (!probs && (best == -INFINITY || lo == INFINITY))) {
      uint col = 0; /* all -inf or all +inf: column 0 */
      for (uint c = 0; c < k; ++c) {
        const float v = row[c];
        if (isnan(v) || (probs && (v < 0.0f || v > 1.0f))) {
          col = c;
          break;
        }
      }
      ++bad;
      first_bad = min(first_bad, (uint)(r * k) + col);
      continue;
    }
    const int t = yt[r];
    if ((has_ignore && t == ignore) || (uint)t >= k) {
      for (uint c0 = 0; c0 < k; c0 += CLM_VW)
        clm_mg_store(out, c0, k, (floatv)0.0f);
      continue;
    }
    /* Pass 2: e_c (into the output row), their sum and the sum without
     * the true class. Padding lanes give e = 0. */
    const int top = !probs && best == INFINITY;
    floatv sev = 0.0f, srv = 0.0f;
    for (uint c0 = 0; c0 < k; c0 += CLM_VW) {
      const floatv v = clm_mg_load(row, c0, k, probs ? 0.0f : -INFINITY);
      floatv e;
      if (probs)
        e = v;
      else if (top)
        e = select((floatv)0.0f, (floatv)1.0f, v == (floatv)INFINITY);
      else
        e = clm_exp_nonpos(v - best);
      clm_mg_store(out, c0, k, e);
      sev += e;
      srv += select(e, (floatv)0.0f, iota + (int)c0 == (intv)t);
    }
    float se = clm_hsum_f(sev), sr = clm_hsum_f(srv);
    const int uniform = se == 0.0f; /* probabilities all 0 */
    if (uniform) {
      se = (float)k;
      sr = (float)(k - 1);
    }
    /* Pass 3: the gradient over the e_c, then the true class. */
    const float sv = has_sw ? sw[r] : 1.0f;
    const float c1 = one_minus_e * cw[t] + e_over_k * w_all;
    for (uint c0 = 0; c0 < k; c0 += CLM_VW) {
      floatv e = clm_mg_load(out, c0, k, 0.0f);
      if (uniform)
        e = (floatv)1.0f;
      const floatv w = clm_mg_load(cw, c0, k, 0.0f);
      const floatv p = e / se;
      clm_mg_store(out, c0, k, sv * (c1 * p - e_over_k * w));
    }
    out[t] = sv * (e_over_k * cw[k + t] - c1 * (sr / se));
  }
  if (bad) {
    atomic_add(&status[CLM_MG_BAD_ROWS], bad);
    atomic_min(&status[CLM_MG_FIRST_BAD], first_bad);
  }
}
