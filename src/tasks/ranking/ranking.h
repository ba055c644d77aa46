/* Ranking family internals: exact ROC-AUC and average precision from
 * counts per order-preserving key range.
 *
 * Pass 1 counts (negatives, positives) per column and key prefix of bits1
 * bits (device.c). Scanning those cells in descending key order resolves
 * every pair of samples in different cells exactly (resolve.c); a cell
 * whose inside still matters (both classes for AUC, positives below a
 * negative for AP, every sample for curves) becomes a node, and further
 * passes count its keys densely, split it into sub-ranges, or gather its
 * keys for a host sort, as many nodes per pass as the memory budget allows
 * (compute.c). Counts only add, so the same cells from a stream of updates
 * merge exactly (state.c) and bound the unresolved pairs. */
#ifndef CLM_TASKS_RANKING_H
#define CLM_TASKS_RANKING_H

#include "internal.h"

/* What one computation ranks. */
typedef struct clm_rk_setup {
  uint32_t k;        /* columns */
  int f64;           /* 64-bit keys */
  unsigned key_bits; /* 32 or 64 */
  unsigned bits1;    /* level-1 prefix bits */
  uint32_t bins1;    /* 2^bits1 */
  int probs;         /* reject scores outside [0, 1] */
  int multilabel;    /* labels: n x k uint8 0/1 indicator matrix */
  int track_range;   /* pass 1 also keeps the AND and the OR of each
                        cell's keys (32-bit keys only) */
} clm_rk_setup;

/* Bytes of one row's labels: uint8 (binary), int32 (one-vs-rest), or k
 * uint8 cells (multilabel). */
static inline size_t clm_rk_label_bytes(const clm_rk_setup *s) {
  return s->multilabel ? (size_t)s->k : s->k == 1 ? 1 : 4;
}

/* Key <-> value. */
uint64_t clm_rk_key(const clm_rk_setup *s, const void *scores, uint64_t i);
double clm_rk_value(const clm_rk_setup *s, uint64_t key);

/* One unresolved key range [lo, hi] of one column, with what lies above
 * it. */
typedef struct clm_rk_node {
  uint32_t col;
  unsigned prefix; /* fixed leading bits: hi - lo + 1 = 2^(key_bits-prefix) */
  uint64_t lo, hi;
  uint64_t pos, neg;
  uint64_t tp_above, fp_above;
  /* lattice: every key of the range is klo + (i << kshift), i <= (khi -
   * klo) >> kshift (pass 1's AND and OR of its keys): counted per lattice
   * point, each point is one key. */
  int lattice;
  unsigned kshift;
  uint64_t klo, khi;
} clm_rk_node;

/* A growable list of nodes. */
typedef struct clm_rk_nodes {
  clm_rk_node *v;
  size_t len, cap;
} clm_rk_nodes;

/* Curve points of one column (keys, cumulative counts). */
typedef struct clm_rk_point {
  uint64_t key, tp, fp;
} clm_rk_point;

/* Per-column accumulation while cells are resolved. */
typedef struct clm_rk_column {
  uint64_t pos, neg;
  unsigned __int128 u2;      /* 2 x the Mann-Whitney count resolved */
  unsigned __int128 u2_open; /* 2 x the pairs inside unresolved cells */
  long double ap;            /* sum of pos * precision resolved */
  long double ap_open_lo, ap_open_hi;
  int open; /* some cell stayed unresolved */
  uint64_t distinct;
  /* Curves: every point while they fit, and the points evenly in rank. */
  clm_rk_point *all, *even;
  uint64_t all_len, even_len;
  int all_overflow;
} clm_rk_column;

/* Resolving cells: the columns, where new nodes go, curve settings. */
typedef struct clm_rk_resolver {
  const clm_rk_setup *setup;
  clm_rk_column *cols;
  clm_rk_nodes *out; /* NULL: streaming, keep cells open */
  uint64_t curve_points;
  clm_rk_column *into; /* non-NULL: accumulate here instead of cols */
  /* Set for a scan of level-1 cells: the AND and the OR of each cell's
   * keys; a cell whose two are equal holds one score and is resolved as
   * one key, another's child range gets its lattice. */
  const uint32_t *range;
} clm_rk_resolver;

/* Layouts of (negatives, positives) cell pairs. */
#define CLM_RK_CELLS_U64 0    /* uint64_t pairs (host) */
#define CLM_RK_CELLS_U32 1    /* uint32_t pairs (device, narrow) */
#define CLM_RK_CELLS_PAIR64 2 /* (low, high) uint32_t words each (wide) */

/* Scans `count` cells of `node` in descending order. Cell i (ascending)
 * covers keys [node->lo + (i << cell_bits), ... + 2^cell_bits - 1].
 * CLM_ERR_FORMAT when the counts do not add up to the node's. */
clm_status clm_rk_scan_cells(clm_rk_resolver *r, const clm_rk_node *node,
                             const void *cells, int format, uint64_t count,
                             unsigned cell_bits);
/* Scans a gathered node: keys packed as key << 1 | label, sorted here in
 * place (tmp: as many uint64 of scratch). */
clm_status clm_rk_scan_gathered(clm_rk_resolver *r, const clm_rk_node *node,
                                uint64_t *packed, uint64_t *tmp,
                                uint64_t count);
/* Scans a whole range of at most 16 key bits below node->lo, given as its
 * negatives' and positives' low 16 bits in any order (node of fewer than
 * 2^32 samples). Scratch: at least 2^16 * 8 bytes, or 10 bytes a key
 * and 8 more. */
clm_status clm_rk_scan_runs16(clm_rk_resolver *r, const clm_rk_node *node,
                              const uint16_t *neg, uint64_t nn,
                              const uint16_t *pos, uint64_t np, void *scratch,
                              uint64_t scratch_bytes);
clm_status clm_rk_nodes_push(clm_rk_nodes *n, const clm_rk_node *node);
/* Fills a public result from the columns (averages, intervals, curves). */
clm_status clm_rk_result(const clm_rk_setup *s, clm_rk_column *cols, uint64_t n,
                         uint64_t curve_points, clm_ranking_result *out);
void clm_rk_columns_free(clm_rk_column *cols, uint32_t k);

/* Weighted ranking on the host (weighted.c): the source has read_weights;
 * arguments already checked. */
clm_status clm_rk_weighted_compute(const clm_ranking_source *src,
                                   const clm_ranking_options *o,
                                   clm_ranking_result *out, clm_error *err);

/* ---- device passes (device.c) ------------------------------------------ */
typedef struct clm_rk_ws clm_rk_ws;

/* A refine pass's tasks, sorted by (column, lo); table per (column,
 * level-1 prefix): first task and task count. */
typedef struct clm_rk_plan {
  uint32_t ntasks;
  uint64_t *lo, *hi, *base;
  uint32_t *shift, *cap, *col;
  uint64_t *count; /* samples in each task's range */
  /* Cursors, 4 per (task, group): (next, end) slot for negatives and for
   * positives of a whole level-1 range; else (next = 0, cap) of the task's
   * shared cursor in the first group's entry. */
  uint32_t *cursor_init;
  uint8_t *whole; /* per task: gathered per group and label */
  uint32_t groups;
  int low16;          /* whole ranges store the low 16 key bits */
  uint64_t g16_slots; /* slots of 16-bit keys */
  uint32_t *table;    /* k * bins1 pairs */
  uint64_t dense_cells, gather_slots;
  int wide; /* dense counts as 64-bit pairs */
} clm_rk_plan;

/* Results of a refine pass, mapped for reading until clm_rk_pass_end. */
typedef struct clm_rk_out {
  const uint32_t *dense;  /* dense_cells (neg, pos) pairs, 1 or 2 words */
  const uint32_t *cursor; /* ntasks x groups x 4, as cursor_init */
  const void *gkeys;      /* gather_slots keys (key width) */
  const uint16_t *g16;    /* g16_slots low key bits */
} clm_rk_out;

/* Level-1 pass: clears the device histogram; each batch adds to it; end
 * reads it into counts (k * bins1 * 2 uint64: negatives, positives) and,
 * with s->track_range, range (k * bins1 * 2 uint32: each cell's least and
 * greatest key; (0xffffffff, 0) when empty). */
clm_status clm_rk_hist_begin(clm_context *ctx, const clm_rk_setup *s,
                             clm_error *err);
clm_status clm_rk_hist_batch(clm_context *ctx, const clm_rk_setup *s,
                             const void *labels, const void *scores,
                             uint64_t rows, uint64_t base, clm_error *err);
clm_status clm_rk_hist_end(clm_context *ctx, const clm_rk_setup *s,
                           uint64_t *counts, uint32_t *range, clm_error *err);
/* Whether refine passes run on one-work-item groups that own tasks (CPUs):
 * whole level-1 ranges are then gathered without atomics. */
int clm_rk_owner_mode(const clm_context *ctx);
/* Refine pass: uploads the plan and clears its outputs; batches add;
 * end maps the outputs into *out (release with clm_rk_refine_release). */
clm_status clm_rk_refine_begin(clm_context *ctx, const clm_rk_setup *s,
                               const clm_rk_plan *plan, clm_error *err);
clm_status clm_rk_refine_batch(clm_context *ctx, const clm_rk_setup *s,
                               const clm_rk_plan *plan, const void *labels,
                               const void *scores, uint64_t rows,
                               clm_error *err);
clm_status clm_rk_refine_end(clm_context *ctx, const clm_rk_plan *plan,
                             clm_rk_out *out, clm_error *err);
void clm_rk_refine_release(clm_context *ctx);
/* Releases the pass-1 buffers (hist_only) or every large buffer, so that
 * nothing beyond the budget outlives a computation. */
void clm_rk_trim(clm_context *ctx, int hist_only);
/* Row softmax in float32 (NaN rows where it has no value). */
void clm_rk_softmax_rows(const void *z, int f64, uint64_t rows, uint32_t k,
                         float *out);
/* Whether mapping device buffers costs host memory too (discrete). */
int clm_rk_maps_copy(const clm_context *ctx);
/* Device bytes of pass 1 (histogram and per-group scratch). */
uint64_t clm_rk_hist_bytes(const clm_context *ctx, const clm_rk_setup *s);

#endif
